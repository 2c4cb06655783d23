r"""The chunked linear scan, parallel in time: :func:`rnngrad.linear_scan` where the compiled
pass is not available (no compiler, ``RNNGRAD_NO_COMPILE``, or a GPU).

For (1) of :mod:`rnngrad.scan`, h_t = a_t ⊙ h_{t−1} + b_t, in chunks of C steps: with
n = ⌊T/C⌋, chunk k = 0..n−1 holds the steps t = kC + j, j = 1..C, and

.. math::

    u_{k,0} = 0,\qquad u_{k,j} = a_{kC+j} \odot u_{k,j-1} + b_{kC+j}                    \tag{3}

    H_0 = h_0,\qquad H_{k+1} = P_k \odot H_k + u_{k,C},\qquad P_k = \prod_{j=1}^{C} a_{kC+j}  \tag{4}

    h_{kC} = H_k,\qquad h_{kC+j} = a_{kC+j} \odot h_{kC+j-1} + b_{kC+j}                   \tag{5}

(3) is every chunk's scan from a zero start, a loop of C steps over tensors (n, *trailing);
(4) is a loop of n steps over the chunk boundaries H_k = h_{kC}; (5) reruns (1) inside every chunk
from its boundary, again C steps over all chunks at once; the last T − nC steps follow (1) one by
one. With C ≈ √(T/2) that is about 2.8·√T loop steps instead of T. Nothing is divided or
logged: P_k is a product of C factors and may underflow to 0 (|a| ≪ 1, a = 0), which is then the
exact weight of H_k, and (5) computes every h_t from (1) itself, so no cumulative product ever
multiplies a result. (The usual correction h = u + (∏ a)·H would need every cumulative product
kept; the rerun (5) costs the same and needs none.) The code carries c_k = a_{kC+1} ⊙ H_k, the term
that H_k adds to the chunk's first step, so that (5) starts with one addition.

The backward (2) is the mirror image: chunks run from j = C down to 1, step t takes the
coefficient ā_{t+1}, and the carries go from chunk k + 1 to chunk k.

Each loop step is one op over n·|trailing| elements. Where that is small (< 2^18, 1 MiB in
float32) the loops run on one intra-op thread: a second thread saves little on such an op, and on
a machine busy with other work every op waits a time slice for it (20× slower, measured on a
loaded 2-core machine).
"""

from __future__ import annotations

import math

import torch

from rnngrad._threads import one_intra_op_thread

_SMALL_STEP = 1 << 18  # elements of one op of (3)–(5) below which the loops run on one thread


def chunk_length(T: int) -> int:
    """C for T steps: (3) and (5) take 2C loop steps and (4) T/C, fewest at C = √(T/2)."""
    return max(1, min(T, round(math.sqrt(T / 2))))


def chunked_scan(
    a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None, reverse: bool
) -> torch.Tensor:
    """(1) by (3)–(5), or with ``reverse`` the recurrence x_t = b_t + a_{t+1} ⊙ x_{t+1} (a given
    already conjugated), on one intra-op thread where its steps are small (``_SMALL_STEP``)."""
    T = b.shape[0]
    step_elements = T // max(1, min(chunk_length(T), T)) * (b.numel() // max(1, T))  # n · |trailing|
    if torch.get_num_threads() == 1 or step_elements >= _SMALL_STEP:
        return _scan(a, b, h0, reverse)
    with one_intra_op_thread():
        return _scan(a, b, h0, reverse)


def _scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None, reverse: bool) -> torch.Tensor:
    """(1) by (3)–(5), or with ``reverse`` the recurrence of (2), x_t = b_t + a_{t+1} ⊙ x_{t+1}
    from x_T = b_T (then h0 must be None). a is (1 or T, *trailing_a), b is (T, *trailing)."""
    T, trailing = b.shape[0], b.shape[1:]
    out = torch.empty_like(b)  # (T, *trailing)
    if T == 0:
        return out
    C = min(chunk_length(T), T)
    n = T // C
    T0 = n * C  # steps in whole chunks; the last T − T0 follow (1) one by one
    varying = a.shape[0] > 1  # else a[0] serves every step

    def coefficient(t: int) -> torch.Tensor:  # a_t (0-based), (*trailing_a)
        return a[t] if varying else a[0]

    bc = b[:T0].view(n, C, *trailing)  # (n, C, *trailing): step j of chunk k is t = kC + j
    hc = out[:T0].view(n, C, *trailing)
    if varying:
        ac = a[:T0].view(n, C, *a.shape[1:])  # (n, C, *trailing_a)
    else:
        ac = a.unsqueeze(1).expand(1, C, *a.shape[1:])  # (1, C, *trailing_a)
    # Forward, step j of a chunk takes a_{kC+j}; reverse, it takes a_{kC+j+1} and the chunk runs
    # from j = C − 1 down. Either way the C − 1 steps after the first take ac[:, 1:].
    first = C - 1 if reverse else 0
    steps = range(C - 2, -1, -1) if reverse else range(1, C)

    def factor(j: int) -> torch.Tensor:  # the coefficient of step j, (n or 1, *trailing_a)
        return ac[:, j + 1] if reverse else ac[:, j]

    # (3): every chunk's scan from a zero start, all chunks at once; only its end u_{k,C} is kept.
    # Where a varies, the product Π_k of the factors is taken as they pass (still in cache).
    local = bc[:, first]  # (n, *trailing)
    inner = ac[:, 1:].prod(dim=1) if C == 1 or not varying else factor(steps[0]).clone()  # Π_k
    for step, j in enumerate(steps):
        if step == 0:
            local = torch.addcmul(bc[:, j], factor(j), local)  # (3), a fresh buffer
        else:
            torch.addcmul(bc[:, j], factor(j), local, out=local)  # (3), in place
            if varying:
                inner.mul_(factor(j))
    # (4) for c_k = a_{kC+1} ⊙ H_k (forward) or its mirror image: c_{k±1} = E_k + A_k ⊙ c_k with
    # A_k = a ⊙ Π and E_k = a ⊙ u, a being the first factor of the chunk that c enters.
    carry = b.new_zeros((n, *trailing))  # (n, *trailing): c_k, the term its first step adds
    entering = ac[1:, 0] if varying else ac[:, 0]  # a_{(k+1)C+1}, (n − 1 or 1, *trailing_a)
    if reverse:
        if T0 < T:  # the tail t ≥ T0 first, by (2)'s recurrence, one step at a time
            out[T - 1] = b[T - 1]
            for t in range(T - 2, T0 - 1, -1):
                torch.addcmul(b[t], coefficient(t + 1), out[t + 1], out=out[t])
            torch.mul(coefficient(T0), out[T0], out=carry[n - 1])
        weight = (entering * (inner[1:] if varying else inner)).expand(n - 1, *a.shape[1:])  # A_k
        term = entering * local[1:]  # (n − 1, *trailing): E_k
        for k in range(n - 2, -1, -1):
            torch.addcmul(term[k], weight[k], carry[k + 1], out=carry[k])  # (4), backwards
    else:
        if h0 is not None:
            carry[0] = coefficient(0) * h0
        weight = (entering * (inner[:-1] if varying else inner)).expand(n - 1, *a.shape[1:])  # A_k
        term = entering * local[:-1]  # (n − 1, *trailing): E_k
        for k in range(n - 1):
            torch.addcmul(term[k], weight[k], carry[k], out=carry[k + 1])  # (4)
    # (5): (1) again inside every chunk, from its carry.
    previous = torch.add(bc[:, first], carry, out=hc[:, first])  # (5): its first step adds c_k
    for j in steps:
        previous = torch.addcmul(bc[:, j], factor(j), previous, out=hc[:, j])  # (5)
    if not reverse:  # the tail t ≥ T0 by (1), one step at a time
        for t in range(T0, T):
            torch.addcmul(b[t], coefficient(t), out[t - 1], out=out[t])  # (1)
    return out
