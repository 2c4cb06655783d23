"""Exact analysis of the diagonal recurrences (rnngrad.diagonal_analysis): norms, products and
singular values of ∂h_T/∂h_t against torch.func.jacrev through the cells' own forward (the LRU
on its real (Re h, Im h) view), closed forms over long sequences, exact zeros, exponents and
horizons against the time means of log|a| written out here, the measured slope over lags, the
dispatch of jacobian_through_time and spectrum, and bad input; float64 throughout."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from rnngrad.cells import LRUCell, MinGRUCell, MinLSTMCell
from rnngrad.claims._tools import least_squares_slope
from rnngrad.diagonal_analysis import diagonal_jacobian_through_time, diagonal_lyapunov
from rnngrad.errors import InputError
from rnngrad.jacobians import jacobian_through_time
from rnngrad.spectra import spectrum

ALL_CELLS = [MinGRUCell, MinLSTMCell, LRUCell]
LN10 = math.log(10.0)


def make_cell(cell_type, I: int = 3, H: int = 4, seed: int = 0, **options):
    return cell_type(I, H, dtype=torch.float64, generator=torch.Generator().manual_seed(seed), **options)


def random_inputs(T: int, *batch: int, size: int = 3, seed: int = 1, scale: float = 1.0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return scale * torch.randn(T, *batch, size, dtype=torch.float64, generator=generator)


def independent_log_a(cell, inputs: torch.Tensor) -> torch.Tensor:
    """log|a_t| (T, ..., H) from the papers' gates written out here, in log space."""
    H = cell.hidden_size
    if isinstance(cell, LRUCell):  # log|λ| = −exp(ν^log), constant in time
        return (-cell.nu_log.exp()).detach().expand(*inputs.shape[:-1], H)
    logits = (inputs @ cell.weight_ih.T + cell.bias_ih).detach()  # (T, ..., G·H)
    if isinstance(cell, MinGRUCell):  # log(1 − z) = log σ(−(W_z x + b_z))
        return F.logsigmoid(-logits[..., :H])
    log_f, log_i = F.logsigmoid(logits[..., :H]), F.logsigmoid(logits[..., H : 2 * H])
    return log_f - torch.logaddexp(log_f, log_i)  # log f' = log f − log(f + i)


def oracle_jacobians(cell, inputs: torch.Tensor) -> torch.Tensor:
    """∂h_T/∂h_t for t = 0..T, (T+1, S, S), by jacrev of h_t -> h_T through ``cell.forward``
    unrolled over x_{t+1}..x_T (inputs (T, I)); S = H, or 2H for the LRU's (Re h, Im h)."""
    H, T = cell.hidden_size, inputs.shape[0]
    as_complex = (lambda s: torch.complex(s[:H], s[H:])) if cell.complex_state else (lambda s: s)
    as_real = (lambda h: torch.cat([h.real, h.imag])) if cell.complex_state else (lambda h: h)
    start = torch.randn(2 * H if cell.complex_state else H, dtype=torch.float64,
                        generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        states = [start]
        for x in inputs:
            states.append(as_real(cell(x, as_complex(states[-1]))))

    def from_step(t: int):
        def run(state):
            h = as_complex(state)
            for x in inputs[t:]:
                h = cell(x, h)
            return as_real(h)

        return run

    return torch.stack([torch.func.jacrev(from_step(t))(states[t]) for t in range(T + 1)]).detach()


def real_view(product: torch.Tensor) -> torch.Tensor:
    """A complex (H, H) matrix as the real (2H, 2H) map on (Re h, Im h)."""
    return torch.cat([torch.cat([product.real, -product.imag], 1), torch.cat([product.imag, product.real], 1)], 0)


# --- against the autograd oracle, T = 30 ---------------------------------------------------------


@pytest.mark.parametrize("cell_type", ALL_CELLS)
@pytest.mark.parametrize("seed", [0, 1])
def test_norms_products_and_singular_values_equal_jacrev(cell_type, seed):
    T, B = 30, 2
    cell = make_cell(cell_type, seed=seed)
    inputs = random_inputs(T, B, seed=seed, scale=2.0)
    result = diagonal_jacobian_through_time(cell, inputs, keep_products=True)
    assert result.log10_norm.shape == result.log10_frobenius.shape == (B, T + 1)
    assert (result.arch, result.T, result.state_size) == (cell.arch, T, cell.hidden_size)
    lags = (0, 1, 7, T)
    found = spectrum(cell, inputs, lags=lags)
    for b in range(B):
        expected = oracle_jacobians(cell, inputs[:, b])  # (T+1, S, S)
        sigma = torch.linalg.svdvals(expected)  # (T+1, S), descending
        frobenius = torch.linalg.matrix_norm(expected)  # (T+1,)
        if cell.complex_state:  # the real view: every singular value twice, ‖·‖_F times √2
            sigma, frobenius = sigma[:, ::2], frobenius / math.sqrt(2)
        assert torch.allclose(result.log10_norm[b], sigma[:, 0].log10(), rtol=0, atol=1e-12)
        assert torch.allclose(result.log10_frobenius[b], frobenius.log10(), rtol=0, atol=1e-12)
        for t in range(T + 1):
            product = result.product(t)[b]  # (H, H), complex for the LRU
            product = real_view(product) if cell.complex_state else product
            assert (product - expected[t]).abs().max() <= 1e-12 * expected[t].abs().max()
        for row, lag in enumerate(lags):  # lags (4): all singular values of ∂h_T/∂h_{T−k}
            assert torch.allclose(found.log_singular_values[row, b], sigma[T - lag].log(), rtol=0, atol=1e-12)
    assert torch.equal(result.log10_carousel, result.log10_norm)  # the carousel is the whole Jacobian


def test_lru_norms_equal_the_closed_form_power_of_lambda():
    T = 30
    cell = make_cell(LRUCell, H=5, seed=3, r_min=0.3, r_max=0.99)
    result = diagonal_jacobian_through_time(cell, random_inputs(T))
    log_modulus = -cell.nu_log.detach().exp()  # log|λ|, (H,)
    lags = torch.arange(T, -1, -1, dtype=torch.float64).unsqueeze(1)  # T − t, (T+1, 1)
    expected_norm = (lags * log_modulus).max(dim=1).values / LN10
    expected_frobenius = 0.5 * torch.logsumexp(2 * lags * log_modulus, dim=1) / LN10
    assert torch.allclose(result.log10_norm, expected_norm, rtol=0, atol=1e-12)
    assert torch.allclose(result.log10_frobenius, expected_frobenius, rtol=0, atol=1e-12)


# --- long sequences, exact zeros -------------------------------------------------------------------


def test_long_sequences_stay_finite_far_below_the_float64_range():
    T = 20000
    gru = make_cell(MinGRUCell, seed=2)
    with torch.no_grad():
        gru.bias_ih[: gru.hidden_size] = -math.log(9.0)  # a = σ(−b_z) ≈ 0.9
    lru = make_cell(LRUCell, seed=2, r_min=0.9, r_max=0.9)
    for cell in (gru, lru):
        inputs = random_inputs(T, scale=0.1)
        result = diagonal_jacobian_through_time(cell, inputs)
        assert torch.isfinite(result.log10_norm).all() and result.log10_norm[0] < -400
        sums = [[math.fsum(column) for column in independent_log_a(cell, inputs)[t:].T.tolist()] for t in (0, T // 2)]
        for t, channel_sums in zip((0, T // 2), sums):  # closed form: Σ_{k>t} log|a_k| summed exactly
            expected = max(channel_sums) / LN10
            assert result.log10_norm[t].item() == pytest.approx(expected, rel=1e-12)
            expected = 0.5 * torch.logsumexp(2 * torch.tensor(channel_sums, dtype=torch.float64), 0).item() / LN10
            assert result.log10_frobenius[t].item() == pytest.approx(expected, rel=1e-12)


def test_exact_zeros_give_minus_infinity_not_nan():
    T, k, H = 12, 5, 3
    cell = make_cell(MinGRUCell, H=H, seed=4)
    with torch.no_grad():
        cell.weight_ih[:H] = 1.0  # gate logits 3·10⁴ at step k+1: a = σ(−3·10⁴) = 0 exactly
    inputs = random_inputs(T)
    inputs[k] = 1e4
    assert torch.equal(cell.coefficients(inputs[k])[0], torch.zeros(H, dtype=torch.float64))
    result = jacobian_through_time(cell, inputs, keep_products=True)
    for values in (result.log10_norm, result.log10_frobenius):
        assert not values.isnan().any()
        assert (values[: k + 1] == -math.inf).all() and torch.isfinite(values[k + 1 :]).all()
    for t in range(T + 1):
        product = result.product(t)
        assert not product.isnan().any() and (t > k or torch.equal(product, torch.zeros_like(product)))
    expected = oracle_jacobians(cell, inputs)
    assert torch.equal(expected[: k + 1], torch.zeros_like(expected[: k + 1]))  # autograd agrees: exactly 0
    found = spectrum(cell, inputs, lags=(T - k - 1, T - k, T))
    assert torch.isfinite(found.log_singular_values[0]).all()
    assert (found.log_singular_values[1:] == -math.inf).all()
    exponents = diagonal_lyapunov(cell, inputs)
    assert (exponents.exponents == -math.inf).all()  # every channel's mean holds one log 0
    assert torch.equal(exponents.horizons, torch.zeros(H, dtype=torch.float64))  # τ = −1/−inf: forgets at once
    assert torch.isfinite(diagonal_lyapunov(cell, inputs, warmup=k + 1).exponents).all()


# --- exponents and horizons ------------------------------------------------------------------------


@pytest.mark.parametrize("cell_type", ALL_CELLS)
@pytest.mark.parametrize("warmup", [0, 9])
def test_exponents_are_the_sorted_time_means_and_horizons_their_reciprocals(cell_type, warmup):
    T, B = 40, 3
    cell = make_cell(cell_type, H=6, seed=5)
    inputs = random_inputs(T, B, seed=5)
    found = diagonal_lyapunov(cell, inputs, warmup=warmup)
    means = independent_log_a(cell, inputs)[warmup:].mean(dim=0)  # (B, H), channel order
    assert found.exponents.shape == found.horizons.shape == (B, 6) and found.steps == T - warmup
    assert torch.allclose(found.exponents, means.sort(dim=1, descending=True).values, rtol=0, atol=1e-14)
    assert torch.allclose(found.horizons, -1.0 / means, rtol=1e-13, atol=0)
    via_spectrum = spectrum(cell, inputs, k=4, warmup=warmup)
    assert torch.equal(via_spectrum.exponents, found.exponents[:, :4])


def test_lru_exponents_are_log_modulus_of_lambda_and_a_modulus_one_never_forgets():
    cell = make_cell(LRUCell, H=5, seed=6)
    with torch.no_grad():
        cell.nu_log[2] = cell.theta_log[2] = -800.0  # λ_2 = exp(−e^{−800} + i e^{−800}) = 1 exactly
    T = 25
    found = diagonal_lyapunov(cell, random_inputs(T))
    log_modulus = cell.eigenvalues().detach().abs().log()  # (H,), constant in time
    assert log_modulus[2] == 0.0
    # the mean of T equal numbers: exact but for the rounding of the sum, at most T/2 ulps
    rounding = T * torch.finfo(torch.float64).eps / 2
    assert torch.allclose(found.exponents, log_modulus.sort(descending=True).values, rtol=rounding, atol=0)
    assert found.exponents[0] == 0.0 and found.horizons[2] == math.inf
    assert torch.isfinite(found.horizons[[0, 1, 3, 4]]).all()


def test_measured_slope_over_lags_is_the_top_exponent():
    """LRU (a = λ at every step): log‖∂h_T/∂h_{T−k}‖ = k max_i log|λ_i| exactly, so the least-squares
    slope is λ_1 to rounding. minGRU on random inputs: the log norm is the largest of H random
    walks, whose drifts are the exponents, so the slope meets λ_1 only loosely (here to 0.03)."""
    T = 400
    lru = make_cell(LRUCell, seed=8, r_min=0.8, r_max=0.99)
    gru = make_cell(MinGRUCell, seed=8)
    for cell, tolerance in ((lru, 1e-9), (gru, 3e-2)):
        inputs = random_inputs(T, seed=8)
        by_lag = jacobian_through_time(cell, inputs).log10_norm.flip(0) * LN10  # ln ‖∂h_T/∂h_{T−k}‖, k = 0..T
        top = diagonal_lyapunov(cell, inputs).exponents[0].item()
        assert least_squares_slope(by_lag) == pytest.approx(top, abs=tolerance)


# --- dispatch ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell_type", ALL_CELLS)
def test_jacobian_through_time_and_spectrum_dispatch_to_the_exact_analysis(cell_type):
    cell = make_cell(cell_type, seed=9)
    inputs = random_inputs(20, seed=9)  # unbatched (T, I)
    direct = diagonal_jacobian_through_time(cell, inputs)
    state = torch.randn(1, 4, dtype=cell.state_dtype, generator=torch.Generator().manual_seed(1))
    dispatched = jacobian_through_time(cell, inputs, state)  # accepted and ignored
    assert dispatched.log10_norm.shape == (21,) and dispatched.log_scale is None
    for field in ("arch", "T", "state_size"):
        assert getattr(dispatched, field) == getattr(direct, field)
    for field in ("log10_norm", "log10_frobenius", "log10_carousel"):
        assert torch.equal(getattr(dispatched, field), getattr(direct, field))
    assert dispatched.log10_norm[-1] == 0.0 and dispatched.log10_frobenius[-1] == pytest.approx(0.5 * math.log10(4))
    found = spectrum(cell, inputs, lags=(0, 3))
    assert (found.arch, found.state_size, found.factorizations, found.log_rate_measured) == (cell.arch, 4, 0, None)
    assert found.exponents.shape == (4,) and found.log_singular_values.shape == (2, 4)
    assert torch.equal(found.exponents, diagonal_lyapunov(cell, inputs).exponents)
    assert torch.equal(found.log_singular_values[0], torch.zeros(4, dtype=torch.float64))  # lag 0: I
    assert found.to_json()["exponents"] == found.exponents.tolist()


# --- bad input -------------------------------------------------------------------------------------


def calls():
    return {"jacobian_through_time": jacobian_through_time, "spectrum": spectrum,
            "diagonal_lyapunov": diagonal_lyapunov}


@pytest.mark.parametrize("call", list(calls()))
@pytest.mark.parametrize("cell_type", ALL_CELLS)
def test_bad_inputs_are_named(call, cell_type):
    cell, function = make_cell(cell_type), calls()[call]
    nan_inputs = random_inputs(6)
    nan_inputs[2, 1] = math.nan
    cases = [
        (random_inputs(6, size=5), r"inputs: expected input size 3 \(the cell's\), got 5"),
        (random_inputs(6).to(torch.complex128),
         r"inputs: expected a real tensor, got a complex tensor of dtype torch\.complex128"),
        (nan_inputs, r"inputs: expected finite values, got nan at index \(2, 1\)"),
        (torch.zeros(0, 3, dtype=torch.float64), r"inputs: expected at least one time step, got T = 0"),
        (torch.zeros(3, dtype=torch.float64), r"inputs: expected a 2D \(T, I\) or 3D \(T, B, I\) tensor, got 1D"),
    ]
    for inputs, message in cases:
        with pytest.raises(InputError, match=message):
            function(cell, inputs)


def test_bad_options_are_named():
    cell, inputs = make_cell(MinLSTMCell), random_inputs(6, 2)
    with pytest.raises(InputError, match=r"initial_state: expected a state of shape \(2, 4\), got \(2, 3\)"):
        jacobian_through_time(cell, inputs, torch.zeros(2, 3, dtype=torch.float64))
    with pytest.raises(InputError, match=r"initial_state: expected finite values"):
        jacobian_through_time(cell, inputs, torch.full((2, 4), math.nan, dtype=torch.float64))
    with pytest.raises(InputError, match=r"warmup: expected an integer in 0\.\.5 \(T − 1\), got 6"):
        diagonal_lyapunov(cell, inputs, warmup=6)
    with pytest.raises(InputError, match=r"k: expected an integer in 1\.\.4 \(the state size\), got 5"):
        spectrum(cell, inputs, k=5)
    with pytest.raises(InputError, match=r"lags: expected integers in 0\.\.6 \(T\), got 7"):
        spectrum(cell, inputs, lags=(7,))
    with pytest.raises(InputError, match=r"layer, direction: a cell has only \(0, 0\), got \(1, 0\)"):
        spectrum(cell, inputs, layer=1)
    with torch.no_grad():
        cell.bias_ih[0] = math.inf
    with pytest.raises(InputError, match=r"weights \(bias_ih\): expected finite values, got inf"):
        jacobian_through_time(cell, inputs)
