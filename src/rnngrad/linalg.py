"""Exact top singular values of a batch of matrices."""

from __future__ import annotations

import torch


def top_singular_values(matrices: torch.Tensor) -> torch.Tensor:
    """σ_1 of each matrix in a batch (N, S, S) -> (N,), computed exactly (dense SVD)."""
    return torch.linalg.svdvals(matrices)[..., 0]
