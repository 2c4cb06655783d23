r"""The LSTM cell and the exact Jacobian of its whole state s = (h, c).

Gates in torch.nn's order i, f, g, o, each (B, H):

.. math::

    i_t &= \sigma(z^i_t),\quad f_t = \sigma(z^f_t),\quad g_t = \tanh(z^g_t),\quad
    o_t = \sigma(z^o_t),\qquad z_t = W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}   \tag{1}

    c_t &= f_t \odot c_{t-1} + i_t \odot g_t                                          \tag{2}

    h_t &= o_t \odot \tanh(c_t)                                                       \tag{3}

The step Jacobian of s_t = (h_t, c_t) with respect to s_{t-1} = (h_{t-1}, c_{t-1}) has four
blocks; W_i, W_f, W_g, W_o are the gate rows of W_hh:

.. math::

    \frac{\partial c_t}{\partial h_{t-1}} &= \operatorname{diag}(c_{t-1} f_t (1-f_t)) W_f
        + \operatorname{diag}(g_t i_t (1-i_t)) W_i + \operatorname{diag}(i_t (1-g_t^2)) W_g  \tag{4}

    \frac{\partial c_t}{\partial c_{t-1}} &= \operatorname{diag}(f_t)                      \tag{5}

    \frac{\partial h_t}{\partial h_{t-1}} &= \operatorname{diag}(\tanh(c_t)\, o_t (1-o_t)) W_o
        + \operatorname{diag}(o_t (1-\tanh^2 c_t)) \frac{\partial c_t}{\partial h_{t-1}}  \tag{6}

    \frac{\partial h_t}{\partial c_{t-1}} &= \operatorname{diag}(o_t (1-\tanh^2 c_t) f_t)   \tag{7}

The seed's ∂C_T/∂C_t = ∏ f is block (5) alone multiplied over time: the constant error
carousel with every path through h_{t-1} → gates cut. The full product of (4)–(7) is what
the gradient actually sees.

``forget_gate=False`` is the 1997 LSTM (Hochreiter & Schmidhuber), where f_t ≡ 1 and the carousel
factor (5) is exactly the identity. The parameters keep torch.nn's four-gate layout so weights
load unchanged; the f rows are then unused. (The 1997 cell also squashed the input and output
with other functions; we keep torch's tanh so the two variants differ only in f.)
"""

from __future__ import annotations

import torch

from rnngrad.cells._common import RecurrentCell, diagonal_times
from rnngrad.cells.step_jacobians import HiddenColumnsAndDiagonal
from rnngrad.errors import InputError, require_bool


class LSTMCell(RecurrentCell):
    """An LSTM step (h_{t-1}, c_{t-1}) -> (h_t, c_t) with torch.nn's parameters and gate order.

    Args:
        input_size: I, the size of x_t.
        hidden_size: H, the size of h_t and c_t.
        forget_gate: False gives the 1997 LSTM, f_t ≡ 1.
        bias: whether b_ih and b_hh exist.
        dtype, device, generator: for the parameters (initialised as torch.nn does).

    Shape:
        x: (B, I) or (I,); state: a pair (h, c) of (B, H) or (H,), or None for zeros.
        ``step_jacobian``: (B, 2H, 2H), rows and columns ordered (h, c).
        ``carousel_factor``: (B, H), the diagonal of (5).

    Examples:
        >>> cell = LSTMCell(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        >>> h, c = cell(torch.zeros(2, 3, dtype=torch.float64))
        >>> cell.step_jacobian(torch.zeros(2, 3, dtype=torch.float64), (h, c)).shape
        torch.Size([2, 8, 8])
    """

    arch = "lstm"
    num_gates = 4

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        forget_gate: bool = True,
        bias: bool = True,
        **options,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, **options)
        self.forget_gate = require_bool("forget_gate", forget_gate)

    @property
    def state_size(self) -> int:
        return 2 * self.hidden_size

    def forward(
        self, x: torch.Tensor, hx: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x, unbatched = self.batched_input(x)  # (B, I)
        h, c = self._batched_state(hx, x)  # (B, H) each
        i, f, g, o = self._gates(x, h)
        c_next = f * c + i * g  # (2)
        h_next = o * torch.tanh(c_next)  # (3)
        if unbatched:
            return h_next.squeeze(0), c_next.squeeze(0)
        return h_next, c_next

    def _forward_and_jacobian(
        self, x: torch.Tensor, state: torch.Tensor, with_jacobian: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One step on the flat state s = (h, c): s_t (B, 2H) and ∂s_t/∂s_{t-1} (B, 2H, 2H)."""
        state_next, blocks = self._forward_and_blocks(x, state, with_jacobian)
        return state_next, None if blocks is None else blocks.dense()[0]

    def _step_jacobians(self, x: torch.Tensor, state: torch.Tensor, steps: int) -> HiddenColumnsAndDiagonal:
        """J_1..J_N as the columns of h_{t-1} and the diagonal blocks, never formed."""
        blocks = self._forward_and_blocks(x, state, True)[1]
        hidden_columns, diagonal = blocks.hidden_columns[0], blocks.diagonal[0]  # (N·B, 2H, H), (N·B, 2H)
        return HiddenColumnsAndDiagonal(
            hidden_columns.view(steps, -1, *hidden_columns.shape[1:]), diagonal.view(steps, -1, diagonal.shape[-1])
        )

    def _forward_and_blocks(
        self, x: torch.Tensor, state: torch.Tensor, with_jacobian: bool
    ) -> tuple[torch.Tensor, HiddenColumnsAndDiagonal | None]:
        """s_t (B, 2H) and the Jacobian's blocks (4)–(7) for one run of a single step."""
        H = self.hidden_size
        h, c = state[:, :H], state[:, H:]  # (B, H) each
        i, f, g, o = self._gates(x, h)
        c_next = f * c + i * g  # (2)
        tanh_c = torch.tanh(c_next)
        h_next = o * tanh_c  # (3)
        state_next = torch.cat([h_next, c_next], dim=1)
        if not with_jacobian:
            return state_next, None

        W_i, W_f, W_g, W_o = self.weight_hh.split(H)  # (H, H) each
        dc_dh = diagonal_times(g * i * (1 - i), W_i) + diagonal_times(i * (1 - g * g), W_g)
        if self.forget_gate:
            dc_dh = dc_dh + diagonal_times(c * f * (1 - f), W_f)  # (4), (B, H, H)
        through_c = o * (1 - tanh_c * tanh_c)  # (B, H)
        dh_dh = diagonal_times(tanh_c * o * (1 - o), W_o) + through_c.unsqueeze(-1) * dc_dh  # (6)
        hidden_columns = torch.cat([dh_dh, dc_dh], dim=1)  # ∂s_t/∂h_{t-1}, (B, 2H, H)
        diagonal = torch.cat([through_c * f, f], dim=1)  # (7), (5): ∂s_t/∂c_{t-1}, (B, 2H)
        return state_next, HiddenColumnsAndDiagonal(hidden_columns.unsqueeze(0), diagonal.unsqueeze(0))

    def step_jacobian(
        self, x: torch.Tensor, hx: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """The full ∂(h_t, c_t)/∂(h_{t-1}, c_{t-1}), (B, 2H, 2H), eqs. (4)–(7)."""
        x, _ = self.batched_input(x)
        state = self.state_to_vector(self._batched_state(hx, x))
        return self._forward_and_jacobian(x, state)[1]

    def carousel_factor(
        self, x: torch.Tensor, hx: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """The carousel-only factor ∂c_t/∂c_{t-1} with h paths cut: the diagonal f_t, (B, H), eq. (5)."""
        x, _ = self.batched_input(x)
        h, _ = self._batched_state(hx, x)
        return self._gates(x, h)[1]

    def log_forget_gate(self, x: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """log f_t on the flat state, (B, H), computed as logsigmoid so it never underflows."""
        if not self.forget_gate:
            return state.new_zeros(state.shape[0], self.hidden_size)
        from_input, from_hidden = self.pre_activations(x, self.vector_to_state(state)[0])
        z_f = (from_input + from_hidden).chunk(4, dim=1)[1]  # (B, H)
        return torch.nn.functional.logsigmoid(z_f)

    def state_to_vector(self, hx: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        h, c = hx
        return torch.cat([h, c], dim=-1)  # (B, 2H)

    def vector_to_state(self, vector: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return vector[..., : self.output_size], vector[..., self.output_size :]

    def _gates(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, ...]:
        from_input, from_hidden = self.pre_activations(x, h)
        z_i, z_f, z_g, z_o = (from_input + from_hidden).chunk(4, dim=1)  # (B, H) each
        f = torch.sigmoid(z_f) if self.forget_gate else torch.ones_like(z_f)
        return torch.sigmoid(z_i), f, torch.tanh(z_g), torch.sigmoid(z_o)  # (1)

    def _batched_state(self, hx, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if hx is None:
            zeros = self.batched_hidden(None, x)
            return zeros, zeros.clone()
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise InputError(f"hx: expected a pair (h, c) or None, got {type(hx).__name__}")
        return self.batched_hidden(hx[0], x, "hx[0] (h)"), self.batched_hidden(hx[1], x, "hx[1] (c)")

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, forget_gate={self.forget_gate}"
