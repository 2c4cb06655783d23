"""Initialisers (forget bias written once, chrono) and the model zoo: structure, seeding, shapes."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rnngrad import LSTMCell, RNNCell
from rnngrad.errors import InputError
from rnngrad.init import chrono, forget_bias
from rnngrad.models import SequenceModel, UnrolledRecurrence, build_model, model_names

H = 5


def lstm_biases(module):
    if isinstance(module, nn.LSTM):
        suffixes = ["", "_reverse"][: 2 if module.bidirectional else 1]
        return [(getattr(module, f"bias_ih_l{k}{s}"), getattr(module, f"bias_hh_l{k}{s}"))
                for k in range(module.num_layers) for s in suffixes]
    return [(module.bias_ih, module.bias_hh)]


ZOO = [
    lambda: nn.LSTM(3, H, num_layers=2, bidirectional=True),
    lambda: nn.LSTM(3, H, num_layers=3, proj_size=2),
    lambda: nn.LSTMCell(3, H),
    lambda: LSTMCell(3, H),
]


@pytest.mark.parametrize("make", ZOO)
def test_forget_bias_writes_the_value_once(make):
    module = make()
    before = [(b_ih.detach().clone(), b_hh.detach().clone()) for b_ih, b_hh in lstm_biases(module)]
    assert forget_bias(module, 1.0) is module
    for (b_ih, b_hh), (old_ih, old_hh) in zip(lstm_biases(module), before):
        torch.testing.assert_close(b_ih[H : 2 * H] + b_hh[H : 2 * H], torch.ones(H))  # not 2
        assert bool((b_hh[H : 2 * H] == 0).all())
        for rows in (slice(0, H), slice(2 * H, 4 * H)):  # i, g, o untouched
            assert torch.equal(b_ih[rows], old_ih[rows]) and torch.equal(b_hh[rows], old_hh[rows])


def test_forget_bias_sets_the_forget_gate_the_cell_computes():
    cell = LSTMCell(3, H, dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.zero_()
        cell.weight_hh.zero_()
    forget_bias(cell, 1.0)
    f = cell.carousel_factor(torch.randn(2, 3, dtype=torch.float64))
    torch.testing.assert_close(f, torch.full((2, H), 1 / (1 + math.exp(-1.0)), dtype=torch.float64))


@pytest.mark.parametrize("make", ZOO)
def test_chrono_draws_log_uniform_forget_bias_and_opposite_input_bias(make):
    module = chrono(make(), t_max=50, generator=torch.Generator().manual_seed(0))
    for b_ih, b_hh in lstm_biases(module):
        b_f = b_ih[H : 2 * H]
        assert bool((b_f >= 0).all()) and bool((b_f <= math.log(49) + 1e-6).all())
        torch.testing.assert_close(b_ih[:H], -b_f)
        assert bool((b_hh[: 2 * H] == 0).all())


def test_chrono_is_seeded_and_its_forget_gate_time_scales_are_uniform():
    def draw(seed):
        return chrono(nn.LSTM(1, 4000), 101, torch.Generator().manual_seed(seed)).bias_ih_l0[4000:8000].detach()

    assert torch.equal(draw(1), draw(1)) and not torch.equal(draw(1), draw(2))
    time_scales = draw(1).exp()  # U[1, 100]
    assert abs(float(time_scales.mean()) - 50.5) < 2.0 and float(time_scales.min()) >= 1.0 - 1e-5


@pytest.mark.parametrize("bad, message", [
    (nn.GRU(3, H), "lstm: expected a torch.nn.LSTM"),
    (nn.LSTM(3, H, bias=False), "bias=False"),
    (LSTMCell(3, H, forget_gate=False), "forget_gate=False"),
])
def test_initialisers_refuse_what_they_cannot_initialise(bad, message):
    for initialise in (lambda m: forget_bias(m, 1.0), lambda m: chrono(m, 10)):
        with pytest.raises(InputError, match=message):
            initialise(bad)


def test_initialiser_arguments_are_checked():
    with pytest.raises(InputError, match="t_max: expected a finite number ≥ 2"):
        chrono(nn.LSTM(1, 2), 1)
    with pytest.raises(InputError, match="value: expected a finite number"):
        forget_bias(nn.LSTM(1, 2), float("nan"))


@pytest.mark.parametrize("name", model_names())
@pytest.mark.parametrize("every_step", [False, True])
def test_every_model_builds_seeded_with_the_right_shapes(name, every_step):
    def make(seed):
        return build_model(name, 2, 6, 3, every_step, t_max=20, generator=torch.Generator().manual_seed(seed))

    model = make(0)
    assert isinstance(model, SequenceModel)
    out = model(torch.randn(4, 7, 2))
    assert out.shape == ((4, 7, 3) if every_step else (4, 3))
    same, other = make(0), make(1)
    for (name_a, a), (_, b), (_, c) in zip(model.named_parameters(), same.named_parameters(), other.named_parameters()):
        assert torch.equal(a, b), name_a
    assert any(not torch.equal(a, c) for a, c in zip(model.parameters(), other.parameters()))


@torch.no_grad()
def test_models_are_what_their_names_say():
    def core(name):
        return build_model(name, 2, 6, 1, t_max=20, generator=torch.Generator().manual_seed(0)).recurrent

    assert isinstance(core("rnn-tanh"), nn.RNN) and core("rnn-tanh").nonlinearity == "tanh"
    irnn = core("irnn")
    assert irnn.nonlinearity == "relu" and torch.equal(irnn.weight_hh_l0, torch.eye(6))
    assert not irnn.bias_ih_l0.any() and not irnn.bias_hh_l0.any()
    assert float(irnn.weight_ih_l0.std()) < 0.01
    for name in ("lstm", "lstm-fb1", "lstm-chrono"):
        assert isinstance(core(name), nn.LSTM)
    fb1 = core("lstm-fb1")
    torch.testing.assert_close(fb1.bias_ih_l0[6:12] + fb1.bias_hh_l0[6:12], torch.ones(6))
    chrono_core = core("lstm-chrono")
    torch.testing.assert_close(chrono_core.bias_ih_l0[:6], -chrono_core.bias_ih_l0[6:12])
    assert isinstance(core("gru"), nn.GRU)
    sigmoid = core("rnn-sigmoid")
    assert isinstance(sigmoid, UnrolledRecurrence) and sigmoid.cell.activation.name == "sigmoid"
    nofg = core("lstm-nofg")
    assert isinstance(nofg.cell, LSTMCell) and nofg.cell.forget_gate is False
    bound = 1 / math.sqrt(6)
    assert all(float(p.abs().max()) <= bound for p in core("lstm").parameters())  # torch's init


def test_building_a_model_leaves_the_global_random_state_alone():
    state = torch.get_rng_state()
    build_model("lstm", 2, 4, 1, generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.get_rng_state(), state)


def test_unrolled_recurrence_matches_a_hand_stepped_loop_and_the_fused_lstm():
    torch.manual_seed(0)
    cell = RNNCell(3, 4, activation="sigmoid", dtype=torch.float64)
    inputs = torch.randn(2, 6, 3, dtype=torch.float64)
    outputs, last = UnrolledRecurrence(cell)(inputs)
    h = torch.zeros(2, 4, dtype=torch.float64)
    for t in range(6):
        h = torch.sigmoid(inputs[:, t] @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh)
        torch.testing.assert_close(outputs[:, t], h)
    torch.testing.assert_close(last, h)

    fused = nn.LSTM(3, 4, batch_first=True, dtype=torch.float64)
    cell = LSTMCell(3, 4, dtype=torch.float64)
    cell.load_state_dict({name.removesuffix("_l0"): value for name, value in fused.state_dict().items()})
    torch.testing.assert_close(UnrolledRecurrence(cell)(inputs)[0], fused(inputs)[0])


def test_unknown_model_and_bad_sizes():
    with pytest.raises(InputError) as error:
        build_model("transformer", 2, 4, 1)
    assert all(name in str(error.value) for name in model_names())
    with pytest.raises(InputError, match="hidden_size: expected a positive integer, got 0"):
        build_model("lstm", 2, 0, 1)
