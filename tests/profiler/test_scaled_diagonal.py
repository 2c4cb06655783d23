"""Log-scaled dL/dh_t of the diagonal modules (``_scaled_diagonal``): equal to the profile's own
gradients where those do not underflow (float64, 1e-12 relative), equal to a closed form far
below float64's range, and in float32 equal to the float64 model's where float32 reads 0."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import rnngrad
from rnngrad import profile

from .closed_forms import assert_contraction_closed_form, log10_step_norms

KINDS = {"mingru": (rnngrad.MinGRU, {}), "minlstm": (rnngrad.MinLSTM, {}),
         "lru": (rnngrad.LRU, {"r_min": 0.4, "r_max": 0.9})}


def make(kind: str, layers: int = 1, dtype=torch.float64, batch_first: bool = False, seed: int = 0):
    module, options = KINDS[kind]
    return module(3, 5, num_layers=layers, batch_first=batch_first, dtype=dtype,
                  generator=torch.Generator().manual_seed(seed), **options)


def assert_close(actual: torch.Tensor, expected: torch.Tensor, what: str) -> None:
    scale = float(expected.abs().max())
    assert scale > 0, what
    assert float((actual - expected).abs().max()) <= 1e-12 * scale, what


def loss_on_output_and_state(output):
    """Every path in: all outputs, and h_n (complex for the LRU)."""
    sequence, h_n = output
    return sequence.sin().sum() + torch.view_as_real(h_n).sum() if h_n.is_complex() else (
        sequence.sin().sum() + h_n.cos().sum())


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("layers", [1, 3])
def test_equal_to_the_profile_in_float64(kind, layers):
    module = make(kind, layers)
    x = torch.randn(20, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    result = profile(module, (x,), loss_on_output_and_state)
    for layer in range(layers):
        scaled = result.scaled_hidden_grad("", layer)
        assert scaled.unit.dtype == (torch.complex128 if kind == "lru" else torch.float64)
        assert float(scaled.unit.abs().amax()) <= 1.0
        assert_close(scaled.values(), result.hidden_grad("", layer), f"{kind} layer {layer}")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_batch_first_unbatched_initial_states_and_a_loss_on_h_n_only(kind):
    module = make(kind, 2, batch_first=True, seed=2)
    generator = torch.Generator().manual_seed(3)
    h0 = torch.randn(2, 4, 5, dtype=module.state_dtype, generator=generator)
    for args in ((torch.randn(4, 9, 3, dtype=torch.float64, generator=generator), h0),
                 (torch.randn(9, 3, dtype=torch.float64, generator=generator), h0[:, 0])):
        for loss in (loss_on_output_and_state, lambda output: output[1].abs().sum()):
            result = profile(module, args, loss)
            for layer in range(2):
                assert_close(result.scaled_hidden_grad("", layer).values(), result.hidden_grad("", layer),
                             f"{kind} input {tuple(args[0].shape)} layer {layer}")


def test_a_contraction_far_below_float64s_range_has_its_closed_form():
    """minGRU with W = 0 and the z bias at logit 0.9: a_t = 1 − z = 0.1 at every step, so with the
    loss v·h_T, dL/dh_t = 0.1^{T−t} v exactly: 10^−999 at t = 1 for T = 1000."""
    steps = 1000
    module = rnngrad.MinGRU(2, 3)  # float32
    with torch.no_grad():
        module.weight_ih_l0.zero_()
        module.bias_ih_l0.zero_()
        module.bias_ih_l0[:3] = math.log(0.9 / 0.1)  # z = 0.9
    a = 1.0 - float(torch.sigmoid(module.bias_ih_l0.detach()[0].double()))  # in float64, from float32's bias
    v = torch.tensor([3.0, -4.0, 0.0])  # ‖v‖ = 5
    result = profile(module, (torch.randn(steps, 1, 2),), lambda output: (output[0][-1, 0] * v).sum())
    assert_contraction_closed_form(result, "", steps, a, 5.0)
    unit = result.scaled_hidden_grad("").unit[0, 0]
    # 999 roundings of 3·a^k against exact powers of two for 4·a^k
    assert torch.allclose(unit / unit.abs().max(), v.double() / 4.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_float32_reports_what_float64_computes_where_float32_reads_zero(kind):
    if kind == "lru":  # |λ| in [0.3, 0.6]: 0.6^400 ≈ 1e-89
        module = rnngrad.LRU(3, 5, num_layers=2, r_min=0.3, r_max=0.6, generator=torch.Generator().manual_seed(5))
    else:
        module = make(kind, 2, dtype=torch.float32, seed=5)  # gates that forget fast: a_t = 1 − z_t (minGRU), f'_t (minLSTM) small
        with torch.no_grad():
            for layer in range(2):
                getattr(module, f"bias_ih_l{layer}")[:5] += 4.0 if kind == "mingru" else -4.0
    x = torch.randn(400, 1, 3, generator=torch.Generator().manual_seed(6))
    loss = lambda output: output[0][-1].sum()  # noqa: E731
    single = profile(module, (x,), loss)
    double = profile(module.double(), (x.double(),), loss)
    for layer in range(2):
        zero = single.hidden_grad("", layer)[:, 0].abs().amax(1) == 0
        assert int(zero.sum()) > 20, f"{kind}: the float32 backward should underflow here"
        reference = log10_step_norms(double.hidden_grad("", layer)[:, 0])  # (T,)
        finite = reference > -300  # float64's own floor: below it the reference is denormal or 0
        assert int(finite.sum()) > int((~zero).sum()) and float(reference[finite].min()) < -45
        scaled = single.log10_hidden_grad_norm("", layer)[:, 0]
        assert bool(torch.isfinite(scaled).all())
        # float32 inputs and weights against float64 ones: relative differences ~1e-6 per step
        assert float((scaled[finite] - reference[finite]).abs().max()) < 1e-3, f"{kind} layer {layer}"
    assert bool(torch.isfinite(single.log10_hidden_grad_norm_by_lag("")).all())  # no lag reads 0
    assert abs(single.decay_rate("") - double.decay_rate("")) < 1e-4 * abs(double.decay_rate(""))


def test_the_recursion_uses_the_weights_of_the_pass_not_later_ones():
    module = make("minlstm", 2, seed=7)
    x = torch.randn(8, 2, 3, dtype=torch.float64)
    result = profile(module, (x,), loss_on_output_and_state)
    with torch.no_grad():  # an optimizer step before the log-scaled gradients are asked for
        for parameter in module.parameters():
            parameter.mul_(1.5)
    for layer in range(2):
        assert_close(result.scaled_hidden_grad("", layer).values(), result.hidden_grad("", layer), f"l{layer}")
    assert module.layer_cell(0).weight_ih is module.weight_ih_l0  # the module's own cells untouched


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("unbatched", [False, True])
def test_a_chain_of_calls_one_step_each_equals_the_profile(kind, unbatched):
    """A decoder loop: the module called once per step with the h_n it returned; each call's
    initial-state gradient is sent back to the call before (``ChainRecipe``)."""
    module = make(kind, 2, seed=8)

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = module

        def forward(self, inputs):
            h, outputs = None, []
            for x in inputs:  # (B, I), or (1, I) unbatched: one step
                output, h = self.rnn(x if unbatched else x.unsqueeze(0), h)
                outputs.append(output)
            return torch.cat(outputs), h

    inputs = torch.randn(10, 1 if unbatched else 2, 3, dtype=torch.float64)
    result = profile(Decoder(), (inputs,), loss_on_output_and_state)
    assert result.calls("rnn") == 1 and result.module("rnn").num_calls == 10
    for layer in range(2):
        assert_close(result.scaled_hidden_grad("rnn", layer).values(), result.hidden_grad("rnn", layer),
                     f"{kind} layer {layer}")
