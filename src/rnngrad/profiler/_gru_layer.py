"""One GRU layer in one direction: its forward loop and its recording reverse scan.

Steps t = 1..T in scan order (``_layout``), initial state h_0, torch's gate order (r, z, n):

.. math::

    (1)  u_t = W_ih x_t + b_ih,   v_t = W_hh h_{t−1} + b_hh                  (B, 3H) each
    (2)  r_t = σ(u_t^r + v_t^r),   z_t = σ(u_t^z + v_t^z)
    (3)  n_t = tanh(u_t^n + r_t ⊙ v_t^n)
    (4)  h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}

Reverse scan for the TOTAL gradient δh_t = dL/dh_t, e_t the direct gradient (``_layer_io``
(1)), δv_{T+1} = 0, z_{T+1} := 0, and A_t = (1 − z_t)(1 − n_t²):

    (5)  δh_t = e_t + W_hh^T δv_{t+1} + z_{t+1} ⊙ δh_{t+1}
    (6)  δv_t^r, δv_t^z, δv_t^n
           = δh_t ⊙ (A_t v_t^n r_t (1 − r_t),  (h_{t−1} − n_t) z_t (1 − z_t),  A_t r_t)
    (7)  δu_t^r = δv_t^r,   δu_t^z = δv_t^z,   δu_t^n = δh_t ⊙ A_t
    (8)  δh_0 = W_hh^T δv_1 + z_1 ⊙ δh_1,   δx_t = W_ih^T δu_t
    (9)  δW_ih = Σ_t δu_t x_t^T,  δb_ih = Σ_t δu_t,  δW_hh = Σ_t δv_t h_{t−1}^T,  δb_hh = Σ_t δv_t

All of (6) is linear in δh_t, so its three factors are computed for all t at once after the
forward and each step of the Python loop is one matmul and two element-wise ops.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from rnngrad.profiler._layer_io import (
    LayerSpec,
    ThreadPlan,
    bias_grad,
    check_forward,
    direct_gradient,
    finish_backward,
    flat,
    recurrent_weight_grad,
    weight_grad,
    zero_padding,
)


class GRULayer(torch.autograd.Function):
    """``(anchor, x, h0, w_ih, w_hh, b_ih, b_hh, spec) → (output, h_n)``.

    Shapes: x (T, B, I) in time order; h0 (B, H); output (T, B, H) in time order. ``anchor`` is a
    dummy that makes the backward run even when nothing else requires grad; biases may be None.
    """

    @staticmethod
    def forward(ctx, anchor, x, h0, w_ih, w_hh, b_ih, b_hh, spec: LayerSpec):
        ctx.step_flops = x.shape[1] * w_hh.numel()  # multiply-adds of one step's recurrent matmul
        ctx.steps = x.shape[0]
        with ThreadPlan(ctx.step_flops, ctx.steps) as plan:
            return GRULayer._forward(ctx, plan, x, h0, w_ih, w_hh, b_ih, b_hh, spec)

    @staticmethod
    def _forward(ctx, plan: ThreadPlan, x, h0, w_ih, w_hh, b_ih, b_hh, spec: LayerSpec):
        steps, batch, _ = x.shape
        hidden = w_hh.shape[1]
        two = 2 * hidden
        xs = spec.layout.scan_order(x, spec.reverse)  # (T, B, I)
        with plan.wide():
            if b_ih is None:
                inputs = flat(xs) @ w_ih.t()  # u_t (T*B, 3H)  (1)
            else:
                inputs = torch.addmm(b_ih, flat(xs), w_ih.t())
        inputs = inputs.view(steps, batch, 3, hidden)  # (T, B, 3, H) → r, z, n after the loop
        recurrent = x.new_empty(steps, batch, 3 * hidden)  # v_t (T, B, 3H)
        outputs = x.new_empty(steps, batch, hidden)  # h_t

        w_hh_t = w_hh.t()  # (H, 3H)
        u_steps = inputs.view(steps, batch, 3 * hidden).unbind(0)  # T × (B, 3H)
        v_steps, h_steps = recurrent.unbind(0), outputs.unbind(0)
        h_prev = h0
        for t in range(steps):
            u, v = u_steps[t], v_steps[t]
            if b_hh is None:
                torch.mm(h_prev, w_hh_t, out=v)  # (1)
            else:
                torch.addmm(b_hh, h_prev, w_hh_t, out=v)  # (1)
            rz = u[:, :two].add_(v[:, :two]).sigmoid_()  # (2)
            n = u[:, two:].addcmul_(rz[:, :hidden], v[:, two:]).tanh_()  # (3)
            h_prev = torch.lerp(n, h_prev, rz[:, hidden:], out=h_steps[t])  # (4)

        zero_padding(spec, outputs)
        h_n = spec.layout.final_states(outputs)
        check_forward(spec, outputs, h_n, "hidden_state")

        # per-step factors of (5)-(7), vectorised over T, written into buffers that are spent
        r, z, n = inputs.unbind(2)  # (T, B, H) each, activated
        update, state_gain, v_n = recurrent.view(steps, batch, 3, hidden).unbind(2)  # v^r, v^z are spent
        update.copy_(z)  # z_t  (5)
        torch.mul(n, n, out=state_gain).mul_(-1.0).add_(1.0)  # 1 − n²
        state_gain.addcmul_(z, state_gain, value=-1.0)  # A = (1 − z)(1 − n²)
        torch.sub(outputs[:-1], n[1:], out=n[1:])  # h_{t−1} − n_t (n is spent)
        torch.sub(h0, n[0], out=n[0])
        z.addcmul_(z, z, value=-1.0).mul_(n)  # (h_{t−1} − n) z (1 − z)  (6)
        torch.mul(r, state_gain, out=n)  # A r  (6)
        r.addcmul_(r, r, value=-1.0).mul_(state_gain).mul_(v_n)  # A v^n r (1 − r)  (6)
        zero_padding(spec, inputs, update, state_gain)

        ctx.spec = spec
        ctx.factors, ctx.update, ctx.state_gain = inputs, update, state_gain
        ctx.save_for_backward(xs, outputs, h0, w_ih, w_hh)
        return spec.layout.scan_order(outputs, spec.reverse), h_n

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output, grad_h_n):
        with ThreadPlan(ctx.step_flops, ctx.steps) as plan:
            return GRULayer._backward(ctx, plan, grad_output, grad_h_n)

    @staticmethod
    def _backward(ctx, plan: ThreadPlan, grad_output, grad_h_n):
        spec: LayerSpec = ctx.spec
        xs, outputs, h0, w_ih, w_hh = ctx.saved_tensors
        factors, update, state_gain = ctx.factors, ctx.update, ctx.state_gain
        del ctx.factors, ctx.update, ctx.state_gain  # free early; a second backward fails loudly
        steps, batch, _, hidden = factors.shape
        two = 2 * hidden

        hidden_grad = direct_gradient(spec, grad_output, grad_h_n)  # e_t, becomes δh_t (T, B, H)
        recurrent_grad = factors.view(steps, batch, 3 * hidden)  # becomes δv_t (T, B, 3H)
        dv_steps, factor_steps = recurrent_grad.unbind(0), factors.unbind(0)
        dh_steps, z_steps = hidden_grad.unbind(0), update.unbind(0)
        for t in range(steps - 1, -1, -1):
            dh = dh_steps[t]
            if t + 1 < steps:
                dh.addmm_(dv_steps[t + 1], w_hh).addcmul_(dh_steps[t + 1], z_steps[t + 1])  # (5)
            factor_steps[t].mul_(dh.unsqueeze(1))  # (6)

        input_grad_n = state_gain.mul_(hidden_grad)  # δu^n = δh A  (7) (T, B, H)
        input_grad_rz = flat(recurrent_grad)[:, :two]  # δu^{r,z} = δv^{r,z}  (7) (T*B, 2H)
        needs = ctx.needs_input_grad
        grad_x = grad_h0 = None
        if needs[1]:
            with plan.wide():
                grad_x = input_grad_rz @ w_ih[:two]  # (8) (T*B, I)
                grad_x.addmm_(flat(input_grad_n), w_ih[two:])
            grad_x = spec.layout.scan_order(grad_x.view(steps, batch, -1), spec.reverse)
        if needs[2]:
            grad_h0 = torch.addcmul(dv_steps[0] @ w_hh, dh_steps[0], z_steps[0])  # (8)
        grad_w_ih = grad_w_hh = grad_b_ih = grad_b_hh = None
        if spec.weight_grads:
            with plan.wide():
                if needs[3]:
                    grad_w_ih = torch.cat(
                        (weight_grad(input_grad_rz, flat(xs)), weight_grad(flat(input_grad_n), flat(xs)))
                    )  # (9) (3H, I)
                if needs[4]:
                    grad_w_hh = recurrent_weight_grad(recurrent_grad, outputs, h0)  # (9) (3H, H)
            if needs[5]:
                grad_b_ih = torch.cat((bias_grad(input_grad_rz), bias_grad(flat(input_grad_n))))  # (9)
            if needs[6]:
                grad_b_hh = bias_grad(flat(recurrent_grad))  # (9)
        finish_backward(spec, hidden_grad, None)
        return None, grad_x, grad_h0, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh, None
