"""The Elman RNN on torch's fused kernel with the probe (``_lstm_fused``), the route it takes on
CUDA (cuDNN), run here on the CPU's fused kernel: dL/dh_t equals the unrolled float64 oracle,
``accumulate_grad`` equals a plain backward, and the log-scaled gradients follow, for every
layout the module takes."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from rnngrad.profiler import _recurrent_forward, profile
from rnngrad.profiler._rnn_layer import RNNLayer

from .reference import reference_gradients
from .test_against_reference import assert_close
from .zoo import CASES


@pytest.fixture
def fused_on_cpu(monkeypatch):
    """The CUDA route on the CPU; the hand-written scan must not run."""
    monkeypatch.setattr(_recurrent_forward, "FUSED_RNN_DEVICES", {"cpu", "cuda"})

    def refuse(*args, **kwargs):
        raise AssertionError("the hand-written RNN scan ran instead of the fused kernel")

    monkeypatch.setattr(RNNLayer, "apply", refuse)


class Model(nn.Module):
    def __init__(self, rnn: nn.RNN, packed: bool):
        super().__init__()
        self.rnn, self.packed = rnn, packed

    def forward(self, x, lengths, h0):
        if self.packed:
            x = pack_padded_sequence(x, lengths, batch_first=self.rnn.batch_first, enforce_sorted=False)
        output, h_n = self.rnn(x, h0)
        if self.packed:
            output = output.data
        return output, h_n


def loss_fn(output):
    sequence, h_n = output
    return sequence.sin().sum() + h_n.square().sum()


CONFIGS = [  # nonlinearity, layers, bidirectional, batch_first, packed, dropout
    ("tanh", 1, False, False, False, 0.0), ("relu", 2, False, True, False, 0.0),
    ("tanh", 2, True, False, True, 0.0), ("tanh", 3, True, True, True, 0.3), ("relu", 2, False, False, False, 0.5),
]


@pytest.mark.parametrize("nonlinearity, layers, bidirectional, batch_first, packed, dropout", CONFIGS)
def test_the_fused_route_matches_the_oracle_and_a_plain_backward(fused_on_cpu, nonlinearity, layers, bidirectional,
                                                                   batch_first, packed, dropout):
    torch.manual_seed(layers)
    rnn = nn.RNN(3, 4, num_layers=layers, nonlinearity=nonlinearity, bidirectional=bidirectional,
                 batch_first=batch_first, dropout=dropout).double()
    model = Model(rnn, packed).train(dropout > 0)
    B, T = 3, 7
    x = torch.randn((B, T, 3) if batch_first else (T, B, 3), dtype=torch.float64)
    h0 = torch.randn(layers * (2 if bidirectional else 1), B, 4, dtype=torch.float64)
    inputs = (x, torch.tensor([7, 4, 6]), h0)
    torch.manual_seed(9)
    result = profile(model, inputs, loss_fn)
    torch.manual_seed(9)
    expected = reference_gradients(model, inputs, loss_fn)
    for (name, layer, direction), (hidden, _) in expected.items():
        assert_close(result.hidden_grad(name, layer, direction), hidden, f"h l{layer} d{direction}")
        if not packed:
            assert_close(result.scaled_hidden_grad(name, layer, direction).values(), hidden, f"scaled l{layer}")
    torch.manual_seed(10)
    loss_fn(model(*inputs)).backward()
    plain = {name: parameter.grad.clone() for name, parameter in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    torch.manual_seed(10)
    profile(model, inputs, loss_fn, accumulate_grad=True)
    for name, parameter in model.named_parameters():
        assert_close(parameter.grad, plain[name], f"{name}.grad")


@pytest.mark.parametrize("case", ["relu_rnn_with_state", "unbatched_tanh_rnn"])
def test_the_zoos_rnn_cases_on_the_fused_route(fused_on_cpu, case):
    model, inputs, loss = CASES[case]()
    result = profile(model, inputs, loss)
    expected = reference_gradients(model, inputs, loss)
    for (name, layer, direction), (hidden, _) in expected.items():
        assert_close(result.hidden_grad(name, layer, direction), hidden, f"{case} {name} l{layer} d{direction}")
