r"""The Linear Recurrent Unit (Orvieto et al. 2023, "Resurrecting Recurrent Neural Networks for
Long Sequences") and its exact step Jacobian.

A complex diagonal linear recurrence, in the paper's exponential parametrisation; h_t is complex
(H), x_t real (I), B = B^{re} + i B^{im} (H, I):

.. math::

    \lambda &= \exp(-\exp(\nu^{\log}) + i \exp(\theta^{\log})),\qquad
        \gamma = \exp(\gamma^{\log})                                                     \tag{1}

    h_t &= \lambda \odot h_{t-1} + \gamma \odot (B x_t)                                 \tag{2}

    \frac{\partial h_t}{\partial h_{t-1}} &= \operatorname{diag}(\lambda)              \tag{3}

so |λ| = exp(−exp(ν^log)) < 1 for every parameter value, and arg λ = exp(θ^log). That is the
linear recurrence h_t = a_t ⊙ h_{t-1} + b_t of :mod:`rnngrad.cells._diagonal` with a_t = λ (the
same at every step) and b_t = γ ⊙ (B x_t).

The Jacobian convention. h -> λ ⊙ h + b is holomorphic, so its derivative is the complex
number λ per channel and (3) is the complex (B, H, H) ``step_jacobian``; ∂h_t/∂h̄_{t-1} = 0. As a
real map on (Re h, Im h) ∈ ℝ^{2H} the same step has the 2H × 2H Jacobian

.. math::

    \frac{\partial (\operatorname{Re} h_t, \operatorname{Im} h_t)}
         {\partial (\operatorname{Re} h_{t-1}, \operatorname{Im} h_{t-1})}
    = \begin{pmatrix} \operatorname{diag}(\operatorname{Re}\lambda) & -\operatorname{diag}(\operatorname{Im}\lambda) \\
                      \operatorname{diag}(\operatorname{Im}\lambda) & \operatorname{diag}(\operatorname{Re}\lambda)
      \end{pmatrix}                                                                    \tag{4}

(``step_jacobian_real``, rows and columns ordered Re h_1..Re h_H, Im h_1..Im h_H): per channel j
the rotation-and-scaling block [[Re λ_j, −Im λ_j], [Im λ_j, Re λ_j]] at rows and columns (j, H + j),
whose singular values are both |λ_j|. Products over time of (3) and of (4) agree: |λ|^k for the
gain after k steps, and arg λ · k for the rotation.

Initialisation (the paper's appendix code): with u_1, u_2 ~ U(0, 1) per channel,

.. math::

    \nu^{\log} &= \log\!\left(-\tfrac12 \log\!\left(u_1 (r_{\max}^2 - r_{\min}^2) + r_{\min}^2\right)\right),
    \qquad \theta^{\log} = \log(\theta_{\max} u_2)                                      \tag{5}

    \gamma^{\log} &= \log \sqrt{1 - |\lambda|^2},\qquad
        B^{re}, B^{im} \sim \mathcal N(0, 1/(2I))                                       \tag{6}

so λ is uniform on the ring r_min ≤ |λ| ≤ r_max (|λ|² uniform on [r_min², r_max²]) with phase in
[0, θ_max], and γ normalises the stationary variance of h_t for white-noise input. The paper's
readout y_t = Re(C h_t) + D ⊙ x_t is not part of the cell: C and D never enter the recurrence.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import nn
from torch.nn import functional as F

from rnngrad.cells._diagonal import DiagonalCell
from rnngrad.errors import InputError


class LRUCell(DiagonalCell):
    """An LRU step h_{t-1} -> h_t = λ ⊙ h_{t-1} + γ ⊙ (B x_t), eqs. (1)–(2), with complex h.

    Args:
        input_size: I, the size of the real input x_t.
        hidden_size: H, the size of the complex state h_t.
        r_min, r_max: the ring 0 ≤ r_min ≤ |λ| ≤ r_max ≤ 1 that λ is drawn on, eq. (5).
        max_phase: θ_max, the largest initial phase arg λ (2π by default), eq. (5).
        dtype, device, generator: for the (real) parameters ``nu_log``, ``theta_log``,
            ``gamma_log`` (H,) and ``B_re``, ``B_im`` (H, I), drawn as in eqs. (5)–(6).

    Shape:
        x: (B, I) or (I,), real; state: (B, H) or (H,) complex (complex128 for float64
        parameters), or None for zeros; output h_t, complex, like x's batching.
        ``coefficients``: x (..., I) -> a = λ broadcast (a view, no copy), b = γ ⊙ B x, each
        (..., H) complex. ``step_jacobian``: (B, H, H) complex diag(λ), eq. (3);
        ``step_jacobian_diagonal``: (B, H); ``step_jacobian_real``: (B, 2H, 2H), eq. (4).

    Examples:
        >>> cell = LRUCell(3, 4, r_min=0.9, r_max=0.999, dtype=torch.float64,
        ...                generator=torch.Generator().manual_seed(0))
        >>> cell(torch.zeros(2, 3, dtype=torch.float64)).dtype
        torch.complex128
        >>> cell.step_jacobian_real(torch.zeros(2, 3, dtype=torch.float64)).shape
        torch.Size([2, 8, 8])
    """

    arch = "lru"
    complex_state = True

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        r_min: float = 0.0,
        r_max: float = 1.0,
        max_phase: float = 2 * math.pi,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(input_size, hidden_size, dtype=dtype, device=device)
        self.r_min, self.r_max, self.max_phase = _checked_ring(r_min, r_max, max_phase)
        options = self._parameter_options
        self.nu_log = nn.Parameter(torch.empty(hidden_size, **options))
        self.theta_log = nn.Parameter(torch.empty(hidden_size, **options))
        self.gamma_log = nn.Parameter(torch.empty(hidden_size, **options))
        self.B_re = nn.Parameter(torch.empty(hidden_size, input_size, **options))
        self.B_im = nn.Parameter(torch.empty(hidden_size, input_size, **options))
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """The paper's ring initialisation, eqs. (5)–(6).

        Drawn in float64 on the generator's device whatever the parameters' dtype (so one seed gives the same
        cell in float32 and float64), with u_1, u_2 kept off 0: there (5) gives ν^log = +∞ or
        θ^log = −∞, parameters no optimiser recovers from.
        """
        H, I = self.hidden_size, self.input_size
        device = generator.device if generator is not None else "cpu"
        draw = {"generator": generator, "dtype": torch.float64, "device": device}
        tiny = torch.finfo(torch.float64).tiny
        u1, u2 = torch.rand(H, **draw).clamp_min(tiny), torch.rand(H, **draw).clamp_min(tiny)  # (H,) each
        modulus_squared = u1 * (self.r_max**2 - self.r_min**2) + self.r_min**2  # |λ|², (H,)
        nu_log = torch.log(-0.5 * torch.log(modulus_squared))  # (5)
        theta_log = torch.log(self.max_phase * u2)  # (5)
        # 1 − |λ|² = 1 − exp(−2 exp ν) as −expm1(−2 exp ν): accurate also where |λ| ≈ 1.
        gamma_log = 0.5 * torch.log(-torch.expm1(-2 * nu_log.exp()))  # (6)
        B_re, B_im = (torch.randn(H, I, **draw) / math.sqrt(2 * I) for _ in range(2))  # (6), (H, I) each
        with torch.no_grad():
            for parameter, value in zip((self.nu_log, self.theta_log, self.gamma_log, self.B_re, self.B_im),
                                        (nu_log, theta_log, gamma_log, B_re, B_im)):
                parameter.copy_(value)

    def _checked_input(self, x: torch.Tensor, name: str) -> torch.Tensor:
        """As every diagonal cell checks ``x``, and first the parameters: h_t is complex, and torch
        has no complex bfloat16 and only an experimental complex half without exp."""
        if self.parameter_dtype in (torch.float16, torch.bfloat16):
            raise InputError(f"module: expected float32 or float64 parameters for the LRU (its state is "
                             f"complex), got {self.parameter_dtype}")
        return super()._checked_input(x, name)

    def eigenvalues(self) -> torch.Tensor:
        """λ (H,), complex, eq. (1): the diagonal of the state matrix."""
        return torch.exp(torch.complex(-self.nu_log.exp(), self.theta_log.exp()))  # (1)

    def _coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        H = self.hidden_size
        projected = F.linear(x, torch.cat([self.B_re, self.B_im]))  # (..., 2H): Re and Im of B x in one product
        b = self.gamma_log.exp() * torch.complex(projected[..., :H], projected[..., H:])  # (2), (..., H)
        a = self.eigenvalues().expand(b.shape)  # (2), (..., H), a broadcast view
        return a, b

    def step_jacobian_real(self, x: torch.Tensor, state: torch.Tensor | None = None) -> torch.Tensor:
        """∂(Re h_t, Im h_t)/∂(Re h_{t-1}, Im h_{t-1}), (B, 2H, 2H), eq. (4)."""
        diagonal = self.step_jacobian_diagonal(x, state)  # (B, H), λ
        real, imaginary = torch.diag_embed(diagonal.real), torch.diag_embed(diagonal.imag)  # (B, H, H) each
        top = torch.cat([real, -imaginary], dim=-1)  # (B, H, 2H)
        bottom = torch.cat([imaginary, real], dim=-1)  # (B, H, 2H)
        return torch.cat([top, bottom], dim=-2)  # (4), (B, 2H, 2H)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, r_min={self.r_min}, r_max={self.r_max}, max_phase={self.max_phase:.4g}"


def _checked_ring(r_min: object, r_max: object, max_phase: object) -> tuple[float, float, float]:
    """(r_min, r_max, max_phase) as floats if 0 ≤ r_min ≤ r_max ≤ 1, r_min < 1, r_max > 0 and
    0 < max_phase < ∞, else an :class:`InputError`: outside, eq. (5) takes the log of 0 or of a
    negative number."""
    for name, value in (("r_min", r_min), ("r_max", r_max), ("max_phase", max_phase)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InputError(f"{name}: expected a real number, got {value!r}")
    if not (0 <= r_min <= r_max <= 1 and r_min < 1 and r_max > 0):
        raise InputError(
            f"r_min, r_max: expected 0 ≤ r_min ≤ r_max ≤ 1 with r_min < 1 and r_max > 0, "
            f"got r_min={r_min!r}, r_max={r_max!r}"
        )
    if not (0 < max_phase < math.inf):
        raise InputError(f"max_phase: expected a finite number > 0, got {max_phase!r}")
    return float(r_min), float(r_max), float(max_phase)
