"""Summaries of a profile against hand-computed values, and an exact JSON round trip."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

import rnngrad
from rnngrad.profiler import GradientProfile, profile
from rnngrad.profiler import _summaries

from .zoo import CASES

GAIN = 0.5  # W_hh = GAIN·I with tiny inputs: tanh' ≈ 1, so ‖dL/dh_{T−1−k}‖ ≈ GAIN^k ‖dL/dh_{T−1}‖


def near_linear_rnn(bidirectional: bool = False) -> nn.RNN:
    model = nn.RNN(2, 3, bias=False, bidirectional=bidirectional).double()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.startswith("weight_hh"):
                parameter.copy_(GAIN * torch.eye(3))
            else:
                parameter.normal_(std=1e-6)
    return model


def test_decay_rate_and_memory_horizon_of_a_known_decay():
    x = torch.randn(12, 4, 2, dtype=torch.float64)
    result = profile(near_linear_rnn(), (x,), lambda out: out[0][-1].sum())
    assert result.decay_rate("") == pytest.approx(-math.log(GAIN), abs=1e-6)
    assert result.memory_horizon("", eps=1e-2) == 6  # 0.5^6 ≥ 1e-2 > 0.5^7
    by_lag = result.hidden_grad_norm_by_lag("")
    torch.testing.assert_close(by_lag / by_lag[0], GAIN ** torch.arange(12.0, dtype=torch.float64), rtol=1e-6, atol=0)


def test_every_summary_names_the_unit_nats_per_step():
    """GAIN^k decay: ln(1/GAIN) nats = log10(1/GAIN) decades per step, in every producer's key."""
    from rnngrad.profiler.render import summary
    from rnngrad.training.gradient_profiles import gradient_profile_summary

    model, x = near_linear_rnn(), torch.randn(12, 4, 2, dtype=torch.float64)
    loss_fn = lambda out: out[0][-1].sum()  # noqa: E731
    (entry,) = summary(profile(model, (x,), loss_fn))["layers"]
    assert entry["decay_rate_nats_per_step"] == pytest.approx(math.log(1 / GAIN), abs=1e-6)
    digest = gradient_profile_summary(model, x, loss_fn, step=0)
    assert digest["decay_rate_nats_per_step"] == pytest.approx(math.log(1 / GAIN), abs=1e-6)
    assert "decay_rate" not in entry and "decay_rate" not in digest


def test_the_backward_direction_counts_lags_forward_in_time():
    x = torch.randn(10, 2, 2, dtype=torch.float64)
    result = profile(near_linear_rnn(True), (x,), lambda out: out[0][0, :, 3:].sum())  # direction 1 at t = 0
    assert result.decay_rate("", direction=1) == pytest.approx(-math.log(GAIN), abs=1e-6)
    norms = result.mean_hidden_grad_norm("", direction=1)  # (T,) by time: largest at t = 0
    assert int(norms.argmax()) == 0


def test_norms_per_step_and_mean_over_valid_sequences_of_a_packed_batch():
    model, inputs, loss_fn = CASES["packed_bigru"]()
    result = profile(model, inputs, loss_fn)
    grad = result.hidden_grad("gru", 1, 0)
    norms = result.hidden_grad_norm("gru", 1, 0)
    torch.testing.assert_close(norms, grad.norm(dim=2))
    lengths = torch.tensor([3, 6, 2, 5])
    mean = result.mean_hidden_grad_norm("gru", 1, 0)
    for t in range(6):
        valid = lengths > t
        assert float(mean[t]) == pytest.approx(float(norms[t][valid].mean()), rel=1e-12)


@pytest.mark.parametrize("packed", [False, True])
def test_forget_gate_mean_and_carousel_product(packed):
    torch.manual_seed(0)
    model = nn.LSTM(2, 3, bidirectional=True).double()
    suffixes = ("", "_reverse")
    with torch.no_grad():
        for suffix in suffixes:  # f_t = σ(W_if x_t + b_if + b_hf) depends on x_t only
            getattr(model, "weight_hh_l0" + suffix).zero_()
            getattr(model, "bias_hh_l0" + suffix)[3:6].fill_(1.0)
    x = torch.randn(5, 4, 2, dtype=torch.float64)
    lengths = torch.tensor([5, 2, 4, 3]) if packed else torch.full((4,), 5)
    inputs = pack_padded_sequence(x, lengths, enforce_sorted=False) if packed else x
    result = profile(model, (inputs,), lambda out: (out[1][0].sum() + out[1][1].sum()))

    valid = (torch.arange(5).unsqueeze(1) < lengths).unsqueeze(2)  # (T, B, 1)
    for direction, suffix in enumerate(suffixes):
        weight, bias_ih, bias_hh = (getattr(model, name + "_l0" + suffix) for name in ("weight_ih", "bias_ih", "bias_hh"))
        with torch.no_grad():
            forget = torch.sigmoid(x @ weight[3:6].t() + bias_ih[3:6] + bias_hh[3:6])  # (T, B, H)
        expected_mean = float(forget[valid.expand_as(forget)].mean())
        expected_product = torch.where(valid, forget, torch.ones_like(forget)).prod(0)  # (B, H)
        assert result.mean_forget_gate("", 0, direction) == pytest.approx(expected_mean, rel=1e-12)
        torch.testing.assert_close(result.carousel_product("", 0, direction), expected_product, rtol=1e-12, atol=0)


def test_memory_horizon_rules():
    assert _summaries.memory_horizon(torch.tensor([1.0, 0.5, 0.1, 0.005, 0.2]), 1e-2) == 2
    assert _summaries.memory_horizon(torch.tensor([0.1, 1.0, 0.5]), 0.4) == 1  # counted from the peak
    assert _summaries.memory_horizon(torch.zeros(4), 1e-2) == 0
    assert _summaries.memory_horizon(torch.tensor([1.0, 1.0, 1.0]), 1e-2) == 2
    assert math.isnan(_summaries.decay_rate(torch.tensor([1.0, 0.0, 0.0])))


def assert_same_profile(left: GradientProfile, right: GradientProfile):
    assert left.modules == right.modules
    assert left.unsupported_modules == right.unsupported_modules
    assert left.nonfinite == right.nonfinite
    assert (math.isnan(left.loss) and math.isnan(right.loss)) or left.loss == right.loss
    for name in left.modules:
        a, b = left.module(name), right.module(name)
        assert (a.kind, a.num_layers, a.num_directions) == (b.kind, b.num_layers, b.num_directions)
        assert torch.equal(a.lengths, b.lengths)
        assert a.layers.keys() == b.layers.keys()
        for key, layer in a.layers.items():
            other = b.layers[key]
            for field in ("hidden_grad", "cell_grad", "forget_gate_step_mean", "forget_gate_log_product"):
                x, y = getattr(layer, field), getattr(other, field)
                assert (x is None and y is None) or (x.dtype == y.dtype and torch.equal(x.nan_to_num(7.0), y.nan_to_num(7.0)))


@pytest.mark.parametrize("case", ["two_blocks", "packed_bigru"])
def test_json_round_trip_is_exact(case, tmp_path):
    model, inputs, loss_fn = CASES[case]()
    result = profile(model, inputs, loss_fn)
    text = json.dumps(result.to_dict(), allow_nan=False)
    assert_same_profile(GradientProfile.from_dict(json.loads(text)), result)
    result.save(tmp_path / "profile.json")
    assert_same_profile(GradientProfile.load(tmp_path / "profile.json"), result)
    assert [p.name for p in tmp_path.iterdir()] == ["profile.json"]


def test_json_round_trip_keeps_nan_and_the_mark(tmp_path):
    x = torch.randn(4, 1, 2)
    x[1, 0, 0] = math.nan
    result = profile(nn.LSTM(2, 3).float(), (x,), lambda out: out[0].sum())
    result.save(tmp_path / "nan.json")
    loaded = GradientProfile.load(tmp_path / "nan.json")
    assert loaded.nonfinite == result.nonfinite and loaded.nonfinite.step == 1
    assert_same_profile(loaded, result)


def test_loading_something_else_is_a_clear_error(tmp_path):
    from rnngrad.errors import InputError

    (tmp_path / "other.json").write_text('{"format": "other"}')
    with pytest.raises(InputError, match="expected a dict with format 'rnngrad.GradientProfile'"):
        GradientProfile.load(tmp_path / "other.json")
    with pytest.raises(InputError, match="expected a readable profile JSON file"):
        GradientProfile.load(tmp_path / "missing.json")


def test_float32_norms_do_not_underflow_where_the_gradient_is_not_zero():
    """Issue 18 item 8: squaring 1e-23 in float32 gives 0; the norms come from the log-scaled
    gradient (``test_scaled_gradients``), so no step reads 0, and where float32 holds a normal
    number they equal its float64 norm up to the float32 rounding of the pass."""
    torch.manual_seed(0)
    model = torch.nn.RNN(4, 32)
    result = profile(model, (torch.randn(300, 1, 4),), lambda out: out[0][-1].sum())
    grad = result.hidden_grad("")
    assert grad.dtype == torch.float32
    nonzero = grad.abs().amax(dim=(1, 2)) > 0  # (T,)
    tiny = nonzero & (grad.abs().amax(dim=(1, 2)) < 1e-23)  # whose float32 squares are 0
    assert int(tiny.sum()) > 10, "the case should reach gradients whose float32 square is 0"
    assert bool((torch.linalg.vector_norm(grad, dim=2)[tiny] == 0).all())  # what float32 norms give
    by_time = result.mean_hidden_grad_norm("")
    assert bool((by_time > 0).all()) and int((~nonzero).sum()) > 10  # float32 read 0 at these steps
    expected = torch.linalg.vector_norm(grad.double(), dim=2).mean(1)
    normal = grad.abs().amax(dim=(1, 2)) > 1e-30
    torch.testing.assert_close(by_time[normal], expected[normal], rtol=1e-5, atol=0)
    assert bool((result.hidden_grad_norm_by_lag("") > 0).all())


def test_a_profile_shows_itself_in_a_notebook_as_html():
    torch.manual_seed(0)
    result = profile(nn.GRU(2, 4, num_layers=2), (torch.randn(9, 3, 2),), lambda out: out[0][-1].sum())
    page = result._repr_html_()
    assert page.count("<tr>") == 1 + 2 and page.count("<polyline") == 2  # header + one row per layer
    norms = result.mean_hidden_grad_norm("", 1)
    low, high = float(norms.log10().min()), float(norms.log10().max())
    assert f"{low:.1f} … {high:.1f}" in page
    assert f"{result.decay_rate('', 1):.3g}" in page


@pytest.mark.parametrize("module", [rnngrad.LRU(2, 3, num_layers=2), rnngrad.MinGRU(2, 3)], ids=["lru", "min_gru"])
def test_json_round_trip_of_a_diagonal_module_is_exact(module, tmp_path):
    """The LRU's state is complex: its gradients are written as (real, imaginary) pairs."""
    result = profile(module, (torch.randn(6, 2, 2),), lambda out: out[0][-1].abs().square().sum())
    result.save(tmp_path / "profile.json")
    loaded = GradientProfile.load(tmp_path / "profile.json")
    assert_same_profile(loaded, result)
    assert loaded.hidden_grad("").dtype == result.hidden_grad("").dtype
    assert float(result.hidden_grad("").abs().max()) > 0
