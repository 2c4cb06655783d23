"""One LSTM layer in one direction: its forward loop and its recording reverse scan.

Steps t = 1..T in scan order (``_layout``), initial state (h_0, c_0). Torch's gate rows
(i, f, g, o) are kept here in the order (o, i, f, g), so one sigmoid covers o, i, f in the
forward and one product covers i, f, g in the reverse scan; weights are permuted on entry and
their gradients permuted back.

.. math::

    (1)  a_t = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh                         (B, 4H)
    (2)  o_t, i_t, f_t = σ(a_t^o), σ(a_t^i), σ(a_t^f);   g_t = tanh(a_t^g)
    (3)  c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t
    (4)  m_t = o_t ⊙ tanh(c_t)
    (5)  h_t = W_hr m_t  if proj_size > 0,  else h_t = m_t

Reverse scan for the TOTAL gradients δh_t = dL/dh_t, δc_t = dL/dc_t, with e_t the direct
gradient (``_layer_io`` (1)) and δa_{T+1} = 0, f_{T+1} δc_{T+1} := ∂L/∂c_n:

    (6)  δh_t = e_t + W_hh^T δa_{t+1}
    (7)  δm_t = W_hr^T δh_t  (or δh_t)
    (8)  δc_t = f_{t+1} ⊙ δc_{t+1} + δm_t ⊙ o_t ⊙ (1 − tanh² c_t)
    (9)  δa_t^o = δm_t ⊙ tanh(c_t) ⊙ o_t (1 − o_t)
    (10) δa_t^i, δa_t^f, δa_t^g
           = δc_t ⊙ (g_t i_t (1 − i_t),  c_{t−1} f_t (1 − f_t),  i_t (1 − g_t²))
    (11) δh_0 = W_hh^T δa_1,   δc_0 = f_1 ⊙ δc_1,   δx_t = W_ih^T δa_t
    (12) δW_ih = Σ_t δa_t x_t^T,  δW_hh = Σ_t δa_t h_{t−1}^T,  δb_ih = δb_hh = Σ_t δa_t,
         δW_hr = Σ_t δh_t m_t^T

The factors of (8)-(10) are computed for all t at once after the Python forward loop (the
compiled loop computes them in 16-step chunks as it goes) and stored per step in five slots
(K_o, F_i, F_f, F_g, f), where K_o = tanh(c) o (1 − o), F = the factors of (10):
one product by δc_t then gives δa^{i,f,g} and the next carry f_t δc_t together, so each step
of the reverse scan is one matmul and three element-wise ops.

The two per-step loops exist twice, with the same equations and the same buffers: compiled
(``_lstm_scan.cpp``, built on first use by ``_compiled``), and in Python below, which serves
where no compiler is and on CUDA. Python pays its interpreter per small op, and a second Python
thread would fight for the GIL; the compiled forward loop splits the batch rows over the
threads. Both run each thread with one intra-op thread (``ThreadPlan``). Once the reverse scan
is halfway, the gradients (11)-(12) of its finished half are computed on a second thread beside
it, and the scan's own thread does the other half after the loop.
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnngrad._compiled import lstm_scans
from rnngrad.profiler._lstm_loops import forward_steps, handover, reverse_steps, step_factors
from rnngrad._denormals import denormals_flushed
from rnngrad.profiler._layer_io import (
    LayerSpec,
    ThreadPlan,
    bias_grad,
    check_forward,
    direct_gradient,
    finish_backward,
    flat,
    weight_grad,
    zero_padding,
)
from rnngrad.profiler._summaries import forget_gate_statistics, step_unit_means

_TO_OIFG = [3, 0, 1, 2]  # our block k holds torch's block _TO_OIFG[k]
_TO_IFGO = [1, 2, 3, 0]  # the inverse permutation


def _permute_gates(tensor: Tensor, hidden: int, order: list[int]) -> Tensor:
    """Reorder the four H-row gate blocks of a ``(4H, ...)`` tensor."""
    return tensor.reshape(4, hidden, -1)[order].reshape(tensor.shape)


def _span_grads(span: slice, previous: Tensor | None, *, pre_grad: Tensor, xs: Tensor, w_ih_p: Tensor,
                grad_x: Tensor | None, hidden_grad: Tensor, cell_outputs: Tensor,
                wanted: tuple[bool, bool, bool, bool]) -> list[Tensor | None]:
    """(11)-(12) over a span of scan steps: δx_t into ``grad_x`` (if given), and the sums
    Σ δa_t x_t^T ``(4H, I)``, Σ δa_t h_{t−1}^T ``(4H, P)``, Σ δa_t ``(4H,)``, Σ δh_t m_t^T ``(P, H)``
    (each None unless ``wanted``), in our gate order. ``previous`` holds h_{t−1} of the span's
    steps ``(S, B, P)`` (None unless the W_hh sum is wanted); the other tensors are the whole
    layer's, sliced here.
    """
    flat_grad = flat(pre_grad[span])  # (S*B, 4H)
    if grad_x is not None:
        torch.mm(flat_grad, w_ih_p, out=flat(grad_x[span]))  # (11)
    want_w_ih, want_w_hh, want_bias, want_w_hr = wanted
    return [
        weight_grad(flat_grad, flat(xs[span])) if want_w_ih else None,
        weight_grad(flat_grad, flat(previous)) if want_w_hh else None,
        bias_grad(flat_grad) if want_bias else None,
        weight_grad(flat(hidden_grad[span]), flat(cell_outputs[span])) if want_w_hr else None,
    ]


class LSTMLayer(torch.autograd.Function):
    """``(anchor, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, spec) → (output, h_n, c_n)``.

    Shapes: x (T, B, I) in time order; h0 (B, P); c0 (B, H); output (T, B, P) in time order;
    P = proj_size or H. ``anchor`` is a dummy that makes the backward run even when nothing
    else requires grad; b_ih, b_hh, w_hr may be None.
    """

    @staticmethod
    def forward(ctx, anchor, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, spec: LayerSpec):
        ctx.scans = lstm_scans(x.device)  # the compiled loops, or None
        # multiply-adds of one step's recurrent matmul; the compiled loops always run narrow
        # (each row block on its own thread, one intra-op thread each)
        ctx.step_flops = 0 if ctx.scans is not None else x.shape[1] * w_hh.numel()
        with ThreadPlan(ctx.step_flops) as plan:
            return LSTMLayer._forward(ctx, plan, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, spec)

    @staticmethod
    def _forward(ctx, plan: ThreadPlan, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, spec: LayerSpec):
        steps, batch, _ = x.shape
        hidden, projected = w_hh.shape[0] // 4, w_hh.shape[1]
        w_ih_p = _permute_gates(w_ih, hidden, _TO_OIFG)  # (4H, I)
        w_hh_p = _permute_gates(w_hh, hidden, _TO_OIFG)  # (4H, P)
        xs = spec.layout.scan_order(x, spec.reverse)  # (T, B, I)
        slots = x.new_empty(steps, batch, 5, hidden)  # o, i, f, g, and later a copy of f
        # W_ih x_t + b (1) for all t as one product; the bias rides in it as a column of ones
        if b_ih is None:
            inputs, w_in = flat(xs), w_ih_p  # (T*B, I), (4H, I)
        else:
            bias = _permute_gates(b_ih + b_hh, hidden, _TO_OIFG)  # (4H,)
            inputs = torch.cat([flat(xs), xs.new_ones(steps * batch, 1)], dim=1)  # (T*B, I+1)
            w_in = torch.cat([w_ih_p, bias.unsqueeze(1)], dim=1)  # (4H, I+1)
        if ctx.scans is None:  # the compiled loop computes it on its own threads
            with plan.wide():
                torch.mm(inputs, w_in.t(), out=slots[:, :, :4].view(steps * batch, 4 * hidden))
        cells = x.new_empty(steps, batch, hidden)  # c_t
        tanh_cells = x.new_empty(steps, batch, hidden)  # tanh(c_t), becomes the gain of (8)
        outputs = x.new_empty(steps, batch, projected)  # h_t (T, B, P)
        cell_outputs = outputs if w_hr is None else x.new_empty(steps, batch, hidden)  # m_t

        w_hh_t = w_hh_p.t().contiguous()  # (P, 4H)
        w_hr_t = None if w_hr is None else w_hr.t().contiguous()  # (H, P)
        if ctx.scans is not None:  # the factors of (8)-(10) and forget statistics step by step
            gate_sums = x.new_empty(steps, batch)  # Σ_j f_t[b, j]
            log_forget = x.new_empty(batch, hidden)  # Σ_t log f_t over valid steps
            ctx.scans.forward_scan(slots, cells, tanh_cells, outputs, None if w_hr is None else cell_outputs,
                                   inputs, w_in.t().contiguous(), h0, c0, w_hh_t, w_hr_t, gate_sums, log_forget,
                                   spec.layout.lengths() - 1, plan.threads, denormals_flushed())
        else:
            forward_steps(slots, cells, tanh_cells, outputs, cell_outputs, h0, c0, w_hh_t, w_hr_t)

        with plan.wide():  # whole-sequence element-wise passes gain from every thread
            zero_padding(spec, outputs, cells)
            h_n, c_n = spec.layout.final_states(outputs), spec.layout.final_states(cells)
            check_forward(spec, outputs, h_n, "hidden_state")
            check_forward(spec, cells, c_n, "cell_state")
            if ctx.scans is None:
                step_factors(slots, cells, tanh_cells, cell_outputs, c0)
                statistics = forget_gate_statistics(slots[:, :, 4], spec.layout.padding())  # f_t: the carry
            else:
                statistics = step_unit_means(gate_sums, hidden, spec.layout.padding()), log_forget.double()
            spec.recorder.record_forget_gates(spec, *statistics)
            cell_gain = tanh_cells
            del cells, tanh_cells
            zero_padding(spec, slots, cell_gain)

        ctx.spec = spec
        ctx.factors, ctx.cell_gain = slots, cell_gain
        ctx.save_for_backward(xs, outputs, h0, w_ih_p, w_hh_p, w_hr, cell_outputs)
        return spec.layout.scan_order(outputs, spec.reverse), h_n, c_n

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output, grad_h_n, grad_c_n):
        with ThreadPlan(ctx.step_flops) as plan:
            return LSTMLayer._backward(ctx, plan, grad_output, grad_h_n, grad_c_n)

    @staticmethod
    def _backward(ctx, plan: ThreadPlan, grad_output, grad_h_n, grad_c_n):
        spec: LayerSpec = ctx.spec
        xs, outputs, h0, w_ih_p, w_hh_p, w_hr, cell_outputs = ctx.saved_tensors
        factors, cell_gain = ctx.factors, ctx.cell_gain
        del ctx.factors, ctx.cell_gain  # free early; a second backward fails loudly
        steps, batch, _, hidden = factors.shape

        hidden_grad = direct_gradient(spec, grad_output, grad_h_n)  # e_t, becomes δh_t (T, B, P)
        cell_grad = cell_gain  # step t's gain is overwritten by δc_t once read (T, B, H)
        pre_grad = factors[:, :, :4].view(steps, batch, 4 * hidden)  # becomes δa_t, row stride 5H
        needs = ctx.needs_input_grad
        grad_x = pre_grad.new_empty(steps, batch, xs.shape[2]) if needs[1] else None
        weights = spec.weight_grads
        wanted = (weights and needs[4], weights and needs[5], weights and (needs[6] or needs[7]),
                  weights and w_hr is not None and needs[8])
        span_grads = functools.partial(
            _span_grads, pre_grad=pre_grad, xs=xs, w_ih_p=w_ih_p, grad_x=grad_x, hidden_grad=hidden_grad,
            cell_outputs=cell_outputs, wanted=wanted,
        )
        reverse_scan = reverse_steps if ctx.scans is None else functools.partial(_compiled_reverse_scan, ctx.scans)
        overlap = grad_x is not None or any(wanted)
        grad_c0, last_half = reverse_scan(spec, plan, factors, hidden_grad, cell_grad, w_hh_p, w_hr, grad_c_n,
                                          span_grads if overlap else None, outputs)

        first = handover(steps) if last_half is not None else steps  # steps 0 .. first − 1 are done here
        with plan.wide():
            # h_{t−1} of steps 0 .. first − 1, copied: one GEMM measured 1-4 % faster overall than the
            # two of recurrent_weight_grad
            previous = torch.cat([h0.unsqueeze(0), outputs[:first - 1]]) if wanted[1] else None
            grads = span_grads(slice(0, first), previous)
        if last_half is not None:
            grads = [None if a is None else a.add_(b) for a, b in zip(grads, last_half.result())]
        grad_w_ih, grad_w_hh, grad_b = (
            None if grad is None else _permute_gates(grad, hidden, _TO_IFGO) for grad in grads[:3]
        )
        grad_w_hr = grads[3]
        grad_b_ih, grad_b_hh = grad_b, None if grad_b is None else grad_b.clone()
        if grad_x is not None:
            grad_x = spec.layout.scan_order(grad_x, spec.reverse)
        grad_h0 = pre_grad[0] @ w_hh_p if needs[2] else None  # (11) (B, P)
        grad_c0 = grad_c0 if needs[3] else None  # (11) f_1 δc_1
        finish_backward(spec, hidden_grad, cell_grad)
        return (None, grad_x, grad_h0, grad_c0, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh,
                grad_w_hr, None)


def _compiled_reverse_scan(scans, spec: LayerSpec, plan: ThreadPlan, factors: Tensor, hidden_grad: Tensor,
                           cell_grad: Tensor, w_hh_p: Tensor, w_hr: Tensor | None, grad_c_n: Tensor, span_grads,
                           outputs: Tensor):
    """The reverse scan (6)-(10) compiled; the same contract as :func:`reverse_steps`.

    With (11)-(12) to compute, the scan runs in two calls, and the last half's (11)-(12) run
    beside the second call on a thread of their own; the scan's rows are split over the other
    threads (on 2 cores: one; measured faster than splitting the rows over both and computing
    (11)-(12) after). Without, the rows are split over all the threads.
    """
    steps = factors.shape[0]
    end_step = spec.layout.lengths() - 1  # (B,) each sequence's last valid scan step
    flush = denormals_flushed()

    def scan(first: int, last: int, workers: int) -> Tensor:
        return scans.reverse_scan(factors, hidden_grad, cell_grad, w_hh_p, w_hr, grad_c_n, end_step,
                                  first, last, workers, flush)

    split = handover(steps)
    if span_grads is None or split == 0:
        return scan(0, steps, plan.threads), None
    workers = max(1, plan.threads - 1)
    scan(split, steps, workers)
    last_half = plan.beside(span_grads, slice(split, steps), outputs[split - 1:-1])
    return scan(0, split, workers), last_half
