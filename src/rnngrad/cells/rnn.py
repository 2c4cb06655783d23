r"""The vanilla (Elman) recurrent cell and its exact step Jacobian.

.. math::

    a_t &= W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}                      \tag{1}

    h_t &= \varphi(a_t)                                                        \tag{2}

    \frac{\partial h_t}{\partial h_{t-1}} &= \operatorname{diag}(\varphi'(a_t))\, W_{hh}   \tag{3}

The seed writes (3) as ``W_hh * tanh'(...)``; for H > 1 the diagonal stands on the left of
W_hh, and the factors of a product over time do not commute (see :mod:`rnngrad.jacobians`).
"""

from __future__ import annotations

import torch

from rnngrad.activations import get_activation
from rnngrad.cells._common import RecurrentCell, diagonal_times
from rnngrad.cells.step_jacobians import DiagonalTimesWeights


class RNNCell(RecurrentCell):
    """h_t = φ(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) for any registered activation φ.

    Args:
        input_size: I, the size of x_t.
        hidden_size: H, the size of h_t.
        activation: a name from :func:`rnngrad.activations.activation_names` (``"tanh"``, the
            seed's RNN, by default).
        bias: whether b_ih and b_hh exist.
        dtype, device, generator: for the parameters (initialised as torch.nn does).

    Shape:
        x: (B, I) or (I,); h: (B, H) or (H,); output h_t like h.
        ``step_jacobian``: (B, H, H).

    Examples:
        >>> cell = RNNCell(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        >>> cell.step_jacobian(torch.zeros(2, 3, dtype=torch.float64)).shape
        torch.Size([2, 4, 4])
    """

    arch = "rnn"
    num_gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        activation: str = "tanh",
        bias: bool = True,
        **options,
    ) -> None:
        self.activation = get_activation(activation)
        super().__init__(input_size, hidden_size, bias, **options)

    def forward(self, x: torch.Tensor, hx: torch.Tensor | None = None) -> torch.Tensor:
        x, unbatched = self.batched_input(x)  # (B, I)
        h = self.batched_hidden(hx, x)  # (B, H)
        h_next = self.activation.function(self._pre_activation(x, h))  # (2)
        return h_next.squeeze(0) if unbatched else h_next

    def _forward_and_jacobian(
        self, x: torch.Tensor, state: torch.Tensor, with_jacobian: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One step on the flat state: s_t (B, H) and ∂s_t/∂s_{t-1} (B, H, H)."""
        a = self._pre_activation(x, state)  # (B, H)
        h_next = self.activation.function(a)  # (2)
        if not with_jacobian:
            return h_next, None
        jacobian = diagonal_times(self.activation.derivative(a), self.weight_hh)  # (3)
        return h_next, jacobian

    def run(self, inputs: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """s_0..s_T (T+1, B, H) from s_0 = ``state``, with W_ih x_t + b_ih + b_hh for all t in one
        product, so each step is one product and φ."""
        T, B, _ = inputs.shape
        from_input = inputs.flatten(0, 1) @ self.weight_ih.T  # (T·B, H)
        if self.bias_ih is not None:
            from_input += self.bias_ih + self.bias_hh
        from_input = from_input.view(T, B, self.hidden_size)
        states = inputs.new_empty(T + 1, B, self.hidden_size)
        states[0] = state
        weight_hh_t = self.weight_hh.T
        for t in range(T):
            states[t + 1] = state = self.activation.function(torch.addmm(from_input[t], state, weight_hh_t))  # (1), (2)
        return states

    def _step_jacobians(self, x: torch.Tensor, state: torch.Tensor, steps: int) -> DiagonalTimesWeights:
        """J_1..J_N as diag(φ'(a_t)) and the shared W_hh, eq. (3), never formed."""
        derivatives = self.activation.derivative(self._pre_activation(x, state))  # (N·B, H)
        return DiagonalTimesWeights(derivatives.view(steps, -1, self.hidden_size), self.weight_hh)


    def _pre_activation(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        from_input, from_hidden = self.pre_activations(x, h)
        return from_input + from_hidden  # (1), (B, H)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, activation={self.activation.name!r}"
