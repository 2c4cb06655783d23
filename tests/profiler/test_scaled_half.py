"""Log-scaled gradients of half-precision modules: float16's backward flushes dL/dh_t to 0 below
6e-8 and bfloat16's below 1e-38; the recursion rerun in float64 at the pass's own states must give
what the half backward gives where it holds the gradient, and what the same model in float64
gives where it reads 0 (up to the half-precision forward's rounding)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import rnngrad
from rnngrad.errors import InputError
from rnngrad.profiler import profile

HALF = [torch.float16, torch.bfloat16]


class CellLoop(nn.Module):
    def __init__(self, cell: nn.Module):
        super().__init__()
        self.cell = cell

    def forward(self, x):  # (T, B, I)
        state = None
        for x_t in x:
            state = self.cell(x_t, state)
        return state


def _last(output):
    """The last hidden state of any of the models below, as float32."""
    if isinstance(output, tuple) and isinstance(output[0], torch.Tensor) and output[0].dim() == 3:
        return output[0][-1].float()  # a sequence module's output (T, B, H)
    return (output[0] if isinstance(output, tuple) else output).float()  # a cell loop's state


class TrackedRNN(nn.Module):
    """A tanh RNN written by hand, its state marked with ``rnngrad.track``."""

    def __init__(self):
        super().__init__()
        self.step = nn.Linear(4 + 32, 32)

    def forward(self, x):  # (T, B, 4)
        h = rnngrad.track("h", x.new_zeros(x.shape[1], 32))
        for x_t in x:
            h = rnngrad.track("h", torch.tanh(self.step(torch.cat([x_t, h], 1))))
        return h


MODELS = {
    "rnn": lambda: nn.RNN(4, 32),
    "lstm": lambda: nn.LSTM(4, 32),
    "gru": lambda: nn.GRU(4, 32),
    "rnn-cell loop": lambda: CellLoop(nn.RNNCell(4, 32)),
    "lstm-cell loop": lambda: CellLoop(nn.LSTMCell(4, 32)),
    "mingru": lambda: rnngrad.MinGRU(4, 32),
    "minlstm": lambda: rnngrad.MinLSTM(4, 32),
    "track": TrackedRNN,
}


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("kind", list(MODELS))
def test_half_precision_reports_what_float64_computes_where_its_backward_reads_zero(kind, dtype):
    torch.manual_seed(0)
    model = MODELS[kind]()
    x = torch.randn(300, 1, 4).to(dtype)
    loss = lambda output: _last(output).sum()  # noqa: E731
    half = profile(copy.deepcopy(model).to(dtype), (x,), loss)
    double = profile(model.double(), (x.double(),), loss)
    name = half.modules[0]
    recorded = half.hidden_grad(name)[:, 0].double().norm(dim=1).log10()  # (T,), −inf where 0
    assert int(torch.isinf(recorded).sum()) > 50, "the half-precision backward should underflow here"
    scaled = half.log10_hidden_grad_norm(name)[:, 0]
    assert bool(torch.isfinite(scaled).all())
    # where the half backward holds the gradient well above its floor: its own rounding apart
    held = recorded > -3
    assert int(held.sum()) >= 10
    assert float((scaled - recorded)[held].abs().max()) < 0.01
    # everywhere, against the float64 model: the half forward's states differ from float64's
    # by its rounding, and the Jacobians with them (bfloat16 keeps 8 bits; measured 0.17 for the
    # tanh RNN, 0.05 in float16, at most 0.004 for the others)
    reference = double.log10_hidden_grad_norm(double.modules[0])[:, 0]
    assert float(reference.min()) < -50
    tolerance = 0.5 if dtype == torch.bfloat16 else 0.15
    assert float((scaled - reference).abs().max()) < tolerance
    assert bool((half.hidden_grad_norm_by_lag(name) > 0).all())


@pytest.mark.parametrize("dtype", HALF)
def test_the_lstm_cell_gradient_of_a_half_precision_module(dtype):
    torch.manual_seed(1)
    module = nn.LSTM(3, 8)
    x = torch.randn(120, 2, 3)
    loss = lambda output: output[0][-1].float().sum()  # noqa: E731
    half = profile(copy.deepcopy(module).to(dtype), (x.to(dtype),), loss)
    double = profile(module.double(), (x.to(dtype).double(),), loss)
    scaled = half.scaled_cell_grad("").log10_norm()
    reference = double.scaled_cell_grad("").log10_norm()
    assert bool(torch.isfinite(scaled).all()) and float(reference.min()) < -20
    assert float((scaled - reference).abs().max()) < (0.1 if dtype == torch.bfloat16 else 0.02)


@pytest.mark.parametrize("dtype", HALF)
def test_the_lru_refuses_half_precision_parameters(dtype):
    lru = rnngrad.LRU(3, 4).to(dtype)
    with pytest.raises(InputError, match=r"module: expected float32 or float64 parameters for the LRU"):
        lru(torch.randn(5, 3).to(dtype))
