"""Models that call a recurrent module many times: decoder loops, cell loops, two sequences,
modules in a loop, ``rnngrad.track``. Every chain equals an independent float64 oracle: the
modules unrolled by hand with a zero ε added to every state (``reference``), 1e-9 relative."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

import rnngrad
from rnngrad.profiler import GradientProfile, profile
from rnngrad.profiler.render import summary

from .reference import reference_call_gradients

RELATIVE = 1e-9


def assert_close(actual, expected, what):
    scale = float(expected.abs().max())
    assert scale > 0, f"{what}: the oracle should see a gradient"
    error = float((actual - expected).abs().max())
    assert error <= RELATIVE * scale, f"{what}: max error {error:.3g} vs scale {scale:.3g}"


def check_against_oracle(model, inputs, loss_fn, chains: dict[str, list[list[int]]], seed=0):
    """``chains[name]`` lists, per chain, the module's call numbers in it (in call order)."""
    torch.manual_seed(seed)  # the same dropout masks in both passes
    result = profile(model, inputs, loss_fn)
    torch.manual_seed(seed)
    expected = reference_call_gradients(model, inputs, loss_fn)
    assert result.modules == list(chains)
    for name, members in chains.items():
        assert result.calls(name) == len(members)
        for (module, layer, direction), calls in expected.items():
            if module != name:
                continue
            for chain, indices in enumerate(members):
                hidden = torch.cat([calls[i][0] for i in indices])
                where = f"{name} chain {chain} l{layer} d{direction}"
                assert_close(result.hidden_grad(name, layer, direction, call=chain), hidden, where + " h")
                if calls[0][1] is None:
                    assert result.cell_grad(name, layer, direction, call=chain) is None
                else:
                    cell = torch.cat([calls[i][1] for i in indices])
                    assert_close(result.cell_grad(name, layer, direction, call=chain), cell, where + " c")
    return result


class AttentionSeq2Seq(nn.Module):
    """The translation tutorial's shape: a GRU encoder, a GRU decoder called once per output
    step with dot-product attention over the encoder's outputs."""

    def __init__(self, source=3, target=4, hidden=5, steps=6):
        super().__init__()
        self.encoder = nn.GRU(source, hidden)
        self.decoder = nn.GRU(target + hidden, hidden)
        self.readout = nn.Linear(hidden, target)
        self.steps = steps

    def forward(self, source):  # (T_s, B, I)
        memory, h = self.encoder(source)  # (T_s, B, H), (1, B, H)
        y = source.new_zeros(source.shape[1], self.readout.out_features)  # (B, O)
        outputs = []
        for _ in range(self.steps):
            weights = torch.softmax((memory * h[0]).sum(2), dim=0)  # (T_s, B)
            context = (weights.unsqueeze(2) * memory).sum(0)  # (B, H)
            o, h = self.decoder(torch.cat([y, context], 1).unsqueeze(0), h)  # (1, B, H) each
            y = self.readout(o[0])
            outputs.append(y)
        return torch.stack(outputs)  # (steps, B, O)


def test_seq2seq_decoder_called_once_per_step_is_one_chain():
    torch.manual_seed(0)
    model = AttentionSeq2Seq().double()
    source = torch.randn(7, 2, 3, dtype=torch.float64)
    result = check_against_oracle(model, (source,), lambda y: (y ** 2).sum(),
                                  {"encoder": [[0]], "decoder": [list(range(6))]})
    assert result.hidden_grad("decoder").shape == (6, 2, 5)
    assert result.module("decoder").num_calls == 6


class CellLoop(nn.Module):
    def __init__(self, cell: nn.Module, readout_every_step: bool = True):
        super().__init__()
        self.cell, self.every = cell, readout_every_step

    def forward(self, x):  # (T, B, I)
        state, outputs = None, []
        for x_t in x:
            state = self.cell(x_t, state)
            outputs.append(state[0] if isinstance(state, tuple) else state)
        return torch.stack(outputs) if self.every else outputs[-1]


@pytest.mark.parametrize("cell", [nn.LSTMCell(3, 4), nn.GRUCell(3, 4), nn.RNNCell(3, 4, nonlinearity="relu")],
                         ids=["lstm", "gru", "rnn_relu"])
def test_torch_cell_loop_is_one_chain_of_steps(cell):
    torch.manual_seed(1)
    model = CellLoop(cell).double()
    x = torch.randn(8, 2, 3, dtype=torch.float64)
    result = check_against_oracle(model, (x,), lambda out: (out ** 2).sum() + out[-1].sum(),
                                  {"cell": [list(range(8))]})
    assert result.module("cell").kind == type(cell).__name__


def test_unbatched_cell_loop_gives_batch_one():
    torch.manual_seed(2)
    model = CellLoop(nn.LSTMCell(3, 4)).double()
    result = check_against_oracle(model, (torch.randn(5, 3, dtype=torch.float64),),
                                  lambda out: out.sum(), {"cell": [list(range(5))]})
    assert result.hidden_grad("cell").shape == (5, 1, 4)


class GRUCellDecoder(nn.Module):
    """A cell decoder fed its own previous output, started from the encoder's last state."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.LSTM(3, 4)
        self.cell = nn.GRUCell(2, 4)
        self.readout = nn.Linear(4, 2)

    def forward(self, x):
        _, (h, _) = self.encoder(x)
        state, y, outputs = h[0], x.new_zeros(x.shape[1], 2), []
        for _ in range(5):
            state = self.cell(y, state)
            y = self.readout(state)
            outputs.append(y)
        return torch.stack(outputs)


def test_gru_cell_decoder_started_from_an_encoder():
    torch.manual_seed(3)
    model = GRUCellDecoder().double()
    check_against_oracle(model, (torch.randn(6, 2, 3, dtype=torch.float64),), lambda y: (y ** 2).sum(),
                         {"encoder": [[0]], "cell": [list(range(5))]})


class TwoSequences(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 4)

    def forward(self, a, b):
        return self.lstm(a)[0][-1] * self.lstm(b)[0].mean(0)


def test_one_module_on_two_unrelated_sequences_has_two_chains():
    torch.manual_seed(4)
    a, b = torch.randn(5, 2, 3, dtype=torch.float64), torch.randn(7, 2, 3, dtype=torch.float64)
    result = check_against_oracle(TwoSequences().double(), (a, b), lambda y: y.sum(), {"lstm": [[0], [1]]})
    assert result.hidden_grad("lstm", call=1).shape == (7, 2, 4)
    # the forget-gate summaries of each chain are those of its own call
    assert result.mean_forget_gate("lstm", call=0) != result.mean_forget_gate("lstm", call=1)


class ChunkedLoop(nn.Module):
    """A long sequence fed in chunks with the state carried over (as truncated BPTT does,
    without the detach), so one chain runs through every call."""

    def __init__(self, module: nn.Module, chunks: int):
        super().__init__()
        self.rnn, self.chunks = module, chunks

    def forward(self, x):
        state, outputs = None, []
        for piece in x.chunk(self.chunks):
            output, state = self.rnn(piece, state)
            outputs.append(output)
        return torch.cat(outputs)


@pytest.mark.parametrize("module", [
    nn.GRU(3, 4, num_layers=2, bidirectional=True),
    nn.LSTM(3, 4, num_layers=2, dropout=0.3),
    nn.LSTM(3, 5, proj_size=2),
], ids=["bidirectional_2_layer_gru", "lstm_dropout_train_mode", "projected_lstm"])
def test_module_called_in_a_loop_with_its_state_is_one_chain(module):
    torch.manual_seed(5)
    model = ChunkedLoop(module, 3).double().train()
    x = torch.randn(9, 2, 3, dtype=torch.float64)
    check_against_oracle(model, (x,), lambda y: (y ** 2).sum(), {"rnn": [[0, 1, 2]]}, seed=7)


class PackedLoop(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 4, bidirectional=True)

    def forward(self, first, second, lengths):
        _, state = self.rnn(pack_padded_sequence(first, lengths, enforce_sorted=False))
        output, _ = self.rnn(pack_padded_sequence(second, lengths, enforce_sorted=False), state)
        return output


def test_packed_calls_in_a_chain_keep_their_padding():
    torch.manual_seed(6)
    lengths = torch.tensor([3, 5, 2])
    first, second = torch.randn(5, 3, 3, dtype=torch.float64), torch.randn(5, 3, 3, dtype=torch.float64)
    loss = lambda packed: (packed.data ** 2).sum()  # noqa: E731
    result = check_against_oracle(PackedLoop().double(), (first, second, lengths), loss, {"rnn": [[0, 1]]})
    assert result.lengths("rnn").tolist() == [6, 10, 4]
    grad = result.hidden_grad("rnn")  # (10, B, H): two padded calls of 5 steps
    assert float(grad[3:5, 0].abs().max()) == 0.0 and float(grad[8:10, 0].abs().max()) == 0.0
    assert result.hidden_grad_norm_by_lag("rnn").shape == (10,)


class HandWrittenMinGRU(nn.Module):
    """minGRU (Feng et al. 2024, eqs. 4-5) written by hand, its state marked with track."""

    def __init__(self, input_size=3, hidden_size=4):
        super().__init__()
        self.to_gates = nn.Linear(input_size, 2 * hidden_size)
        self.hidden_size = hidden_size

    def forward(self, x):  # (T, B, I)
        h = rnngrad.track("min_gru", x.new_zeros(x.shape[1], self.hidden_size))
        outputs = []
        for x_t in x:
            z, candidate = self.to_gates(x_t).chunk(2, dim=-1)
            z = torch.sigmoid(z)
            h = rnngrad.track("min_gru", (1 - z) * h + z * candidate)
            outputs.append(h)
        return torch.stack(outputs)


def _min_gru_oracle(model, x, loss_fn):
    """The same recurrence with a zero ε added to every state: dL/dε_t is the total dL/dh_t."""
    epsilons = x.new_zeros(x.shape[0] + 1, x.shape[1], model.hidden_size, requires_grad=True)
    h = x.new_zeros(x.shape[1], model.hidden_size) + epsilons[0]
    outputs = []
    for t, x_t in enumerate(x):
        z, candidate = model.to_gates(x_t).chunk(2, dim=-1)
        z = torch.sigmoid(z)
        h = (1 - z) * h + z * candidate + epsilons[t + 1]
        outputs.append(h)
    return torch.autograd.grad(loss_fn(torch.stack(outputs)), epsilons)[0]


def test_track_records_a_hand_written_min_gru():
    torch.manual_seed(8)
    model = HandWrittenMinGRU().double()
    x = torch.randn(12, 2, 3, dtype=torch.float64)
    loss_fn = lambda out: (out[-1] ** 2).sum()  # noqa: E731
    result = profile(model, (x,), loss_fn)
    assert result.modules == ["min_gru"] and result.module("min_gru").kind == "track"
    assert_close(result.hidden_grad("min_gru"), _min_gru_oracle(model, x, loss_fn), "min_gru h")
    assert result.cell_grad("min_gru") is None
    # minGRU's state Jacobian is diag(1 − z_t) in (0, 1): the gradient only decays back in time
    assert result.decay_rate("min_gru") > 0


def test_track_outside_profile_is_the_identity_and_adds_nothing():
    h = torch.randn(2, 3, requires_grad=True)
    state = (h, h * 2)
    assert rnngrad.track("x", h) is h
    assert rnngrad.track("x", state) is state
    assert state[1].grad_fn.next_functions[0][0].variable is h  # the graph is untouched


def test_track_of_a_cell_state_tuple_gives_the_cell_gradient():
    torch.manual_seed(9)
    cell = nn.LSTMCell(3, 4).double()

    class Tracked(nn.Module):
        def __init__(self):
            super().__init__()
            self.core = _OwnLSTMCell(3, 4)
            self.core.load_state_dict(cell.state_dict())

        def forward(self, x):
            state = None
            for x_t in x:
                state = rnngrad.track("lstm_state", self.core(x_t, state))
            return state[0]

    model = Tracked().double()
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    tracked = profile(model, (x,), lambda h: (h ** 2).sum())
    expected = profile(CellLoop(cell, readout_every_step=False), (x,), lambda h: (h ** 2).sum())
    assert tracked.unsupported_modules == ["core (_OwnLSTMCell)"]
    torch.testing.assert_close(tracked.hidden_grad("lstm_state"), expected.hidden_grad("cell"), rtol=1e-12, atol=0)
    torch.testing.assert_close(tracked.cell_grad("lstm_state"), expected.cell_grad("cell"), rtol=1e-12, atol=0)


class _OwnLSTMCell(nn.LSTMCell):
    def forward(self, input, hx=None):  # a custom cell: profile does not record it by itself
        return super().forward(input, hx)


def test_accumulate_grad_equals_a_plain_backward_for_every_kind_of_chain():
    torch.manual_seed(10)
    models = [(AttentionSeq2Seq().double(), (torch.randn(7, 2, 3, dtype=torch.float64),)),
              (CellLoop(nn.LSTMCell(3, 4)).double(), (torch.randn(6, 2, 3, dtype=torch.float64),)),
              (HandWrittenMinGRU().double(), (torch.randn(6, 2, 3, dtype=torch.float64),))]
    for model, inputs in models:
        loss_fn = lambda out: (out ** 2).sum()  # noqa: E731
        loss_fn(model(*inputs)).backward()
        expected = {name: p.grad.clone() for name, p in model.named_parameters()}
        model.zero_grad(set_to_none=True)
        profile(model, inputs, loss_fn, accumulate_grad=True)
        for name, parameter in model.named_parameters():
            torch.testing.assert_close(parameter.grad, expected[name], rtol=1e-12, atol=1e-15)
        model.zero_grad(set_to_none=True)
        profile(model, inputs, loss_fn)  # without accumulate_grad nothing is left
        assert all(p.grad is None for p in model.parameters())
        assert not [m for m in model.modules() if "forward" in vars(m)]


def test_summaries_render_and_json_round_trip_chains(tmp_path):
    torch.manual_seed(11)
    result = profile(TwoSequences().double(), (torch.randn(5, 2, 3, dtype=torch.float64),
                                               torch.randn(7, 2, 3, dtype=torch.float64)), lambda y: y.sum())
    data = summary(result)
    assert [(entry["module"], entry["call"], entry["steps"]) for entry in data["layers"]] == [("lstm", 0, 5), ("lstm", 1, 7)]
    result.save(tmp_path / "profile.json")
    loaded = GradientProfile.load(tmp_path / "profile.json")
    assert loaded.calls("lstm") == 2
    for call in range(2):
        assert torch.equal(loaded.hidden_grad("lstm", call=call), result.hidden_grad("lstm", call=call))
        assert loaded.memory_horizon("lstm", call=call) == result.memory_horizon("lstm", call=call)
    assert summary(loaded) == data


class _TrackedLoop(nn.Module):
    """A recurrence marked with track whose steps ``body(t, h)`` a test chooses."""

    def __init__(self, body):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(3, 3))
        self.body = body

    def forward(self, x):  # (T, B, 3)
        h = x[0] @ self.weight
        for t in range(x.shape[0]):
            h = rnngrad.track("h", self.body(t, torch.tanh(x[t] + h @ self.weight), x))
        return h


def test_a_tracked_chain_that_changes_batch_size_is_refused():
    model = _TrackedLoop(lambda t, h, x: h[:1] if t == 2 else h)
    with pytest.raises(rnngrad.InputError, match=r"h: expected every step of a chain to keep its batch and "
                                                 r"state sizes B = 2, H = 3, got B = 1, H = 3 at step 2"):
        profile(model, (torch.randn(4, 2, 3),), lambda h: h.sum())
    assert "forward" not in vars(model) and model.weight.grad is None


def test_a_name_tracked_by_two_recurrences_is_refused():
    model = _TrackedLoop(lambda t, h, x: torch.tanh(x[t]) if t == 2 else h)  # step 2 forgets the past
    with pytest.raises(rnngrad.InputError, match=r"expected the state tracked as 'h' to be computed from the "
                                                 r"state tracked before it"):
        profile(model, (torch.randn(4, 2, 3),), lambda h: h.sum())


def test_track_with_a_module_name_or_a_bad_state_is_refused():
    class Clash(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 3)

        def forward(self, x):
            return rnngrad.track("rnn", self.rnn(x)[0][-1])

    with pytest.raises(rnngrad.InputError, match=r"name: expected a name that no profiled module has, got 'rnn'"):
        profile(Clash(), (torch.randn(4, 2, 3),), lambda h: h.sum())
    for state, message in [([1.0], r"state: expected a tensor h_t or a tuple \(h_t, c_t\) of tensors, got list"),
                           ((torch.zeros(2, 3),) * 3, r"got a tuple of 3"),
                           (torch.zeros(2, 3, dtype=torch.int64), r"expected floating-point tensors .* got torch.int64"),
                           ((torch.zeros(2, 3), torch.zeros(1, 3)), r"with the same batch size")]:
        with pytest.raises(rnngrad.InputError, match=message):
            rnngrad.track("h", state)  # outside profile too
    with pytest.raises(rnngrad.InputError, match=r"name: expected a non-empty string"):
        rnngrad.track("", torch.zeros(2))


def test_a_chain_index_out_of_range_names_the_valid_ones():
    result = profile(TwoSequences(), (torch.randn(3, 1, 3), torch.randn(3, 1, 3)), lambda y: y.sum())
    with pytest.raises(rnngrad.InputError, match=r"call: expected a chain index in 0..1 for 'lstm', got 2"):
        result.hidden_grad("lstm", call=2)


def _epsilon_oracle(model, cell, inputs, loss_fn):
    """dL/dε_t with a zero ε added to every state the cell returns (its own forward); for cells
    whose state is one tensor (an ε on c after the step would miss the path c_t → h_t)."""
    epsilons = []

    def perturbed(x, state=None):
        output = type(cell).forward(cell, x, state)
        epsilons.append(torch.zeros_like(output, requires_grad=True))
        return output + epsilons[-1]

    cell.forward = perturbed
    try:
        loss = loss_fn(model(*inputs))
    finally:
        del cell.forward
    return torch.stack(torch.autograd.grad(loss, epsilons))  # (T, B, H)


def _nofg_lstm_oracle(cell, x, loss_fn):
    """The 1997 LSTM (no forget gate) by hand, ε^h and ε^c inside each step: c_t = c_{t−1} +
    i_t g_t + ε^c_t, h_t = o_t tanh(c_t) + ε^h_t (rnngrad.LSTMCell's gate layout i, f, g, o)."""
    batch, steps, size = x.shape[0], x.shape[1], cell.hidden_size
    eps_h = x.new_zeros(steps, batch, size, requires_grad=True)
    eps_c = x.new_zeros(steps, batch, size, requires_grad=True)
    h = c = x.new_zeros(batch, size)
    outputs = []
    for t in range(steps):
        gates = x[:, t] @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
        i, _, g, o = gates.chunk(4, 1)
        c = c + torch.sigmoid(i) * torch.tanh(g) + eps_c[t]
        h = torch.sigmoid(o) * torch.tanh(c) + eps_h[t]
        outputs.append(h)
    return torch.autograd.grad(loss_fn((torch.stack(outputs, 1),)), (eps_h, eps_c))


@pytest.mark.parametrize("kind", ["lstm-nofg", "rnn-sigmoid", "mingru"])
def test_rnngrad_cells_in_a_loop_match_an_oracle(kind):
    from rnngrad.cells import LSTMCell, MinGRUCell, RNNCell
    from rnngrad.models.sequence_model import UnrolledRecurrence

    torch.manual_seed(12)
    cell = {"lstm-nofg": lambda: LSTMCell(3, 4, forget_gate=False),
            "rnn-sigmoid": lambda: RNNCell(3, 4, activation="sigmoid"),
            "mingru": lambda: MinGRUCell(3, 4)}[kind]().double()
    model = UnrolledRecurrence(cell)  # the registry's unrolled models
    x = torch.randn(2, 9, 3, dtype=torch.float64)  # (B, T, I): UnrolledRecurrence is batch-first
    loss_fn = lambda out: (out[0] ** 2).sum()  # noqa: E731
    result = profile(model, (x,), loss_fn)
    assert result.modules == ["cell"] and result.calls("cell") == 1
    if kind == "lstm-nofg":
        hidden, cell_grad = _nofg_lstm_oracle(cell, x, loss_fn)
        assert_close(result.cell_grad("cell"), cell_grad, f"{kind} c")
    else:
        hidden = _epsilon_oracle(model, cell, (x,), loss_fn)
    assert_close(result.hidden_grad("cell"), hidden, f"{kind} h")


class ScanModel(nn.Module):
    """A minGRU-style layer that calls rnngrad.linear_scan itself, the scan named for profile."""

    def __init__(self):
        super().__init__()
        self.to_gates = nn.Linear(3, 8)

    def forward(self, x):  # (T, B, 3)
        z, candidate = self.to_gates(x).chunk(2, dim=-1)
        z = torch.sigmoid(z)
        return rnngrad.linear_scan(1 - z, z * candidate, name="scan")  # (T, B, 4)


def test_a_named_linear_scan_is_recorded_exactly():
    torch.manual_seed(13)
    model = ScanModel().double()
    x = torch.randn(10, 2, 3, dtype=torch.float64)
    loss_fn = lambda h: (h[-1] ** 2).sum() + h[3].sum()  # noqa: E731
    result = profile(model, (x,), loss_fn)
    z, candidate = model.to_gates(x).chunk(2, dim=-1)  # the oracle: the loop, a zero ε on each h_t
    z = torch.sigmoid(z)
    epsilons = torch.zeros(10, 2, 4, dtype=torch.float64, requires_grad=True)
    h, states = torch.zeros(2, 4, dtype=torch.float64), []
    for t in range(10):
        h = (1 - z[t]) * h + z[t] * candidate[t] + epsilons[t]
        states.append(h)
    expected = torch.autograd.grad(loss_fn(torch.stack(states)), epsilons)[0]
    assert result.modules == ["scan"] and result.module("scan").kind == "linear_scan"
    assert_close(result.hidden_grad("scan"), expected, "scan")
    torch.testing.assert_close(model(x), torch.stack(states).detach(), rtol=1e-12, atol=1e-14)  # name: no effect
    with pytest.raises(rnngrad.InputError, match="name: expected a non-empty string"):
        profile(model_with_scan_name(""), (x,), loss_fn)


def model_with_scan_name(name):
    class Named(ScanModel):
        def forward(self, x):
            z, candidate = self.to_gates(x).chunk(2, dim=-1)
            return rnngrad.linear_scan(torch.sigmoid(z), candidate, name=name)

    return Named().double()
