"""Log-scaled dL/dh_t of cells called step by step (``_scaled_steps``): equal to the profile's own
gradients where those do not underflow (float64, 1e-12 relative), equal to a closed form far
below float64's range, and in float32 equal to the float64 model's where float32 reads 0."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import rnngrad
from rnngrad.profiler import profile

from .closed_forms import assert_contraction_closed_form, log10_step_norms

CELLS = {
    "nn.RNNCell": lambda: nn.RNNCell(3, 4), "nn.GRUCell": lambda: nn.GRUCell(3, 4),
    "nn.LSTMCell": lambda: nn.LSTMCell(3, 4), "rnngrad.RNNCell": lambda: rnngrad.cells.RNNCell(3, 4),
    "rnngrad.GRUCell": lambda: rnngrad.cells.GRUCell(3, 4), "rnngrad.LSTMCell": lambda: rnngrad.cells.LSTMCell(3, 4),
    "rnngrad.MinGRUCell": lambda: rnngrad.MinGRUCell(3, 4), "rnngrad.LRUCell": lambda: rnngrad.LRUCell(3, 4),
}


class Loop(nn.Module):
    """A user's loop: one cell call per step, the hidden states stacked as the output."""

    def __init__(self, cell: nn.Module, unbatched: bool = False):
        super().__init__()
        self.cell, self.unbatched = cell, unbatched

    def forward(self, inputs, state=None):
        outputs = []
        for x in inputs:
            state = self.cell(x[0] if self.unbatched else x, state)
            outputs.append(state[0] if isinstance(state, tuple) else state)
        return torch.stack(outputs), state


def uses_every_state(output):
    """A loss that reads every step's h (direct gradients everywhere) and the last c."""
    outputs, state = output
    loss = outputs.real.sin().sum()
    return loss + state[1].cos().sum() if isinstance(state, tuple) else loss


def assert_close(actual: torch.Tensor, expected: torch.Tensor, what: str) -> None:
    scale = float(expected.abs().max())
    assert scale > 0, what
    assert float((actual - expected).abs().max()) <= 1e-12 * scale, what


@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("unbatched", [False, True])
def test_equal_to_the_profile_in_float64(kind, unbatched):
    torch.manual_seed(0)
    model = Loop(CELLS[kind]().double(), unbatched)
    inputs = torch.randn(15, 1 if unbatched else 3, 3, dtype=torch.float64)
    result = profile(model, (inputs,), uses_every_state)
    assert_close(result.scaled_hidden_grad("cell").values(), result.hidden_grad("cell"), f"{kind} h")
    if "LSTM" in kind:
        assert_close(result.scaled_cell_grad("cell").values(), result.cell_grad("cell"), f"{kind} c")


def test_a_decoder_started_from_an_encoders_state():
    torch.manual_seed(1)
    encoder, decoder = nn.GRU(3, 4).double(), Loop(nn.GRUCell(3, 4).double())

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder, self.decoder = encoder, decoder

        def forward(self, source, target):
            _, h_n = self.encoder(source)
            return self.decoder(target, h_n[0])

    source, target = (torch.randn(7, 2, 3, dtype=torch.float64) for _ in range(2))
    result = profile(Seq2Seq(), (source, target), uses_every_state)
    assert_close(result.scaled_hidden_grad("decoder.cell").values(), result.hidden_grad("decoder.cell"), "decoder")
    assert_close(result.scaled_hidden_grad("encoder").values(), result.hidden_grad("encoder"), "encoder")


def test_a_contraction_far_below_float64s_range_has_its_closed_form():
    """nn.RNNCell with W_hh = 0.1·I, W_ih = 0, biases 0, h_0 = 0: every h_t = 0, tanh'(0) = 1, so
    with the loss v·h_T, dL/dh_t = 0.1^{T−t} v exactly: 10^−999 at the first step for T = 1000."""
    steps = 1000
    cell = nn.RNNCell(2, 3)
    with torch.no_grad():
        for parameter in cell.parameters():
            parameter.zero_()
        cell.weight_hh.copy_(0.1 * torch.eye(3))
    w = float(cell.weight_hh.detach()[0, 0])  # float32's 0.1
    v = torch.tensor([3.0, -4.0, 0.0])  # ‖v‖ = 5
    result = profile(Loop(cell), (torch.randn(steps, 1, 2),), lambda output: (output[1][0] * v).sum())
    assert_contraction_closed_form(result, "cell", steps, w, 5.0)


@pytest.mark.parametrize("kind", ["nn.LSTMCell", "nn.GRUCell"])
def test_float32_reports_what_float64_computes_where_float32_reads_zero(kind):
    torch.manual_seed(2)
    cell = CELLS[kind]()
    with torch.no_grad():  # forget fast: LSTM forget bias −4; GRU update gate z ≈ 0 (keeps little)
        cell.bias_ih[4:8 if kind == "nn.LSTMCell" else 8].fill_(-4.0)
        cell.weight_hh.mul_(0.5)
    inputs = torch.randn(300, 1, 3)
    loss = lambda output: output[0][-1].sum()  # noqa: E731
    single = profile(Loop(cell), (inputs,), loss)
    double = profile(Loop(cell.double()), (inputs.double(),), loss)
    zero = single.hidden_grad("cell")[:, 0].abs().amax(1) == 0
    assert int(zero.sum()) > 20, "the float32 backward should underflow here"
    reference = log10_step_norms(double.hidden_grad("cell")[:, 0])  # (T,)
    inside = reference > -300  # float64's own floor
    assert int(inside.sum()) > int((~zero).sum()) and float(reference[inside].min()) < -45
    scaled = single.log10_hidden_grad_norm("cell")[:, 0]
    assert bool(torch.isfinite(scaled).all())
    assert float((scaled[inside] - reference[inside]).abs().max()) < 1e-3  # float32 states: ~1e-6 per step
    assert abs(single.decay_rate("cell") - double.decay_rate("cell")) < 1e-4 * abs(double.decay_rate("cell"))


def test_the_user_gets_views_with_the_cells_values_and_the_recursion_keeps_the_pass_weights():
    torch.manual_seed(3)
    cell = nn.LSTMCell(3, 4).double()
    inputs = torch.randn(6, 2, 3, dtype=torch.float64)
    plain_outputs, plain_state = Loop(cell)(inputs)
    seen = {}

    def loss(output):
        seen["output"] = output
        return uses_every_state(output)

    result = profile(Loop(cell), (inputs,), loss)
    assert torch.equal(seen["output"][0], plain_outputs) and torch.equal(seen["output"][1][1], plain_state[1])
    with torch.no_grad():  # an optimizer step before the log-scaled gradients are asked for
        for parameter in cell.parameters():
            parameter.mul_(1.5)
    assert_close(result.scaled_hidden_grad("cell").values(), result.hidden_grad("cell"), "h")
    assert_close(result.scaled_cell_grad("cell").values(), result.cell_grad("cell"), "c")


def test_an_encoder_cells_state_handed_to_a_decoder_cell_and_a_state_continued_twice():
    """The direct gradient of a step is everything outside its own chain: an encoder's last state
    used by a decoder cell, and a second continuation from one state (a new chain), count for the
    chain they leave; both chains still equal the profile."""
    torch.manual_seed(5)

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder, self.decoder = nn.GRUCell(3, 4).double(), nn.LSTMCell(3, 4).double()

        def forward(self, source, target):
            h = None
            for x in source:
                h = self.encoder(x, h)
            state = (h, torch.zeros_like(h))
            outputs = []
            for x in target:
                state = self.decoder(x, state)
                outputs.append(state[0])
            first = self.decoder(target[0], state)  # continues the chain
            second = self.decoder(target[1], state)  # from the same state again: a new chain
            return torch.stack(outputs).sin().sum() + first[0].cos().sum() + second[0].sum()

    source, target = (torch.randn(6, 2, 3, dtype=torch.float64) for _ in range(2))
    result = profile(Seq2Seq(), (source, target), lambda loss: loss)
    assert result.calls("encoder") == 1 and result.calls("decoder") == 2
    for name in ("encoder", "decoder"):
        for chain in range(result.calls(name)):
            assert_close(result.scaled_hidden_grad(name, call=chain).values(), result.hidden_grad(name, call=chain),
                         f"{name} chain {chain}")
