"""From what the user passes (a cell or a torch.nn module) to one cell and the inputs it reads.

Also the hook to the gradient profiler, which measures the decay rate on the same model and
data from real backward passes (None where the profiler is not available).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from rnngrad.cells import RecurrentCell, from_torch
from rnngrad.errors import InputError
from rnngrad.jacobians import checked_inputs, trajectory

_LAYERED = (nn.RNN, nn.LSTM, nn.GRU)
_TORCH_CELLS = (nn.RNNCell, nn.LSTMCell, nn.GRUCell)


def cell_and_inputs(
    model: nn.Module, inputs: torch.Tensor, layer: int, direction: int
) -> tuple[RecurrentCell, torch.Tensor, bool]:
    """The cell of ``layer`` and ``direction``, the inputs it reads in its own time order
    (T, B, I_layer), and whether ``inputs`` came unbatched.

    Inputs are time-major, (T, I) or (T, B, I), whatever a module's ``batch_first`` is. For
    ``layer`` > 0 they are the outputs of the layers below (both directions, concatenated),
    run from zero states; for ``direction`` 1 they are read last step first.
    """
    if isinstance(model, RecurrentCell):
        if layer != 0 or direction != 0:
            raise InputError(f"layer, direction: a cell has only (0, 0), got ({layer}, {direction})")
        checked, unbatched = checked_inputs(model, inputs)
        return model, checked, unbatched
    if not isinstance(model, _LAYERED + _TORCH_CELLS):
        raise InputError(
            "model: expected an rnngrad cell or a torch.nn RNN, LSTM, GRU, RNNCell, LSTMCell or "
            f"GRUCell, got {type(model).__name__}"
        )
    cell = from_torch(model, layer, direction)  # checks layer and direction
    below = inputs
    unbatched = None
    for lower in range(layer):
        outputs = []
        for lower_direction in range(2 if model.bidirectional else 1):
            lower_cell = from_torch(model, lower, lower_direction)
            checked, batch_flag = checked_inputs(lower_cell, below)
            unbatched = batch_flag if unbatched is None else unbatched
            outputs.append(_hidden_outputs(lower_cell, checked, lower_direction))  # (T, B, H)
        below = torch.cat(outputs, dim=2)  # (T, B, D·H)
    checked, batch_flag = checked_inputs(cell, below)
    unbatched = batch_flag if unbatched is None else unbatched
    return cell, checked.flip(0) if direction == 1 else checked, unbatched


def _hidden_outputs(cell: RecurrentCell, inputs: torch.Tensor, direction: int) -> torch.Tensor:
    """h_t of one layer and direction for t = 1..T in forward time order, (T, B, H)."""
    ordered = inputs.flip(0) if direction == 1 else inputs
    hidden = trajectory(cell, ordered)[1:, :, : cell.hidden_size]  # (T, B, H)
    return hidden.flip(0) if direction == 1 else hidden


def measured_log_rate(model: nn.Module, inputs: torch.Tensor, layer: int, direction: int) -> float | None:
    """The growth rate per step of ‖dL/dh_t‖ back through time, measured by the profiler.

    L is the sum of the final hidden state h_n of ``layer`` and ``direction``, so
    dL/dh_t = (∂h_T/∂h_t)ᵀ 1 and its rate compares with λ_1. Sign as λ_1: < 0 vanishing. The
    model runs in eval mode (no dropout between layers) and is left as found. None for cells,
    which the profiler does not take, when :mod:`rnngrad.profiler` is not importable, or when
    the fit is not finite.
    """
    if not isinstance(model, _LAYERED):
        return None
    try:  # the hook: the profiler is another part of rnngrad and may be absent
        from rnngrad.profiler import profile
    except ImportError:
        return None
    index = layer * (2 if model.bidirectional else 1) + direction  # row of h_n
    dtype = model.weight_hh_l0.dtype
    sequence = inputs.to(dtype).transpose(0, 1) if model.batch_first and inputs.dim() == 3 else inputs.to(dtype)

    def loss_fn(output) -> torch.Tensor:
        final = output[1][0] if isinstance(model, nn.LSTM) else output[1]  # h_n, (L·D, [B,] H)
        return final[index].sum()

    was_training = model.training
    try:
        model.eval()
        result = profile(model, (sequence,), loss_fn)
    finally:
        model.train(was_training)
    rate = -result.decay_rate(None, layer, direction)  # the profiler's ρ > 0 means vanishing
    return rate if math.isfinite(rate) else None
