r"""Step Jacobians of a run of time steps, applied to matrices without being formed.

Products through time need J·Y (a frame carried forward, :mod:`rnngrad.spectra.lyapunov`) or
P·J (a product carried backward, :mod:`rnngrad.jacobians`), never J itself. Two cells have
structure that makes these cheaper than a dense (S, S) product:

.. math::

    \text{RNN:}\quad J = \operatorname{diag}(d)\, W_{hh},\qquad
        J Y = d \odot (W_{hh} Y),\qquad P J = (P \odot d^\top)\, W_{hh}               \tag{1}

    \text{LSTM:}\quad J = \begin{pmatrix} K & \operatorname{diag}(e) \end{pmatrix},\qquad
        K = \begin{pmatrix} \partial h_t/\partial h_{t-1} \\ \partial c_t/\partial h_{t-1}
        \end{pmatrix}\ (2H, H),\qquad
        e = \begin{pmatrix} o_t (1-\tanh^2 c_t) f_t \\ f_t \end{pmatrix}\ (2H)            \tag{2}

where diag(e) stands for the two diagonal blocks (7) and (5) of :mod:`rnngrad.cells.lstm`, the
columns of c_{t-1}. For the LSTM, (2) gives

.. math::

    J Y = K\, Y_h + e \odot \begin{pmatrix} Y_c \\ Y_c \end{pmatrix},\qquad
    P J = \begin{pmatrix} P K & P_h \odot e_h^\top + P_c \odot e_c^\top \end{pmatrix}  \tag{3}

with Y = (Y_h; Y_c) split by rows and P = (P_h, P_c) by columns: half the multiply-adds of a
dense 2H×2H product, and J is never assembled. Every class keeps ``dense()`` for the rest.

A product carried backward over many steps under- or overflows, so both analyses that carry one
(:mod:`rnngrad.jacobians` for every t, :mod:`rnngrad.spectra.lags` at chosen lags) keep it
log-scaled, P = e^ℓ M with ‖M‖_F = 1, one step at a time by :meth:`StepJacobians.scaled_step`:

.. math::

    R = M\, J,\qquad \rho = \|R\|_F,\qquad M' = R / \rho,\qquad \ell' = \ell + \log \rho   \tag{4}

with the division by ρ folded into the next step's product (where the RNN's (1) folds it into
d: H numbers, not H²), and ρ = 0 (an exactly zero product) kept as ℓ = −∞ with M' = R = 0.

Shapes: a run of N steps for a batch of B sequences; ``step`` indexes the run; Y is (B, S, k)
and P is (B, k, S).
"""

from __future__ import annotations

import torch


class StepJacobians:
    """J_1..J_N of a run of steps, (N, B, S, S), stored densely (the general case)."""

    def __init__(self, jacobians: torch.Tensor) -> None:
        self.jacobians = jacobians  # (N, B, S, S)

    def __len__(self) -> int:
        return self.jacobians.shape[0]

    def scaled_step(self, step: int, product: torch.Tensor, divisor: torch.Tensor | None,
                    out: torch.Tensor | None = None, norm_out: torch.Tensor | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One step of (4): R = (P / divisor) · J_step (B, k, S), its norm ρ = ‖R‖_F (B, 1, 1)
        and the next divisor, ρ or 1 where ρ = 0; into ``out`` and ``norm_out`` if given."""
        product = self.left_times(step, product, divisor, out=out)
        norm = torch.linalg.vector_norm(product, dim=(-2, -1), keepdim=True, out=norm_out)
        return product, norm, torch.where(norm > 0, norm, 1.0)

    def times(self, step: int, frame: torch.Tensor) -> torch.Tensor:
        """J_step · Y: (B, S, k)."""
        return self.jacobians[step] @ frame

    def left_times(
        self, step: int, product: torch.Tensor, scale: torch.Tensor | None = None, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(P / scale) · J_step: (B, k, S); ``scale`` (B, 1, 1) or None for 1; into ``out`` if given."""
        result = torch.matmul(product, self.jacobians[step], out=out)
        return result if scale is None else result.div_(scale)

    def dense(self, step: int | None = None) -> torch.Tensor:
        """J_step as a matrix (B, S, S), or every J (N, B, S, S) when ``step`` is None."""
        return self.jacobians if step is None else self.jacobians[step]


class DiagonalTimesWeights(StepJacobians):
    """J = diag(d) W for each step, eq. (1): d (N, B, H), W (H, H) shared by all steps."""

    def __init__(self, derivatives: torch.Tensor, weight: torch.Tensor) -> None:
        self.derivatives, self.weight = derivatives, weight  # (N, B, H), (H, H)

    def __len__(self) -> int:
        return self.derivatives.shape[0]

    def times(self, step: int, frame: torch.Tensor) -> torch.Tensor:
        return self.derivatives[step].unsqueeze(-1) * (self.weight @ frame)  # (1)

    def left_times(
        self, step: int, product: torch.Tensor, scale: torch.Tensor | None = None, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        derivatives = self.derivatives[step].unsqueeze(-2)  # (B, 1, H)
        if scale is not None:
            derivatives = derivatives / scale  # the scale folded into the diagonal: H numbers, not H²
        return torch.matmul(product * derivatives, self.weight, out=out)  # (1)

    def dense(self, step: int | None = None) -> torch.Tensor:
        derivatives = self.derivatives if step is None else self.derivatives[step]
        return derivatives.unsqueeze(-1) * self.weight  # (N, B, H, H) or (B, H, H)


class HiddenColumnsAndDiagonal(StepJacobians):
    """The LSTM's J = (K, diag(e)), eq. (2): K (N, B, 2H, H), e (N, B, 2H)."""

    def __init__(self, hidden_columns: torch.Tensor, diagonal: torch.Tensor) -> None:
        self.hidden_columns, self.diagonal = hidden_columns, diagonal  # K, e

    def __len__(self) -> int:
        return self.hidden_columns.shape[0]

    def times(self, step: int, frame: torch.Tensor) -> torch.Tensor:
        H = self.hidden_columns.shape[-1]
        product = self.hidden_columns[step] @ frame[:, :H]  # K Y_h, (B, 2H, k)
        cell_rows, e = frame[:, H:], self.diagonal[step].unsqueeze(-1)  # Y_c (B, H, k), (B, 2H, 1)
        product[:, :H].addcmul_(e[:, :H], cell_rows)  # (3)
        product[:, H:].addcmul_(e[:, H:], cell_rows)
        return product

    def left_times(
        self, step: int, product: torch.Tensor, scale: torch.Tensor | None = None, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        H = self.hidden_columns.shape[-1]
        product = product if scale is None else product / scale
        e = self.diagonal[step].unsqueeze(-2)  # (B, 1, 2H)
        cell_columns = product[..., :H] * e[..., :H] + product[..., H:] * e[..., H:]  # (B, k, H)
        return torch.cat([product @ self.hidden_columns[step], cell_columns], dim=-1, out=out)  # (3)

    def dense(self, step: int | None = None) -> torch.Tensor:
        hidden_columns = self.hidden_columns if step is None else self.hidden_columns[step]
        e = self.diagonal if step is None else self.diagonal[step]
        *batch, S, H = hidden_columns.shape
        jacobians = hidden_columns.new_zeros(*batch, S, S)  # (N, B, S, S) or (B, S, S)
        jacobians[..., :H] = hidden_columns
        jacobians[..., :H, H:] = torch.diag_embed(e[..., :H])  # ∂h_t/∂c_{t-1}
        jacobians[..., H:, H:] = torch.diag_embed(e[..., H:])  # ∂c_t/∂c_{t-1}
        return jacobians
