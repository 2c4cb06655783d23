"""linear_scan: against the sequential loop (1) and torch autograd through it, in float64.

Every test runs twice: with the compiled scan (the CPU's path where a compiler is) and with the
chunked scan (3)–(5) that serves elsewhere (``with_chunk_length`` only matters to the latter)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import rnngrad._chunked_scan as chunked_scan_module
import rnngrad.scan as scan_module
from rnngrad.errors import InputError
from rnngrad.scan import linear_scan

TOLERANCE = 1e-12  # float64 relative error, max |x − y| / max |y|
TRAILING_SHAPES = [(), (3,), (2, 5)]
A_KINDS = ["full", "constant over time", "shared over batch", "scalar"]


def sequential(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
    """Oracle: (1), h_t = a_t ⊙ h_{t−1} + b_t, one step at a time (differentiable by autograd)."""
    dtype = torch.promote_types(a.dtype, b.dtype)
    if h0 is not None:
        dtype = torch.promote_types(dtype, h0.dtype)
    a = torch.broadcast_to(a, b.shape).to(dtype)  # (T, *trailing)
    h = torch.zeros(b.shape[1:], dtype=dtype) if h0 is None else torch.broadcast_to(h0, b.shape[1:]).to(dtype)
    states = []
    for a_t, b_t in zip(a.unbind(0), b.to(dtype).unbind(0)):
        h = a_t * h + b_t  # (1)
        states.append(h)
    return torch.stack(states) if states else torch.zeros(b.shape, dtype=dtype)


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    scale = expected.abs().max().item() if expected.numel() else 0.0
    return (actual - expected).abs().max().item() / scale if scale > 0 else (actual - expected).abs().max().item()


def coefficients(shape, dtype, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    """|a| uniform in [low, high]; for complex dtypes with a uniform phase."""
    magnitude = low + (high - low) * torch.rand(shape, dtype=torch.float64, generator=generator)
    if not dtype.is_complex:
        sign = torch.where(torch.rand(shape, generator=generator) < 0.2, -1.0, 1.0).double()
        return (sign * magnitude).to(dtype)
    phase = 2 * math.pi * torch.rand(shape, dtype=torch.float64, generator=generator)
    return torch.polar(magnitude, phase).to(dtype)


def a_shape(kind: str, T: int, trailing: tuple) -> tuple:
    if kind == "full":
        return (T, *trailing)
    if kind == "constant over time":
        return trailing
    if kind == "shared over batch":
        return (T, 1, *trailing[1:]) if trailing else (T,)
    return ()


def random_inputs(T, trailing, kind, with_h0, dtype, seed, low=0.5, high=1.0):
    generator = torch.Generator().manual_seed(seed)
    a = coefficients(a_shape(kind, T, trailing), dtype, low, high, generator)
    b = torch.randn((T, *trailing), dtype=dtype, generator=generator)
    h0 = torch.randn(trailing[-1:], dtype=dtype, generator=generator) if with_h0 else None  # broadcast over batch
    return a, b, h0


def assert_scan_equalssequential(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor) -> None:
    """h and the gradients of a, b and h0 for a random incoming gradient: finite, and equal to
    the sequential loop's through autograd to TOLERANCE."""
    for x in (a, b, h0):
        x.requires_grad_()
    h, expected = linear_scan(a, b, h0), sequential(a, b, h0)
    assert bool(torch.isfinite(h).all()) and relative_error(h, expected) <= TOLERANCE
    g = torch.randn_like(h)
    for actual, oracle in zip(torch.autograd.grad(h, (a, b, h0), g), torch.autograd.grad(expected, (a, b, h0), g)):
        assert bool(torch.isfinite(actual).all()) and relative_error(actual, oracle) <= TOLERANCE


@pytest.fixture(scope="module", autouse=True, params=["compiled", "chunked"])
def scan_path(request):
    """The compiled scan, or the chunked one (module-scoped, so hypothesis's tests see it too)."""
    from rnngrad._compiled import linear_scans

    if request.param == "compiled" and linear_scans(torch.device("cpu")) is None:
        pytest.skip("the compiled linear scan cannot be built here (no C++ compiler or ninja)")
    with pytest.MonkeyPatch.context() as monkeypatch:
        if request.param == "chunked":
            monkeypatch.setattr(scan_module, "linear_scans", lambda device: None)
        yield request.param


def with_chunk_length(monkeypatch: pytest.MonkeyPatch, C: int | None) -> None:
    if C is not None:
        monkeypatch.setattr(chunked_scan_module, "chunk_length", lambda T: C)


@given(
    T=st.integers(1, 60),
    C=st.sampled_from([None, 1, 2, 3, 7]),
    trailing=st.sampled_from(TRAILING_SHAPES),
    kind=st.sampled_from(A_KINDS),
    with_h0=st.booleans(),
    dtype=st.sampled_from([torch.float64, torch.complex128]),
    seed=st.integers(0, 10_000),
)
def test_values_and_gradients_equal_the_sequentialsequential(T, C, trailing, kind, with_h0, dtype, seed):
    a, b, h0 = random_inputs(T, trailing, kind, with_h0, dtype, seed)
    inputs = [x.requires_grad_() for x in (a, b, h0) if x is not None]
    with pytest.MonkeyPatch.context() as monkeypatch:
        with_chunk_length(monkeypatch, C)
        h = linear_scan(a, b, h0)
        expected = sequential(a, b, h0)
        assert h.shape == b.shape and h.dtype == dtype
        assert relative_error(h, expected) <= TOLERANCE
        g = torch.randn(b.shape, dtype=dtype, generator=torch.Generator().manual_seed(seed + 1))
        gradients = torch.autograd.grad(h, inputs, g)  # (2), by the reverse scan
        expected_gradients = torch.autograd.grad(expected, inputs, g)
    for x, actual, oracle in zip(inputs, gradients, expected_gradients):
        assert actual.shape == x.shape and actual.dtype == x.dtype
        assert relative_error(actual, oracle) <= TOLERANCE


@pytest.mark.parametrize("T", [1, 2, 7, 8, 9, 15, 16, 17, 23, 64, 1000])
@pytest.mark.parametrize("C", [8, None])
def test_chunk_boundaries(monkeypatch, T, C):
    """T = 1, 2, C−1, C, C+1, 2C±1, odd sizes and 1000 for C = 8 and the default √(T/2)."""
    with_chunk_length(monkeypatch, C)
    a, b, h0 = random_inputs(T, (2, 5), "full", True, torch.float64, seed=T)
    assert_scan_equalssequential(a, b, h0)


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
@pytest.mark.parametrize(
    "low, high, T",
    [(1e-30, 1e-30, 500), (0.0, 0.0, 500), (0.999999, 1.0, 1000), (1.0, 1.01, 200), (0.0, 1.0, 500)],
    ids=["1e-30", "zero", "close to 1", "slightly above 1", "0 to 1"],
)
def test_magnitudes_of_a(dtype, low, high, T):
    """|a| ≪ 1, a = 0 exactly (cumulative products are 0: never divided by), |a| → 1, |a| > 1."""
    a, b, h0 = random_inputs(T, (3,), "full", True, dtype, seed=7, low=low, high=high)
    if low == 0.0 and high == 1.0:
        a[::5] = 0  # exact zeros among ordinary values, some at chunk boundaries
    assert_scan_equalssequential(a, b, h0)


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_twenty_thousand_steps(dtype):
    """T = 20000, |a| ∈ (0.9, 1): against 20000 sequential steps, forward and backward."""
    T = 20_000
    a, b, h0 = random_inputs(T, (4,), "full", True, dtype, seed=3, low=0.9, high=1.0)
    assert_scan_equalssequential(a, b, h0)


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
@pytest.mark.parametrize("C", [2, None])
def test_gradcheck(monkeypatch, dtype, C):
    with_chunk_length(monkeypatch, C)
    generator = torch.Generator().manual_seed(0)
    a = coefficients((5, 1, 3), dtype, 0.3, 1.1, generator).requires_grad_()  # shared over the batch
    b = torch.randn(5, 2, 3, dtype=dtype, generator=generator, requires_grad=True)
    h0 = torch.randn(3, dtype=dtype, generator=generator, requires_grad=True)
    assert torch.autograd.gradcheck(linear_scan, (a, b, h0))
    assert torch.autograd.gradcheck(lambda a, b: linear_scan(a, b), (a, b))


def test_mixed_dtypes_promote_and_gradients_come_back_in_each_dtype():
    generator = torch.Generator().manual_seed(1)
    a = coefficients((9, 3), torch.float32, 0.5, 1.0, generator).requires_grad_()  # real, float32
    b = torch.randn(9, 3, dtype=torch.complex128, generator=generator, requires_grad=True)
    h0 = torch.randn(3, dtype=torch.float64, generator=generator, requires_grad=True)
    h = linear_scan(a, b, h0)
    assert h.dtype == torch.complex128
    expected = sequential(a, b, h0)
    assert relative_error(h, expected) <= TOLERANCE
    g = torch.randn(9, 3, dtype=torch.complex128, generator=generator)
    gradients = torch.autograd.grad(h, (a, b, h0), g)
    for x, actual, oracle in zip((a, b, h0), gradients, torch.autograd.grad(expected, (a, b, h0), g)):
        assert actual.dtype == x.dtype
        assert relative_error(actual, oracle) <= (1e-6 if x.dtype == torch.float32 else TOLERANCE)
    assert linear_scan(torch.tensor(0.5), torch.ones(3, dtype=torch.float32)).dtype == torch.float32
    assert linear_scan(torch.tensor(0.5, dtype=torch.float64), torch.ones(3)).dtype == torch.float64


@pytest.mark.parametrize("dtype, tolerance", [(torch.float32, 2e-5), (torch.complex64, 2e-5)])
def test_single_precision_agrees_with_the_float64_oracle(dtype, tolerance):
    """Each h_t is a few roundings of (1) from a carry: error ≲ ε₃₂ / (1 − |a|) = 6e-6 for |a| ≤ 0.99."""
    wide = torch.complex128 if dtype.is_complex else torch.float64
    a, b, h0 = random_inputs(3000, (4, 8), "full", True, wide, seed=5, low=0.5, high=0.99)
    h = linear_scan(a.to(dtype), b.to(dtype), h0.to(dtype))
    assert h.dtype == dtype
    a, b, h0 = (x.to(dtype).to(wide) for x in (a, b, h0))  # the inputs that single precision saw
    assert relative_error(h.to(wide), sequential(a, b, h0)) <= tolerance


def test_empty_time_axis():
    a = torch.rand(0, 2, 3, dtype=torch.float64, requires_grad=True)
    b = torch.rand(0, 2, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.rand(3, dtype=torch.float64, requires_grad=True)
    h = linear_scan(a, b, h0)
    assert h.shape == (0, 2, 3)
    grad_a, grad_b, grad_h0 = torch.autograd.grad(h.sum(), (a, b, h0))
    assert grad_a.shape == a.shape and grad_b.shape == b.shape
    assert torch.equal(grad_h0, torch.zeros(3, dtype=torch.float64))


def test_inputs_left_unchanged_and_strided_inputs_accepted():
    generator = torch.Generator().manual_seed(2)
    b = torch.randn(5, 40, dtype=torch.float64, generator=generator).T  # (40, 5), not contiguous
    a = coefficients((5, 40), torch.float64, 0.5, 1.0, generator).T
    h0 = torch.randn(5, dtype=torch.float64, generator=generator)
    copies = [x.clone() for x in (a, b, h0)]
    h = linear_scan(a, b, h0)
    assert relative_error(h, sequential(a, b, h0)) <= TOLERANCE
    assert all(torch.equal(x, copy) for x, copy in zip((a, b, h0), copies))


def test_backward_of_a_sum_and_of_h0_only():
    """The incoming gradient of h.sum() is an expanded tensor; only h0 may require a gradient."""
    a = torch.full((30, 2), 0.9, dtype=torch.float64)
    b = torch.ones(30, 2, dtype=torch.float64)
    h0 = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    (grad_h0,) = torch.autograd.grad(linear_scan(a, b, h0).sum(), (h0,))
    expected = sum(0.9**t for t in range(1, 31))  # ∂(Σ_t h_t)/∂h_0 = Σ_t a^t
    assert torch.allclose(grad_h0, torch.full((2,), expected, dtype=torch.float64), rtol=1e-14)


def test_a_above_one_is_allowed():
    h = linear_scan(torch.tensor([2.0]), torch.ones(10, 1))
    assert h[-1].item() == 2**10 - 1


@pytest.mark.parametrize(
    "arguments, message",
    [
        ((0.5, torch.ones(3)), r"^a: expected a tensor, got float$"),
        ((torch.ones(3), [1.0, 2.0]), r"^b: expected a tensor, got list$"),
        ((torch.ones(3), torch.ones(3), 0.0), r"^h0: expected a tensor or None, got float$"),
        (
            (torch.ones(()), torch.ones(())),
            r"^b: expected a tensor with a leading time axis \(T, \*trailing\), got a 0-D tensor$",
        ),
        ((torch.ones(4, 3), torch.ones(5, 3)), r"^a: expected a shape that broadcasts against b's \(5, 3\), got \(4, 3\)$"),
        ((torch.ones(2, 5, 3), torch.ones(5, 3)), r"^a: expected a shape that broadcasts against b's \(5, 3\), got \(2, 5, 3\)$"),
        ((torch.ones(5, 3), torch.ones(5, 3), torch.ones(2)), r"^h0: expected a shape that broadcasts against b\[0\]'s \(3,\), got \(2,\)$"),
        ((torch.ones(5, 3), torch.ones(5, 3), torch.ones(5, 3)), r"^h0: expected a shape that broadcasts against b\[0\]'s \(3,\), got \(5, 3\)$"),
        ((torch.tensor([1.0, float("nan")]), torch.ones(4, 2)), r"^a: expected finite values, got nan at index \(1,\)$"),
        ((torch.tensor([[1.0], [float("inf")]]), torch.ones(2, 3)), r"^a: expected finite values, got inf at index \(1, 0\)$"),
        ((torch.tensor([complex(1, float("-inf"))]), torch.ones(4, 1)), r"^a: expected finite values, got \(1-infj\) at index \(0,\)$"),
        (
            (torch.ones(3, dtype=torch.int64), torch.ones(3, dtype=torch.int64)),
            r"^a, b, h0: expected floating-point or complex values, got dtype torch.int64$",
        ),
    ],
    ids=[
        "a not a tensor", "b not a tensor", "h0 not a tensor", "b without a time axis",
        "a of another length", "a with more axes than b", "h0 of another size", "h0 with a time axis",
        "nan in a", "inf in a", "complex inf in a", "integers",
    ],
)
def test_bad_input_raises_one_clear_message(arguments, message):
    with pytest.raises(InputError, match=message):
        linear_scan(*arguments)


def test_finite_check_is_exact_when_the_sum_overflows():
    """Finite values whose sum overflows pass (the quick check falls back to the full one)."""
    a = torch.full((4, 1), 3e38, dtype=torch.float32)
    assert torch.isfinite(linear_scan(a, torch.zeros(4, 1))).all()


def test_inputs_on_another_device_are_named():
    with pytest.raises(InputError, match=r"^a: expected a tensor on b's device cpu, got meta$"):
        linear_scan(torch.ones(3, device="meta"), torch.ones(4, 3))


def test_torch_func_grad_vmap_and_jacrev_agree_with_thesequential(scan_path):
    """linear_scan under torch.func: grad (setup_context), vmap (its vmap rule) and, on the
    compiled path, jacrev (the chunked scan's backward uses out= ops that vmap cannot batch)."""
    import warnings

    import torch.func as func

    generator = torch.Generator().manual_seed(3)
    a = torch.rand(6, 2, 3, dtype=torch.float64, generator=generator)
    b = torch.randn(4, 6, 2, 3, dtype=torch.float64, generator=generator)  # 4 samples to vmap over

    def loop(a, b):
        h, states = torch.zeros_like(b[0]), []
        for t in range(b.shape[0]):
            h = a[t] * h + b[t]
            states.append(h)
        return torch.stack(states)

    torch.testing.assert_close(func.vmap(linear_scan, in_dims=(None, 0))(a, b), torch.stack([loop(a, x) for x in b]),
                               rtol=1e-12, atol=1e-14)
    grads = func.grad(lambda a, b: linear_scan(a, b).sin().sum(), argnums=(0, 1))(a, b[0])
    leaves = (a.clone().requires_grad_(), b[0].clone().requires_grad_())
    expected = torch.autograd.grad(loop(*leaves).sin().sum(), leaves)
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-14)
    if scan_path != "compiled":
        return
    with warnings.catch_warnings():  # torch's per-sample fallback for the compiled backward
        warnings.filterwarnings("ignore", message="There is a performance drop because we have not yet implemented")
        jacobian = func.jacrev(lambda x: linear_scan(a, x))(b[0])
    torch.testing.assert_close(jacobian, torch.autograd.functional.jacobian(lambda x: loop(a, x), b[0]),
                               rtol=1e-12, atol=1e-14)


def test_reused_output_blocks_hold_only_the_new_results(scan_path):
    """Outputs of ≥ 4 MiB come from the compiled scan's block cache: a block freed by one call and
    taken by the next must be written everywhere (forward, δ and ∂L/∂a, with and without h0)."""
    from rnngrad.scan import empty_cache

    empty_cache()
    generator = torch.Generator().manual_seed(5)
    for round_ in range(3):
        a = torch.rand(1024, 4, 256, generator=generator, dtype=torch.float32).requires_grad_()  # 4 MiB
        b = torch.randn(1024, 4, 256, generator=generator, dtype=torch.float32).requires_grad_()
        h0 = None if round_ == 1 else torch.randn(4, 256, generator=generator)
        g = torch.randn(1024, 4, 256, generator=generator)
        h = linear_scan(a, b, h0)
        grads = torch.autograd.grad(h, (a, b), g)
        expected_h = sequential(a.detach().double(), b.detach().double(), None if h0 is None else h0.double())
        assert torch.allclose(h.double(), expected_h, rtol=1e-4, atol=1e-4)
        a64, b64 = a.detach().double().requires_grad_(), b.detach().double().requires_grad_()
        expected = torch.autograd.grad(sequential(a64, b64, None if h0 is None else h0.double()), (a64, b64), g.double())
        for got, want in zip(grads, expected):
            assert torch.allclose(got.double(), want, rtol=1e-4, atol=1e-4)
        del h, grads
    if scan_path == "compiled":
        assert empty_cache() >= 1  # the freed outputs went back to the cache
    assert empty_cache() == 0


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_computed_in_float32_and_rounded_once(dtype):
    """The compiled scan has no half-precision kernel: float16 and bfloat16 run in float32 (their
    values are exact there) and round each h_t once; so do the gradients. Against the float64
    recurrence of the same inputs: within one rounding (½ eps) and float32's error, gradients
    within two (g_t is rounded to the dtype too)."""
    a, b, h0 = random_inputs(200, (3, 5), "full", True, torch.float64, seed=11, low=0.9, high=1.0)
    a, b, h0 = (t.to(dtype).requires_grad_() for t in (a, b, h0))
    exact_inputs = [t.detach().double().requires_grad_() for t in (a, b, h0)]
    h = linear_scan(a, b, h0)
    exact = sequential(*exact_inputs)
    eps = torch.finfo(dtype).eps
    assert h.dtype == dtype
    assert bool(((h.detach().double() - exact.detach()).abs() <= 0.51 * eps * exact.detach().abs()).all())
    g = torch.randn(b.shape, generator=torch.Generator().manual_seed(12)).to(dtype)
    h.backward(g)
    exact.backward(g.double())
    for half, full, name in zip((a, b, h0), exact_inputs, ("a", "b", "h0")):
        assert half.grad.dtype == dtype
        error = float((half.grad.double() - full.grad).abs().max())
        assert error <= 2 * eps * float(full.grad.abs().max()), name
