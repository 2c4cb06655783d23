"""The forward that stands in for ``nn.RNN/LSTM/GRU.forward`` while a model is profiled.

It takes and returns exactly what the module's own forward does (tensor or PackedSequence,
batch_first, unbatched input, given or default initial state) and computes the same function,
but layer by layer and direction by direction, each through a recording layer function:

.. math::

    (1)  y^0 = x,   y^l_t = [h^{l,0}_t ; h^{l,1}_t]                 (T, B, D·H_out)
    (2)  input of layer l+1 = dropout_p(y^l)   in train mode, l < L − 1

(2) calls ``torch.dropout`` on the same tensor shape at the same point as torch's CPU kernel
(the time-major layer output, or the packed data for a PackedSequence), so with the same RNG
state it draws the same masks as a plain forward on the CPU.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from rnngrad.errors import InputError
from rnngrad.profiler._gru_layer import GRULayer
from rnngrad.profiler._layer_io import LayerKey, LayerSpec
from rnngrad.profiler._layout import PackedOrder, SequenceLayout
from rnngrad.profiler._lstm_fused import LayerWeights, fused_lstm_layer
from rnngrad.profiler._recorder import Recorder
from rnngrad.profiler._rnn_layer import RNNLayer


def _initial_states(module: nn.RNNBase, hx, batched: bool, batch: int, like: Tensor):
    """``(h0, c0)`` as ``(L·D, B, H_out)``, ``(L·D, B, H)`` (c0 None unless LSTM)."""
    is_lstm = module.mode == "LSTM"
    layers = module.num_layers * (2 if module.bidirectional else 1)
    if hx is None:
        h0 = like.new_zeros(layers, batch, module.proj_size or module.hidden_size)
        c0 = like.new_zeros(layers, batch, module.hidden_size) if is_lstm else None
        return h0, c0
    h0, c0 = hx if is_lstm else (hx, None)
    if not batched:
        if h0.dim() != 2 or (c0 is not None and c0.dim() != 2):
            raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but got {h0.dim()}-D tensor")
        h0 = h0.unsqueeze(1)
        c0 = None if c0 is None else c0.unsqueeze(1)
    return h0, c0


def profiled_forward(module: nn.RNNBase, name: str, recorder: Recorder, anchor: Tensor,
                     weight_grads: bool, input, hx=None):
    """Drop-in for ``module.forward(input, hx)`` that records every layer and direction."""
    packed = isinstance(input, PackedSequence)
    if packed:
        x, lengths = pad_packed_sequence(input)  # (T, B, I) in the original batch order
        batched, checked_input, batch_sizes = True, input.data, input.batch_sizes
    else:
        if input.dim() not in (2, 3):
            raise ValueError(
                f"{type(module).__name__}: Expected input to be 2D or 3D, got {input.dim()}D instead"
            )
        batched, lengths, batch_sizes = input.dim() == 3, None, None
        checked_input = input if batched else input.unsqueeze(0 if module.batch_first else 1)
        x = checked_input.transpose(0, 1) if module.batch_first else checked_input  # (T, B, I)
    steps, batch = x.shape[0], x.shape[1]
    if steps == 0 or batch == 0:
        raise InputError(
            f"inputs: expected at least one time step and one sequence for {name or type(module).__name__!r}, "
            f"got {steps} steps and {batch} sequences: there is no gradient through time to profile"
        )
    h0, c0 = _initial_states(module, hx, batched, batch, x)
    module.check_forward_args(checked_input, (h0, c0) if c0 is not None else h0, batch_sizes)

    layout = SequenceLayout(steps, batch, lengths, x.device)
    order = PackedOrder(input, steps, batch, x.device) if packed else None
    directions = 2 if module.bidirectional else 1
    call = recorder.begin_call(
        name, module.mode, module.num_layers, directions, layout, module.proj_size or module.hidden_size,
        module.hidden_size if module.mode == "LSTM" else None, x.dtype, x.device, _received(hx),
    )
    if module.mode == "LSTM":
        return _lstm_forward(module, name, call, recorder, weight_grads, input, x, h0, c0, layout, order, batched)
    final_h = []
    layer_input = x
    for layer in range(module.num_layers):
        outputs = []
        for direction in range(directions):
            index = layer * directions + direction
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            w_ih, w_hh = getattr(module, "weight_ih" + suffix), getattr(module, "weight_hh" + suffix)
            b_ih = getattr(module, "bias_ih" + suffix) if module.bias else None
            b_hh = getattr(module, "bias_hh" + suffix) if module.bias else None
            spec = LayerSpec(LayerKey(name, layer, direction, call), layout, recorder, weight_grads)
            if module.mode == "GRU":
                output, h_n = GRULayer.apply(anchor, layer_input, h0[index], w_ih, w_hh, b_ih, b_hh, spec)
            else:
                relu = module.mode == "RNN_RELU"
                output, h_n = RNNLayer.apply(
                    anchor, layer_input, h0[index], w_ih, w_hh, b_ih, b_hh, relu, spec
                )
            outputs.append(output)  # (T, B, H_out)
            final_h.append(h_n)  # (B, H_out)
        layer_input = torch.cat(outputs, 2) if directions == 2 else outputs[0]  # (1) (T, B, D·H_out)
        if module.training and module.dropout > 0 and layer < module.num_layers - 1:
            layer_input = _inter_layer_dropout(layer_input, module.dropout, order)  # (2)

    h_n = torch.stack(final_h)  # (L·D, B, H_out)
    if packed:
        output = order.as_packed_sequence(layer_input)
    else:
        output = layer_input.transpose(0, 1) if module.batch_first else layer_input
        if not batched:
            output = layer_input.squeeze(1)  # (T, H_out·D)
            h_n = h_n.squeeze(1)
    recorder.end_call(name, call, (h_n,))
    return output, h_n


def _lstm_forward(module, name, call, recorder, weight_grads, input, x, h0, c0, layout, order, batched):
    """An LSTM's layers on torch's fused kernel (``_lstm_fused``), packed data kept packed."""
    directions = 2 if module.bidirectional else 1
    layer_input = input.data if order is not None else x  # (N, I) packed rows, or (T, B, I)
    final_h, final_c = [], []
    for layer in range(module.num_layers):
        specs, weights = [], []
        for direction in range(directions):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            specs.append(LayerSpec(LayerKey(name, layer, direction, call), layout, recorder, weight_grads))
            weights.append(LayerWeights(
                getattr(module, "weight_ih" + suffix), getattr(module, "weight_hh" + suffix),
                getattr(module, "bias_ih" + suffix) if module.bias else None,
                getattr(module, "bias_hh" + suffix) if module.bias else None,
                getattr(module, "weight_hr" + suffix) if module.proj_size > 0 else None))
        states = slice(layer * directions, (layer + 1) * directions)
        layer_input, h_n, c_n = fused_lstm_layer(specs, weights, layer_input, h0[states], c0[states], order,
                                                 module.training)
        final_h.append(h_n)
        final_c.append(c_n)
        if module.training and module.dropout > 0 and layer < module.num_layers - 1:
            layer_input = torch.dropout(layer_input, module.dropout, True)  # (2), on what torch drops out
    h_n, c_n = torch.cat(final_h), torch.cat(final_c)  # (L·D, B, P), (L·D, B, H)
    if order is not None:
        packed = order.packed
        output = PackedSequence(layer_input, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
    else:
        output = layer_input.transpose(0, 1) if module.batch_first else layer_input
        if not batched:
            output, h_n, c_n = layer_input.squeeze(1), h_n.squeeze(1), c_n.squeeze(1)
    recorder.end_call(name, call, (h_n, c_n))
    return output, (h_n, c_n)


def _received(hx) -> tuple:
    """The state tensors a call received, as given (``()`` for none): they pick its chain."""
    if hx is None:
        return ()
    return tuple(hx) if isinstance(hx, (tuple, list)) else (hx,)


def _inter_layer_dropout(layer_output: Tensor, p: float, order: PackedOrder | None) -> Tensor:
    """(2) on the tensor torch's kernel drops out: time-major output or packed data."""
    if order is None:
        return torch.dropout(layer_output, p, True)  # (T, B, D·H_out)
    return order.unpack(torch.dropout(order.pack(layer_output), p, True))  # (T, B, D·H_out)
