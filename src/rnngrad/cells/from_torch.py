"""Build an rnngrad cell from a torch.nn recurrent module, copying its weights exactly."""

from __future__ import annotations

import torch
from torch import nn

from rnngrad.cells._common import RecurrentCell
from rnngrad.cells.gru import GRUCell
from rnngrad.cells.lstm import LSTMCell
from rnngrad.cells.projected_lstm import ProjectedLSTMCell
from rnngrad.cells.rnn import RNNCell
from rnngrad.errors import PARAMETER_DTYPES, InputError, require_cell_position, require_index

_SUPPORTED = "torch.nn.RNN, LSTM, GRU, RNNCell, LSTMCell or GRUCell"


def from_torch(module: nn.Module, layer: int = 0, direction: int = 0) -> RecurrentCell:
    """The rnngrad cell that computes what ``module`` computes at ``layer`` and ``direction``.

    Args:
        module: a ``torch.nn.RNN`` (tanh or relu), ``LSTM`` (with ``proj_size`` too), ``GRU``,
            or one of the three ``*Cell`` modules, or a subclass of one. It is not modified.
        layer: the layer of a multi-layer module (0 for cells).
        direction: 0 forward, 1 the reverse direction of a bidirectional module.

    Returns:
        An :class:`RNNCell`, :class:`LSTMCell` (:class:`ProjectedLSTMCell` for an LSTM with
        ``proj_size``) or :class:`GRUCell` with copies of the weights,
        on the module's device and in its dtype.
    """
    if isinstance(module, (nn.RNNCell, nn.LSTMCell, nn.GRUCell)):
        require_cell_position(layer, direction)
        suffix, nonlinearity = "", getattr(module, "nonlinearity", "tanh")
        arch = _arch(module, {nn.RNNCell: "rnn", nn.LSTMCell: "lstm", nn.GRUCell: "gru"})
    elif isinstance(module, (nn.RNN, nn.LSTM, nn.GRU)):
        _check_layer_and_direction(module, layer, direction)
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        nonlinearity = getattr(module, "nonlinearity", "tanh")
        arch = _arch(module, {nn.RNN: "rnn", nn.LSTM: "lstm", nn.GRU: "gru"})
    else:
        raise InputError(f"module: expected {_SUPPORTED}, got {type(module).__name__}")

    weight_ih = getattr(module, "weight_ih" + suffix)
    if weight_ih.dtype not in PARAMETER_DTYPES:
        raise InputError(f"module: expected float32 or float64 weights, got {weight_ih.dtype} "
                         "(convert a copy with .double() or .float())")
    # A private generator: the initial draw is overwritten below, and torch's global RNG state
    # (which the user's own code may rely on) is left untouched.
    generator = torch.Generator(device=weight_ih.device)
    options = {"dtype": weight_ih.dtype, "device": weight_ih.device, "generator": generator}
    input_size, hidden_size, bias = weight_ih.shape[1], module.hidden_size, module.bias
    if arch == "rnn":
        cell: RecurrentCell = RNNCell(input_size, hidden_size, nonlinearity, bias, **options)
    elif arch == "lstm" and getattr(module, "proj_size", 0) > 0:
        cell = ProjectedLSTMCell(input_size, hidden_size, module.proj_size, bias=bias, **options)
    elif arch == "lstm":
        cell = LSTMCell(input_size, hidden_size, bias=bias, **options)
    else:
        cell = GRUCell(input_size, hidden_size, bias=bias, **options)
    with torch.no_grad():
        for name, parameter in cell.named_parameters():
            parameter.copy_(getattr(module, name + suffix))
    return cell


def _arch(module: nn.Module, kinds: dict[type, str]) -> str:
    """The arch of ``module``, a subclass of one of ``kinds`` included (a user's ``class MyLSTM(nn.LSTM)``)."""
    return next(arch for kind, arch in kinds.items() if isinstance(module, kind))


def _check_layer_and_direction(module: nn.RNNBase, layer: object, direction: object) -> None:
    require_index("layer", layer, module.num_layers)
    require_index("direction", direction, 2 if module.bidirectional else 1)
