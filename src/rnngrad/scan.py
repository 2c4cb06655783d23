r"""The diagonal linear recurrence h_t = a_t ⊙ h_{t−1} + b_t over time, with its backward.

For t = 1..T over the leading (time) axis, element by element over the trailing axes,

.. math::

    h_t = a_t \odot h_{t-1} + b_t, \qquad h_0 \text{ given (zeros by default)}          \tag{1}

and for a loss L with g_t = ∂L/∂h_t (conjugates as in torch's complex autograd: \bar a = conj a),

.. math::

    \delta_T = g_T,\quad \delta_t = g_t + \bar a_{t+1} \odot \delta_{t+1}, \qquad
    \frac{\partial L}{\partial b_t} = \delta_t,\quad
    \frac{\partial L}{\partial a_t} = \delta_t \odot \bar h_{t-1},\quad
    \frac{\partial L}{\partial h_0} = \bar a_1 \odot \delta_1                             \tag{2}

so the backward is the same recurrence run from t = T down to 1. On the CPU both run compiled
(``_linear_scan.cpp``): one pass over memory, sequential in time and split over the channels
between threads; their big outputs (≥ 4 MiB) come from a small cache of freed blocks (at most six,
256 MiB), because fresh memory that size costs more page faults than the scan itself;
:func:`empty_cache` hands the cached blocks back. Elsewhere, or without a compiler, they run as the chunked scan of
:mod:`rnngrad._chunked_scan`, parallel in time: about 2.8·√T loop steps of whole-tensor ops
instead of T. Neither takes a log or divides by a product of a's.
"""

from __future__ import annotations

from typing import Callable

import torch

from rnngrad._chunked_scan import chunked_scan
from rnngrad._compiled import linear_scans
from rnngrad.errors import InputError, require_finite

def linear_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None, *,
                name: str | None = None) -> torch.Tensor:
    r"""h_1..h_T of the recurrence (1), h_t = a_t ⊙ h_{t−1} + b_t, over the leading axis of ``b``.

    Computed by the compiled pass on the CPU, else by the chunked scan of
    :mod:`rnngrad._chunked_scan`; differentiable in ``a``, ``b`` and ``h0`` by the reverse
    recurrence (2), computed the same way. Gradients are summed back over the axes that
    ``a`` and ``h0`` were broadcast along. |a| > 1 is allowed (h may then grow as |a|^T). The
    backward is not differentiable again (no double backward).

    Args:
        a: the coefficients a_t; any shape that broadcasts against ``b``, e.g. (T, B, H),
            (T, 1, H) (shared over the batch) or (H,) (constant over time).
        b: the inputs b_t, (T, *trailing); T = 0 gives an empty result.
        h0: the start h_0, any shape that broadcasts against b[0]; zeros by default.
        name: inside :func:`rnngrad.profile`, record the total dL/dh_t of this scan under this
            name (``hidden_grad(name)``, ``(T, B, H)``: the axis after time is B, the rest are
            flattened into H; one trailing axis gives B = 1). Outside a profile it does nothing.

    Returns:
        h_1..h_T, the shape of ``b``, in the dtype that a, b and h0 promote to (float32,
        float64, complex64 or complex128; float16 and bfloat16 are computed in float32, each
        h_t rounded once to the dtype, as torch's own half-precision kernels compute).

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
    if name is not None:
        from rnngrad.profiler._tracking import recorded_scan  # the profiler imports this module

        recorded = recorded_scan(name, _prepared(a, b, h0))
        if recorded is not None:
            return _checked(a, recorded)
    return _checked(a, _LinearScan.apply(*_prepared(a, b, h0), None, None))


def _checked(a: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """``h``, once ``a`` is known finite. A non-finite a_t makes h_t non-finite (inf·x is ±inf
    or nan, 0·inf is nan) and that stays to h_T (a·nan = nan, a·±inf = ±inf or nan), so the last
    step tells without a second pass over a; only then is a searched for its bad entry. Under
    ``torch.func.vmap`` (values not concrete) a itself is checked."""
    if torch._C._functorch.is_batchedtensor(h) or h.shape[0] == 0 or not bool(torch.isfinite(h[-1]).all()):
        _require_finite("a", a.detach())
    return h


def recorded_linear_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None,
                         on_delta: Callable[[torch.Tensor], None], anchor: torch.Tensor) -> torch.Tensor:
    """:func:`linear_scan` that also hands δ_t of (2), the total ∂L/∂h_t, to ``on_delta`` when its
    backward runs (the profiler's hook; the backward computes δ anyway). ``anchor``, a scalar that
    requires grad, makes that backward run even when only the anchor's gradient is asked for."""
    return _checked(a, _LinearScan.apply(*_prepared(a, b, h0), on_delta, anchor))


def unchecked_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None,
                   reverse: bool = False) -> torch.Tensor:
    """(1) for contiguous real ``a`` and ``b`` of one shape and dtype (h0 None or b[0]'s shape), or
    with ``reverse`` the recurrence δ_t = b_t + a_{t+1} ⊙ δ_{t+1} of (2); no autograd and no
    checks, so inf and NaN pass through as arithmetic makes them (the profiler's use)."""
    return _run_scan(a.contiguous(), b.contiguous(), None if h0 is None else h0.contiguous(), reverse)


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
    def forward(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None,
                on_delta: Callable[[torch.Tensor], None] | None, anchor: torch.Tensor | None) -> torch.Tensor:
        return _run_scan(a, b, h0, reverse=False)  # (T, *trailing), (1)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:  # apart from forward: torch.func.grad and vjp work
        a, _, h0, on_delta, anchor = inputs
        ctx.save_for_backward(a, output, h0)
        ctx.on_delta, ctx.anchor_like = on_delta, None if anchor is None else torch.zeros_like(anchor)

    @staticmethod
    def vmap(info, in_dims, a, b, h0, on_delta, anchor):
        """Under ``torch.func.vmap``: the scan is element-wise over its trailing axes, so the
        vmapped axis becomes one more trailing axis (a size-1 axis where an input is not
        batched). The backward under a transform runs the compiled ops one sample at a time
        (torch's fallback, which warns), so ``jacrev`` is correct but not fast; the chunked
        scan's backward (no compiler, or CUDA) cannot run under vmap (it writes with out=)."""
        def batch_last(value, dim):
            if value is None:
                return None
            return value.unsqueeze(-1) if dim is None else value.movedim(dim, -1)

        a_dim, b_dim, h0_dim = in_dims[:3]
        b = batch_last(b, b_dim)
        if b_dim is None:
            b = b.expand(*b.shape[:-1], info.batch_size)
        a, h0 = batch_last(a, a_dim).contiguous(), batch_last(h0, h0_dim)
        return _LinearScan.apply(a, b.contiguous(), h0, on_delta, anchor), -1

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
            delta = _run_scan(a, g, None, reverse=True)  # δ of (2), (T, *trailing)
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


def empty_cache() -> int:
    """Free the blocks the compiled scan keeps for its next outputs; returns how many there were
    (0 without the compiled scan)."""
    scans = linear_scans(torch.device("cpu"))
    return 0 if scans is None else int(scans.empty_cache())


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
    if g.dtype in _HALF:
        delta, products = _compiled_backward(scans, *_in_float32(a, g, h, h0))
        return delta.to(g.dtype), products.to(g.dtype)
    flat_a, flat_g, start = _flat(a, g, h0)
    delta, products = scans.scan_backward(flat_a, flat_g, h.reshape(flat_g.shape), start, a.is_complex(),
                                          torch.get_num_threads())
    return delta.view(g.shape), products.view(g.shape)


def _run_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None, reverse: bool) -> torch.Tensor:
    """(1) forward, or the recurrence of (2) with ā in reverse: compiled on the CPU (a sequential
    scan in time, parallel over channels: one pass over memory, the fastest on a few cores), else
    by the chunked scan (:mod:`rnngrad._chunked_scan`), parallel in time."""
    if b.dtype in _HALF:
        return _run_scan(*_in_float32(a, b, h0), reverse).to(b.dtype)
    scans = linear_scans(b.device)
    if scans is None or b.numel() == 0:
        return chunked_scan(a.conj() if reverse else a, b, h0, reverse)
    flat_a, flat_b, start = _flat(a, b, h0)
    out = scans.sequential_scan(flat_a, flat_b, start, reverse, reverse and a.is_complex(), torch.get_num_threads())
    return out.view(b.shape)


# Both scans run in float32 for half-precision tensors (the compiled one has no half kernel), as
# torch's own half-precision kernels compute: each h_t is rounded to the dtype once, not at every
# step.
_HALF = (torch.float16, torch.bfloat16)


def _in_float32(*tensors: torch.Tensor | None) -> list[torch.Tensor | None]:
    return [None if tensor is None else tensor.float() for tensor in tensors]
