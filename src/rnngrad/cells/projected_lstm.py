r"""The LSTM with a projected hidden state (torch.nn.LSTM's ``proj_size``; Sak et al. 2014) and
the exact Jacobian of its whole state s = (h, c).

The gates and the cell are those of :mod:`rnngrad.cells.lstm`, eqs. (1)–(2), except that the
recurrent input is the projected h_{t-1} of size P < H, so W_hh is (4H, P); then

.. math::

    m_t &= o_t \odot \tanh(c_t)                                     \qquad (H)          \tag{3}

    h_t &= W_{hr}\, m_t                                              \qquad (P),\ W_{hr}\ (P, H)  \tag{4}

With ∂c_t/∂h_{t-1} of lstm.py's (4) (now (H, P)) and φ_t = o_t ⊙ (1 − tanh² c_t), the step
Jacobian of s_t = (h_t, c_t) (size P + H) has the blocks

.. math::

    \frac{\partial m_t}{\partial h_{t-1}} &= \operatorname{diag}(\tanh(c_t)\, o_t (1-o_t)) W_o
        + \operatorname{diag}(φ_t) \frac{\partial c_t}{\partial h_{t-1}}                  \tag{5}

    \frac{\partial h_t}{\partial h_{t-1}} &= W_{hr} \frac{\partial m_t}{\partial h_{t-1}}, \qquad
    \frac{\partial h_t}{\partial c_{t-1}} = W_{hr} \operatorname{diag}(φ_t f_t)            \tag{6}

    \frac{\partial c_t}{\partial c_{t-1}} &= \operatorname{diag}(f_t)                     \tag{7}

The carousel (7) is untouched by the projection; the path through h now passes W_hr twice per
step (into and out of the gates), so ∂h_t/∂c_{t-1} is no longer diagonal and the Jacobian is kept
dense.
"""

from __future__ import annotations

import torch
from torch import nn

from rnngrad.cells._common import RecurrentCell, diagonal_times
from rnngrad.cells.lstm import LSTMCell
from rnngrad.errors import InputError, require_positive_int


class ProjectedLSTMCell(LSTMCell):
    """An LSTM step with torch.nn.LSTM's ``proj_size``: (h_{t-1}, c_{t-1}) -> (h_t, c_t), h of size P.

    Args:
        input_size: I, the size of x_t.
        hidden_size: H, the size of c_t and of the gates.
        proj_size: P, the size of h_t (0 < P < H, as torch.nn.LSTM requires).
        forget_gate: False gives the 1997 LSTM, f_t ≡ 1 (as :class:`LSTMCell`).
        bias: whether b_ih and b_hh exist.
        dtype, device, generator: for the parameters (every one ~ U(−1/√H, 1/√H), as torch.nn).

    Shape:
        x: (B, I) or (I,); state: a pair (h, c) of (B, P) and (B, H), or None for zeros.
        ``step_jacobian``: (B, P + H, P + H), rows and columns ordered (h, c).

    Examples:
        >>> cell = ProjectedLSTMCell(3, 4, 2, dtype=torch.float64)
        >>> h, c = cell(torch.zeros(5, 3, dtype=torch.float64))
        >>> h.shape, c.shape, cell.step_jacobian(torch.zeros(5, 3, dtype=torch.float64), (h, c)).shape
        (torch.Size([5, 2]), torch.Size([5, 4]), torch.Size([5, 6, 6]))
    """

    def __init__(self, input_size: int, hidden_size: int, proj_size: int, forget_gate: bool = True,
                 bias: bool = True, *, dtype: torch.dtype | None = None, device: torch.device | str | None = None,
                 generator: torch.Generator | None = None) -> None:
        super().__init__(input_size, hidden_size, forget_gate, bias, dtype=dtype, device=device, generator=generator)
        proj_size = require_positive_int("proj_size", proj_size)
        if proj_size >= hidden_size:
            raise InputError(f"proj_size: expected a size below hidden_size={hidden_size}, got {proj_size}")
        self.proj_size = proj_size
        # W_hh reads the projected h: replace the (4H, H) one the base made, then draw all again
        options = {"dtype": self.weight_ih.dtype, "device": self.weight_ih.device}
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, proj_size, **options))
        self.weight_hr = nn.Parameter(torch.empty(proj_size, hidden_size, **options))
        self.reset_parameters(generator)

    @property
    def output_size(self) -> int:
        return self.proj_size

    @property
    def state_size(self) -> int:
        return self.proj_size + self.hidden_size

    def forward(self, x: torch.Tensor, hx: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        x, unbatched = self.batched_input(x)  # (B, I)
        state = self.state_to_vector(self._batched_state(hx, x))  # (B, P + H)
        h_next, c_next = self.vector_to_state(self._forward_and_jacobian(x, state, False)[0])
        if unbatched:
            return h_next.squeeze(0), c_next.squeeze(0)
        return h_next, c_next

    def _forward_and_jacobian(self, x: torch.Tensor, state: torch.Tensor, with_jacobian: bool = True
                              ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One step on the flat state s = (h, c): s_t (B, P + H) and ∂s_t/∂s_{t-1} (B, P + H, P + H)."""
        h, c = self.vector_to_state(state)  # (B, P), (B, H)
        i, f, g, o = self._gates(x, h)  # (B, H) each
        c_next = f * c + i * g  # lstm.py (2)
        tanh_c = torch.tanh(c_next)
        h_next = (o * tanh_c) @ self.weight_hr.T  # (3), (4): (B, P)
        state_next = torch.cat([h_next, c_next], dim=1)
        if not with_jacobian:
            return state_next, None

        H = self.hidden_size
        W_i, W_f, W_g, W_o = self.weight_hh.split(H)  # (H, P) each
        dc_dh = diagonal_times(g * i * (1 - i), W_i) + diagonal_times(i * (1 - g * g), W_g)
        if self.forget_gate:
            dc_dh = dc_dh + diagonal_times(c * f * (1 - f), W_f)  # lstm.py (4), (B, H, P)
        slope = o * (1 - tanh_c * tanh_c)  # φ_t, (B, H)
        dm_dh = diagonal_times(tanh_c * o * (1 - o), W_o) + slope.unsqueeze(-1) * dc_dh  # (5)
        dh_dh = self.weight_hr @ dm_dh  # (6), (B, P, P)
        dh_dc = self.weight_hr * (slope * f).unsqueeze(1)  # (6), (B, P, H)
        top = torch.cat([dh_dh, dh_dc], dim=2)  # (B, P, P + H)
        bottom = torch.cat([dc_dh, torch.diag_embed(f)], dim=2)  # (7), (B, H, P + H)
        return state_next, torch.cat([top, bottom], dim=1)

    # The Jacobian is dense here (∂h_t/∂c_{t-1} is not diagonal): the generic run of step Jacobians.
    _step_jacobians = RecurrentCell._step_jacobians

    def _batched_state(self, hx, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch = x.shape[0]
        if hx is None:
            return x.new_zeros(batch, self.proj_size), x.new_zeros(batch, self.hidden_size)
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise InputError(f"hx: expected a pair (h, c) or None, got {type(hx).__name__}")
        return (_checked_state(hx[0], batch, self.proj_size, "hx[0] (h)"),
                _checked_state(hx[1], batch, self.hidden_size, "hx[1] (c)"))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, proj_size={self.proj_size}"


def _checked_state(value: torch.Tensor, batch: int, size: int, name: str) -> torch.Tensor:
    """A (B, size) state, from (B, size) or (size,)."""
    value = value.unsqueeze(0) if value.dim() == 1 else value
    if tuple(value.shape) != (batch, size):
        raise InputError(f"{name}: expected shape {(batch, size)}, got {tuple(value.shape)}")
    return value
