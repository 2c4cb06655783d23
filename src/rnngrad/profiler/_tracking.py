"""``rnngrad.track``: mark the state of a custom recurrence so that ``profile`` records it.

Outside :func:`~rnngrad.profiler.profile` the call returns its argument, the very object, and
adds nothing to the autograd graph. Inside, each call appends one time step to the chain
called ``name`` (see :mod:`rnngrad.profiler._steps`). A model that runs its recurrence with
``rnngrad.linear_scan(a, b, h0, name=...)`` is recorded the same way, all T steps at once, from
the δ_t that the scan's backward computes anyway.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Iterator, TypeVar

from torch import Tensor

from rnngrad.errors import InputError
from rnngrad.profiler._layer_io import LayerKey
from rnngrad.profiler._layout import SequenceLayout
from rnngrad.profiler._recorder import Recorder
from rnngrad.profiler._scaled_diagonal import ScanRecipe
from rnngrad.profiler._steps import check_trackable, tracked_state
from rnngrad.scan import recorded_linear_scan

State = TypeVar("State")

_ACTIVE: ContextVar[tuple[Recorder, set[str], Tensor] | None] = ContextVar("rnngrad_track", default=None)


def track(name: str, state: State) -> State:
    """Mark ``state`` (a tensor h_t, or a tuple ``(h_t, c_t)``) as step t of recurrence ``name``.

    Returns ``state``. Inside ``profile``, ``hidden_grad(name)`` (and ``cell_grad(name)`` for a
    tuple) then give the total dL/dstate_t of every tracked step, ``(T, B, H)``. Use the
    returned value in the rest of the step, as below: where ``state`` had no gradient of its
    own (an initial zero state), profile returns a copy that has one.

    Examples:
        A minGRU written by hand (Feng et al. 2024, eq. 4), h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t:

        >>> import torch, rnngrad
        >>> to_gates = torch.nn.Linear(3, 2 * 5)
        >>> def min_gru(x):  # (T, B, 3)
        ...     h = rnngrad.track("min_gru", torch.zeros(x.shape[1], 5))
        ...     for x_t in x:
        ...         z, candidate = to_gates(x_t).chunk(2, dim=-1)
        ...         z = torch.sigmoid(z)
        ...         h = rnngrad.track("min_gru", (1 - z) * h + z * candidate)
        ...     return h
        >>> model = torch.nn.Module()
        >>> model.forward = min_gru; model.to_gates = to_gates
        >>> result = rnngrad.profile(model, (torch.randn(7, 2, 3),), lambda h: h.sum())
        >>> result.hidden_grad("min_gru").shape  # h_0 and h_1 … h_7
        torch.Size([8, 2, 5])
    """
    check_trackable(name, state)
    active = _ACTIVE.get()
    if active is None:
        return state
    recorder, module_names, _ = active
    return tracked_state(recorder, name, state, module_names)


def recorded_scan(name: str, prepared: tuple[Tensor, Tensor, Tensor | None]) -> Tensor | None:
    """``linear_scan(a, b, h0, name=name)`` inside a profile: the scan, recording δ_t as the
    chain ``name`` (one call of T steps); None outside a profile."""
    active = _ACTIVE.get()
    if active is None:
        return None
    if not isinstance(name, str) or not name:
        raise InputError(f"name: expected a non-empty string naming the scan, got {name!r}")
    recorder, module_names, anchor = active
    if name in module_names:
        raise InputError(f"name: expected a name that no profiled module has, got {name!r}")
    a, b, h0 = prepared
    steps = b.shape[0]
    batch = b.shape[1] if b.dim() > 2 else 1
    call = recorder.begin_call(name, "linear_scan", 1, 1, SequenceLayout(steps, batch, None, b.device),
                               b[0].numel() // batch, None, b.dtype, b.device, () if h0 is None else (h0,))

    def record(delta: Tensor) -> None:  # δ_t, (T, *trailing)
        recorder.record_backward(LayerKey(name, 0, 0, call), delta.reshape(steps, batch, -1), None)

    output = recorded_linear_scan(a, b, h0, record, anchor)
    if steps and output.requires_grad:
        recipe = ScanRecipe(a.detach().expand(b.shape), (steps, batch, b[0].numel() // batch))
        output.register_hook(recipe.keep_output_grad)
        recorder.keep_recipe(name, call, recipe)
    recorder.end_call(name, call, (output[-1],) if steps else ())
    return output


@contextlib.contextmanager
def tracking(recorder: Recorder, module_names: set[str], anchor: Tensor) -> Iterator[None]:
    """While the block runs, ``track`` and named ``linear_scan`` calls record into ``recorder``."""
    token = _ACTIVE.set((recorder, module_names, anchor))
    try:
        yield
    finally:
        _ACTIVE.reset(token)
