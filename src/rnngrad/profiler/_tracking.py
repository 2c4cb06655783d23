"""``rnngrad.track``: mark the state of a custom recurrence so that ``profile`` records it.

Outside :func:`~rnngrad.profiler.profile` the call returns its argument, the very object, and
adds nothing to the autograd graph. Inside, each call appends one time step to the chain
called ``name`` (see :mod:`rnngrad.profiler._steps`).
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Iterator, TypeVar

from rnngrad.profiler._recorder import Recorder
from rnngrad.profiler._steps import check_trackable, tracked_state

State = TypeVar("State")

_ACTIVE: ContextVar[tuple[Recorder, set[str]] | None] = ContextVar("rnngrad_track", default=None)


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
    recorder, module_names = active
    return tracked_state(recorder, name, state, module_names)


@contextlib.contextmanager
def tracking(recorder: Recorder, module_names: set[str]) -> Iterator[None]:
    """While the block runs, ``track`` records into ``recorder``."""
    token = _ACTIVE.set((recorder, module_names))
    try:
        yield
    finally:
        _ACTIVE.reset(token)
