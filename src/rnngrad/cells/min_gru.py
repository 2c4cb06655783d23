r"""The minGRU (Feng et al. 2024, "Were RNNs All We Needed?") and its exact step Jacobian.

The GRU with its gates cut off from h_{t-1} and its candidate's tanh dropped; ``weight_ih``
(2H, I) stacks the rows W_z, W_h and ``bias_ih`` (2H,) the biases b_z, b_h:

.. math::

    z_t &= \sigma(W_z x_t + b_z)                                                       \tag{1}

    \tilde h_t &= W_h x_t + b_h                                                        \tag{2}

    h_t &= (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t                               \tag{3}

    \frac{\partial h_t}{\partial h_{t-1}} &= \operatorname{diag}(1 - z_t)               \tag{4}

That is the linear recurrence h_t = a_t ⊙ h_{t-1} + b_t of :mod:`rnngrad.cells._diagonal` with
a_t = 1 − z_t and b_t = z_t ⊙ h̃_t.

Which h̃_t: (2) is the paper's sequential mode (arXiv:2410.01201, Sec. 3.1: its second step
drops the range restriction of the candidate state, the GRU's tanh, and the sequential-mode minGRU
algorithm has h̃_t ← Linear_dh(x_t)). The paper's log-space variant (Appendix B) instead uses
h̃_t = g(W_h x_t + b_h) with g(v) = v + ½ for v ≥ 0 and σ(v) otherwise, so that h̃_t > 0
and log h̃_t exists for a scan in log space. That is a device for numerically stable parallel
training, not a different recurrence in spirit; we follow the plain sequential mode, whose b_t
any scan over (1) handles, and leave g to whoever scans in log space. Either way (4) holds:
the candidate does not depend on h_{t-1}.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from rnngrad.cells._diagonal import InputProjectedCell


class MinGRUCell(InputProjectedCell):
    """A minGRU step h_{t-1} -> h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t, eqs. (1)–(3).

    Args:
        input_size: I, the size of x_t.
        hidden_size: H, the size of h_t.
        dtype, device, generator: for the parameters, initialised as ``nn.Linear`` (the paper's
            Linear_dh) does: every entry ~ U(−1/√I, 1/√I).

    Shape:
        x: (B, I) or (I,); state: (B, H) or (H,), or None for zeros; output h_t like x's batching.
        ``coefficients``: x (..., I) -> a = 1 − z, b = z ⊙ h̃, each (..., H).
        ``step_jacobian``: (B, H, H), eq. (4); ``step_jacobian_diagonal``: (B, H).

    Examples:
        >>> cell = MinGRUCell(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        >>> cell(torch.zeros(2, 3, dtype=torch.float64)).shape
        torch.Size([2, 4])
        >>> cell.step_jacobian(torch.zeros(2, 3, dtype=torch.float64)).shape
        torch.Size([2, 4, 4])
    """

    arch = "mingru"
    num_blocks = 2  # [z; h̃]

    def _coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gate, candidate = F.linear(x, self.weight_ih, self.bias_ih).chunk(2, dim=-1)  # (..., H) each
        z = torch.sigmoid(gate)  # (1)
        # a = 1 − z as σ(−(W_z x + b_z)): equal in exact arithmetic, and accurate to the last
        # bit also where z ≈ 1 and a is tiny, which matters for products of a over time.
        a = torch.sigmoid(-gate)  # (3), (4)
        b = z * candidate  # (2), (3)
        return a, b
