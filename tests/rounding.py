"""How far apart two float64 computations of the same gate may be, when only their rounding differs.

The same pre-activation z = W_ih x + b_ih + W_hh h + b_hh computed twice through different BLAS
paths (a strided and a contiguous operand take different GEMM kernels, with another summation
order on AVX-512 than on AVX2) differs by at most γ_K · Σ |terms| with K = I + H + 2 terms and
γ_K = K ε / (1 − K ε) (Higham, Accuracy and Stability, §3.1), whatever the order. σ' ≤ 1/4
carries that to the gate, and each σ evaluation adds a few ulps of its own (f < 1: ulp ≤ ε).
"""

from __future__ import annotations

import torch

EPS = torch.finfo(torch.float64).eps


def forget_gate_rounding_bound(cell, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """(B, H): the largest |f − f'| two summation orders of the LSTM's forget gate can give."""
    H = cell.hidden_size
    rows = slice(H, 2 * H)  # gate order i, f, g, o
    magnitude = x.abs() @ cell.weight_ih[rows].abs().T + h.abs() @ cell.weight_hh[rows].abs().T
    if cell.bias_ih is not None:
        magnitude = magnitude + cell.bias_ih[rows].abs() + cell.bias_hh[rows].abs()
    terms = x.shape[1] + H + 2
    gamma = terms * EPS / (1 - terms * EPS)
    return 0.25 * gamma * magnitude.detach() + 8 * EPS
