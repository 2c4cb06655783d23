r"""Small shared pieces of the claim experiments: the autograd oracle and weight construction.

The oracle differentiates an unrolled recurrence s_k = step(x_k, s_{k-1}) with autograd: one
backward pass per component j of s_T gives row j of every ∂s_T/∂s_t at once,

.. math::

    \Big[\frac{\partial s_T}{\partial s_t}\Big]_{j,:} = \nabla_{s_t}\, s_{T,j}
    \qquad t = 0..T-1                                                              \tag{1}

It knows nothing of the analytic step Jacobians it is used to check.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor, nn

from rnngrad.cells import RNNCell

Step = Callable[[Tensor, Tensor], Tensor]  # (x_k (I,), s_{k-1} (S,)) -> s_k (S,)


def autograd_state_jacobians(step: Step, initial_state: Tensor, inputs: Tensor) -> Tensor:
    """∂s_T/∂s_t for t = 0..T by eq. (1), (T+1, S, S); entry T is the identity.

    Args:
        step: one step of the recurrence on unbatched tensors, differentiable by autograd.
        initial_state: s_0, (S,).
        inputs: x_1..x_T, (T, I) (or any (T, ...) the step reads).
    """
    with torch.enable_grad():
        states = [initial_state.detach().clone().requires_grad_(True)]  # s_0
        for x in inputs:
            states.append(step(x, states[-1]))  # s_1 .. s_T
        final = states[-1]
        S = final.numel()
        rows = []
        for j in range(S):
            grads = torch.autograd.grad(final[j], states[:-1], retain_graph=True, allow_unused=True)
            rows.append(torch.stack([torch.zeros_like(initial_state) if g is None else g for g in grads]))
    jacobians = torch.stack(rows, dim=1)  # (T, S, S): [t, j, :] = ∇_{s_t} s_{T,j}
    identity = torch.eye(S, dtype=initial_state.dtype).unsqueeze(0)  # (1, S, S)
    return torch.cat([jacobians.detach(), identity], dim=0)  # (T+1, S, S)


def torch_rnn_step(cell: RNNCell) -> Step:
    """The step of a ``torch.nn.RNNCell`` holding ``cell``'s weights (tanh or relu only)."""
    nonlinearity = cell.activation.name
    module = nn.RNNCell(cell.input_size, cell.hidden_size, nonlinearity=nonlinearity, dtype=cell.weight_hh.dtype)
    module.load_state_dict(cell.state_dict())
    return lambda x, h: module(x.unsqueeze(0), h.unsqueeze(0)).squeeze(0)


def torch_lstm_step(cell: nn.Module) -> Step:
    """The step of a ``torch.nn.LSTMCell`` with ``cell``'s weights, on the flat state (h, c)."""
    H = cell.hidden_size
    module = nn.LSTMCell(cell.input_size, H, dtype=cell.weight_hh.dtype)
    module.load_state_dict(cell.state_dict())

    def step(x: Tensor, state: Tensor) -> Tensor:
        h, c = module(x.unsqueeze(0), (state[:H].unsqueeze(0), state[H:].unsqueeze(0)))
        return torch.cat([h.squeeze(0), c.squeeze(0)])  # (2H,)

    return step


def unit_spectral_direction(H: int, generator: torch.Generator) -> Tensor:
    """A Gaussian (H, H) matrix scaled to spectral norm 1, float64."""
    W = torch.randn(H, H, generator=generator, dtype=torch.float64)
    return W / torch.linalg.matrix_norm(W, ord=2)


def rnn_cell(activation: str, weight_hh: Tensor, weight_ih: Tensor, bias: Tensor | None = None) -> RNNCell:
    """A float64 :class:`RNNCell` with the given weights; bias_ih = ``bias`` (or 0), bias_hh = 0."""
    H, I = weight_ih.shape
    cell = RNNCell(I, H, activation, dtype=torch.float64)
    with torch.no_grad():
        cell.weight_hh.copy_(weight_hh)
        cell.weight_ih.copy_(weight_ih)
        cell.bias_ih.copy_(torch.zeros(H) if bias is None else bias)
        cell.bias_hh.zero_()
    return cell


def lag_major(log10_by_t: Tensor) -> Tensor:
    """Reorder a (..., T+1) curve indexed by t into one indexed by lag k = T − t."""
    return log10_by_t.flip(-1)


def relative_error(approximation: Tensor, truth: Tensor) -> Tensor:
    """‖approximation − truth‖_F / ‖truth‖_F over the last two dimensions."""
    return torch.linalg.matrix_norm(approximation - truth) / torch.linalg.matrix_norm(truth)


def least_squares_slope(values: Tensor) -> float:
    """Slope of the least-squares line through (k, values[k]) for k = 0..n-1."""
    n = values.numel()
    k = torch.arange(n, dtype=torch.float64)
    centred = k - k.mean()
    return float((centred * (values.double() - values.double().mean())).sum() / centred.square().sum())


def log10(value: float) -> float:
    return math.log10(value) if value > 0 else -math.inf
