"""The log-scaled dL/dh_t and dL/dc_t (``profiler._scaled``): equal to the profile's own gradients
where those do not underflow (float64 modules, 1e-12 relative), equal to closed forms far below
float64's range, and to a float64 model where float32's backward reads 0."""

from __future__ import annotations


import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from rnngrad.errors import InputError
from rnngrad.profiler import profile

from .closed_forms import assert_contraction_closed_form

MODULES = {"rnn-tanh": lambda **k: nn.RNN(**k), "rnn-relu": lambda **k: nn.RNN(nonlinearity="relu", **k),
           "gru": lambda **k: nn.GRU(**k), "lstm": lambda **k: nn.LSTM(**k),
           "lstm-proj": lambda **k: nn.LSTM(proj_size=2, **k)}


def assert_close(actual, expected, what, relative=1e-12):
    scale = float(expected.abs().max())
    assert scale > 0, f"{what}: no gradient to compare"
    error = float((actual - expected).abs().max())
    assert error <= relative * scale, f"{what}: max error {error:.3g} vs scale {scale:.3g}"


def _loss(output):
    out, state = output
    h_n = state[0] if isinstance(state, tuple) else state
    data = out.data if hasattr(out, "batch_sizes") else out
    return (data.sin() * 1.3).sum() + (h_n ** 2).sum()


@pytest.mark.parametrize("kind", list(MODULES))
@pytest.mark.parametrize("layers, bidirectional, packed, dropout", [
    (1, False, False, 0.0), (2, True, False, 0.0), (2, False, True, 0.0), (3, True, True, 0.4)])
def test_equal_to_the_profile_in_float64(kind, layers, bidirectional, packed, dropout):
    torch.manual_seed(1)
    module = MODULES[kind](input_size=3, hidden_size=4, num_layers=layers, bidirectional=bidirectional,
                           dropout=dropout).double().train()
    x = torch.randn(9, 3, 3, dtype=torch.float64)
    inputs = pack_padded_sequence(x, torch.tensor([9, 6, 2]), enforce_sorted=False) if packed else x
    result = profile(module, (inputs,), _loss)
    directions = 2 if bidirectional else 1
    for layer in range(layers):
        for direction in range(directions):
            where = f"{kind} l{layer} d{direction}"
            scaled = result.scaled_hidden_grad("", layer, direction)
            assert scaled.unit.shape == result.hidden_grad("", layer, direction).shape
            assert_close(scaled.values(), result.hidden_grad("", layer, direction), where + " h")
            if kind.startswith("lstm"):
                assert_close(result.scaled_cell_grad("", layer, direction).values(),
                             result.cell_grad("", layer, direction), where + " c")


def test_batch_first_and_unbatched_inputs():
    torch.manual_seed(2)
    module = nn.GRU(3, 4, batch_first=True).double()
    for x in (torch.randn(2, 8, 3, dtype=torch.float64), torch.randn(8, 3, dtype=torch.float64)):
        result = profile(module, (x,), _loss)
        assert_close(result.scaled_hidden_grad("").values(), result.hidden_grad(""), f"input {tuple(x.shape)}")


def _contraction() -> tuple[nn.RNN, float, torch.Tensor]:
    """nn.RNN(2, 3) with W_hh = 0.1·I and every other weight 0; float32's 0.1; v with ‖v‖ = 5."""
    module = nn.RNN(2, 3)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.zero_()
        module.weight_hh_l0.copy_(0.1 * torch.eye(3))
    return module, float(module.weight_hh_l0.detach()[0, 0]), torch.tensor([3.0, -4.0, 0.0])


def test_a_contraction_far_below_float64s_range_has_its_closed_form():
    """W_hh = w·I, W_ih = 0, biases 0, h_0 = 0: every h_t = 0, tanh'(0) = 1, so with the loss
    v·h_{T−1}, dL/dh_t = w^{T−1−t} v exactly: 10^−999 at t = 0 for w = 0.1 and T = 1000."""
    steps = 1000
    module, w, v = _contraction()
    result = profile(module, (torch.randn(steps, 1, 2),), lambda output: (output[0][-1, 0] * v).sum())
    assert_contraction_closed_form(result, "", steps, w, 5.0)
    unit = result.scaled_hidden_grad("").unit[0, 0]
    assert torch.allclose(unit / unit.abs().max(), v.double() / 4.0, rtol=0, atol=1e-15)


def test_float32_reports_what_float64_computes_where_float32_reads_zero():
    """The issue's case: float32 nn.RNN(4, 32), T = 300, loss on the last output."""
    torch.manual_seed(0)
    module = nn.RNN(4, 32)
    x = torch.randn(300, 1, 4)
    loss = lambda output: output[0][-1].sum()  # noqa: E731
    single = profile(module, (x,), loss)
    double = profile(module.double(), (x.double(),), loss)
    zero = single.hidden_grad("")[:, 0].abs().amax(1) == 0
    assert int(zero.sum()) > 50, "the float32 backward should underflow here"
    reference = double.hidden_grad("")[:, 0].norm(dim=1).log10()
    assert bool(torch.isfinite(reference).all()) and float(reference.min()) < -60
    scaled = single.log10_hidden_grad_norm("")[:, 0]
    # float32 forward states against float64 ones: relative differences ~1e-6 per step
    assert float((scaled - reference).abs().max()) < 1e-3
    # and every summary reads the log-scaled norms: no zero, the float64 model's decay and horizon
    assert bool((single.hidden_grad_norm("") > 0).all()) and bool((single.hidden_grad_norm_by_lag("") > 0).all())
    assert abs(single.decay_rate("") - double.decay_rate("")) < 1e-4 * abs(double.decay_rate(""))
    assert single.memory_horizon("", eps=1e-50) == double.memory_horizon("", eps=1e-50)


def test_a_cell_gradient_of_a_chain_without_cell_states_says_so():
    torch.manual_seed(3)
    x = torch.randn(5, 1, 2)
    gru = profile(nn.GRU(2, 3), (x,), lambda output: output[0].sum())
    with pytest.raises(InputError, match="expected an LSTM for a cell gradient, got GRU"):
        gru.scaled_cell_grad("")


@pytest.mark.parametrize("kind", list(MODULES))
def test_a_loss_on_the_final_state_only(kind):
    torch.manual_seed(4)
    module = MODULES[kind](input_size=3, hidden_size=4, num_layers=2).double()
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    result = profile(module, (x,), lambda output: (output[1][0] if kind.startswith("lstm") else output[1]).sum())
    for layer in range(2):
        assert_close(result.scaled_hidden_grad("", layer).values(), result.hidden_grad("", layer), f"l{layer}")


def test_a_saved_profile_keeps_the_log_scaled_norms(tmp_path):
    torch.manual_seed(0)
    module = nn.RNN(4, 16)
    result = profile(module, (torch.randn(400, 2, 4),), lambda output: output[0][-1].sum())
    path = tmp_path / "profile.json"
    result.save(path)
    loaded = type(result).load(path)
    assert torch.equal(loaded.log10_hidden_grad_norm(""), result.log10_hidden_grad_norm(""))
    assert float(loaded.log10_hidden_grad_norm("").min()) < -40  # below float32's floor
    assert loaded.decay_rate("") == result.decay_rate("")
    assert loaded.memory_horizon("", eps=1e-30) == result.memory_horizon("", eps=1e-30)
    with pytest.raises(InputError, match="keeps only their norms"):  # the unit tensor is not saved
        loaded.scaled_hidden_grad("")


def test_the_recursion_uses_the_weights_of_the_pass_not_later_ones():
    torch.manual_seed(6)
    module = nn.LSTM(3, 4, num_layers=2).double()
    x = torch.randn(8, 2, 3, dtype=torch.float64)
    result = profile(module, (x,), _loss)
    with torch.no_grad():  # an optimizer step before the log-scaled gradients are asked for
        for parameter in module.parameters():
            parameter.mul_(1.5)
    for layer in range(2):
        assert_close(result.scaled_hidden_grad("", layer).values(), result.hidden_grad("", layer), f"l{layer}")


class _Decoder(nn.Module):
    """A decoder loop: the module called once per step with the state it returned, every
    step's output used, and the final state too."""

    def __init__(self, module: nn.Module, unbatched: bool = False):
        super().__init__()
        self.rnn, self.unbatched = module, unbatched

    def forward(self, inputs):
        state, outputs = None, []
        for x in inputs:  # x (B, I), or (1, I) unbatched: one step
            output, state = self.rnn(x if self.unbatched else x.unsqueeze(0), state)
            outputs.append(output)
        final = state[1] if isinstance(state, tuple) else state
        return torch.cat(outputs).sin().sum() + final.cos().sum()


@pytest.mark.parametrize("kind", list(MODULES))
@pytest.mark.parametrize("layers, unbatched", [(1, False), (2, False), (2, True)])
def test_a_decoder_chain_of_calls_equals_the_profile_in_float64(kind, layers, unbatched):
    torch.manual_seed(8)
    model = _Decoder(MODULES[kind](input_size=3, hidden_size=4, num_layers=layers).double(), unbatched)
    inputs = torch.randn(9, 1 if unbatched else 2, 3, dtype=torch.float64)
    result = profile(model, (inputs,), lambda loss: loss)
    assert result.calls("rnn") == 1 and result.module("rnn").num_calls == 9
    for layer in range(layers):
        assert_close(result.scaled_hidden_grad("rnn", layer).values(), result.hidden_grad("rnn", layer), f"h{layer}")
        if kind.startswith("lstm"):
            assert_close(result.scaled_cell_grad("rnn", layer).values(), result.cell_grad("rnn", layer), f"c{layer}")


class _Chunks(nn.Module):
    """The module over consecutive chunks of one sequence, each call starting from the state the
    last returned; packed chunks with per-sequence lengths when given."""

    def __init__(self, module: nn.Module, chunk: int, lengths: list[list[int]] | None = None):
        super().__init__()
        self.rnn, self.chunk, self.lengths = module, chunk, lengths

    def forward(self, x):
        state, total = None, 0.0
        for index, piece in enumerate(x.split(self.chunk)):
            if self.lengths is not None:
                piece = pack_padded_sequence(piece, torch.tensor(self.lengths[index]), enforce_sorted=False)
            output, state = self.rnn(piece, state)
            data = output.data if self.lengths is not None else output
            total = total + (data.sin() * 1.3).sum()
        final = state[1] if isinstance(state, tuple) else state
        return total + final.cos().sum()


@pytest.mark.parametrize("kind", list(MODULES))
@pytest.mark.parametrize("layers, bidirectional, packed", [(1, True, False), (2, True, False), (1, False, True),
                                                           (2, True, True)])
def test_packed_and_bidirectional_chains_equal_the_profile_in_float64(kind, layers, bidirectional, packed):
    torch.manual_seed(9)
    module = MODULES[kind](input_size=3, hidden_size=4, num_layers=layers, bidirectional=bidirectional).double()
    lengths = [[4, 3, 1], [4, 4, 2], [2, 4, 3]] if packed else None  # per chunk, per sequence
    model = _Chunks(module, 4, lengths)
    result = profile(model, (torch.randn(12, 3, 3, dtype=torch.float64),), lambda loss: loss)
    assert result.calls("rnn") == 1 and result.module("rnn").num_calls == 3
    for layer in range(layers):
        for direction in range(2 if bidirectional else 1):
            where = f"{kind} l{layer} d{direction}"
            assert_close(result.scaled_hidden_grad("rnn", layer, direction).values(),
                         result.hidden_grad("rnn", layer, direction), where + " h")
            if kind.startswith("lstm"):
                assert_close(result.scaled_cell_grad("rnn", layer, direction).values(),
                             result.cell_grad("rnn", layer, direction), where + " c")


def test_a_decoder_chain_far_below_float64s_range_has_its_closed_form():
    """The contraction of the test above, called once per step: 1000 calls of one step each."""
    steps = 1000
    module, w, v = _contraction()

    class Loop(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = module

        def forward(self, inputs):
            state = None
            for x in inputs:
                output, state = self.rnn(x.unsqueeze(0), state)
            return output[0, 0]

    result = profile(Loop(), (torch.randn(steps, 1, 2),), lambda output: (output * v).sum())
    assert_contraction_closed_form(result, "rnn", steps, w, 5.0)
