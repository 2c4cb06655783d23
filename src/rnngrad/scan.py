r"""The diagonal linear recurrence h_t = a_t ⊙ h_{t−1} + b_t, scanned in chunks, with its backward.

For t = 1..T over the leading (time) axis, element by element over the trailing axes,

.. math::

    h_t = a_t \odot h_{t-1} + b_t, \qquad h_0 \text{ given (zeros by default)}          \tag{1}

and for a loss L with g_t = ∂L/∂h_t (conjugates as in torch's complex autograd: \bar a = conj a),

.. math::

    \delta_T = g_T,\quad \delta_t = g_t + \bar a_{t+1} \odot \delta_{t+1}, \qquad
    \frac{\partial L}{\partial b_t} = \delta_t,\quad
    \frac{\partial L}{\partial a_t} = \delta_t \odot \bar h_{t-1},\quad
    \frac{\partial L}{\partial h_0} = \bar a_1 \odot \delta_1                             \tag{2}

so the backward is the same recurrence run from t = T down to 1. Both run in chunks of C steps:
with n = ⌊T/C⌋, chunk k = 0..n−1 holds the steps t = kC + j, j = 1..C, and

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
from typing import Callable

import torch

from rnngrad._threads import one_intra_op_thread
from rnngrad.errors import InputError, require_finite
from rnngrad._compiled import linear_scans

_SMALL_STEP = 1 << 18  # elements of one op of (3)–(5) below which the loops run on one thread


def chunk_length(T: int) -> int:
    """C for T steps: (3) and (5) take 2C loop steps and (4) T/C, fewest at C = √(T/2)."""
    return max(1, min(T, round(math.sqrt(T / 2))))


def linear_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
    r"""h_1..h_T of the recurrence (1), h_t = a_t ⊙ h_{t−1} + b_t, over the leading axis of ``b``.

    Computed by the chunked scan (3)–(5); differentiable in ``a``, ``b`` and ``h0`` by the reverse
    scan (2), which runs the same chunks backwards. Gradients are summed back over the axes that
    ``a`` and ``h0`` were broadcast along. |a| > 1 is allowed (h may then grow as |a|^T). The
    backward is not differentiable again (no double backward).

    Args:
        a: the coefficients a_t; any shape that broadcasts against ``b``, e.g. (T, B, H),
            (T, 1, H) (shared over the batch) or (H,) (constant over time).
        b: the inputs b_t, (T, *trailing); T = 0 gives an empty result.
        h0: the start h_0, any shape that broadcasts against b[0]; zeros by default.

    Returns:
        h_1..h_T, the shape of ``b``, in the dtype that a, b and h0 promote to (float32,
        float64, complex64 or complex128).

    Shape:
        - a: broadcastable to (T, *trailing)
        - b: (T, *trailing)
        - h0: broadcastable to (*trailing)
        - output: (T, *trailing)

    Examples::

        >>> a = torch.full((1000, 8, 64), 0.99)
        >>> b = torch.randn(1000, 8, 64)
        >>> h = linear_scan(a, b)  # (1000, 8, 64); h[t] = 0.99 * h[t-1] + b[t]
        >>> decay = torch.rand(64, dtype=torch.complex64)  # constant over time and batch
        >>> linear_scan(decay, b.to(torch.complex64), h0=torch.ones(64)).shape
        torch.Size([1000, 8, 64])
    """
    return _LinearScan.apply(*_prepared(a, b, h0), None, None)


def recorded_linear_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None,
                         on_delta: Callable[[torch.Tensor], None], anchor: torch.Tensor) -> torch.Tensor:
    """:func:`linear_scan` that also hands δ_t of (2), the total ∂L/∂h_t, to ``on_delta`` when its
    backward runs (the profiler's hook; the backward computes δ anyway). ``anchor``, a scalar that
    requires grad, makes that backward run even when only the anchor's gradient is asked for."""
    return _LinearScan.apply(*_prepared(a, b, h0), on_delta, anchor)


def _prepared(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None):
    """``(a, b, h0)`` checked, in their common dtype, ``a`` with b's number of axes."""
    for name, value in (("a", a), ("b", b)):
        if not isinstance(value, torch.Tensor):
            raise InputError(f"{name}: expected a tensor, got {type(value).__name__}")
    if h0 is not None and not isinstance(h0, torch.Tensor):
        raise InputError(f"h0: expected a tensor or None, got {type(h0).__name__}")
    if b.dim() == 0:
        raise InputError("b: expected a tensor with a leading time axis (T, *trailing), got a 0-D tensor")
    _require_broadcast("a", a, "b", b.shape)
    if h0 is not None:
        _require_broadcast("h0", h0, "b[0]", b.shape[1:])
    for name, value in (("a", a), ("h0", h0)):
        if value is not None and value.device != b.device:
            raise InputError(f"{name}: expected a tensor on b's device {b.device}, got {value.device}")
    dtype = torch.promote_types(a.dtype, b.dtype)
    if h0 is not None:
        dtype = torch.promote_types(dtype, h0.dtype)
    if not (dtype.is_floating_point or dtype.is_complex):
        raise InputError(f"a, b, h0: expected floating-point or complex values, got dtype {dtype}")
    _require_finite("a", a.detach())
    a = a.reshape((1,) * (b.dim() - a.dim()) + a.shape)  # (1 or T, *trailing_a): one axis per b's
    # Converted outside the Function, so autograd takes the gradients back to each input's dtype
    # (the real part for a real input of a complex scan).
    a, b = a.to(dtype).contiguous(), b.to(dtype).contiguous()
    h0 = None if h0 is None else h0.to(dtype)
    return a, b, h0


def _require_finite(name: str, tensor: torch.Tensor) -> None:
    """:func:`~rnngrad.errors.require_finite`, after one quick read (a finite sum has no nan or
    inf in it: an inf or nan entry makes the sum inf or nan), and for complex values too."""
    if bool(torch.isfinite(tensor.sum())):
        return
    if not tensor.is_complex():
        require_finite(name, tensor)  # names the first bad entry, or passes if the sum overflowed
        return
    finite = torch.isfinite(tensor)
    if not bool(finite.all()):
        first_bad = tuple(int(i) for i in (~finite).nonzero()[0])
        raise InputError(f"{name}: expected finite values, got {tensor[first_bad].item()} at index {first_bad}")


def _require_broadcast(name: str, value: torch.Tensor, target: str, shape: torch.Size) -> None:
    """Raise :class:`InputError` unless ``value`` broadcasts to exactly ``shape``."""
    try:
        fits = torch.broadcast_shapes(value.shape, shape) == shape
    except RuntimeError:
        fits = False
    if not fits:
        raise InputError(
            f"{name}: expected a shape that broadcasts against {target}'s {tuple(shape)}, "
            f"got {tuple(value.shape)}"
        )


class _LinearScan(torch.autograd.Function):
    """(1) forward and (2) backward on checked inputs of one dtype; a has b's number of axes."""

    @staticmethod
    def forward(ctx, a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None,
                on_delta: Callable[[torch.Tensor], None] | None, anchor: torch.Tensor | None) -> torch.Tensor:
        h = _run_scan(a, b, h0, reverse=False)  # (T, *trailing), (1)
        ctx.save_for_backward(a, h, h0)
        ctx.on_delta, ctx.anchor_like = on_delta, None if anchor is None else torch.zeros_like(anchor)
        return h

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g: torch.Tensor):
        a, h, h0 = ctx.saved_tensors
        g = g.contiguous()
        a_bar = a.conj()  # a lazy view; a itself for real dtypes
        scans = linear_scans(g.device)
        if scans is not None and g.numel() > 0:  # (2) and δ_t ⊙ conj(h_{t−1}) in one compiled pass
            delta, products = _compiled_backward(scans, a, g, h, h0)
        else:
            delta = _scan_on_one_thread_if_small(a_bar, g, None, reverse=True)  # δ of (2), (T, *trailing)
            products = None
        grad_a = grad_h0 = None
        if ctx.needs_input_grad[0]:
            if products is None:
                products = torch.empty_like(h)  # δ_t ⊙ conj(h_{t−1}), (T, *trailing)
                if h.is_complex():  # a lazy conj as an operand would be resolved into a copy of h
                    torch.conj_physical(h[:-1], out=products[1:]).mul_(delta[1:])  # (2)
                else:
                    torch.mul(delta[1:], h[:-1], out=products[1:])  # (2)
                if h.shape[0] > 0:
                    products[0] = 0 if h0 is None else delta[0] * h0.conj()
            grad_a = products.sum_to_size(a.shape)
        if h0 is not None and ctx.needs_input_grad[2]:
            first = a_bar[0] * delta[0] if h.shape[0] > 0 else torch.zeros_like(h0)  # (2)
            grad_h0 = first.sum_to_size(h0.shape)
        if ctx.on_delta is not None:
            ctx.on_delta(delta)
        return grad_a, delta, grad_h0, None, ctx.anchor_like


def _flat(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None):
    """a (1 or T, N), b (T, N) and h0 (N,) or empty, contiguous, for the compiled scans."""
    T, trailing = b.shape[0], b.shape[1:]
    if a.shape[1:] != trailing:
        a = a.expand(a.shape[0], *trailing).contiguous()  # broadcast over trailing axes
    channels = b.numel() // T
    start = b.new_empty(0) if h0 is None else h0.expand(trailing).contiguous().view(-1)
    return a.reshape(a.shape[0], channels), b.view(T, channels), start


def _compiled_backward(scans, a, g, h, h0) -> tuple[torch.Tensor, torch.Tensor]:
    """δ of (2) and the products δ_t ⊙ conj(h_{t−1}), both (T, *trailing), in one compiled pass."""
    flat_a, flat_g, start = _flat(a, g, h0)
    delta, products = scans.scan_backward(flat_a, flat_g, h.reshape(flat_g.shape), start, a.is_complex(),
                                          torch.get_num_threads())
    return delta.view(g.shape), products.view(g.shape)


def _run_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None, reverse: bool) -> torch.Tensor:
    """(1) forward, or the recurrence of (2) with ā in reverse: compiled on the CPU (a sequential
    scan in time, parallel over channels: one pass over memory, the fastest on a few cores), else
    by the chunked scan (3)–(5), parallel in time."""
    scans = linear_scans(b.device)
    if scans is None or b.numel() == 0:
        return _scan_on_one_thread_if_small(a.conj() if reverse else a, b, h0, reverse)
    flat_a, flat_b, start = _flat(a, b, h0)
    out = scans.sequential_scan(flat_a, flat_b, start, reverse, reverse and a.is_complex(), torch.get_num_threads())
    return out.view(b.shape)


def _scan_on_one_thread_if_small(
    a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None, reverse: bool
) -> torch.Tensor:
    """:func:`_scan`, on one intra-op thread where its steps are small (see ``_SMALL_STEP``)."""
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
