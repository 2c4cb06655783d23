"""Recurrences that step in the user's Python loop: cells, and states marked with ``track``.

Each call is one time step. Its state tensors are ordinary autograd tensors, so a hook on each
receives, during the backward, the TOTAL gradient at that state (autograd sums every use of a
tensor before it calls the tensor's hooks):

.. math::

    (1)  δh_t = ∂L/∂h_t = Σ over the uses u of h_t of (∂L/∂u)(∂u/∂h_t)

which is exactly what the profile records; torch's own kernels and autograd do every
derivative, the profiler only reads them. A cell's step hands the user a view of its state and
the next step of its chain the state itself (the view, passed back to continue the chain, is
swapped for it), so a hook on the view receives the direct part of (1) alone, which the
log-scaled recursion needs (``_scaled_steps``). A state that does not depend on anything that
requires grad has no gradient in autograd; ``track`` swaps such a state for a leaf copy that
does (same values) and returns the copy, so dL/dstate is still recorded.
"""

from __future__ import annotations

import collections
from typing import Any

import torch
from torch import Tensor, nn

from rnngrad.errors import InputError
from rnngrad.profiler._layer_io import LayerKey, all_finite
from rnngrad.profiler._layout import SequenceLayout
from rnngrad.profiler._recorder import Recorder
from rnngrad.profiler._scaled_steps import StepParts, float64_cell


def record_step(recorder: Recorder, name: str, kind: str, initial: tuple, states: tuple[Tensor, ...],
                returned: tuple[Tensor, ...] | None = None) -> int:
    """One step of ``name``'s chain: register its call and hook its state tensors; returns the call.

    ``states`` is ``(h,)`` or ``(h, c)``, each ``(B, H)`` or unbatched ``(H,)``; ``returned``
    the tensors the caller gets (``states`` unless given), which the next step receives.
    """
    hidden = states[0]
    batch = 1 if hidden.dim() == 1 else hidden.shape[0]
    cell = states[1] if len(states) == 2 else None
    layout = SequenceLayout(1, batch, None, hidden.device)
    call = recorder.begin_call(name, kind, 1, 1, layout, hidden.shape[-1],
                               None if cell is None else cell.shape[-1], hidden.dtype, hidden.device, initial)
    key = LayerKey(name, 0, 0, call)
    for slot, (quantity, state) in enumerate(zip(("hidden_state", "cell_state"), states)):
        if not all_finite(state.detach()):
            recorder.mark_nonfinite(quantity, key, 0)
        if state.requires_grad:
            recorder.hook(state, _recording_hook(recorder, key, slot, batch))
            recorder.hooked_states.append(state)
    recorder.end_call(name, call, states if returned is None else returned)
    return call


def _recording_hook(recorder: Recorder, key: LayerKey, slot: int, batch: int):
    def hook(grad: Tensor) -> None:  # dL/dstate, (B, H) or (H,)
        grad = grad.detach().reshape(1, batch, -1)  # (1, B, H)
        if not all_finite(grad):
            recorder.mark_nonfinite(("hidden_grad", "cell_grad")[slot], key, 0)
        recorder.record_backward(key, grad if slot == 0 else None, grad if slot == 1 else None)

    return hook


def profiled_cell_forward(module: nn.Module, name: str, recorder: Recorder, anchor: Tensor,
                          weight_grads: bool, *args: Any, **kwargs: Any) -> Any:
    """Drop-in for a cell's ``forward(input, hx)``: the cell's own step, then record its state.

    An unbatched step runs batched (B = 1) and returns views without the batch axis, so the
    hooked h_t and c_t are the tensors that every later use reaches: torch's cells compute h_t
    from the batched c_t and return a squeezed c_t that h_t does not depend on. A
    ``torch.nn.LSTMCell`` step runs as its documented equations in separate ops
    (:func:`_lstm_cell_step`), which is what torch itself does on the CPU: on CUDA torch fuses
    the step into one node, whose c_t output would not see the gradient through h_t.

    ``anchor`` and ``weight_grads`` are accepted for the profiler's common signature: the
    cell's ordinary autograd graph gives the parameters' gradients."""
    names = ("input", "x")
    x = args[0] if args else next((kwargs[k] for k in names if k in kwargs), None)
    given = args[1] if len(args) > 1 else next((kwargs[k] for k in ("hx", "state") if k in kwargs), None)
    unbatched = isinstance(x, Tensor) and x.dim() == 1
    if not isinstance(x, Tensor) or len(args) + len(kwargs) > 2:
        return type(module).forward(module, *args, **kwargs)  # let the cell say what is wrong
    behind = recorder.states_behind(name, _as_tuple(given))  # a chain's own views: the states, batched
    if behind is not None:
        state = behind if isinstance(given, (tuple, list)) else behind[0]
    else:
        state = _map(given, lambda part: part.unsqueeze(0)) if unbatched else given  # (B, H)
    batched_x = x.unsqueeze(0) if unbatched else x  # (B, I)
    step = _lstm_cell_step if isinstance(module, nn.LSTMCell) else type(module).forward
    output = step(module, batched_x, state)
    returned = _map(output, lambda part: part.squeeze(0) if unbatched else part.view_as(part))
    recorder.keep_views(name, _as_tuple(returned), _as_tuple(output))
    call = record_step(recorder, name, type(module).__name__, _as_tuple(given), _as_tuple(output),
                       _as_tuple(returned))
    cell64 = float64_cell(module, recorder.float64_cells)
    if cell64 is not None:
        parts = StepParts(cell64, batched_x.detach(),
                          None if state is None else tuple(part.detach() for part in _as_tuple(state)), step)
        for slot, view in enumerate(_as_tuple(returned)):
            if view.requires_grad:
                recorder.hook(view, parts.keeper(slot))  # e_t: the user's uses of s_t alone
        recorder.keep_step(name, call, parts)
    return returned


def _lstm_cell_step(cell: nn.LSTMCell, x: Tensor, state: tuple[Tensor, Tensor] | None) -> tuple[Tensor, Tensor]:
    """torch.nn.LSTMCell's step in separate ops (torch's CPU composite): ``(B, H)`` each."""
    if state is None:
        zeros = x.new_zeros(x.shape[0], cell.hidden_size)
        state = (zeros, zeros)
    h, c = state
    gates = nn.functional.linear(x, cell.weight_ih, cell.bias_ih) + nn.functional.linear(h, cell.weight_hh, cell.bias_hh)
    i, f, g, o = gates.chunk(4, 1)  # (B, H) each, torch's gate order
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_next), c_next


def tracked_state(recorder: Recorder, name: str, state: Any, module_names: set[str]) -> Any:
    """``track(name, state)`` inside a profile: one step of ``name``'s chain; returns the state
    (a leaf copy where it had no gradient of its own, see the module docstring)."""
    if name in module_names:
        raise InputError(
            f"name: expected a name that no profiled module has, got {name!r}, the name of a "
            f"recurrent module of the model; choose another name for the tracked recurrence"
        )
    parts = tuple(state) if isinstance(state, tuple) else (state,)
    parts = tuple(part if part.requires_grad else part.detach().requires_grad_() for part in parts)
    previous = recorder.chains.last_final(name)
    if previous and len(previous) != len(parts):
        raise InputError(
            f"state: expected the same kind of state at every step of {name!r} "
            f"({_kind_text(len(previous))}), got {_kind_text(len(parts))}"
        )
    if previous and not _depends_on(parts[0], previous[0]):
        raise InputError(
            f"name: expected the state tracked as {name!r} to be computed from the state tracked "
            f"before it, got one that does not depend on it: is {name!r} used by two recurrences? "
            f"Give each recurrence its own name"
        )
    call = record_step(recorder, name, "track", previous, parts)
    recorder.keep_tracked(name, call, parts)
    return parts if isinstance(state, tuple) else parts[0]


def check_trackable(name: Any, state: Any) -> None:
    """The InputError for a bad ``track`` call, inside or outside a profile."""
    if not isinstance(name, str) or not name:
        raise InputError(f"name: expected a non-empty string naming the recurrence, got {name!r}")
    parts = state if isinstance(state, tuple) else (state,)
    if not 1 <= len(parts) <= 2 or not all(isinstance(part, Tensor) for part in parts):
        raise InputError(
            f"state: expected a tensor h_t or a tuple (h_t, c_t) of tensors, got {_describe(state)}"
        )
    for part in parts:
        if not (part.is_floating_point() or part.is_complex()) or part.dim() not in (1, 2):
            raise InputError(
                f"state: expected floating-point tensors of shape (B, H) or (H,), got "
                f"{part.dtype} of shape {tuple(part.shape)}"
            )
    if len(parts) == 2 and parts[0].shape[:-1] != parts[1].shape[:-1]:
        raise InputError(
            f"state: expected h_t and c_t with the same batch size, got shapes "
            f"{tuple(parts[0].shape)} and {tuple(parts[1].shape)}"
        )


# How far back through the autograd graph track looks for the previous state before it gives
# up and trusts the name (a step body of more nodes than this is not checked).
DEPENDENCE_SEARCH_NODES = 4096


def _depends_on(state: Tensor, previous: Tensor) -> bool:
    """False only when the graph behind ``state`` provably does not contain ``previous``."""
    target = _node_of(previous)
    start = state.grad_fn if state.grad_fn is not None else _node_of(state)
    seen, frontier = {start}, collections.deque([start])  # breadth first: the previous step is near
    while frontier:
        if len(seen) > DEPENDENCE_SEARCH_NODES:
            return True
        node = frontier.popleft()
        if node is target:
            return True
        for parent, _ in node.next_functions:
            if parent is not None and parent not in seen:
                seen.add(parent)
                frontier.append(parent)
    return False


def _node_of(tensor: Tensor):
    """The autograd node that stands for ``tensor``: its grad_fn, or a leaf's accumulator."""
    if tensor.grad_fn is not None:
        return tensor.grad_fn
    return tensor.view_as(tensor).grad_fn.next_functions[0][0]  # AccumulateGrad, kept per leaf


def _map(state: Any, function) -> Any:
    """``function`` on a tensor or on each tensor of a tuple; None stays None."""
    if state is None:
        return None
    return tuple(function(part) for part in state) if isinstance(state, (tuple, list)) else function(state)


def _as_tuple(state: Any) -> tuple:
    if state is None:
        return ()
    return tuple(state) if isinstance(state, (tuple, list)) else (state,)


def _kind_text(parts: int) -> str:
    return "a tensor h_t" if parts == 1 else "a tuple (h_t, c_t)"


def _describe(value: Any) -> str:
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} ({', '.join(type(v).__name__ for v in value)})"
    return type(value).__name__

