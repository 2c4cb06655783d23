"""Build an rnngrad cell from a torch.nn recurrent module, copying its weights exactly."""

from __future__ import annotations

import torch
from torch import nn

from rnngrad.cells._common import RecurrentCell
from rnngrad.cells.gru import GRUCell
from rnngrad.cells.lstm import LSTMCell
from rnngrad.cells.rnn import RNNCell
from rnngrad.errors import InputError

_SUPPORTED = "torch.nn.RNN, LSTM, GRU, RNNCell, LSTMCell or GRUCell"


def from_torch(module: nn.Module, layer: int = 0, direction: int = 0) -> RecurrentCell:
    """The rnngrad cell that computes what ``module`` computes at ``layer`` and ``direction``.

    Args:
        module: a ``torch.nn.RNN`` (tanh or relu), ``LSTM`` (without ``proj_size``), ``GRU``,
            or one of the three ``*Cell`` modules. It is not modified.
        layer: the layer of a multi-layer module (0 for cells).
        direction: 0 forward, 1 the reverse direction of a bidirectional module.

    Returns:
        An :class:`RNNCell`, :class:`LSTMCell` or :class:`GRUCell` with copies of the weights,
        on the module's device and in its dtype.
    """
    if isinstance(module, (nn.RNNCell, nn.LSTMCell, nn.GRUCell)):
        if layer != 0 or direction != 0:
            raise InputError(f"layer, direction: a cell has only (0, 0), got ({layer}, {direction})")
        suffix, nonlinearity = "", getattr(module, "nonlinearity", "tanh")
        arch = {nn.RNNCell: "rnn", nn.LSTMCell: "lstm", nn.GRUCell: "gru"}[type(module)]
    elif isinstance(module, (nn.RNN, nn.LSTM, nn.GRU)):
        _check_layer_and_direction(module, layer, direction)
        if isinstance(module, nn.LSTM) and module.proj_size > 0:
            raise InputError(
                f"module: expected an LSTM without projections, got proj_size={module.proj_size}"
            )
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        nonlinearity = getattr(module, "nonlinearity", "tanh")
        arch = {nn.RNN: "rnn", nn.LSTM: "lstm", nn.GRU: "gru"}[type(module)]
    else:
        raise InputError(f"module: expected {_SUPPORTED}, got {type(module).__name__}")

    weight_ih = getattr(module, "weight_ih" + suffix)
    # A private generator: the initial draw is overwritten below, and torch's global RNG state
    # (which the user's own code may rely on) is left untouched.
    generator = torch.Generator(device=weight_ih.device)
    options = {"dtype": weight_ih.dtype, "device": weight_ih.device, "generator": generator}
    input_size, hidden_size, bias = weight_ih.shape[1], module.hidden_size, module.bias
    if arch == "rnn":
        cell: RecurrentCell = RNNCell(input_size, hidden_size, nonlinearity, bias, **options)
    elif arch == "lstm":
        cell = LSTMCell(input_size, hidden_size, bias=bias, **options)
    else:
        cell = GRUCell(input_size, hidden_size, bias=bias, **options)
    with torch.no_grad():
        for name, parameter in cell.named_parameters():
            parameter.copy_(getattr(module, name + suffix))
    return cell


def _check_layer_and_direction(module: nn.RNNBase, layer: int, direction: int) -> None:
    if not 0 <= layer < module.num_layers:
        raise InputError(f"layer: expected 0..{module.num_layers - 1}, got {layer}")
    directions = 2 if module.bidirectional else 1
    if not 0 <= direction < directions:
        raise InputError(f"direction: expected 0..{directions - 1}, got {direction}")
