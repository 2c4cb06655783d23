r"""The GRU cell (torch.nn's variant) and its exact step Jacobian.

Gates in torch.nn's order r, z, n, each (B, H):

.. math::

    r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr})                     \tag{1}

    z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz})                     \tag{2}

    n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn}))           \tag{3}

    h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}                                    \tag{4}

.. math::

    \frac{\partial h_t}{\partial h_{t-1}} = \operatorname{diag}(z_t)
      + \operatorname{diag}((h_{t-1} - n_t)\, z_t (1-z_t)) W_{hz}
      + \operatorname{diag}((1-z_t)(1-n_t^2)) \left[\operatorname{diag}(r_t) W_{hn}
      + \operatorname{diag}((W_{hn} h_{t-1} + b_{hn})\, r_t (1-r_t)) W_{hr}\right]     \tag{5}

The term diag(z_t) is the GRU's carousel: where z_t ≈ 1 the state is copied unchanged.
"""

from __future__ import annotations

import torch

from rnngrad.cells._common import RecurrentCell, diagonal_times


class GRUCell(RecurrentCell):
    """A GRU step h_{t-1} -> h_t with torch.nn's parameters and gate order (r, z, n).

    Args:
        input_size: I, the size of x_t.
        hidden_size: H, the size of h_t.
        bias: whether b_ih and b_hh exist.
        dtype, device, generator: for the parameters (initialised as torch.nn does).

    Shape:
        x: (B, I) or (I,); h: (B, H) or (H,); output like h. ``step_jacobian``: (B, H, H).

    Examples:
        >>> cell = GRUCell(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        >>> h = cell(torch.zeros(2, 3, dtype=torch.float64))
        >>> cell.step_jacobian(torch.zeros(2, 3, dtype=torch.float64), h).shape
        torch.Size([2, 4, 4])
    """

    arch = "gru"
    num_gates = 3

    def forward(self, x: torch.Tensor, hx: torch.Tensor | None = None) -> torch.Tensor:
        x, unbatched = self.batched_input(x)  # (B, I)
        h = self.batched_hidden(hx, x)  # (B, H)
        h_next = self._forward_and_jacobian(x, h, with_jacobian=False)[0]
        return h_next.squeeze(0) if unbatched else h_next

    def _forward_and_jacobian(
        self, x: torch.Tensor, state: torch.Tensor, with_jacobian: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One step: h_t (B, H) and ∂h_t/∂h_{t-1} (B, H, H), eq. (5)."""
        from_input, from_hidden = self.pre_activations(x, state)  # (B, 3H) each
        x_r, x_z, x_n = from_input.chunk(3, dim=1)
        h_r, h_z, h_n = from_hidden.chunk(3, dim=1)  # h_n = W_hn h + b_hn
        r = torch.sigmoid(x_r + h_r)  # (1)
        z = torch.sigmoid(x_z + h_z)  # (2)
        n = torch.tanh(x_n + r * h_n)  # (3)
        h_next = (1 - z) * n + z * state  # (4)
        if not with_jacobian:
            return h_next, None

        W_r, W_z, W_n = self.weight_hh.split(self.hidden_size)  # (H, H) each
        through_n = (1 - z) * (1 - n * n)  # (B, H)
        jacobian = (
            torch.diag_embed(z)
            + diagonal_times((state - n) * z * (1 - z), W_z)
            + diagonal_times(through_n * r, W_n)
            + diagonal_times(through_n * h_n * r * (1 - r), W_r)
        )  # (5), (B, H, H)
        return h_next, jacobian

