r"""The minLSTM (Feng et al. 2024, "Were RNNs All We Needed?") and its exact step Jacobian.

The LSTM with its gates cut off from h_{t-1}, no output gate, no tanh on the candidate, and the
forget and input gates normalised to sum to one; ``weight_ih`` (3H, I) stacks the rows W_f, W_i,
W_h and ``bias_ih`` (3H,) the biases b_f, b_i, b_h:

.. math::

    f_t &= \sigma(W_f x_t + b_f),\qquad i_t = \sigma(W_i x_t + b_i)                     \tag{1}

    f'_t &= \frac{f_t}{f_t + i_t},\qquad i'_t = \frac{i_t}{f_t + i_t}                    \tag{2}

    \tilde h_t &= W_h x_t + b_h                                                        \tag{3}

    h_t &= f'_t \odot h_{t-1} + i'_t \odot \tilde h_t                                   \tag{4}

    \frac{\partial h_t}{\partial h_{t-1}} &= \operatorname{diag}(f'_t)                  \tag{5}

That is the linear recurrence h_t = a_t ⊙ h_{t-1} + b_t of :mod:`rnngrad.cells._diagonal` with
a_t = f'_t and b_t = i'_t ⊙ h̃_t. Since f'_t + i'_t = 1, h_t is a convex combination of h_{t-1}
and h̃_t: its scale does not grow with t (the paper's reason for (2)).

Which h̃_t: (3) is the paper's sequential mode (arXiv:2410.01201, Sec. 3.2: the minLSTM drops
the candidate's tanh as the minGRU does, and the sequential-mode minLSTM algorithm has
h̃_t ← Linear_dh(x_t)). The paper's log-space variant (Appendix B) uses h̃_t = g(W_h x_t + b_h),
g(v) = v + ½ for v ≥ 0 and σ(v) otherwise, only so that log h̃_t exists for a log-space scan;
we follow the sequential mode. Either way (5) holds.

The normalised gates are computed as f'_t = σ(d_t), i'_t = σ(−d_t) with
d_t = log f_t − log i_t = log σ(W_f x_t + b_f) − log σ(W_i x_t + b_i), equal to (2) in exact
arithmetic (this is also how the paper's log-space code forms them). Unlike the ratio, it does
not turn into 0/0 where both gates underflow, and it keeps f'_t accurate near 0 and 1.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from rnngrad.cells._diagonal import InputProjectedCell


class MinLSTMCell(InputProjectedCell):
    """A minLSTM step h_{t-1} -> h_t = f'_t ⊙ h_{t-1} + i'_t ⊙ h̃_t, eqs. (1)–(4).

    Args:
        input_size: I, the size of x_t.
        hidden_size: H, the size of h_t.
        dtype, device, generator: for the parameters, initialised as ``nn.Linear`` (the paper's
            Linear_dh) does: every entry ~ U(−1/√I, 1/√I).

    Shape:
        x: (B, I) or (I,); state: (B, H) or (H,), or None for zeros; output h_t like x's batching.
        ``coefficients``: x (..., I) -> a = f', b = i' ⊙ h̃, each (..., H).
        ``normalised_gates``: x (..., I) -> f', i', each (..., H).
        ``step_jacobian``: (B, H, H), eq. (5); ``step_jacobian_diagonal``: (B, H).

    Examples:
        >>> cell = MinLSTMCell(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        >>> normalised_forget, normalised_input = cell.normalised_gates(torch.zeros(2, 3, dtype=torch.float64))
        >>> bool(torch.allclose(normalised_forget + normalised_input, torch.ones(2, 4, dtype=torch.float64)))
        True
    """

    arch = "minlstm"
    num_blocks = 3  # [f; i; h̃]

    def normalised_gates(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """f'_t and i'_t of eq. (2), each (..., H), for x (..., I); f'_t + i'_t = 1."""
        normalised_forget, normalised_input, _ = self._gates_and_candidate(self._checked_input(x, "x"))
        return normalised_forget, normalised_input

    def _coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        normalised_forget, normalised_input, candidate = self._gates_and_candidate(x)
        return normalised_forget, normalised_input * candidate  # (4), (5)

    def _gates_and_candidate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        forget_logit, input_logit, candidate = F.linear(x, self.weight_ih, self.bias_ih).chunk(3, dim=-1)  # (..., H) each
        log_ratio = F.logsigmoid(forget_logit) - F.logsigmoid(input_logit)  # log f_t − log i_t, (1)
        normalised_forget = torch.sigmoid(log_ratio)  # f'_t = f/(f + i), (2)
        normalised_input = torch.sigmoid(-log_ratio)  # i'_t = i/(f + i), (2)
        return normalised_forget, normalised_input, candidate  # candidate h̃_t, (3)
