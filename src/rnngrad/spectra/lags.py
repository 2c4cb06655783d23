r"""All singular values of ∂s_T/∂s_{T−k} at chosen lags k, kept as logarithms.

With J_t = ∂s_t/∂s_{t−1}, the Jacobian over lag k grows on the right, one step per lag:

.. math::

    P_k = \frac{\partial s_T}{\partial s_{T-k}} = J_T J_{T-1} \cdots J_{T-k+1},
    \qquad P_0 = I,\qquad P_k = P_{k-1} J_{T-k+1}                                     \tag{1}

Each P_k is kept as a scale and a normalised matrix, so nothing underflows or overflows
however long the lag (float32 included), one step at a time as :mod:`rnngrad.jacobians` does
(:meth:`~rnngrad.cells.step_jacobians.StepJacobians.scaled_step`, on the cell's structured J):

.. math::

    P_k = e^{\ell_k} M_k,\quad \|M_k\|_F = 1,\qquad
    \ell_k = \ell_{k-1} + \log \|M_{k-1} J_{T-k+1}\|_F                                 \tag{2}

    \log \sigma_i(P_k) = \ell_k + \log \sigma_i(M_k)                                  \tag{3}

(3) is exact for the large singular values. M_k is a floating-point matrix, so singular
values below about ε·σ_1(P_k) (ε the unit roundoff) come out at rounding level: they are
bounded, not resolved. For the rates of the small ones at long lags use the Lyapunov
exponents (:mod:`rnngrad.spectra.lyapunov`), for which log σ_i(P_k)/k → λ_i.
"""

from __future__ import annotations

import torch

from rnngrad.cells import RecurrentCell
from rnngrad.errors import InputError


def check_lags(lags: tuple, T: int) -> None:
    """Every lag an integer in 0..T, else :class:`InputError`."""
    for lag in lags:
        if isinstance(lag, bool) or not isinstance(lag, int) or not 0 <= lag <= T:
            raise InputError(f"lags: expected integers in 0..{T} (T), got {lag!r}")


@torch.no_grad()
def log_singular_values_at_lags(
    cell: RecurrentCell, inputs: torch.Tensor, states: torch.Tensor, lags: tuple[int, ...]
) -> torch.Tensor:
    """log σ_i(∂s_T/∂s_{T−k}) for each lag k, descending in i, by (1)–(3).

    Args:
        cell: the cell that produced ``states``.
        inputs: x_1..x_T, (T, B, I), checked and in the cell's dtype.
        states: s_0..s_T, (T+1, B, S).
        lags: lags k with 0 ≤ k ≤ T, in any order.

    Returns:
        (L, B, S) float64, row j for ``lags[j]``; −inf where a singular value is exactly 0.
    """
    T, B, _ = inputs.shape
    S = cell.state_size
    check_lags(lags, T)
    wanted = set(lags)
    found: dict[int, torch.Tensor] = {}
    product = torch.eye(S, dtype=inputs.dtype, device=inputs.device).expand(B, S, S)  # M_0
    divisor = None  # M_0 is not scaled
    log_scale = torch.zeros(B, dtype=torch.float64, device=inputs.device)  # ℓ_0
    for lag in range(max(lags, default=-1) + 1):
        if lag > 0:
            t = T - lag  # J_{t+1} from s_t and x_{t+1}
            jacobian = cell._step_jacobians(inputs[t], states[t], 1)  # structured where the cell has structure
            product, norm, divisor = jacobian.scaled_step(0, product, divisor)  # (1), (2): R = M_{k−1} J, ‖R‖_F
            log_scale = log_scale + torch.log(norm.view(B)).double()  # (2)
        if lag in wanted:
            normalised = product if divisor is None else product / divisor  # M_k
            sigma = torch.linalg.svdvals(normalised).double()  # (B, S), descending
            found[lag] = log_scale.unsqueeze(1) + torch.log(sigma)  # (3)
    if not lags:
        return torch.empty(0, B, S, dtype=torch.float64, device=inputs.device)
    return torch.stack([found[lag] for lag in lags])  # (L, B, S)
