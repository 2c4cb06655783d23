"""dL/dh_t and dL/dc_t from profile equal an independent unrolled float64 oracle (1e-10)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from rnngrad.profiler import profile

from .reference import reference_gradients
from .zoo import CASES, DROPOUT_CASES

RELATIVE = 1e-10


def assert_close(actual, expected, what):
    scale = float(expected.abs().max()) or 1.0
    error = float((actual - expected).abs().max())
    assert error <= RELATIVE * scale, f"{what}: max error {error:.3g} vs scale {scale:.3g}"


@pytest.mark.parametrize("case", list(CASES))
def test_hidden_and_cell_gradients_match_the_unrolled_oracle(case):
    model, inputs, loss_fn = CASES[case]()
    torch.manual_seed(11)  # the same dropout masks for both passes
    result = profile(model, inputs, loss_fn)
    torch.manual_seed(11)
    expected = reference_gradients(model, inputs, loss_fn)

    assert result.modules == list(dict.fromkeys(name for name, _, _ in expected))
    for (name, layer, direction), (hidden, cell) in expected.items():
        assert float(hidden.abs().max()) > 0, "the oracle should see a gradient"
        assert_close(result.hidden_grad(name, layer, direction), hidden, f"{case} {name} h l{layer} d{direction}")
        if cell is None:
            assert result.cell_grad(name, layer, direction) is None
        else:
            assert_close(result.cell_grad(name, layer, direction), cell, f"{case} {name} c l{layer} d{direction}")


@pytest.mark.parametrize("case", list(CASES))
def test_accumulate_grad_gives_what_a_plain_backward_gives(case):
    """Plain = torch's fused kernel; in train mode the same seed must give the same masks."""
    model, inputs, loss_fn = CASES[case]()
    torch.manual_seed(12)
    loss_fn(model(*inputs)).backward()
    expected = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)

    torch.manual_seed(12)
    result = profile(model, inputs, loss_fn, accumulate_grad=True)
    for name, parameter in model.named_parameters():
        assert_close(parameter.grad, expected[name], f"{case} {name}.grad")
    assert result.nonfinite is None


@pytest.mark.parametrize("case", DROPOUT_CASES)
def test_dropout_gradients_follow_the_masks_of_the_same_pass(case):
    """Different seeds give different masks, and the recorded gradients change with them."""
    model, inputs, loss_fn = CASES[case]()
    torch.manual_seed(1)
    first = profile(model, inputs, loss_fn)
    torch.manual_seed(2)
    second = profile(model, inputs, loss_fn)
    name = first.modules[0]
    assert not torch.allclose(first.hidden_grad(name, 0), second.hidden_grad(name, 0))


def test_float32_profile_agrees_with_the_float64_oracle():
    model, inputs, loss_fn = CASES["projected_lstm"]()
    expected = reference_gradients(model, inputs, loss_fn)
    single = model.float()
    result = profile(single, tuple(x.float() for x in inputs), loss_fn)
    for (name, layer, direction), (hidden, cell) in expected.items():
        got = result.hidden_grad(name, layer, direction)
        assert got.dtype == torch.float32
        torch.testing.assert_close(got.double(), hidden, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(result.cell_grad(name, layer, direction).double(), cell, rtol=1e-4, atol=1e-5)


def test_outputs_under_profile_equal_the_fused_outputs():
    model, inputs, _ = CASES["packed_bigru"]()
    expected = model(*inputs)
    seen = []
    profile(model, inputs, lambda out: seen.append(out) or out[0].sum())
    for got, want in zip(seen[0], expected):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_padded_steps_hold_zeros_and_lengths_are_recorded():
    model, inputs, loss_fn = CASES["packed_bigru"]()
    result = profile(model, inputs, loss_fn)
    assert result.lengths("gru").tolist() == [3, 6, 2, 5]
    for direction in (0, 1):
        grad = result.hidden_grad("gru", 1, direction)  # (T, B, H)
        assert grad.shape == (6, 4, 4)
        assert float(grad[3:, 0].abs().max()) == 0.0 and float(grad[2:, 2].abs().max()) == 0.0
        assert float(grad[:2, 2].abs().min()) > 0.0


@settings(max_examples=12)
@given(
    kind=st.sampled_from(["LSTM", "GRU", "RNN_TANH", "RNN_RELU"]),
    layers=st.integers(1, 2),
    bidirectional=st.booleans(),
    batch_first=st.booleans(),
    projected=st.booleans(),
    lengths=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    packed=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_random_configurations_match_the_oracle(kind, layers, bidirectional, batch_first, projected, lengths, packed, seed):
    torch.manual_seed(seed)
    options = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    if kind == "LSTM":
        model = nn.LSTM(2, 3, proj_size=2 if projected else 0, **options)
    elif kind == "GRU":
        model = nn.GRU(2, 3, **options)
    else:
        model = nn.RNN(2, 3, nonlinearity="tanh" if kind == "RNN_TANH" else "relu", **options)
    model = model.double()
    steps = max(lengths)
    x = torch.randn(len(lengths), steps, 2, dtype=torch.float64)  # (B, T, I)
    x = x if batch_first else x.transpose(0, 1)
    if packed:
        x = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)

    def loss_fn(out):
        data = out[0].data if packed else out[0]
        final = out[1][0] if kind == "LSTM" else out[1]
        return data.sin().sum() + final.square().sum()

    result = profile(model, (x,), loss_fn)
    for (name, layer, direction), (hidden, cell) in reference_gradients(model, (x,), loss_fn).items():
        assert_close(result.hidden_grad(name, layer, direction), hidden, f"h l{layer} d{direction}")
        if cell is not None:
            assert_close(result.cell_grad(name, layer, direction), cell, f"c l{layer} d{direction}")


LSTM_CASES = ["language_model", "projected_lstm", "two_blocks", "lstm_with_state_over_sorted_packed_batch"]
