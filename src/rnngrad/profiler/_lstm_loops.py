"""The LSTM layer's per-step loops in Python: the fallback of the compiled scan (``_lstm_scan.cpp``),
with the same numbered equations and buffers as :mod:`rnngrad.profiler._lstm_layer`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnngrad.profiler._layer_io import LayerSpec, ThreadPlan


def handover(steps: int) -> int:
    """The scan step from which the reverse scan hands (11)-(12) to a second thread: those of
    steps split .. T − 1 run beside the scan of steps split − 1 .. 0."""
    return steps // 2


def forward_steps(slots: Tensor, cells: Tensor, tanh_cells: Tensor, outputs: Tensor, cell_outputs: Tensor,
                   h0: Tensor, c0: Tensor, w_hh_t: Tensor, w_hr_t: Tensor | None) -> None:
    """The forward loop (1)-(5) in Python, filling the buffers of ``LSTMLayer._forward``."""
    steps, batch, _, hidden = slots.shape
    a_steps = slots[:, :, :4].view(steps, batch, 4 * hidden).unbind(0)  # T × (B, 4H)
    sigmoid_steps = slots[:, :, :3].unbind(0)  # T × (B, 3, H): o, i, f
    o_steps, i_steps, f_steps, g_steps = (slots[:, :, k].unbind(0) for k in range(4))
    c_steps, tc_steps = cells.unbind(0), tanh_cells.unbind(0)
    h_steps = outputs.unbind(0)
    m_steps = h_steps if w_hr_t is None else cell_outputs.unbind(0)
    h_prev, c_prev = h0, c0
    for t in range(steps):
        a_steps[t].addmm_(h_prev, w_hh_t)  # (1)
        sigmoid_steps[t].sigmoid_()  # (2)
        g_steps[t].tanh_()  # (2)
        c_prev = torch.mul(f_steps[t], c_prev, out=c_steps[t]).addcmul_(i_steps[t], g_steps[t])  # (3)
        torch.mul(o_steps[t], torch.tanh(c_prev, out=tc_steps[t]), out=m_steps[t])  # (4)
        if w_hr_t is not None:
            torch.mm(m_steps[t], w_hr_t, out=h_steps[t])  # (5)
        h_prev = h_steps[t]


def step_factors(slots: Tensor, cells: Tensor, tanh_cells: Tensor, cell_outputs: Tensor, c0: Tensor) -> None:
    """In place, vectorised over T: the activated gates in ``slots`` become the per-step factors
    (K_o, F_i, F_f, F_g, f) of (8)-(10), and ``tanh_cells`` the gain o (1 − tanh² c) of (8).
    ``cells`` is spent as scratch."""
    o, i, f, g, f_copy = slots.unbind(2)  # (T, B, H) each, activated
    m = cell_outputs  # o tanh(c)
    f_copy.copy_(f)  # f_t, the carry of (8)
    f.addcmul_(f, f, value=-1.0)  # f (1 − f)
    f[1:].mul_(cells[:-1])  # c_{t−1} f (1 − f)  (10)
    f[0].mul_(c0)
    torch.addcmul(o, m, tanh_cells, value=-1.0, out=tanh_cells)  # o (1 − tanh² c)  (8)
    torch.addcmul(m, m, o, value=-1.0, out=o)  # tanh(c) o (1 − o)  (9)
    gi = torch.mul(g, i, out=cells)
    torch.addcmul(i, gi, g, value=-1.0, out=g)  # i (1 − g²)  (10)
    torch.addcmul(gi, gi, i, value=-1.0, out=i)  # g i (1 − i)  (10)


def reverse_steps(spec: LayerSpec, plan: ThreadPlan, factors: Tensor, hidden_grad: Tensor, cell_grad: Tensor,
                   w_hh_p: Tensor, w_hr: Tensor | None, grad_c_n: Tensor, span_grads, outputs: Tensor):
    """The reverse scan (6)-(10) in Python, in place on the buffers of ``LSTMLayer._backward``.

    Returns f_1 δc_1 ``(B, H)`` and, when ``span_grads`` is given, the handle of (11)-(12) over the
    last half of the scan steps, run beside the loop's first half (None otherwise).
    """
    steps, batch, _, hidden = factors.shape
    pre_grad = factors[:, :, :4].view(steps, batch, 4 * hidden)  # becomes δa_t
    # per-step views; (B, 1, H) ones broadcast over the gate slots
    da_steps, dh_steps = pre_grad.unbind(0), hidden_grad.unbind(0)
    carry_steps, o_steps = factors[:, :, 4:].unbind(0), factors[:, :, :1].unbind(0)
    tail_steps = factors[:, :, 1:].unbind(0)  # slots i, f, g, f-copy
    dc_steps = cell_grad.unsqueeze(2).unbind(0)  # (B, 1, H) each: gain in, δc_t out
    if w_hr is None:
        dm_steps = hidden_grad.unsqueeze(2).unbind(0)  # δm_t = δh_t
    else:
        dm_buffer = grad_c_n.new_empty(batch, hidden)
        dm_steps = [dm_buffer.unsqueeze(1)] * steps
    carry = grad_c_n.clone() if spec.layout.full else torch.zeros_like(grad_c_n)  # f δc
    carry = carry.unsqueeze(1)  # (B, 1, H)
    end_rows = spec.layout.end_rows
    split = handover(steps)
    last_half = None
    for t in range(steps - 1, -1, -1):
        if t + 1 == split and span_grads is not None:  # steps ≥ split are final
            last_half = plan.beside(span_grads, slice(split, steps), outputs[split - 1:-1])
        dh = dh_steps[t]
        if t + 1 < steps:
            dh.addmm_(da_steps[t + 1], w_hh_p)  # (6)
        if w_hr is not None:
            torch.mm(dh, w_hr, out=dm_buffer)  # (7)
        dm = dm_steps[t]
        rows = end_rows.get(t)
        if rows is not None:  # ∂L/∂c_n enters at each sequence's last valid step
            carry.index_add_(0, rows, grad_c_n.index_select(0, rows).unsqueeze(1))
        dc = torch.addcmul(carry, dm, dc_steps[t], out=dc_steps[t])  # (8)
        tail_steps[t].mul_(dc)  # (10) and the next carry f_t δc_t
        o_steps[t].mul_(dm)  # (9)
        carry = carry_steps[t]
    return carry.squeeze(1).clone(), last_half
