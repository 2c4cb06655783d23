"""Certified spectral norms (rnngrad.linalg) against dense SVD."""

from __future__ import annotations

import pytest
import torch

from rnngrad import LSTMCell, RNNCell
from rnngrad.jacobians import trajectory
from rnngrad.linalg import SpectralNormTracker


def normalized_products(cell, T: int, seed: int, batch: int = 1) -> torch.Tensor:
    """M_t for t = T-1..0 (growing lag), (T, B, S, S), each of unit Frobenius norm."""
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(T, batch, cell.input_size, dtype=torch.float64, generator=generator)
    states = trajectory(cell, inputs)
    product = torch.eye(cell.state_size, dtype=torch.float64).expand(batch, -1, -1)
    products = []
    with torch.no_grad():
        for t in range(T - 1, -1, -1):
            product = product @ cell._forward_and_jacobian(inputs[t], states[t])[1]
            product = product / torch.linalg.matrix_norm(product).view(-1, 1, 1)
            products.append(product)
    return torch.stack(products)


@pytest.mark.parametrize(
    "name, cell",
    [
        ("tanh rnn, torch init", RNNCell(8, 48, dtype=torch.float64, generator=torch.Generator().manual_seed(0))),
        ("relu rnn", RNNCell(8, 32, "relu", dtype=torch.float64, generator=torch.Generator().manual_seed(1))),
        ("lstm (h, c)", LSTMCell(8, 24, dtype=torch.float64, generator=torch.Generator().manual_seed(2))),
    ],
)
@pytest.mark.parametrize("chunk", [1, 16, 200])
def test_tracker_equals_dense_svd_and_certifies_most_steps(name, cell, chunk):
    matrices = normalized_products(cell, T=200, seed=3, batch=2)  # (T, B, S, S)
    tracker = SpectralNormTracker(cell.state_size)
    sigma = torch.cat([tracker.norms(part) for part in matrices.split(chunk)])
    expected = torch.linalg.svdvals(matrices)[..., 0]
    assert ((sigma - expected) / expected).abs().max() <= 1e-12
    assert tracker.dense_count < 100, f"{name}: certified path hardly used"


def test_quadratic_bound_holds_for_any_orthonormal_basis():
    """σ_1(C) ≤ σ_1(M) ≤ sqrt(σ_1(C)² + ‖E‖_F²) for C = QᵀM, E = M − QC (eq. (2))."""
    generator = torch.Generator().manual_seed(0)
    for r in (1, 3, 10):
        M = torch.randn(50, 20, 20, dtype=torch.float64, generator=generator)
        Q = torch.linalg.qr(torch.randn(50, 20, r, dtype=torch.float64, generator=generator))[0]
        C = Q.mT @ M
        lower = torch.linalg.svdvals(C)[:, 0]
        upper = (lower.square() + torch.linalg.matrix_norm(M - Q @ C).square()).sqrt()
        sigma = torch.linalg.svdvals(M)[:, 0]
        assert bool((lower <= sigma * (1 + 1e-14)).all() and (sigma <= upper * (1 + 1e-14)).all())

