r"""Lyapunov exponents of the state Jacobians by the QR method, re-orthonormalised adaptively.

With step Jacobians J_t = ∂s_t/∂s_{t-1} (t = 1..T) on the flat state s (h, or (h, c) for the
LSTM: the full 2H×2H Jacobian, carousel included), the QR method carries an orthonormal
S×k frame Q through time:

.. math::

    Q_0 = I_{S \times k},\qquad J_t Q_{t-1} = Q_t R_t \quad (R_t\ k\times k\ \text{upper
    triangular})                                                                    \tag{1}

    \lambda_i = \frac{1}{T-N} \sum_{t=N+1}^{T} \log |(R_t)_{ii}|                    \tag{2}

sorted in descending order; N is the warmup (0 by default: every step from s_0 counts).
(R_t)_{ii} is the stretch of the i-th direction beyond the first i−1, so λ_1 is the rate at
which ‖∂s_T/∂s_t‖ = ‖J_T ⋯ J_{t+1}‖ grows (> 0) or vanishes (< 0) per step of lag, and
λ_1 + … + λ_i that of i-dimensional volumes. With k = S, |det R_t| = |det J_t|, hence

.. math::

    \sum_{i=1}^{S} \lambda_i = \frac{1}{T-N} \sum_{t=N+1}^{T} \log |\det J_t|      \tag{3}

**Blocks.** QR factorisation is unique up to the signs of R's diagonal, so for m steps

.. math::

    J_{t+m} \cdots J_{t+1} Q_t = Q_{t+m} \hat R,\qquad
    |\hat R_{ii}| = \prod_{j=t+1}^{t+m} |(R_j)_{ii}|                                  \tag{4}

and one factorisation per block gives the same sums (2) as one per step. In floating point,
column i of the product keeps its own stretch under rounding at the level of the largest one,
so |R̂_ii| carries a relative error of about ε·κ with

.. math::

    \log \kappa = \max_i \log|\hat R_{ii}| - \min_i \log|\hat R_{ii}|                 \tag{5}

(ε the unit roundoff; (5) is the cheap diagonal estimate of κ(R̂)). The block length m is
therefore chosen from the growth measured on the last few blocks: the largest m with m·g ≤ L,
where g is the largest (5) per step over the last four blocks (one fast step is no promise for
the next ones, and a block redone costs more than a short one) and L the log-condition budget,
never more than twice the last m, and with
m·max_i |log R̂_ii| / step ≤ ¼ log(largest float) so nothing overflows or underflows. A block
whose (5) exceeds L is factorised again, at most half as long; a block of one step is always
accepted (that is the plain QR method, whose own error is ε·κ(J_t)).

The default L = −⅓ log ε (12.0 in float64, 5.3 in float32) keeps κ ≤ ε^{-1/3}, so every
|R̂_ii| keeps two thirds of the working precision in each block: measured on RNN, GRU and LSTM
layers, every exponent then agrees with a factorisation at every step to ~1e-12 and (3) holds to
~1e-12. A larger L means longer blocks and fewer factorisations; the top exponents stay exact
(their own spread is small) while the bottom ones lose accuracy as ε·e^L. The LSTM's (h, c)
spectrum is wide (T = 1024, H = 128 at torch's initialisation: λ from −0.45 to −9.4, (5) ≈ 9
per step), so the default factorises at every step there; L = 24 gives blocks of two steps
(measured: 0.46 of the time of a QR at every step), the top ten exponents still to ~1e-15, but
every exponent and (3) only to ~1e-8.

Q is kept in Householder form (LAPACK ``geqrf``) and applied to the first Jacobian of a block
with ``ormqr``; the rest of the block multiplies the product by each Jacobian through the cell's
:meth:`~rnngrad.cells.RecurrentCell._step_jacobians` operator, which for the LSTM costs half a
dense product (:mod:`rnngrad.cells.step_jacobians`). Jacobians are built in chunks of time
steps with one batched call of the cell.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

import torch

from rnngrad.cells import RecurrentCell
from rnngrad.cells.step_jacobians import StepJacobians
from rnngrad.errors import InputError
from rnngrad.jacobians import trajectory

_CHUNK_ELEMENTS = 1 << 18  # Jacobian entries built per batched call: 2 MiB in float64 (cache-sized)
MAX_INTERVAL = 64  # longest block of steps between two factorisations
_GROWTH_WINDOW = 4  # blocks whose growth per step sets the next block's length


@dataclass(frozen=True)
class LyapunovExponents:
    """Exponents by (2): natural log per step, descending; shape (B, k)."""

    exponents: torch.Tensor  # (B, k) float64
    steps: int  # T − N, the steps averaged in (2)
    factorizations: int  # QR factorisations done (accepted and redone blocks)
    max_log_condition: float  # largest (5) over the accepted blocks


def default_log_condition(dtype: torch.dtype) -> float:
    """L = −⅓ log ε of ``dtype``: 12.0 for float64, 5.3 for float32."""
    return -math.log(torch.finfo(dtype).eps) / 3.0


def check_k_and_warmup(S: int, T: int, k: object, warmup: object) -> None:
    """k in 1..S and at least k steps left after the warmup N, else :class:`InputError`."""
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= S:
        raise InputError(f"k: expected an integer in 1..{S} (the state size), got {k!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise InputError(f"warmup: expected an integer ≥ 0, got {warmup!r}")
    if T - warmup < k:
        raise InputError(
            f"inputs: expected at least k = {k} time steps after a warmup of {warmup}, got T = {T}"
        )


def check_block_budget(max_log_condition: object, max_interval: object) -> None:
    """Raise :class:`InputError` unless L is None or a finite number > 0 and m a positive int."""
    if isinstance(max_interval, bool) or not isinstance(max_interval, int) or max_interval < 1:
        raise InputError(f"max_interval: expected a positive integer, got {max_interval!r}")
    if max_log_condition is not None and not (
        isinstance(max_log_condition, (int, float)) and not isinstance(max_log_condition, bool)
        and math.isfinite(max_log_condition) and max_log_condition > 0
    ):
        raise InputError(f"max_log_condition: expected a positive number, got {max_log_condition!r}"
                         + (" (it must be finite)" if isinstance(max_log_condition, float)
                            and not math.isfinite(max_log_condition) else ""))


@torch.no_grad()
def lyapunov_exponents(
    cell: RecurrentCell,
    inputs: torch.Tensor,
    k: int,
    warmup: int = 0,
    *,
    max_log_condition: float | None = None,
    max_interval: int = MAX_INTERVAL,
    states: torch.Tensor | None = None,
) -> LyapunovExponents:
    """The top k Lyapunov exponents (2) of ``cell`` driven by ``inputs`` from the zero state.

    Args:
        cell: any :class:`~rnngrad.cells.RecurrentCell`; computation runs in its dtype.
        inputs: x_1..x_T, (T, B, I), already checked and in the cell's dtype.
        k: how many exponents, 1 ≤ k ≤ S.
        warmup: N, steps run (and re-orthonormalised) before averaging starts.
        max_log_condition: L of (5) per block; ``None`` for :func:`default_log_condition`.
        max_interval: the longest block; 1 factorises at every step.
        states: s_0..s_T (T+1, B, S) if already computed.

    Returns:
        :class:`LyapunovExponents` with exponents (B, k).
    """
    T, B, _ = inputs.shape
    S = cell.state_size
    check_k_and_warmup(S, T, k, warmup)
    check_block_budget(max_log_condition, max_interval)
    budget = default_log_condition(inputs.dtype) if max_log_condition is None else max_log_condition
    range_budget = 0.25 * math.log(torch.finfo(inputs.dtype).max)  # |log| that stays representable
    states = trajectory(cell, inputs) if states is None else states  # (T+1, B, S)
    jacobians = _JacobianChunks(cell, inputs, states)

    sums = torch.zeros(B, k, dtype=torch.float64, device=inputs.device)  # Σ log|R_ii|, (2)
    frame = None  # Q_t as (a, tau) from geqrf; None is Q_0 = I
    t, interval, factorizations, worst = 0, 1, 0, 0.0
    recent_growth = collections.deque(maxlen=_GROWTH_WINDOW)  # per step: (5) and max |log R̂_ii|
    while t < T:
        stop = min(t + interval, warmup if t < warmup else T)  # blocks never straddle N
        product = _block_product(jacobians, frame, t, stop, k)  # (B, S, k), (4)
        a, tau = torch.geqrf(product)
        factorizations += 1
        log_diagonal = a.diagonal(dim1=-2, dim2=-1).abs().log().double()  # (B, k)
        log_condition, log_size = _log_condition_and_size(log_diagonal)  # (5)
        recent_growth.append((log_condition / (stop - t), log_size / (stop - t)))
        interval = _next_interval(recent_growth, stop - t, budget, range_budget, max_interval)
        if stop - t > 1 and not log_condition <= budget:
            interval = min(interval, (stop - t) // 2)  # redo the block, shorter
            continue
        if t >= warmup:
            sums += log_diagonal  # (2), (4)
        frame, worst, t = (a, tau), max(worst, log_condition), stop
    exponents = (sums / (T - warmup)).sort(dim=1, descending=True).values
    return LyapunovExponents(exponents, T - warmup, factorizations, worst)


def _log_condition_and_size(log_diagonal: torch.Tensor) -> tuple[float, float]:
    """(5) and max_i |log R̂_ii| for the worst sequence of the batch; inf when not finite."""
    low, high = torch.aminmax(log_diagonal, dim=1)  # (B,) each
    spread, size = torch.stack([(high - low).max(), torch.maximum(high.abs(), low.abs()).max()]).tolist()
    return tuple(value if math.isfinite(value) else math.inf for value in (spread, size))


def _next_interval(
    recent_growth, steps: int, budget: float, range_budget: float, max_interval: int
) -> int:
    """The next block length from the largest growth per step over the last few blocks."""
    limit = min(2 * steps, max_interval)
    for rates, allowed in zip(zip(*recent_growth), (budget, range_budget)):
        rate = max(rates)
        if rate == math.inf:
            return 1
        if rate > 0:
            limit = min(limit, int(allowed / rate))
    return max(1, limit)


def _block_product(jacobians: _JacobianChunks, frame, start: int, stop: int, k: int) -> torch.Tensor:
    """J_stop ⋯ J_{start+1} Q_start, (B, S, k), eq. (4); Q from its Householder form."""
    steps, step = jacobians.at(start)
    first = steps.dense(step)  # J_{start+1}, (B, S, S)
    if frame is None:
        product = first[..., :k]  # J Q_0, Q_0 = I
    elif k == first.shape[-1]:
        product = torch.ormqr(frame[0], frame[1], first, left=False)  # J Q, (B, S, S)
    else:
        product = first @ torch.linalg.householder_product(*frame)  # (B, S, S) @ (B, S, k)
    for t in range(start + 1, stop):
        steps, step = jacobians.at(t)
        product = steps.times(step, product)  # (B, S, k)
    return product


class _JacobianChunks:
    """J_{t+1} = ∂s_{t+1}/∂s_t for t = 0..T−1, built a chunk of time steps per cell call."""

    def __init__(self, cell: RecurrentCell, inputs: torch.Tensor, states: torch.Tensor) -> None:
        T, B, _ = inputs.shape
        S = cell.state_size
        self.cell, self.inputs, self.states = cell, inputs, states
        self.size = max(1, _CHUNK_ELEMENTS // (B * S * S))
        self.start, self.chunk = -1, None

    def at(self, t: int) -> tuple[StepJacobians, int]:
        """J_{t+1} as (the chunk's operator, index in it)."""
        start = t - t % self.size
        if start != self.start:
            stop = min(start + self.size, self.inputs.shape[0])
            x = self.inputs[start:stop]  # (n, B, I)
            s = self.states[start:stop]  # (n, B, S)
            self.start, self.chunk = start, self.cell._step_jacobians(x.flatten(0, 1), s.flatten(0, 1), stop - start)
        return self.chunk, t - start
