"""``rnngrad.spectrum`` (``rnngrad.spectra.spectrum``) on torch.nn modules: layers, directions, lags, the measured rate,
the model left as found, and bad input."""

from __future__ import annotations

import math
import sys

import pytest
import torch
from torch import nn

from rnngrad.cells import GRUCell, LSTMCell, from_torch
from rnngrad.errors import InputError
from rnngrad.spectra import spectrum

MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def random_inputs(T: int, size: int = 3, seed: int = 1) -> torch.Tensor:
    return torch.randn(T, size, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def make_module(kind: str, hidden: int = 5, inputs: int = 3, **options) -> nn.Module:
    torch.manual_seed(0)
    return MODULES[kind](inputs, hidden, dtype=torch.float64, **options)


def jacobian_product(module: nn.Module, inputs: torch.Tensor, lag: int) -> torch.Tensor:
    """Oracle: ∂s_T/∂s_{T−lag} by jacrev through torch's own module over the last ``lag`` steps."""
    H, T = module.hidden_size, inputs.shape[0]
    is_lstm = isinstance(module, nn.LSTM)

    def unpack(state):
        return (state[:H].view(1, H), state[H:].view(1, H)) if is_lstm else state.view(1, H)

    def pack(final):
        return torch.cat([final[0].flatten(), final[1].flatten()]) if is_lstm else final.flatten()

    with torch.no_grad():
        start = pack(module(inputs[: T - lag], None)[1]) if lag < T else torch.zeros(2 * H if is_lstm else H, dtype=torch.float64)
    return torch.func.jacrev(lambda state: pack(module(inputs[T - lag :], unpack(state))[1]))(start)


# --- singular values at lags -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_log_singular_values_equal_the_autograd_product(kind):
    module = make_module(kind)
    inputs = random_inputs(20)
    lags = (1, 4, 20)
    found = spectrum(module, inputs, lags=lags, measure=False).log_singular_values
    assert found.shape == (3, 2 * 5 if kind == "lstm" else 5)
    for row, lag in zip(found, lags):
        expected = torch.log(torch.linalg.svdvals(jacobian_product(module, inputs, lag)))
        resolved = expected > expected[0] + math.log(1e-6)  # both sides lose ε·σ_1/σ_i
        assert row[resolved].tolist() == pytest.approx(expected[resolved].tolist(), abs=1e-9)
        assert row.tolist() == sorted(row.tolist(), reverse=True)
    assert found.dtype == torch.float64


def test_lag_0_is_the_identity_and_long_lags_do_not_underflow():
    module = make_module("gru").float()
    inputs = random_inputs(3000).float()
    result = spectrum(module, inputs, k=1, lags=(0, 3000), measure=False)
    assert result.log_singular_values[0].abs().max() < 1e-6  # σ_i(I) = 1
    top = float(result.log_singular_values[1, 0])
    assert math.isfinite(top) and top < -500  # e^{-500} is far below float32's range
    assert top / 3000 == pytest.approx(float(result.exponents[0]), abs=0.01)  # log σ_1 / k → λ_1


# --- layers, directions, cells ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_upper_layer_reads_the_outputs_of_the_layers_below(kind):
    torch.manual_seed(0)
    module = MODULES[kind](3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    inputs = random_inputs(30)
    result = spectrum(module, inputs, layer=1, measure=False)
    top = MODULES[kind](8, 4, dtype=torch.float64)
    top.load_state_dict({k.replace("_l1", "_l0"): v for k, v in module.state_dict().items() if "_l1" in k and "reverse" not in k})
    bottom = MODULES[kind](3, 4, bidirectional=True, dtype=torch.float64)
    bottom.load_state_dict({k: v for k, v in module.state_dict().items() if "_l0" in k})
    with torch.no_grad():
        layer_input = bottom(inputs)[0]  # (T, 2H)
    expected = spectrum(top, layer_input, measure=False).exponents
    assert (result.exponents - expected).abs().max() < 1e-12


def test_reverse_direction_reads_the_inputs_backwards():
    module = make_module("rnn", bidirectional=True)
    inputs = random_inputs(40)
    result = spectrum(module, inputs, direction=1, measure=False).exponents
    forward_only = nn.RNN(3, 5, dtype=torch.float64)
    forward_only.load_state_dict({k.replace("_reverse", ""): v for k, v in module.state_dict().items() if "reverse" in k})
    assert (result - spectrum(forward_only, inputs.flip(0), measure=False).exponents).abs().max() < 1e-12


def test_rnngrad_cells_and_torch_cells_are_accepted():
    torch.manual_seed(0)
    torch_cell = nn.LSTMCell(3, 4, dtype=torch.float64)
    inputs = random_inputs(30)
    from_module = spectrum(torch_cell, inputs).exponents
    from_cell = spectrum(from_torch(torch_cell), inputs)
    assert isinstance(from_torch(torch_cell), LSTMCell) and from_cell.exponents.shape == (8,)
    assert (from_module - from_cell.exponents).abs().max() == 0
    assert from_cell.log_rate_measured is None  # the profiler takes torch.nn RNN/LSTM/GRU only
    gru = GRUCell(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert spectrum(gru, inputs, k=2).arch == "gru"


# --- the measured rate ----------------------------------------------------------------------------


def autograd_log_rate(module: nn.Module, inputs: torch.Tensor) -> float:
    """Oracle: slope of log ‖dL/dh_t‖ against lag, L = sum of the final h, stepping torch's module."""
    H = module.hidden_size
    is_lstm = isinstance(module, nn.LSTM)
    state = (torch.zeros(1, H, dtype=torch.float64),) * 2 if is_lstm else torch.zeros(1, H, dtype=torch.float64)
    hidden = []
    for x in inputs:
        _, state = module(x.view(1, -1), state)
        h = state[0] if is_lstm else state
        h.retain_grad()
        hidden.append(h)
    hidden[-1].sum().backward()
    log_norms = torch.stack([torch.log(h.grad.norm()) for h in reversed(hidden)])  # by lag 0..T−1
    lags = torch.arange(len(hidden), dtype=torch.float64)
    centred = lags - lags.mean()
    return float((centred * (log_norms - log_norms.mean())).sum() / centred.square().sum())


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_measured_rate_is_the_autograd_slope_and_close_to_lambda_1(kind):
    module = make_module(kind, hidden=6)
    inputs = random_inputs(200)
    result = spectrum(module, inputs, k=1)
    assert result.log_rate_measured == pytest.approx(autograd_log_rate(module, inputs), abs=1e-8)
    assert result.log_rate_measured == pytest.approx(result.log_rate_predicted, abs=0.05)


def test_the_model_is_left_as_found():
    module = make_module("lstm", num_layers=2, dropout=0.3)
    module.train()
    module.weight_hh_l1.requires_grad_(False)
    before = {name: value.clone() for name, value in module.state_dict().items()}
    spectrum(module, random_inputs(40), layer=1)
    assert module.training and not module.weight_hh_l1.requires_grad and module.weight_hh_l0.requires_grad
    assert all(torch.equal(before[name], value) for name, value in module.state_dict().items())
    assert all(parameter.grad is None for parameter in module.parameters())


# --- bad input ---------------------------------------------------------------------------------------


def bad_calls() -> dict[str, tuple[dict, str]]:
    nan_inputs = random_inputs(20)
    nan_inputs[3, 1] = math.nan
    return {
        "k larger than S": ({"k": 6}, r"k: expected an integer in 1\.\.5 \(the state size\), got 6"),
        "k = 0": ({"k": 0}, r"k: expected an integer in 1\.\.5"),
        "T shorter than k": ({"inputs": random_inputs(4), "k": 5}, r"expected at least k = 5 time steps after a warmup of 0, got T = 4"),
        "warmup leaves fewer than k steps": ({"warmup": 18, "k": 3}, r"at least k = 3 time steps after a warmup of 18, got T = 20"),
        "negative warmup": ({"warmup": -1}, r"warmup: expected an integer ≥ 0, got -1"),
        "NaN input": ({"inputs": nan_inputs}, r"inputs: expected finite values, got nan at index \(3, 1\)"),
        "lag beyond T": ({"lags": (21,)}, r"lags: expected integers in 0\.\.20 \(T\), got 21"),
        "wrong input size": ({"inputs": random_inputs(20, size=4)}, r"expected input size 3"),
        "layer out of range": ({"layer": 1}, r"layer: expected 0\.\.0, got 1"),
        "bad budget": ({"max_log_condition": 0.0}, r"max_log_condition: expected a positive number"),
    }


@pytest.mark.parametrize("case", list(bad_calls()))
def test_bad_input_raises_one_clear_input_error(case):
    options, message = bad_calls()[case]
    inputs = options.pop("inputs", random_inputs(20))
    with pytest.raises(InputError, match=message):
        spectrum(make_module("gru"), inputs, **options)


def test_non_finite_weights_are_refused():
    module = make_module("lstm")
    with torch.no_grad():
        module.weight_hh_l0[2, 1] = math.inf
    with pytest.raises(InputError, match=r"weights \(weight_hh\): expected finite values, got inf"):
        spectrum(module, random_inputs(20))


def test_a_model_that_is_not_recurrent_is_refused():
    with pytest.raises(InputError, match="model: expected an rnngrad cell or a torch.nn RNN.*got Linear"):
        spectrum(nn.Linear(3, 3), random_inputs(20))
