r"""Exact Jacobians through time and Lyapunov exponents of the diagonal recurrences, in O(T·H).

For h_t = a_t ⊙ h_{t-1} + b_t (:mod:`rnngrad.cells._diagonal` (1): minGRU, minLSTM, LRU) every
step Jacobian is diag(a_t), so the Jacobian through time is diagonal as well, and all of it
follows from log|a|:

.. math::

    \frac{\partial h_T}{\partial h_t} = \operatorname{diag}\Big(\prod_{k=t+1}^{T} a_k\Big)     \tag{1}

    \ell_{t,i} = \log\Big|\Big(\frac{\partial h_T}{\partial h_t}\Big)_{ii}\Big|
        = \sum_{k=t+1}^{T} \log|a_{k,i}| = \log|a_{t+1,i}| + \ell_{t+1,i},\qquad \ell_{T,i} = 0  \tag{2}

    \log\Big\|\frac{\partial h_T}{\partial h_t}\Big\|_2 = \max_i \ell_{t,i},\qquad
    \log\Big\|\frac{\partial h_T}{\partial h_t}\Big\|_F = \tfrac12 \log \sum_i e^{2\ell_{t,i}}  \tag{3}

    \log \sigma_i\Big(\frac{\partial h_T}{\partial h_{T-k}}\Big) = \ell_{T-k,(i)}
        \quad\text{(the } \ell_{T-k,i} \text{ sorted descending)}                               \tag{4}

    \lambda_{(i)} = \bar\lambda_i = \frac{1}{T-N} \sum_{t=N+1}^{T} \log|a_{t,i}|,\qquad
    \tau_i = -1/\bar\lambda_i \ (\bar\lambda_i < 0),\quad \tau_i = \infty\ (\bar\lambda_i \ge 0)  \tag{5}

(2) is a reverse cumulative sum: nothing is multiplied, so nothing underflows however long T.
It is summed directly from t = T down, never as a difference of forward sums: an exact zero
a_{k,i} gives log 0 = −inf, which then stays −inf for every t < k (the Jacobian is exactly zero
there), where a difference would give −inf − (−inf) = NaN. (5) are the Lyapunov exponents of
:mod:`rnngrad.spectra.lyapunov` (2), whose QR factors are diagonal here (N the warmup), sorted
descending; τ_i is channel i's memory horizon: its product of a decays as e^{−k/τ_i} on average.

a comes from the cell's ``coefficients`` in one batched call, in the cell's dtype (as its forward
computes it, so a float32 a that underflowed to 0 is a zero Jacobian, −inf); log|a| and every sum
are float64. Memory and time are O(T·B·H).

The LRU: a_t = λ, complex and the same at every step, so ℓ_{t,i} = (T − t) log|λ_i|. The norms are
those of the complex H×H Jacobian diag(λ^{T−t}) (:mod:`rnngrad.cells.lru` (3)); its real
2H×2H view (lru (4)) has the same singular values, each twice: the same spectral norm, √2 times
the Frobenius norm, and each exponent twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from rnngrad.cells import DiagonalCell
from rnngrad.errors import InputError
from rnngrad.jacobians import JacobianThroughTime, checked_inputs

_LN10 = math.log(10.0)


@dataclass(frozen=True)
class DiagonalLyapunov:
    """What :func:`diagonal_lyapunov` found: eq. (5), natural log per step.

    Shapes are (B, H), or (H,) when the inputs came without a batch dimension.
    """

    exponents: torch.Tensor  # λ float64, descending; −inf for a channel with an exact zero a
    horizons: torch.Tensor  # τ_i float64 in channel order (not sorted); inf: channel i does not forget
    steps: int  # T − N, the steps averaged in (5)


def log_abs_coefficients(cell: DiagonalCell, inputs: torch.Tensor) -> torch.Tensor:
    """log|a_t| for t = 1..T, (T, B, H) float64, from inputs (T, B, I) already checked."""
    return _log_abs(cell.coefficients(inputs)[0])  # (T, B, H), one batched call


def log_abs_products(log_abs: torch.Tensor) -> torch.Tensor:
    """ℓ_t of eq. (2) for t = 0..T, (T+1, B, H), from log|a_t| (T, B, H)."""
    return _reverse_cumsum(log_abs)  # (2)


def channel_means(log_abs: torch.Tensor, warmup: int) -> torch.Tensor:
    """λ̄_i of eq. (5) in channel order, (B, H), over the steps t = N+1..T of log|a_t| (T, B, H)."""
    return log_abs[warmup:].mean(dim=0)  # (5)


@torch.no_grad()
def diagonal_jacobian_through_time(
    cell: DiagonalCell,
    inputs: torch.Tensor,
    initial_state: torch.Tensor | None = None,
    *,
    keep_products: bool = False,
) -> JacobianThroughTime:
    """Norms of ∂h_T/∂h_t for every t, exactly, by eqs. (2)–(3).

    Args:
        cell: a :class:`~rnngrad.cells.DiagonalCell` (minGRU, minLSTM, LRU).
        inputs: x_1..x_T, (T, B, I) or (T, I).
        initial_state: h_0, (B, H), or None. Checked, then ignored: (1) does not depend on
            the states.
        keep_products: also keep every normalised product M_t = diag(∏ a_k) / e^{ℓ_t} and ℓ_t
            (ℓ_t the log Frobenius norm for t < T, 0 at T) as :func:`~rnngrad.jacobian_through_time`
            does, in the state's dtype (complex for the LRU); memory O(T·B·H²).

    Returns:
        A :class:`~rnngrad.jacobians.JacobianThroughTime` with state_size H; ``log10_carousel``
        equals ``log10_norm``: the carousel of eq. (1), max_i ∏ a_{k,i}, is the whole Jacobian.

    Shape:
        inputs (T, I) -> norms (T+1,); inputs (T, B, I) -> norms (B, T+1); entry t for ∂h_T/∂h_t.

    Examples:
        >>> from rnngrad.cells import LRUCell
        >>> cell = LRUCell(3, 4, r_min=0.9, r_max=0.9, dtype=torch.float64)
        >>> result = diagonal_jacobian_through_time(cell, torch.zeros(20000, 3, dtype=torch.float64))
        >>> round(float(result.log10_norm[0]), 3)  # 20000 · log10 0.9, far below 1e-308
        -915.15
    """
    inputs, unbatched = checked_inputs(cell, inputs)  # (T, B, I)
    T, B, _ = inputs.shape
    H = cell.hidden_size
    _check_initial_state(initial_state, B, H)
    a = cell.coefficients(inputs)[0]  # (T, B, H), one batched call
    tails = log_abs_products(_log_abs(a))  # ℓ_t, (T+1, B, H), (2)
    log_norm = tails.max(dim=-1).values.T  # (B, T+1), (3)
    log_frobenius = 0.5 * torch.logsumexp(2 * tails, dim=-1).T  # (B, T+1), (3)

    def finish(values: torch.Tensor) -> torch.Tensor:
        return values.squeeze(0) if unbatched else values

    log_scale = products = None
    if keep_products:
        log_scale = log_frobenius.clone()
        log_scale[:, T] = 0.0  # M_T = I is not normalised, as in jacobian_through_time
        products = _normalized_products(_widened(a), tails, log_scale.T).to(cell.state_dtype)
        log_scale = finish(log_scale)
    log10_norm = finish(log_norm / _LN10)
    return JacobianThroughTime(
        arch=cell.arch,
        T=T,
        state_size=H,
        log10_norm=log10_norm,
        log10_frobenius=finish(log_frobenius / _LN10),
        log10_carousel=log10_norm,
        log_scale=log_scale,
        normalized_products=products,
    )


@torch.no_grad()
def diagonal_lyapunov(cell: DiagonalCell, inputs: torch.Tensor, warmup: int = 0) -> DiagonalLyapunov:
    """The Lyapunov exponents and memory horizons of eq. (5), exactly.

    Args:
        cell: a :class:`~rnngrad.cells.DiagonalCell`.
        inputs: x_1..x_T, (T, B, I) or (T, I).
        warmup: N, steps left out of the means, 0 ≤ N < T.

    Shape:
        inputs (T, I) -> exponents, horizons (H,); inputs (T, B, I) -> (B, H).

    Examples:
        >>> from rnngrad.cells import LRUCell
        >>> cell = LRUCell(3, 2, r_min=0.9, r_max=0.9, dtype=torch.float64)
        >>> found = diagonal_lyapunov(cell, torch.zeros(50, 3, dtype=torch.float64))
        >>> [round(value, 3) for value in found.horizons.tolist()]  # −1 / log 0.9 steps
        [9.491, 9.491]
    """
    inputs, unbatched = checked_inputs(cell, inputs)  # (T, B, I)
    T = inputs.shape[0]
    if isinstance(warmup, bool) or not isinstance(warmup, int) or not 0 <= warmup < T:
        raise InputError(f"warmup: expected an integer in 0..{T - 1} (T − 1), got {warmup!r}")
    means = channel_means(log_abs_coefficients(cell, inputs), warmup)  # (B, H), (5)
    horizons = torch.where(means < 0, -1.0 / means, math.inf)  # (5); a mean of −inf gives τ = 0
    exponents = means.sort(dim=-1, descending=True).values  # (5)
    if unbatched:
        exponents, horizons = exponents.squeeze(0), horizons.squeeze(0)
    return DiagonalLyapunov(exponents=exponents, horizons=horizons, steps=T - warmup)


def _reverse_cumsum(values: torch.Tensor) -> torch.Tensor:
    """Σ_{j ≥ t} values[j] for t = 0..T, (T+1, ...), from values (T, ...); entry T is 0. Summed
    from t = T down, never as differences of forward sums (−inf − (−inf) would be NaN)."""
    padded = torch.cat([values, values.new_zeros(1, *values.shape[1:])])  # (T+1, ...)
    return padded.flip(0).cumsum(0).flip(0)


def _widened(a: torch.Tensor) -> torch.Tensor:
    """a in float64, or complex128 for a complex a."""
    return a.to(torch.complex128 if a.is_complex() else torch.float64)


def _log_abs(a: torch.Tensor) -> torch.Tensor:
    """log|a| in float64, same shape; an exact zero gives −inf."""
    return _widened(a).abs().log()


def _normalized_products(a: torch.Tensor, tails: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """M_t = diag(∏_{k>t} a_k) / e^{ℓ_t}, (T+1, B, H, H), from a (T, B, H), ℓ_{t,i} (T+1, B, H)
    and ℓ_t (T+1, B): moduli e^{ℓ_{t,i} − ℓ_t}, times the product's phase (complex a: the summed
    angles; real a: the product of the signs, exact)."""
    offset = torch.where(torch.isfinite(log_scale), log_scale, 0.0)  # a zero product stays zero
    moduli = torch.exp(tails - offset.unsqueeze(-1))  # (T+1, B, H)
    if a.is_complex():
        angles = _reverse_cumsum(torch.angle(a))  # Σ_{k>t} arg a_k, (T+1, B, H)
        diagonal = torch.polar(moduli, angles)
    else:
        signs = torch.cat([torch.sign(a), a.new_ones(1, *a.shape[1:])])  # (T+1, B, H)
        diagonal = moduli * signs.flip(0).cumprod(0).flip(0)
    return torch.diag_embed(diagonal)  # (T+1, B, H, H)


def _check_initial_state(initial_state: torch.Tensor | None, B: int, H: int) -> None:
    """``initial_state`` None or a finite (B, H) tensor, else :class:`InputError`."""
    if initial_state is None:
        return
    if not isinstance(initial_state, torch.Tensor):
        raise InputError(f"initial_state: expected a tensor or None, got {type(initial_state).__name__}")
    if tuple(initial_state.shape) != (B, H):
        raise InputError(f"initial_state: expected a state of shape {(B, H)}, got {tuple(initial_state.shape)}")
    if not bool(torch.isfinite(initial_state).all()):
        raise InputError("initial_state: expected finite values, got a non-finite entry")
