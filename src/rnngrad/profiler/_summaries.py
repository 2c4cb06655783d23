"""Summaries of recorded gradients: per-step norms, decay rate, memory horizon, forget gates.

All functions are pure: tensors in, tensors or numbers out. Lags count steps in the direction
the gradient flows back through the recurrence, per sequence:

.. math::

    (1)  n_{t,b} = ‖δh_{t,b}‖₂                                    (T, B) per-step norms
    (2)  k = L_b − 1 − t  (direction 0),   k = t  (direction 1)     lag of step t, sequence b
    (3)  ν_k = mean over the sequences with L_b > k of n at lag k   (T,) norms by lag
    (4)  ρ = −argmin_s Σ_k (log ν_k − α − s k)²                     decay rate, nats per step
         (natural log; least squares over the k with 0 < ν_k < ∞; ρ > 0: vanishing, ρ < 0:
          exploding; the gradient shrinks by about e^{−ρ} per step back, ρ / ln 10 decades)
    (5)  horizon(ε) = the largest K with ν_{k*+j} ≥ ε max_k ν_k for all 0 ≤ j ≤ K,
         k* = argmax_k ν_k
    (6)  f̄ = mean of f_{t,b,j} over valid steps t < L_b, sequences b and units j
    (7)  Π_{b,j} = ∏_{t < L_b} f_{t,b,j} = exp Σ_t log f_{t,b,j}    the carousel product
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

_LN_10 = math.log(10.0)


def valid_steps(steps: int, lengths: Tensor) -> Tensor:
    """``(T, B)`` bool, True where step t < L_b."""
    return torch.arange(steps, device=lengths.device).unsqueeze(1) < lengths.unsqueeze(0)


def step_norms(hidden_grad: Tensor) -> Tensor:
    """(1): ``(T, B)`` float64 Euclidean norm of δh_t per sequence, from ``(T, B, H)``.

    Float64, so a float32 gradient of 1e-23 has norm 1e-23, not 0 (its square, 1e-46, is below
    float32's smallest number)."""
    wide = hidden_grad.to(torch.complex128) if hidden_grad.is_complex() else hidden_grad.double()  # LRU: complex
    return torch.linalg.vector_norm(wide, dim=2)


def mean_over_valid(per_step: Tensor, valid: Tensor) -> Tensor:
    """``(T,)`` mean of a ``(T, B)`` tensor over the sequences valid at each step (``valid``
    ``(T, B)`` bool)."""
    valid = valid.to(per_step.device)
    total = torch.where(valid, per_step, torch.zeros_like(per_step)).sum(1)  # (T,)
    return total / valid.sum(1).clamp_min(1).to(per_step.dtype)


def log10_mean_over_valid(log10_per_step: Tensor, valid: Tensor) -> Tensor:
    """``(T,)`` log10 of the mean of 10^x over the sequences valid at each step, from log10
    values ``(T, B)`` (−inf for 0): :func:`mean_over_valid` without ever leaving log space."""
    valid = valid.to(log10_per_step.device)
    natural = torch.where(valid, log10_per_step * _LN_10, torch.full_like(log10_per_step, -math.inf))
    counts = valid.sum(1).clamp_min(1).to(natural.dtype)
    return (torch.logsumexp(natural, dim=1) - counts.log()) / _LN_10


def log10_norms_by_lag(log10_norms: Tensor, valid: Tensor, direction: int) -> Tensor:
    """(2)-(3) in log space: ``(T,)`` float64 log10 ν_k from log10 n_{t,b} ``(T, B)``.

    The lag of a valid step counts the valid steps of its sequence after it (direction 0) or
    before it (direction 1); with lengths, that is (2)."""
    steps, batch = log10_norms.shape
    valid = valid.to(log10_norms.device)
    counted = valid.long()
    before = counted.cumsum(0) - counted  # valid steps before t
    lag = (counted.sum(0, keepdim=True) - 1 - before) if direction == 0 else before  # (T, B)  (2)
    lag = torch.where(valid, lag, torch.full_like(lag, steps))  # invalid steps go to row T
    by_lag = log10_norms.new_full((steps + 1, batch), -math.inf).scatter_(0, lag, log10_norms)[:steps]
    lengths = counted.sum(0)  # (B,)
    return log10_mean_over_valid(by_lag, valid_steps(steps, lengths))  # (3)


def norms_by_lag(hidden_grad: Tensor, valid: Tensor, direction: int) -> Tensor:
    """(2)-(3): ``(T,)`` float64 mean gradient norm by lag k, from δh ``(T, B, H)``."""
    return 10.0 ** log10_norms_by_lag(step_norms(hidden_grad).log10(), valid, direction)


def decay_rate(by_lag: Tensor) -> float:
    """(4): decay rate in nats per step (natural log; > 0: vanishing); NaN when fewer than two
    lags have a positive finite norm."""
    return decay_rate_of_log10(torch.log10(by_lag.double().cpu()))


def decay_rate_of_log10(log10_by_lag: Tensor) -> float:
    """(4) from log10 ν_k ``(T,)``: no floor at the smallest float64."""
    lags = torch.arange(log10_by_lag.shape[0], dtype=torch.float64)
    log_norm = log10_by_lag.double().cpu() * _LN_10
    keep = torch.isfinite(log_norm)
    if int(keep.sum()) < 2:
        return math.nan
    lags, log_norm = lags[keep], log_norm[keep]
    centred = lags - lags.mean()
    slope = (centred * (log_norm - log_norm.mean())).sum() / centred.square().sum()
    return float(-slope)


def memory_horizon(by_lag: Tensor, eps: float) -> int:
    """(5): how many lags past its peak the mean gradient norm stays ≥ eps × peak."""
    return memory_horizon_of_log10(torch.log10(by_lag.double().cpu()), eps)


def memory_horizon_of_log10(log10_by_lag: Tensor, eps: float) -> int:
    """(5) from log10 ν_k ``(T,)``."""
    norms = log10_by_lag.double().cpu()
    finite = torch.isfinite(norms)
    if not bool(finite.any()):
        return 0
    peak_lag = int(torch.where(finite, norms, torch.full_like(norms, -math.inf)).argmax())
    peak = float(norms[peak_lag])
    after = norms[peak_lag + 1 :]
    dropped = ~(torch.isfinite(after) & (after >= math.log10(eps) + peak))
    if bool(dropped.any()):
        return int(dropped.nonzero()[0])
    return int(after.shape[0])


def forget_gate_statistics(forget: Tensor, padding: Tensor | None) -> tuple[Tensor, Tensor]:
    """Mean gate per step and sequence ``(T, B)`` and log carousel product ``(B, H)`` (7).

    ``forget`` is ``(T, B, H)`` in either order, any strides; ``padding`` ``(T, B, 1)`` bool or
    None. Padded entries are 0. Both results are float64; the sums run in the gates' dtype
    (ample for a summary).
    """
    # a contiguous copy: torch's log is about 10× slower on a strided view (a gate slot)
    log_forget = forget.clone(memory_format=torch.contiguous_format).log_()  # (T, B, H)
    if padding is not None:
        log_forget.masked_fill_(padding, 0.0)
    return step_unit_means(forget.sum(2), forget.shape[2], padding), log_forget.sum(0).double()


def step_unit_means(gate_sums: Tensor, units: int, padding: Tensor | None) -> Tensor:
    """``(T, B)`` float64 mean gate per step and sequence from the sums over units, 0 at padding."""
    means = gate_sums.double() / units
    if padding is not None:
        means.masked_fill_(padding.squeeze(2), 0.0)
    return means


def mean_forget_gate(step_mean: Tensor, valid: Tensor) -> float:
    """(6) from the per-step means ``(T,)`` and the valid steps ``(T, B)``."""
    counts = valid.to(step_mean.device).sum(1)  # (T,)
    return float((step_mean * counts).sum() / counts.sum())
