"""What one layer of a torch.nn RNN, LSTM or GRU (or of an rnngrad MinGRU, MinLSTM or LRU) reads,
and its cell: the layers below it run first (float64 cells, zero initial states), and a reverse
direction reads its inputs last first.
"""

from __future__ import annotations

import torch
from torch import nn

from rnngrad.cells import DiagonalCell, RecurrentCell, from_torch
from rnngrad.diagonal_modules import DiagonalStack
from rnngrad.errors import InputError, require_cell_position
from rnngrad.jacobians import checked_inputs, trajectory

LAYERED = (nn.RNN, nn.LSTM, nn.GRU)
TORCH_CELLS = (nn.RNNCell, nn.LSTMCell, nn.GRUCell)


def cell_and_inputs(
    model: nn.Module, inputs: torch.Tensor, layer: int, direction: int
) -> tuple[RecurrentCell | DiagonalCell, torch.Tensor, bool]:
    """The cell of ``layer`` and ``direction``, the inputs it reads in its own time order
    (T, B, I_layer), and whether ``inputs`` came unbatched.

    Inputs are time-major, (T, I) or (T, B, I), whatever a module's ``batch_first`` is. For
    ``layer`` > 0 they are the outputs of the layers below (both directions, concatenated),
    run from zero states; for ``direction`` 1 they are read last step first.

    For a :class:`~rnngrad.diagonal_modules.MinGRU`, ``MinLSTM`` or ``LRU`` (one direction) the
    cell is the module's :meth:`~rnngrad.diagonal_modules.DiagonalStack.layer_cell`, sharing its
    parameters, and a layer > 0 reads the real outputs of the layer below (Re h for the LRU).
    """
    if isinstance(model, DiagonalStack):
        return _stack_cell_and_inputs(model, inputs, layer, direction)
    if isinstance(model, RecurrentCell):
        require_cell_position(layer, direction)
        checked, unbatched = checked_inputs(model, inputs)
        return model, checked, unbatched
    if not isinstance(model, LAYERED + TORCH_CELLS):
        raise InputError(
            "model: expected an rnngrad cell or a torch.nn RNN, LSTM, GRU, RNNCell, LSTMCell or "
            f"GRUCell, or an rnngrad MinGRU, MinLSTM or LRU, got {type(model).__name__}"
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


def _stack_cell_and_inputs(
    model: DiagonalStack, inputs: torch.Tensor, layer: int, direction: int
) -> tuple[DiagonalCell, torch.Tensor, bool]:
    """:func:`cell_and_inputs` of a stack of diagonal layers: layer k's cell, and the outputs of
    layer k − 1 (each layer run by its one scan, from zeros), (T, B, I_k)."""
    if direction != 0:
        raise InputError(f"direction: expected 0 ({type(model).__name__} has one direction), got {direction!r}")
    cell = model.layer_cell(layer)  # checks layer
    below, unbatched = checked_inputs(model.layer_cell(0), inputs)  # (T, B, I)
    with torch.no_grad():
        for lower in range(layer):
            below = model.layer_output(model.layer_states(lower, below))  # (T, B, H), real
    checked, _ = checked_inputs(cell, below)
    return cell, checked, unbatched


def _hidden_outputs(cell: RecurrentCell, inputs: torch.Tensor, direction: int) -> torch.Tensor:
    """h_t of one layer and direction for t = 1..T in forward time order, (T, B, H)."""
    ordered = inputs.flip(0) if direction == 1 else inputs
    hidden = trajectory(cell, ordered)[1:, :, : cell.output_size]  # (T, B, H)
    return hidden.flip(0) if direction == 1 else hidden
