r"""Exact spectral norms of a sequence of matrix products, certified, without an SVD per step.

For the products M_t of :mod:`rnngrad.jacobians` we need σ_1(M_t) for every t. A dense SVD per
step costs O(S³) in LAPACK's slow small-matrix path. But far from t = T a product of many
Jacobians is numerically low-rank, and an orthonormal basis Q (S, r) of its dominant left
singular space gives σ_1 exactly up to a bound that is *quadratic* in what Q misses:

.. math::

    C = Q^\top M,\qquad E = M - QC,\qquad M^\top M = C^\top C + E^\top E
    \quad (Q^\top E = 0)                                                              \tag{1}

    \sigma_1(C) \;\le\; \sigma_1(M) \;\le\; \sqrt{\sigma_1(C)^2 + \|E\|_F^2}           \tag{2}

by Weyl's inequality for the sum of two positive semi-definite matrices, and by Pythagoras

.. math::

    \|E\|_F^2 = \|M\|_F^2 - \|C\|_F^2                                                  \tag{3}

so E need not be formed (a rounding allowance keeps (3) an upper bound). So whenever
‖E‖_F ≤ τ·σ_1(C), σ_1(C) is σ_1(M) to a relative error ≤ τ²/2; with τ = 4e-7 that is 1e-13.
σ_1(C)² is the top eigenvalue of the small (r, r) Gram matrix C Cᵀ.

Q is carried from one product to the next (M_t = M_{t+1} J_{t+1} keeps its column space inside
M_{t+1}'s) and grown with the directions of E when the bound fails (a randomised range step).
Q is re-fitted to the dominant space now and then, so it shrinks as the lag grows. Where the
product is not low-rank (short lags), σ_1 comes from the whole spectrum, as the top eigenvalue
of the Gram matrix M Mᵀ; every value returned is either that or certified by (2).
"""

from __future__ import annotations

import torch

CERTIFY_TOLERANCE = 1e-6  # τ of (2): relative error of σ_1 ≤ τ²/2 = 5e-13
_KEEP = 0.1 * CERTIFY_TOLERANCE  # directions below this share of σ_1 are dropped from Q
_EXPANSIONS = 2  # range steps tried before the whole spectrum
_EXPANSION_WIDTH = 8  # directions added per range step
_TRACK_BELOW = 0.75  # start tracking once the numerical rank is ≤ this share of S
_BLOCK = 16  # matrices certified in one batch with the same Q (then Q is re-fitted and shrinks)
_DENSE_BATCH = 4  # matrices whose whole spectrum is computed in one call


def _missed_energy(matrices: torch.Tensor, Q: torch.Tensor, C: torch.Tensor, frobenius: torch.Tensor | None) -> torch.Tensor:
    """An upper bound on ‖E‖_F² = ‖M‖_F² − ‖C‖_F², eq. (3), without forming E.

    In float64 the subtraction is rounded by at most ~S·ε·‖M‖_F² (the Gram sums and Q's
    orthonormality both err by O(S·ε)); 8·S·ε·‖M‖_F² is added so the value stays an upper bound.
    Lower precisions form E = M − QC explicitly.
    """
    if matrices.dtype != torch.float64:
        return torch.linalg.matrix_norm(matrices - Q @ C).square()
    if frobenius is None:
        frobenius = torch.linalg.vector_norm(matrices, dim=(-2, -1))
    energy = frobenius.view(matrices.shape[:-2]).square()  # ‖M‖_F²
    captured = torch.linalg.vector_norm(C, dim=(-2, -1)).square()  # ‖C‖_F² = ‖QᵀM‖_F²
    allowance = 8 * matrices.shape[-1] * torch.finfo(torch.float64).eps * energy
    return (energy - captured).clamp_min(0.0) + allowance


class SpectralNormTracker:
    """σ_1 of a sequence of (B, S, S) matrices whose column spaces nest, as in (1)–(2).

    Feed the matrices in order, a chunk at a time, with :meth:`norms`.
    """

    def __init__(self, state_size: int, generator_seed: int = 0) -> None:
        self.state_size = state_size
        self.basis: torch.Tensor | None = None  # Q, (B, S, r)
        self.generator = torch.Generator().manual_seed(generator_seed)
        self.dense_count = 0  # how many matrices needed the whole spectrum (for benchmarks)

    def norms(self, matrices: torch.Tensor, frobenius: torch.Tensor | None = None) -> torch.Tensor:
        """σ_1 of a chunk (N, B, S, S) of the sequence, in order -> (N, B).

        ``frobenius``: ‖M‖_F of each matrix (N, B, ...) if already known (float64 only uses it).
        """
        sigma = matrices.new_empty(matrices.shape[:2])
        i = 0
        while i < len(matrices):
            if self.basis is None:
                n = min(_DENSE_BATCH, len(matrices) - i)
                sigma[i : i + n] = self._dense(matrices[i : i + n])
                i += n
                continue
            block_frobenius = None if frobenius is None else frobenius[i : i + _BLOCK]
            certified = self._certified_prefix(matrices[i : i + _BLOCK], block_frobenius)  # for a prefix
            sigma[i : i + len(certified)] = certified
            i += len(certified)
            if len(certified) == 0:
                sigma[i] = self._certified_one(matrices[i])
                i += 1
        return sigma

    def _certified_prefix(self, matrices: torch.Tensor, frobenius: torch.Tensor | None) -> torch.Tensor:
        """σ_1 by (2) with the carried Q for the longest prefix of the chunk that certifies."""
        Q = self.basis.unsqueeze(0)  # (1, B, S, r)
        C = Q.mT @ matrices  # (N, B, r, S), eq. (1)
        missed = _missed_energy(matrices, Q, C, frobenius)  # ≥ ‖E‖_F², (N, B)
        top_eigenvalue = torch.linalg.eigvalsh(C @ C.mT)[..., -1]  # σ_1(C)², (N, B)
        ok = (missed <= CERTIFY_TOLERANCE**2 * top_eigenvalue).all(dim=1)  # (N,)
        prefix = len(ok) if bool(ok.all()) else int(ok.int().argmin())
        if prefix > 0:
            self._compress_to(C[prefix - 1])
        return top_eigenvalue[:prefix].sqrt()  # (2)

    def _certified_one(self, matrix: torch.Tensor) -> torch.Tensor:
        """One matrix that the carried Q does not certify: grow Q, else the whole spectrum."""
        sigma = self._certified(matrix)
        return self._dense(matrix.unsqueeze(0))[0] if sigma is None else sigma

    def _certified(self, matrix: torch.Tensor) -> torch.Tensor | None:
        """σ_1 via (2) with the carried basis, grown up to ``_EXPANSIONS`` times; None if it fails."""
        for attempt in range(_EXPANSIONS + 1):
            Q = self.basis
            C = Q.mT @ matrix  # (B, r, S), eq. (1)
            E = matrix - Q @ C  # (B, S, S)
            top_eigenvalue = torch.linalg.eigvalsh(C @ C.mT)[:, -1]  # σ_1(C)², (B,)
            missed = torch.linalg.matrix_norm(E).square()  # ‖E‖_F², (B,), E is needed to grow Q
            if bool((missed <= CERTIFY_TOLERANCE**2 * top_eigenvalue).all()):
                self._compress_to(C)
                return top_eigenvalue.sqrt()  # (2)
            limit = int(_TRACK_BELOW * self.state_size)
            if attempt == _EXPANSIONS or Q.shape[-1] + _EXPANSION_WIDTH > limit:
                break
            self._grow(E)
        self.basis = None
        return None

    def _grow(self, missed_part: torch.Tensor) -> None:
        """Add the dominant directions of E (a randomised range step), orthogonal to Q."""
        B, S, _ = missed_part.shape
        probe = torch.randn(S, _EXPANSION_WIDTH, generator=self.generator).to(missed_part)
        directions = missed_part @ probe  # (B, S, p)
        directions = directions - self.basis @ (self.basis.mT @ directions)  # re-orthogonalise
        new = torch.linalg.qr(directions)[0]  # (B, S, p)
        self.basis = torch.cat([self.basis, new], dim=-1)

    def _compress_to(self, C: torch.Tensor) -> None:
        """Re-fit Q to the dominant space of the last certified matrix: keep the directions that
        carry more than ``_KEEP`` of σ_1 (the rest joins E and is still certified by (2))."""
        eigenvalues, eigenvectors = torch.linalg.eigh(C @ C.mT)  # ascending, (B, r), (B, r, r)
        keep = int((eigenvalues > _KEEP**2 * eigenvalues[:, -1:]).sum(dim=1).max())
        self.basis = self.basis @ eigenvectors[:, :, -max(keep, 1):]  # (B, S, r')

    def _dense(self, matrices: torch.Tensor) -> torch.Tensor:
        """σ_1 of a few matrices (n, B, S, S) from their whole spectra -> (n, B); start tracking
        once the numerical rank of the last one is ≤ 3S/4.

        σ_i² are the eigenvalues of the Gram matrix M Mᵀ (a symmetric eigensolver is faster than
        an SVD); σ_1² comes out to a relative error of a few ε, and directions below
        ``_KEEP``·σ_1 (energy 1e-14 of σ_1², far above ε) are counted reliably. The matrices go
        to LAPACK in one batched call: fewer, longer calls also hold the GIL less often when the
        tracker runs beside other work.
        """
        self.dense_count += len(matrices)
        gram = matrices @ matrices.mT  # (n, B, S, S)
        eigenvalues = torch.linalg.eigvalsh(gram)  # σ_i², ascending, (n, B, S)
        top = eigenvalues[..., -1]  # σ_1², (n, B)
        rank = int((eigenvalues[-1] > _KEEP**2 * top[-1].unsqueeze(1)).sum(dim=1).max())
        if rank <= _TRACK_BELOW * self.state_size:
            left = torch.linalg.eigh(gram[-1])[1]  # left singular vectors, ascending σ
            self.basis = left[:, :, -max(rank, 1):].flip(-1).contiguous()
        return top.clamp_min(0.0).sqrt()
