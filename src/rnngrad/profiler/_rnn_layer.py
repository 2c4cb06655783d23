"""One vanilla (Elman) RNN layer in one direction: its forward loop and recording reverse scan.

Steps t = 1..T in scan order (``_layout``), initial state h_0, φ = tanh or relu:

.. math::

    (1)  a_t = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh                          (B, H)
    (2)  h_t = φ(a_t)
    (3)  φ'(a_t) = 1 − h_t²  (tanh),   [h_t > 0]  (relu)     — read off h_t, no a_t kept

Reverse scan for the TOTAL gradient δh_t = dL/dh_t, e_t the direct gradient (``_layer_io``
(1)), δa_{T+1} = 0:

    (4)  δh_t = e_t + W_hh^T δa_{t+1}
    (5)  δa_t = δh_t ⊙ φ'(a_t)
    (6)  δh_0 = W_hh^T δa_1,   δx_t = W_ih^T δa_t
    (7)  δW_ih = Σ_t δa_t x_t^T,  δW_hh = Σ_t δa_t h_{t−1}^T,  δb_ih = δb_hh = Σ_t δa_t
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


class RNNLayer(torch.autograd.Function):
    """``(anchor, x, h0, w_ih, w_hh, b_ih, b_hh, relu, spec) → (output, h_n)``.

    Shapes: x (T, B, I) in time order; h0 (B, H); output (T, B, H) in time order. ``relu``
    picks φ; ``anchor`` is a dummy that makes the backward run even when nothing else requires
    grad; biases may be None.
    """

    @staticmethod
    def forward(ctx, anchor, x, h0, w_ih, w_hh, b_ih, b_hh, relu: bool, spec: LayerSpec):
        ctx.step_flops = x.shape[1] * w_hh.numel()  # multiply-adds of one step's recurrent matmul
        ctx.steps = x.shape[0]
        with ThreadPlan(ctx.step_flops, ctx.steps) as plan:
            return RNNLayer._forward(ctx, plan, x, h0, w_ih, w_hh, b_ih, b_hh, relu, spec)

    @staticmethod
    def _forward(ctx, plan: ThreadPlan, x, h0, w_ih, w_hh, b_ih, b_hh, relu: bool, spec: LayerSpec):
        steps, batch, _ = x.shape
        xs = spec.layout.scan_order(x, spec.reverse)  # (T, B, I)
        with plan.wide():
            if b_ih is None:
                outputs = flat(xs) @ w_ih.t()  # W_ih x_t  (T*B, H)
            else:
                outputs = torch.addmm(b_ih + b_hh, flat(xs), w_ih.t())
        outputs = outputs.view(steps, batch, -1)  # a_t, then h_t in place (T, B, H)
        w_hh_t = w_hh.t()  # (H, H)
        h_prev = h0
        for h in outputs.unbind(0):
            h.addmm_(h_prev, w_hh_t)  # (1)
            h_prev = h.relu_() if relu else h.tanh_()  # (2)

        zero_padding(spec, outputs)
        h_n = spec.layout.final_states(outputs)
        check_forward(spec, outputs, h_n, "hidden_state")
        if relu:
            slope = (outputs > 0).to(outputs.dtype)  # (3)
        else:
            slope = outputs.square().neg_().add_(1.0)  # (3)
        zero_padding(spec, slope)

        ctx.spec = spec
        ctx.slope = slope
        ctx.save_for_backward(xs, outputs, h0, w_ih, w_hh)
        return spec.layout.scan_order(outputs, spec.reverse), h_n

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output, grad_h_n):
        with ThreadPlan(ctx.step_flops, ctx.steps) as plan:
            return RNNLayer._backward(ctx, plan, grad_output, grad_h_n)

    @staticmethod
    def _backward(ctx, plan: ThreadPlan, grad_output, grad_h_n):
        spec: LayerSpec = ctx.spec
        xs, outputs, h0, w_ih, w_hh = ctx.saved_tensors
        pre_grad = ctx.slope  # φ'(a_t), becomes δa_t (T, B, H)
        del ctx.slope  # free early; a second backward fails loudly
        steps, batch, _ = pre_grad.shape

        hidden_grad = direct_gradient(spec, grad_output, grad_h_n)  # e_t, becomes δh_t (T, B, H)
        da_steps, dh_steps = pre_grad.unbind(0), hidden_grad.unbind(0)
        for t in range(steps - 1, -1, -1):
            dh = dh_steps[t]
            if t + 1 < steps:
                dh.addmm_(da_steps[t + 1], w_hh)  # (4)
            da_steps[t].mul_(dh)  # (5)

        needs = ctx.needs_input_grad
        grad_x = grad_h0 = None
        if needs[1]:
            with plan.wide():
                grad_x = (flat(pre_grad) @ w_ih).view(steps, batch, -1)  # (6) (T, B, I)
            grad_x = spec.layout.scan_order(grad_x, spec.reverse)
        if needs[2]:
            grad_h0 = da_steps[0] @ w_hh  # (6)
        grad_w_ih = grad_w_hh = grad_b_ih = grad_b_hh = None
        if spec.weight_grads:
            with plan.wide():
                if needs[3]:
                    grad_w_ih = weight_grad(flat(pre_grad), flat(xs))  # (7) (H, I)
                if needs[4]:
                    grad_w_hh = recurrent_weight_grad(pre_grad, outputs, h0)  # (7) (H, H)
            if needs[5] or needs[6]:
                grad_b_ih = bias_grad(flat(pre_grad))  # (7)
                grad_b_hh = grad_b_ih.clone()
        finish_backward(spec, hidden_grad, None)
        return None, grad_x, grad_h0, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh, None, None
