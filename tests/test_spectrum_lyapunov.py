"""Lyapunov exponents against float64 oracles: det rule, linear cases, brute-force products."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rnngrad.cells import RNNCell
from rnngrad.spectra import spectrum

MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def make_module(kind: str, hidden: int = 5, inputs: int = 3, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return MODULES[kind](inputs, hidden, dtype=torch.float64)


def random_inputs(T: int, size: int = 3, seed: int = 1, batch: int | None = None) -> torch.Tensor:
    shape = (T, size) if batch is None else (T, batch, size)
    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def torch_step_jacobians(module: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """Oracle: J_t = ∂s_t/∂s_{t−1} by jacrev through torch's own module, (T, S, S), s_0 = 0."""
    H = module.hidden_size
    is_lstm = isinstance(module, nn.LSTM)

    def step(x):
        def run(state):
            hx = (state[:H].view(1, 1, H), state[H:].view(1, 1, H)) if is_lstm else state.view(1, 1, H)
            _, out = module(x.view(1, 1, -1), hx)
            return torch.cat([out[0].flatten(), out[1].flatten()]) if is_lstm else out.flatten()

        return run

    state = torch.zeros(2 * H if is_lstm else H, dtype=torch.float64)
    jacobians = []
    for x in inputs:
        run = step(x)
        jacobians.append(torch.func.jacrev(run)(state).detach())
        state = run(state).detach()
    return torch.stack(jacobians)


def brute_force_exponents(jacobians: torch.Tensor) -> torch.Tensor:
    """Oracle: multiply all J_t out in float64; (1/T) log|R_ii| of the QR of J_T ⋯ J_1, sorted."""
    product = torch.eye(jacobians.shape[-1], dtype=torch.float64)
    for jacobian in jacobians:
        product = jacobian @ product
    R = torch.linalg.qr(product).R
    return (R.diagonal().abs().log() / jacobians.shape[0]).sort(descending=True).values


# --- (3): the sum of all exponents is the mean log|det J_t| --------------------------------------


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("warmup", [0, 30])
def test_sum_of_exponents_is_mean_log_det(kind, warmup):
    module = make_module(kind)
    inputs = random_inputs(200)
    result = spectrum(module, inputs, warmup=warmup, measure=False)
    log_det = torch.linalg.slogdet(torch_step_jacobians(module, inputs)).logabsdet  # (T,)
    assert result.exponents.shape == (2 * 5 if kind == "lstm" else 5,)
    assert float(result.sum_of_exponents) == pytest.approx(float(log_det[warmup:].mean()), abs=1e-10)


# --- linear RNNs: every exponent is known ----------------------------------------------------------


def linear_cell(weight_hh: torch.Tensor) -> RNNCell:
    H = weight_hh.shape[0]
    cell = RNNCell(2, H, activation="identity", dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        cell.weight_hh.copy_(weight_hh)
    return cell


@pytest.mark.parametrize("a", [0.5, 1.3, -0.8, 1.0])
def test_scaled_identity_gives_log_abs_a_everywhere(a):
    cell = linear_cell(a * torch.eye(6, dtype=torch.float64))
    result = spectrum(cell, random_inputs(150, size=2))
    assert result.exponents.tolist() == pytest.approx([math.log(abs(a))] * 6, abs=1e-12)


def test_orthogonal_weights_give_zero():
    W = torch.linalg.qr(torch.randn(7, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(3))).Q
    result = spectrum(linear_cell(W), random_inputs(300, size=2))
    assert result.exponents.abs().max() < 1e-12


# --- brute-force products and the plain per-step QR ------------------------------------------------


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_top_exponents_equal_brute_force_product(kind):
    """For Q_0 = I the QR method gives exactly (1/T) log|R_ii| of the product's QR (eq. (4))."""
    module = make_module(kind, hidden=4)
    inputs = random_inputs(12)
    expected = brute_force_exponents(torch_step_jacobians(module, inputs))
    exponents = spectrum(module, inputs, measure=False).exponents
    # the product resolves exponent i only while T·(λ_1 − λ_i) stays well inside float64
    resolved = int(((expected[0] - expected) * 12 < 15).sum())
    assert resolved >= 2
    assert exponents[:resolved].tolist() == pytest.approx(expected[:resolved].tolist(), abs=1e-10)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_blocks_equal_a_factorisation_at_every_step(kind):
    module = make_module(kind, hidden=16)
    inputs = random_inputs(300)
    blocked = spectrum(module, inputs, measure=False)
    plain = spectrum(module, inputs, measure=False, max_interval=1)
    assert plain.factorizations == 300
    if kind != "lstm":  # an LSTM's (h, c) Jacobian is too ill-conditioned for longer blocks here
        assert blocked.factorizations < 150
    assert (blocked.exponents - plain.exponents).abs().max() < 1e-10


def test_top_k_equal_the_top_of_the_full_spectrum():
    module = make_module("gru", hidden=12)
    inputs = random_inputs(250)
    full = spectrum(module, inputs, measure=False).exponents
    top = spectrum(module, inputs, k=3, measure=False).exponents
    assert top.tolist() == pytest.approx(full[:3].tolist(), abs=1e-10)


def test_float32_top_10_within_1e_4_of_float64():
    module = make_module("rnn", hidden=32, inputs=4)
    inputs = random_inputs(400, size=4)
    exact = spectrum(module, inputs, k=10, measure=False).exponents
    single = spectrum(module.float(), inputs.float(), k=10, measure=False).exponents
    assert single.dtype == torch.float64  # accumulated in float64 whatever the cell's dtype
    assert (single - exact).abs().max() < 1e-4


# --- the LSTM: the full (h, c) Jacobian, not the h block -------------------------------------------


def test_lstm_spectrum_sees_the_carousel():
    """With f ≈ 0.99 the (h, c) spectrum keeps a direction near log 0.99; the H×H block dh/dh
    with c held fixed (the common error) decays much faster."""
    H = 6
    module = make_module("lstm", hidden=H)
    with torch.no_grad():
        module.bias_ih_l0[H : 2 * H] = math.log(99.0)
        module.bias_hh_l0[H : 2 * H] = 0.0
    inputs = random_inputs(200)
    exponents = spectrum(module, inputs, measure=False).exponents
    h_block = torch_step_jacobians(module, inputs)[:, :H, :H]  # (T, H, H)
    frame, log_h_block = torch.eye(H, dtype=torch.float64), torch.zeros(H, dtype=torch.float64)
    for jacobian in h_block:
        frame, R = torch.linalg.qr(jacobian @ frame)
        log_h_block += R.diagonal().abs().log()
    assert exponents.shape == (2 * H,)
    assert -0.05 < float(exponents[0]) < 0.0
    assert float(exponents[0]) > float(log_h_block.max()) / 200 + 1.0


# --- batches ------------------------------------------------------------------------------------------


def test_batched_inputs_give_one_spectrum_per_sequence():
    module = make_module("gru", hidden=6)
    inputs = random_inputs(120, batch=3)
    batched = spectrum(module, inputs, k=4, measure=False).exponents
    assert batched.shape == (3, 4)
    for b in range(3):
        alone = spectrum(module, inputs[:, b], k=4, measure=False).exponents
        assert (batched[b] - alone).abs().max() < 1e-10
