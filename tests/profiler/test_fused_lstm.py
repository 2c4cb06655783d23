"""The LSTM on torch's fused kernel (``_lstm_fused``): the oracle's gradients whatever the
threads, batch and projection, across long packed sequences, with denormals flushed as the
caller does, and the forget-gate statistics in closed form."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from rnngrad.profiler import profile

from .reference import reference_gradients
from .test_against_reference import assert_close

def _bidirectional_packed_lstm(batch: int, projected: bool):
    torch.manual_seed(batch)
    model = nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2 if projected else 0).double()
    lengths = torch.randint(1, 7, (batch,))
    lengths[0] = 6
    x = torch.randn(6, batch, 3, dtype=torch.float64)
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)

    def loss_fn(out):
        return out[0].data.sin().sum() + out[1][0].square().sum() + out[1][1].cos().sum()

    return model, (packed,), loss_fn


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("batch", [1, 3, 8])
@pytest.mark.parametrize("projected", [False, True])
def test_any_threads_batch_and_projection_give_the_oracles_gradients(threads, batch, projected):
    """1 to 3 threads, batches of 1 to 8, sequences ending at different steps in both
    directions, with and without projection: the oracle's gradients, per step and for every
    parameter."""
    model, inputs, loss_fn = _bidirectional_packed_lstm(batch, projected)
    loss_fn(model(*inputs)).backward()
    plain = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        result = profile(model, inputs, loss_fn, accumulate_grad=True)
    finally:
        torch.set_num_threads(previous)
    for name, parameter in model.named_parameters():
        assert_close(parameter.grad, plain[name], f"{name}.grad")
    for (name, layer, direction), (hidden, cell) in reference_gradients(model, inputs, loss_fn).items():
        assert_close(result.hidden_grad(name, layer, direction), hidden, f"h l{layer} d{direction}")
        assert_close(result.cell_grad(name, layer, direction), cell, f"c l{layer} d{direction}")


def test_denormals_are_flushed_as_the_caller_does():
    """A float32 gradient that vanishes through the denormal range: flushed to zero in every row
    of the batch (no value below 2^-126 but 0), the cell gradient computed after the pass too."""
    torch.manual_seed(0)
    model = nn.LSTM(4, 8)
    with torch.no_grad():
        model.weight_hh_l0.mul_(0.05)
        model.bias_hh_l0.zero_()
        model.bias_ih_l0.zero_()
        model.bias_ih_l0[8:16] = -6.0  # forget gates near 0.0025: the cell gradient shrinks fast
    x = torch.randn(120, 6, 4)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        result = profile(model, (x,), lambda out: out[0][-1].sum())
    finally:
        torch.set_num_threads(previous)
    for grad in (result.hidden_grad(""), result.cell_grad("")):
        magnitude = grad.abs()
        assert float(magnitude[-1].min()) > 0 and float(magnitude[0].max()) == 0.0, "passes through the range"
        denormal = (magnitude > 0) & (magnitude < torch.finfo(torch.float32).tiny)
        assert not bool(denormal.any()), f"{int(denormal.sum())} denormal values"


LONG_LENGTHS = [40, 17, 16, 33, 1]  # packed sequences of very different lengths


def test_long_sequences_give_the_oracles_gradients():
    torch.manual_seed(5)
    model = nn.LSTM(3, 4, bidirectional=True).double()
    x = torch.randn(40, len(LONG_LENGTHS), 3, dtype=torch.float64)
    packed = pack_padded_sequence(x, torch.tensor(LONG_LENGTHS), enforce_sorted=False)

    def loss_fn(out):
        return out[0].data.sin().sum() + out[1][1].square().sum()

    result = profile(model, (packed,), loss_fn)
    for (name, layer, direction), (hidden, cell) in reference_gradients(model, (packed,), loss_fn).items():
        assert_close(result.hidden_grad(name, layer, direction), hidden, f"h d{direction}")
        assert_close(result.cell_grad(name, layer, direction), cell, f"c d{direction}")


def test_long_sequences_give_the_exact_forget_gate_statistics():
    """With W_hh = 0 the forget gates depend on x_t alone: the mean gate and the carousel product
    ∏ f over each sequence's valid steps follow in closed form, in both directions."""
    torch.manual_seed(6)
    model = nn.LSTM(2, 3, bidirectional=True).double()
    suffixes = ("", "_reverse")
    with torch.no_grad():
        for suffix in suffixes:
            getattr(model, "weight_hh_l0" + suffix).zero_()
            getattr(model, "bias_hh_l0" + suffix)[3:6].fill_(2.0)
    lengths = torch.tensor(LONG_LENGTHS)
    x = torch.randn(40, len(LONG_LENGTHS), 2, dtype=torch.float64)
    result = profile(model, (pack_padded_sequence(x, lengths, enforce_sorted=False),), lambda out: out[1][1].sum())

    valid = (torch.arange(40).unsqueeze(1) < lengths).unsqueeze(2)  # (T, B, 1)
    for direction, suffix in enumerate(suffixes):
        weight, bias_ih, bias_hh = (getattr(model, name + "_l0" + suffix) for name in ("weight_ih", "bias_ih", "bias_hh"))
        with torch.no_grad():
            forget = torch.sigmoid(x @ weight[3:6].t() + bias_ih[3:6] + bias_hh[3:6])  # (T, B, H)
        expected_product = torch.where(valid, forget, torch.ones_like(forget)).prod(0)  # (B, H)
        expected_mean = float(forget[valid.expand_as(forget)].mean())
        torch.testing.assert_close(result.carousel_product("", 0, direction), expected_product, rtol=1e-12, atol=0)
        assert result.mean_forget_gate("", 0, direction) == pytest.approx(expected_mean, rel=1e-12)


def test_batch_first_outputs_whose_gradient_is_not_contiguous():
    """A loss on a batch-first output hands the layer a gradient in (B, T) memory order; the cell
    gradient, computed after the pass from it, is the oracle's."""
    torch.manual_seed(7)
    model = nn.LSTM(3, 4, batch_first=True).double()
    x = torch.randn(2, 9, 3, dtype=torch.float64)

    def loss_fn(out):
        return (out[0] * torch.arange(9, dtype=torch.float64).view(1, 9, 1)).sum()

    result = profile(model, (x,), loss_fn)
    for (name, layer, direction), (hidden, cell) in reference_gradients(model, (x,), loss_fn).items():
        assert_close(result.hidden_grad(name, layer, direction), hidden, "h")
        assert_close(result.cell_grad(name, layer, direction), cell, "c")
