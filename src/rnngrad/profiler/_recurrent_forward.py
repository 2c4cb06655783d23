"""The forward that stands in for ``nn.RNN/LSTM/GRU.forward`` while a model is profiled.

It takes and returns exactly what the module's own forward does (tensor or PackedSequence,
batch_first, unbatched input, given or default initial state) and computes the same function,
but layer by layer and direction by direction, each through a recording layer function (the
LSTM, and on CUDA the Elman RNN, one layer at a time through torch's fused kernel with a probe,
``_lstm_fused``; the GRU, and the RNN on the CPU, through rnngrad's reverse scans):

.. math::

    (1)  y^0 = x,   y^l_t = [h^{l,0}_t ; h^{l,1}_t]                 (T, B, D·H_out)
    (2)  input of layer l+1 = dropout_p(y^l)   in train mode, l < L − 1

(2) calls ``torch.dropout`` on the same tensor shape at the same point as torch's CPU kernel
(the time-major layer output, or the packed data for a PackedSequence), so with the same RNG
state it draws the same masks as a plain forward on the CPU. It draws them as m = dropout_p(1)
and multiplies (torch's dropout computes y ⊙ m), so the masks are kept for the log-scaled
gradients (``_scaled``), which also get a copy of each layer's cell, its inputs and outputs,
and hooks for the gradients arriving at the call's outputs and final states.
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
from rnngrad.profiler._scaled import CallRecipe, LayerTensors, recipe_cell


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
    h0, c0 = _initial_states(module, _passed_back(recorder, name, hx), batched, batch, x)
    module.check_forward_args(checked_input, (h0, c0) if c0 is not None else h0, batch_sizes)

    layout = SequenceLayout(steps, batch, lengths, x.device)
    order = PackedOrder(input, steps, batch, x.device) if packed else None
    directions = 2 if module.bidirectional else 1
    call = recorder.begin_call(
        name, module.mode, module.num_layers, directions, layout, module.proj_size or module.hidden_size,
        module.hidden_size if module.mode == "LSTM" else None, x.dtype, x.device, _received(hx),
    )
    if module.mode == "LSTM" or (module.mode != "GRU" and x.device.type in FUSED_RNN_DEVICES):
        return _fused_forward(module, name, call, recorder, weight_grads, input, x, h0, c0, layout, order, batched)
    recipe = _recipe(module, recorder, name, call, layout, directions, x)
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
            if recipe is not None:
                cell = recipe_cell(module, layer, direction, recorder.cell_copies)
                recipe.layers[(layer, direction)] = LayerTensors(
                    cell, layer_input.detach(), output.detach(), h0[index].detach(), None)
        layer_input = torch.cat(outputs, 2) if directions == 2 else outputs[0]  # (1) (T, B, D·H_out)
        if module.training and module.dropout > 0 and layer < module.num_layers - 1:
            layer_input, mask = _inter_layer_dropout(layer_input, module.dropout, order)  # (2)
            if recipe is not None:
                recipe.masks[layer] = mask

    h_n = torch.stack(final_h)  # (L·D, B, H_out)
    if packed:
        output = order.as_packed_sequence(layer_input)
    else:
        output = layer_input.transpose(0, 1) if module.batch_first else layer_input
        if not batched:
            output = layer_input.squeeze(1)  # (T, H_out·D)
    (h_n,) = _handed_out(recorder, name, (h_n,), batched)
    if recipe is not None:
        _keep_gradients(recorder, recipe, layer_input, h_n, None, None, batched)
    recorder.end_call(name, call, (h_n,))
    return output, h_n


# Devices where an Elman RNN runs on torch's fused kernel (cuDNN) with the probe of
# ``_lstm_fused``, as the LSTM does everywhere. On the CPU torch's RNN kernel is a loop of
# per-step ops, and rnngrad's own scan (``_rnn_layer``) is faster (bench/profile.py).
FUSED_RNN_DEVICES = {"cuda"}


def _fused_forward(module, name, call, recorder, weight_grads, input, x, h0, c0, layout, order, batched):
    """An LSTM's (or, on CUDA, an RNN's) layers on torch's fused kernel (``_lstm_fused``), packed
    data kept packed."""
    directions = 2 if module.bidirectional else 1
    layer_input = input.data if order is not None else x  # (N, I) packed rows, or (T, B, I)
    recipe = _recipe(module, recorder, name, call, layout, directions, x)
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
        below = layer_input
        layer_input, h_n, c_n = fused_lstm_layer(specs, weights, layer_input, h0[states],
                                                 None if c0 is None else c0[states], order, module.training,
                                                 module.mode)
        final_h.append(h_n)
        final_c.append(c_n)
        if recipe is not None:
            padded_in, padded_out = _padded(below, order), _padded(layer_input, order)
            H = padded_out.shape[2] // directions
            for direction in range(directions):
                index = layer * directions + direction
                recipe.layers[(layer, direction)] = LayerTensors(
                    recipe_cell(module, layer, direction, recorder.cell_copies), padded_in.detach(),
                    padded_out[..., direction * H:(direction + 1) * H].detach(), h0[index].detach(),
                    None if c0 is None else c0[index].detach())
        if module.training and module.dropout > 0 and layer < module.num_layers - 1:
            mask = torch.dropout(torch.ones_like(layer_input), module.dropout, True)  # (2), torch's draw
            layer_input = layer_input * mask  # = torch.dropout(layer_input, ...) on what torch drops out
            if recipe is not None:
                recipe.masks[layer] = _padded(mask, order)
    if c0 is None:  # an RNN
        return _finished_rnn(module, name, call, recorder, recipe, layer_input, torch.cat(final_h), order, batched)
    h_n, c_n = torch.cat(final_h), torch.cat(final_c)  # (L·D, B, P), (L·D, B, H)
    output = _fused_output(module, layer_input, order, batched)
    h_n, c_n = _handed_out(recorder, name, (h_n, c_n), batched)
    if recipe is not None:
        _keep_gradients(recorder, recipe, layer_input, h_n, c_n, order, batched)
    recorder.end_call(name, call, (h_n, c_n))
    return output, (h_n, c_n)


def _finished_rnn(module, name, call, recorder, recipe, layer_input, h_n, order, batched):
    """``(output, h_n)`` of a fused RNN's pass, as ``nn.RNN.forward`` returns them."""
    output = _fused_output(module, layer_input, order, batched)
    (h_n,) = _handed_out(recorder, name, (h_n,), batched)
    if recipe is not None:
        _keep_gradients(recorder, recipe, layer_input, h_n, None, order, batched)
    recorder.end_call(name, call, (h_n,))
    return output, h_n


def _fused_output(module, layer_input: Tensor, order: PackedOrder | None, batched: bool):
    """The last layer's output as the module returns it: a PackedSequence for packed input, else
    ``(T, B, ·)``, ``(B, T, ·)`` with batch_first, or ``(T, ·)`` unbatched."""
    if order is not None:
        packed = order.packed
        return PackedSequence(layer_input, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
    if not batched:
        return layer_input.squeeze(1)
    return layer_input.transpose(0, 1) if module.batch_first else layer_input


def _received(hx) -> tuple:
    """The state tensors a call received, as given (``()`` for none): they pick its chain."""
    if hx is None:
        return ()
    return tuple(hx) if isinstance(hx, (tuple, list)) else (hx,)


def _inter_layer_dropout(layer_output: Tensor, p: float, order: PackedOrder | None) -> tuple[Tensor, Tensor]:
    """(2) on the tensor torch's kernel drops out (time-major output or packed data), and its mask
    m = dropout(1) (T, B, D·H_out): torch's dropout computes x ⊙ m, so x ⊙ m is the same draw."""
    if order is None:
        mask = torch.dropout(torch.ones_like(layer_output), p, True)  # (T, B, D·H_out)
    else:
        mask = order.unpack(torch.dropout(torch.ones_like(order.pack(layer_output)), p, True))
    return layer_output * mask, mask


def _recipe(module: nn.RNNBase, recorder: Recorder, name: str, call: int, layout: SequenceLayout,
            directions: int, x: Tensor) -> CallRecipe | None:
    """A :class:`CallRecipe` for the log-scaled gradients, when the pass records a backward and
    rnngrad has the module's cell."""
    if not torch.is_grad_enabled() or not x.dtype.is_floating_point:
        return None
    recipe = CallRecipe(layout, module.num_layers, directions)
    recorder.keep_recipe(name, call, recipe)
    return recipe


def _padded(sequence: Tensor, order: PackedOrder | None) -> Tensor:
    """``(T, B, F)`` time-major, from packed data when ``order`` is given."""
    return sequence if order is None else order.unpack(sequence)


def _keep_gradients(recorder: Recorder, recipe: CallRecipe, output: Tensor, h_n: Tensor, c_n: Tensor | None,
                    order: PackedOrder | None, batched: bool) -> None:
    """Hooks that hand the recipe ∂L/∂output (time-major), and ∂L/∂h_n and ∂L/∂c_n at the views
    the caller got (what the caller computed from them alone; (L·D, B, ·))."""
    for name, tensor in (("output", output), ("h_n", h_n), ("c_n", c_n)):
        if tensor is not None and tensor.requires_grad:
            if name == "output":
                transform = order.unpack if order is not None else None
            else:
                transform = None if batched else _batch_of_one
            recorder.hook(tensor, recipe.keeper(name, transform))


def _batch_of_one(grad: Tensor) -> Tensor:
    return grad.unsqueeze(1)  # (L·D, H) → (L·D, 1, H)


def _handed_out(recorder: Recorder, name: str, states: tuple[Tensor, ...], batched: bool) -> tuple[Tensor, ...]:
    """Views of the final states for the caller (without the batch axis for an unbatched call):
    passed back to this module as a later call's hx, they are swapped for new views of the states
    (:func:`_passed_back`), so a hook on a view sees only what the caller computed from it."""
    views = tuple(state.view_as(state) if batched else state.squeeze(1) for state in states)
    recorder.keep_views(name, views, states)
    return views


def _passed_back(recorder: Recorder, name: str, hx):
    """``hx``, or where it continues a chain of ``name``, new views (shaped alike) of the states
    behind the views it is."""
    given = _received(hx)
    behind = recorder.states_behind(name, given)
    if behind is None:
        return hx
    fed = tuple(state.view_as(part) for state, part in zip(behind, given))
    return fed if isinstance(hx, (tuple, list)) else fed[0]
