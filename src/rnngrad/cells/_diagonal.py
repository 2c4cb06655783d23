r"""What the diagonal recurrences share: the linear-recurrence view and its exact Jacobian.

minGRU, minLSTM and the LRU are each one elementwise linear recurrence

.. math::

    h_t = a_t \odot h_{t-1} + b_t                                                   \tag{1}

whose coefficients a_t, b_t (B, H) depend on x_t alone, never on h_{t-1}. The step Jacobian is
therefore diagonal and independent of the state,

.. math::

    \frac{\partial h_t}{\partial h_{t-1}} = \operatorname{diag}(a_t)                \tag{2}

so a product of step Jacobians over time is the elementwise product of the a_t: the whole
derivative, not just the carousel part of it as for the LSTM (:mod:`rnngrad.cells.lstm`).
Because the a_t, b_t of a whole sequence come from one batched product, a parallel scan can run
(1) over time.

A subclass sets ``arch``, creates its parameters and defines ``_coefficients`` for inputs
already checked; everything else lives here. :class:`DiagonalCell` is not a
:class:`~rnngrad.cells._common.RecurrentCell`, whose constructor creates a ``weight_hh`` these
cells do not have. Its checks word their messages as that class's do, naming this forward's
arguments ``x`` and ``state``, and add the dtype checks a complex state needs.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from rnngrad.errors import InputError, require_parameter_dtype, require_positive_int


class DiagonalCell(nn.Module):
    """Base of the diagonal cells: one step h_{t-1} -> h_t = a_t ⊙ h_{t-1} + b_t, eq. (1).

    Shape:
        x: (B, I) or (I,); state: (B, H) or (H,), or None for zeros; output h_t like x's batching.
        ``coefficients``: x (..., I) -> a, b each (..., H).
        ``step_jacobian``: (B, H, H); ``step_jacobian_diagonal``: (B, H), batched also for an
        unbatched x, as the other cells' ``step_jacobian``.
    """

    arch: str = ""
    complex_state: bool = False  # the LRU's h_t is complex

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.input_size = require_positive_int("input_size", input_size)
        self.hidden_size = require_positive_int("hidden_size", hidden_size)
        require_parameter_dtype("dtype", dtype)  # real: the LRU makes its complex state from it
        self._parameter_options = {"dtype": dtype, "device": device}

    # --- the linear-recurrence view ---------------------------------------------------------

    def coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """a_t and b_t of eq. (1), each (..., H), for inputs x (..., I) with any leading dims
        (e.g. (T, B, I)), from one batched product over all of them."""
        return self._coefficients(self._checked_input(x, "x"))

    def _coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> torch.Tensor:
        """h_t = a_t ⊙ h_{t-1} + b_t, eq. (1): (B, H), or (H,) for an unbatched x (I,)."""
        x, unbatched = self._batched_input(x)  # (B, I)
        state = self._batched_state(state, x)  # (B, H)
        a, b = self._coefficients(x)  # (B, H) each
        h_next = a * state + b  # (1)
        return h_next.squeeze(0) if unbatched else h_next

    # --- the exact step Jacobian, eq. (2) ------------------------------------------------------

    def step_jacobian_diagonal(self, x: torch.Tensor, state: torch.Tensor | None = None) -> torch.Tensor:
        """a_t, the diagonal of ∂h_t/∂h_{t-1}, (B, H), eq. (2). ``state`` is checked but does
        not enter: the Jacobian of (1) does not depend on h_{t-1}."""
        x, _ = self._batched_input(x)  # (B, I)
        self._batched_state(state, x)
        return self._coefficients(x)[0]  # (2), (B, H)

    def step_jacobian(self, x: torch.Tensor, state: torch.Tensor | None = None) -> torch.Tensor:
        """∂h_t/∂h_{t-1} = diag(a_t) as a dense (B, H, H), eq. (2), as the other cells return it."""
        return torch.diag_embed(self.step_jacobian_diagonal(x, state))  # (2), (B, H, H)

    # --- input checks ----------------------------------------------------------------------------

    @property
    def parameter_dtype(self) -> torch.dtype:
        """The real dtype of the parameters (and of x)."""
        return next(self.parameters()).dtype

    @property
    def state_dtype(self) -> torch.dtype:
        """The dtype of h_t: the parameters' real dtype, or its complex counterpart for the LRU."""
        real = self.parameter_dtype
        return real.to_complex() if self.complex_state else real

    def _checked_input(self, x: torch.Tensor, name: str) -> torch.Tensor:
        """``x`` (..., I) checked: a real tensor of the parameters' dtype with last dim I."""
        if not isinstance(x, torch.Tensor):
            raise InputError(f"{name}: expected a tensor, got {type(x).__name__}")
        if x.dim() == 0:
            raise InputError(f"{name}: expected a tensor with last dimension input_size={self.input_size}, got 0D")
        if x.dtype != self.parameter_dtype:
            kind = "a complex" if x.is_complex() else "an integer" if not x.is_floating_point() else "a"
            raise InputError(
                f"{name}: expected a real tensor of dtype {self.parameter_dtype} (the parameters'), "
                f"got {kind} tensor of dtype {x.dtype}"
            )
        if x.shape[-1] != self.input_size:
            raise InputError(
                f"{name}: expected last dimension input_size={self.input_size}, got {x.shape[-1]}"
            )
        return x

    def _batched_input(self, x: torch.Tensor) -> tuple[torch.Tensor, bool]:
        """Return ``x`` as (B, I) and whether it came unbatched (I,), as RecurrentCell does."""
        if isinstance(x, torch.Tensor) and x.dim() not in (1, 2):
            raise InputError(f"x: expected a 1D (I,) or 2D (B, I) tensor, got {x.dim()}D")
        x = self._checked_input(x, "x")
        return (x.unsqueeze(0), True) if x.dim() == 1 else (x, False)

    def _batched_state(self, state: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor:
        """A (B, H) state: zeros when ``state`` is None, else ``state`` checked against x (B, I)."""
        batch = x.shape[0]
        if state is None:
            return torch.zeros(batch, self.hidden_size, dtype=self.state_dtype, device=x.device)
        if not isinstance(state, torch.Tensor):
            raise InputError(f"state: expected a tensor or None, got {type(state).__name__}")
        if state.dtype != self.state_dtype:
            what = "a complex" if self.complex_state else "a real"
            why = " (the LRU's state is complex)" if self.complex_state else ""
            raise InputError(f"state: expected {what} tensor of dtype {self.state_dtype}{why}, got {state.dtype}")
        batched = state.unsqueeze(0) if state.dim() == 1 else state  # (B, H)
        if tuple(batched.shape) != (batch, self.hidden_size):
            raise InputError(
                f"state: expected shape {(batch, self.hidden_size)}, got {tuple(state.shape)}"
            )
        return batched

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


class InputProjectedCell(DiagonalCell):
    """Base of minGRU and minLSTM: a_t, b_t from one input projection, ``weight_ih``
    (G·H, I) and ``bias_ih`` (G·H,) with G = ``num_blocks`` blocks stacked, initialised as
    ``nn.Linear`` (the paper's Linear layers) is: every entry ~ U(−1/√I, 1/√I)."""

    num_blocks: int = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(input_size, hidden_size, dtype=dtype, device=device)
        rows = self.num_blocks * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size, **self._parameter_options))
        self.bias_ih = nn.Parameter(torch.empty(rows, **self._parameter_options))
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """nn.Linear's initialisation: every parameter ~ U(−1/√I, 1/√I)."""
        bound = 1.0 / math.sqrt(self.input_size)
        with torch.no_grad():
            for parameter in self.parameters():
                parameter.uniform_(-bound, bound, generator=generator)
