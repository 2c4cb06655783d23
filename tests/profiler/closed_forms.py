"""Shared checks of the log-scaled gradients: a contraction's closed form, and float64 norms
computed without squaring into denormals (the oracle's own norms must not underflow first)."""

from __future__ import annotations

import math

import torch


def assert_contraction_closed_form(result, name: str, steps: int, rate: float, norm: float) -> None:
    """dL/dh_t = rate^{T−1−t} v with ‖v‖ = ``norm``: the float32 gradient reads 0 at the first
    step, and the log-scaled norms follow the closed form to 1e-9 decades, below 1e-998."""
    assert float(result.hidden_grad(name)[0].abs().max()) == 0.0  # float32 underflowed long before
    log10_norm = result.log10_hidden_grad_norm(name)[:, 0]
    lags = torch.arange(steps - 1, -1, -1, dtype=torch.float64)
    expected = math.log10(norm) + lags * math.log10(rate)
    assert float((log10_norm - expected).abs().max()) < 1e-9
    assert float(log10_norm[0]) < -998


def log10_step_norms(grad: torch.Tensor) -> torch.Tensor:
    """log10 ‖g_t‖ of ``(T, H)`` float64 gradients, scaled by each step's peak before squaring."""
    peak = grad.abs().amax(1, keepdim=True)
    return (peak.squeeze(1) * (grad / peak.clamp_min(1e-300)).norm(dim=1)).log10()
