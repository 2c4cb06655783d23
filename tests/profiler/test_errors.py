"""Bad input gets one clear InputError (a ValueError); non-finite values are marked, not raised."""

from __future__ import annotations

import math
import sys

import pytest
import torch
from torch import nn

from rnngrad.errors import InputError
from rnngrad.profiler import profile


def test_model_without_recurrent_module_names_its_class_and_what_is_supported():
    with pytest.raises(ValueError, match=r"got Sequential with no recurrent module") as info:
        profile(nn.Sequential(nn.Linear(2, 2)), (torch.randn(3, 2),), lambda out: out.sum())
    assert isinstance(info.value, InputError)
    assert "torch.nn.LSTM" in str(info.value) and "torch.nn.GRU" in str(info.value)


def test_subclass_overriding_forward_is_not_profiled():
    class Custom(nn.GRU):
        def forward(self, input, hx=None):
            return super().forward(input, hx)

    with pytest.raises(InputError, match=r"<model> \(Custom\)"):
        profile(Custom(2, 3), (torch.randn(4, 1, 2),), lambda out: out[0].sum())


def test_unsupported_modules_beside_supported_ones_are_listed():
    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn, self.cell = nn.GRU(2, 3), _OwnGRUCell(3, 3)

        def forward(self, x):
            output, _ = self.rnn(x)
            return self.cell(output[-1])

    result = profile(Mixed(), (torch.randn(4, 2, 2),), lambda out: out.sum())
    assert result.modules == ["rnn"] and result.unsupported_modules == ["cell (_OwnGRUCell)"]


class _OwnGRUCell(nn.GRUCell):
    def forward(self, input, hx=None):  # overrides forward: profile cannot know what it does
        return super().forward(input, hx)


def test_only_unsupported_modules_are_named_with_the_way_out():
    with pytest.raises(InputError, match=r"unsupported: <model> \(_OwnGRUCell\).*rnngrad.track"):
        profile(_OwnGRUCell(2, 3), (torch.randn(4, 2),), lambda out: out.sum())


@pytest.mark.parametrize(
    "loss_fn, message",
    [
        (lambda out: out[0], r"loss_fn: expected a scalar tensor, got a tensor of shape \(4, 1, 3\)"),
        (lambda out: 1.0, r"loss_fn: expected a scalar tensor, got float"),
        (lambda out: out[0].sum().detach(), r"does not require grad"),
    ],
)
def test_loss_that_is_not_a_differentiable_scalar(loss_fn, message):
    model = nn.GRU(2, 3)
    with pytest.raises(InputError, match=message):
        profile(model, (torch.randn(4, 1, 2),), loss_fn)
    assert "forward" not in vars(model)


def test_bad_arguments():
    model = nn.RNN(2, 3)
    with pytest.raises(InputError, match="model: expected a torch.nn.Module, got str"):
        profile("lstm", (torch.randn(4, 1, 2),), lambda out: out[0].sum())
    with pytest.raises(InputError, match="inputs: expected a tuple"):
        profile(model, 3, lambda out: out[0].sum())
    with pytest.raises(InputError, match="loss_fn: expected a callable"):
        profile(model, (torch.randn(4, 1, 2),), None)


def test_a_module_called_on_its_own_output_has_two_chains():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(2, 2)

        def forward(self, x):
            return self.rnn(self.rnn(x)[0])[0]

    result = profile(Twice(), (torch.randn(4, 1, 2),), lambda out: out.sum())
    assert result.calls("rnn") == 2 and result.hidden_grad("rnn", call=1).shape == (4, 1, 2)


@pytest.mark.parametrize("shape", [(4, 0, 2), (0, 3, 2)])
def test_an_empty_batch_is_refused_with_its_shape(shape):
    with pytest.raises(InputError, match=r"inputs: expected at least one time step and one sequence for 'rnn'"):
        profile(_Wrapped(), (torch.randn(*shape),), lambda out: out.sum())


class _Wrapped(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(2, 3)

    def forward(self, x):
        return self.rnn(x)[0]


def test_wrong_input_size_gets_torchs_own_message_and_the_profilers_context():
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size") as info:
        profile(nn.LSTM(2, 3), (torch.randn(4, 1, 5),), lambda out: out[0].sum())
    if sys.version_info >= (3, 11):  # exceptions have notes
        assert "raised in model(*inputs) while rnngrad.profile ran" in info.value.__notes__[0]


def test_accessor_errors_name_the_expected_values():
    result = profile(nn.GRU(2, 3, num_layers=2), (torch.randn(4, 1, 2),), lambda out: out[0].sum())
    with pytest.raises(InputError, match=r"name: expected one of \[''\], got 'gru'"):
        result.hidden_grad("gru")
    with pytest.raises(InputError, match=r"layer in 0..1 and direction in 0..0"):
        result.hidden_grad("", 2)
    with pytest.raises(InputError, match="expected a fused LSTM module"):
        result.mean_forget_gate("")
    with pytest.raises(InputError, match="eps: expected a positive number"):
        result.memory_horizon(eps=0)


def test_nan_input_is_marked_at_its_step_in_the_forward():
    model = nn.LSTM(2, 3, num_layers=2)
    x = torch.randn(6, 2, 2)
    x[3, 1, 0] = math.nan
    result = profile(model, (x,), lambda out: out[0].sum())
    mark = result.nonfinite
    assert (mark.quantity, mark.module, mark.layer, mark.direction, mark.step) == ("hidden_state", "", 0, 0, 3)
    assert math.isnan(result.loss)


def test_nan_in_the_reverse_direction_is_marked_at_its_time_step():
    model = nn.GRU(2, 3, bidirectional=True)
    x = torch.randn(6, 2, 2)
    x[2, 0, 1] = math.nan
    result = profile(model, (x,), lambda out: out[0].sum())
    mark = result.nonfinite
    assert (mark.quantity, mark.direction, mark.step) == ("hidden_state", 0, 2), "direction 0 runs first"


class InfiniteGradient(torch.autograd.Function):
    """Identity whose backward returns inf: a gradient that overflows behind a finite loss."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * math.inf


def test_overflowing_gradient_is_marked_where_it_first_appears():
    model = nn.RNN(2, 3, num_layers=2)
    x = torch.randn(6, 2, 2)
    result = profile(model, (x,), lambda out: out[0][4].sum() + InfiniteGradient.apply(out[0][2]).sum())
    mark = result.nonfinite
    assert (mark.quantity, mark.module, mark.layer, mark.step) == ("hidden_grad", "", 1, 2)
    assert math.isfinite(result.loss)
    assert torch.isfinite(result.hidden_grad("", 1)[3:]).all()


def test_infinite_loss_is_marked():
    result = profile(nn.RNN(2, 3), (torch.randn(6, 2, 2),), lambda out: out[0].sum() * math.inf)
    assert result.nonfinite.quantity == "loss"
