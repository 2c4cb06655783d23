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


# --- a named linear_scan ----------------------------------------------------------------------


class _NamedScan(nn.Module):
    """h = linear_scan(a, b, h0, name="scan") on a given ``a`` (a tensor that broadcasts)."""

    def __init__(self, a: torch.Tensor):
        super().__init__()
        self.a = a

    def forward(self, b, h0=None):
        return rnngrad.linear_scan(self.a, b, h0, name="scan")


@pytest.mark.parametrize("a", [torch.tensor(0.1), torch.polar(torch.tensor(0.5), torch.tensor(0.3))],
                         ids=["real", "complex"])
def test_a_named_scan_far_below_float32s_range_has_its_closed_form(a):
    """Constant a, loss Re Σ h_T: δ_t = conj(a)^{T−t} per channel, ‖δ_t‖ = √3 |a|^{T−t}; float32's
    backward reads 0 below 1e-38."""
    steps = 300
    dtype = torch.complex64 if a.is_complex() else torch.float32
    b = torch.randn(steps, 2, 3, dtype=dtype, generator=torch.Generator().manual_seed(0))
    result = profile(_NamedScan(a.to(dtype)), (b,), lambda h: h[-1].real.sum())
    assert int((result.hidden_grad("scan").abs().amax((1, 2)) == 0).sum()) > 100
    lags = torch.arange(steps - 1, -1, -1, dtype=torch.float64)
    expected = lags * math.log10(abs(complex(a))) + 0.5 * math.log10(3)  # (T,)
    actual = result.log10_hidden_grad_norm("scan")  # (T, B)
    assert float((actual - expected.unsqueeze(1)).abs().max()) < 1e-12


def test_a_named_scan_equals_the_profile_in_float64():
    generator = torch.Generator().manual_seed(1)
    a = torch.rand(40, 1, 4, dtype=torch.float64, generator=generator)  # shared over the batch
    b = torch.randn(40, 3, 4, dtype=torch.float64, generator=generator)
    h0 = torch.randn(4, dtype=torch.float64, generator=generator)
    result = profile(_NamedScan(a), (b, h0), lambda h: (h.sin() * 1.3).sum() + h[-1].square().sum())
    assert_close(result.scaled_hidden_grad("scan").values(), result.hidden_grad("scan"), "scan")


def test_named_scans_feeding_each_other_are_two_chains_each_exact():
    """A second scan starting from the first one's last state: two chains (the state is a new view
    of the output, not a state the profiler handed out), and what the second sends back to the
    first reaches it as a gradient at its output, so each chain's δ is still the total dL/dh_t."""
    class TwoScans(nn.Module):
        def forward(self, b):
            first = rnngrad.linear_scan(torch.full_like(b[:5], 0.5), b[:5], name="scan")
            return rnngrad.linear_scan(torch.full_like(b[5:], 0.7), b[5:], first[-1], name="scan")

    b = torch.randn(9, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    result = profile(TwoScans(), (b,), lambda h: h.sin().sum())
    assert result.calls("scan") == 2
    for chain in range(2):
        assert_close(result.scaled_hidden_grad("scan", call=chain).values(),
                     result.hidden_grad("scan", call=chain), f"chain {chain}")
