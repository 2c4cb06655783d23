r"""One LSTM layer (both directions) on torch's fused kernel, with dL/dh_t read off autograd.

Torch's kernel (oneDNN on the CPU, cuDNN on CUDA) returns only the outputs h_t, so the gradient
it computes at each h_t through the recurrence stays inside it. One zero input makes it come
out: the layer reads x'_t = [x_t ; p_t] with p_t = 0 ``(B, P)`` and input weights
W'_ih = [W_ih , sg(W_hh)] (sg: a detached copy), so it computes the same gates,

.. math::

    (1)  a_t = W_ih x_t + W_hh p_t + W_hh h_{t−1} + b = W_ih x_t + W_hh h_{t−1} + b     (p_t = 0)

and the gradient it returns for its input holds, in p's columns,

    (2)  ∂L/∂p_t = W_hh^T δa_t = the recurrent part of dL/dh_{t−1}.

With e_t = ∂L/∂(output at t) and ∂L/∂h_n from autograd (hooks on the layer's outputs):

    (3)  δh_t = e_t + ∂L/∂p_{t+1}  (t < L_b − 1),     δh_{L_b−1} = e_{L_b−1} + ∂L/∂h_n

in scan order (``_layout``; the reverse direction reads p_{t−1}, and its h_n is at t = 0). A
bidirectional layer reads [x ; p^0 ; p^1], each direction's W'_ih holding its own W_hh in its own
p-columns and zeros in the other's. The cell gradient needs the gates, which the kernel keeps to
itself: after (3) they are recomputed from the layer's input and outputs in two big matrix
products, c_t by the linear scan c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t, and

    (4)  δc_t = f_{t+1} ⊙ δc_{t+1} + δm_t ⊙ o_t ⊙ (1 − tanh² c_t),   δm_t = W_hr^T δh_t (or δh_t)

by the same scan run backwards (``rnngrad.scan.unchecked_scan``: inf and NaN pass through), with ∂L/∂c_n added at the last valid step.
The parameters' gradients are the kernel's own; p's columns of W'_ih get a gradient that is
dropped with the detached copy.
"""

from __future__ import annotations

import functools
import warnings

import torch
from torch import Tensor

from rnngrad._denormals import flushing_denormals
from rnngrad.profiler._layer_io import LayerSpec, all_finite, check_forward, finish_backward
from rnngrad.profiler._layout import PackedOrder
from rnngrad.profiler._recorder import forget_step_means
from rnngrad.profiler._summaries import forget_gate_statistics
from rnngrad.scan import unchecked_scan


class LayerWeights:
    """One direction's parameters of one layer: w_ih (4H, F), w_hh (4H, P), b_ih, b_hh (4H,)
    or None, w_hr (P, H) or None."""

    def __init__(self, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None,
                 w_hr: Tensor | None):
        self.w_ih, self.w_hh, self.b_ih, self.b_hh, self.w_hr = w_ih, w_hh, b_ih, b_hh, w_hr


def fused_lstm_layer(specs: list[LayerSpec], weights: list[LayerWeights], layer_input: Tensor,
                     h0: Tensor, c0: Tensor | None, order: PackedOrder | None, train: bool, mode: str = "LSTM"):
    """One layer, every direction, through ``torch._VF.lstm``: ``(output, h_n, c_n)``.

    ``layer_input`` is ``(T, B, F)`` time-major, or the ``(N, F)`` data of a PackedSequence
    when ``order`` is given; output is the same layout with D·P features; h0, h_n ``(D, B, P)``,
    c0, c_n ``(D, B, H)`` in the original batch order.

    ``mode`` "RNN_TANH" or "RNN_RELU" runs torch's fused Elman RNN (``_VF.rnn_tanh``/``rnn_relu``,
    cuDNN on CUDA) the same way: a_t = W_ih x_t + W_hh h_{t−1} + b, so (1)–(3) hold with one gate
    block, and c0, c_n are None.
    """
    directions = len(weights)
    projected = weights[0].w_hh.shape[1]
    zeros = layer_input.new_zeros(layer_input.shape[:-1] + (directions * projected,))
    probe = zeros.requires_grad_()  # p of (1): (T, B, D·P) or (N, D·P)
    flat_weights = []
    for direction, weight in enumerate(weights):
        blocks = [weight.w_ih]
        for other in range(directions):
            blocks.append(weight.w_hh.detach() if other == direction else weight.w_hh.new_zeros(weight.w_hh.shape))
        flat_weights += [torch.cat(blocks, 1), weight.w_hh]  # W'_ih (4H, F + D·P), W_hh
        if weight.b_ih is not None:
            flat_weights += [weight.b_ih, weight.b_hh]
        if weight.w_hr is not None:
            flat_weights.append(weight.w_hr)
    wide_input = torch.cat([layer_input, probe], -1)  # x' of (1)
    has_biases, bidirectional = weights[0].b_ih is not None, directions == 2
    with warnings.catch_warnings():
        # cuDNN warns that W'_ih is not in the module's flat weight buffer: it is new at every call
        warnings.filterwarnings("ignore", message="RNN module weights are not part of single contiguous")
        if mode == "LSTM":
            output, h_n, c_n = _run_kernel(wide_input, h0, c0, flat_weights, has_biases, train, bidirectional, order)
        else:
            (output, h_n), c_n = _run_rnn_kernel(mode, wide_input, h0, flat_weights, has_biases, train,
                                                 bidirectional, order), None

    reading = _Reading(specs, weights, layer_input, output, h0, c0, order)
    for direction, spec in enumerate(specs):
        if not all_finite(h_n[direction]):  # an inf/NaN state reaches h_n
            check_forward(spec, spec.layout.scan_order(reading.outputs(direction), spec.reverse),
                          h_n[direction], "hidden_state")
        elif c_n is not None and not all_finite(c_n[direction]):  # c_t = ±inf with finite h_t = o_t tanh(c_t)
            spec.recorder.mark_nonfinite("cell_state", spec.key)
        if c_n is not None:
            spec.recorder.defer(spec.key, functools.partial(reading.cell_and_forget_gates, direction))
    for name, tensor in (("output", output), ("h_n", h_n), ("c_n", c_n)):
        if tensor is not None and tensor.requires_grad:
            specs[0].recorder.hook(tensor, reading.keeper(name))
    specs[0].recorder.hook(probe, reading.finish)  # runs after the kernel's backward: the last of the four
    specs[0].recorder.hooked_states.append(probe)
    return output, h_n, c_n


def _run_kernel(wide_input, h0, c0, flat_weights, has_biases, train, bidirectional, order):
    """``torch._VF.lstm``, one layer, as ``nn.LSTM.forward`` calls it (packed: state in sorted order)."""
    if order is None:
        return torch._VF.lstm(wide_input, (h0, c0), flat_weights, has_biases, 1, 0.0, train, bidirectional, False)
    packed = order.packed
    state = (h0, c0) if packed.sorted_indices is None else (
        h0.index_select(1, packed.sorted_indices), c0.index_select(1, packed.sorted_indices))
    output, h_n, c_n = torch._VF.lstm(wide_input, packed.batch_sizes, state, flat_weights, has_biases, 1, 0.0,
                                      train, bidirectional)
    if packed.unsorted_indices is not None:
        h_n, c_n = h_n.index_select(1, packed.unsorted_indices), c_n.index_select(1, packed.unsorted_indices)
    return output, h_n, c_n


def _run_rnn_kernel(mode, wide_input, h0, flat_weights, has_biases, train, bidirectional, order):
    """``torch._VF.rnn_tanh`` or ``rnn_relu``, one layer, as ``nn.RNN.forward`` calls it."""
    kernel = torch._VF.rnn_tanh if mode == "RNN_TANH" else torch._VF.rnn_relu
    if order is None:
        return kernel(wide_input, h0, flat_weights, has_biases, 1, 0.0, train, bidirectional, False)
    packed = order.packed
    state = h0 if packed.sorted_indices is None else h0.index_select(1, packed.sorted_indices)
    output, h_n = kernel(wide_input, packed.batch_sizes, state, flat_weights, has_biases, 1, 0.0, train,
                         bidirectional)
    if packed.unsorted_indices is not None:
        h_n = h_n.index_select(1, packed.unsorted_indices)
    return output, h_n


class _Reading:
    """What one layer's pass leaves: the gradients autograd hands its outputs and p, turned into
    δh_t (3) during the backward, and copies of its inputs, outputs and weights, from which δc_t
    (4) and the forget-gate statistics are computed when first asked for (so the model and
    tensors may change after the pass; the copies cost one pass over them)."""

    def __init__(self, specs, weights, layer_input, output, h0, c0, order):
        self.specs, self.order = specs, order
        self.weights = [LayerWeights(*(None if w is None else w.detach().clone()
                                       for w in (weight.w_ih, weight.w_hh, weight.b_ih, weight.b_hh, weight.w_hr)))
                        for weight in weights]
        self.layer_input, self.output = layer_input.detach().clone(), output.detach().clone()
        self.h0, self.c0 = h0.detach().clone(), None if c0 is None else c0.detach().clone()
        self.grads: dict[str, Tensor] = {}
        self.hidden: dict[int, Tensor] = {}  # direction → δh in scan order, once the backward ran

    def keeper(self, name: str):
        def keep(grad: Tensor) -> None:
            self.grads[name] = grad.detach()

        return keep

    def padded(self, sequence: Tensor) -> Tensor:
        """``(T, B, F)`` time-major from the layer's layout."""
        return sequence if self.order is None else self.order.unpack(sequence)

    def outputs(self, direction: int) -> Tensor:
        """h_t of one direction, ``(T, B, P)`` time order."""
        projected = self.weights[0].w_hh.shape[1]
        return self.padded(self.output)[..., direction * projected:(direction + 1) * projected]

    def finish(self, probe_grad: Tensor) -> None:
        """(3) for every direction, handed to the recorder; keeps δh for (4)."""
        with torch.no_grad():
            projected = self.weights[0].w_hh.shape[1]
            recurrent = self.padded(probe_grad.detach())  # (T, B, D·P), (2) at time t
            direct = self.grads.get("output")
            direct = torch.zeros_like(recurrent) if direct is None else self.padded(direct)
            for direction, spec in enumerate(self.specs):
                columns = slice(direction * projected, (direction + 1) * projected)
                layout = spec.layout
                hidden = layout.scan_order(direct[..., columns], spec.reverse).clone(memory_format=torch.contiguous_format)  # (T, B, P)
                recurrent_scan = layout.scan_order(recurrent[..., columns], spec.reverse)
                hidden[:-1] += recurrent_scan[1:]  # zero past each sequence's end: padding adds nothing
                if "h_n" in self.grads:
                    layout.add_at_final_states(hidden, self.grads["h_n"][direction])
                self.hidden[direction] = hidden
                finish_backward(spec, hidden, None)

    def cell_and_forget_gates(self, direction: int) -> tuple[Tensor, Tensor, Tensor]:
        """δc_t (4) ``(T, B, H)`` in time order, the mean forget gate per step ``(T,)`` and the
        log carousel product ``(B, H)``."""
        spec, weight = self.specs[direction], self.weights[direction]
        layout = spec.layout
        with torch.no_grad(), flushing_denormals():  # as in the pass itself
            x = layout.scan_order(self.padded(self.layer_input), spec.reverse)  # (T, B, F)
            outputs = layout.scan_order(self.outputs(direction), spec.reverse)  # (T, B, P)
            previous = torch.cat([self.h0[direction].unsqueeze(0), outputs[:-1]])  # h_{t−1}, (T, B, P)
            gates = torch.matmul(x, weight.w_ih.t()) + torch.matmul(previous, weight.w_hh.t())  # (T, B, 4H)
            if weight.b_ih is not None:
                gates += weight.b_ih + weight.b_hh
            i, f, g, o = gates.chunk(4, 2)  # torch's gate order, (T, B, H) each
            i, o, g = torch.sigmoid(i), torch.sigmoid(o), torch.tanh(g)
            f = torch.sigmoid(f).contiguous()  # the scans read it flat
            padding = layout.padding()
            if padding is not None:
                f = f.masked_fill(padding, 0.0)  # cuts the scans at each sequence's end
            unit_mean, log_product = forget_gate_statistics(f, padding)
            hidden = self.hidden.get(direction)
            if hidden is None:  # the backward never reached this layer
                return torch.zeros_like(f), forget_step_means(spec, unit_mean), log_product
            cells = unchecked_scan(f, i * g, self.c0[direction].contiguous())  # c_t, (T, B, H)
            tanh_c = torch.tanh(cells)
            through_h = hidden if weight.w_hr is None else torch.matmul(hidden, weight.w_hr)  # δm_t, (T, B, H)
            source = through_h * o * (1 - tanh_c * tanh_c)  # (4)'s second term
            if padding is not None:
                source = source.masked_fill(padding, 0.0)
            if "c_n" in self.grads:
                layout.add_at_final_states(source, self.grads["c_n"][direction])
            cell = unchecked_scan(f, source, reverse=True)  # (4), (T, B, H) scan order
            return layout.scan_order(cell, spec.reverse), forget_step_means(spec, unit_mean), log_product
