"""Cells against torch.nn (values) and torch.func.jacrev (step Jacobians), in float64."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from rnngrad import GRUCell, InputError, LSTMCell, ProjectedLSTMCell, RNNCell, activation_names, from_torch
from rounding import forget_gate_rounding_bound

sizes = st.integers(min_value=1, max_value=9)
seeds = st.integers(min_value=0, max_value=2**31 - 1)


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    actual, expected = actual.detach(), expected.detach()
    return float((actual - expected).abs().max() / expected.abs().max().clamp_min(1e-300))


def random_inputs(seed: int, batch: int, input_size: int, hidden_size: int, scale: float = 1.0):
    generator = torch.Generator().manual_seed(seed)
    x = scale * torch.randn(batch, input_size, dtype=torch.float64, generator=generator)
    h = torch.randn(batch, hidden_size, dtype=torch.float64, generator=generator)
    c = torch.randn(batch, hidden_size, dtype=torch.float64, generator=generator)
    return x, h, c


def torch_module(kind: str, input_size: int, hidden_size: int, seed: int, **kwargs) -> nn.Module:
    torch.manual_seed(seed)
    module = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[kind]
    return module(input_size, hidden_size, **kwargs).double()


# --- forward: equal to torch.nn to 1e-12 ---------------------------------------------------


@given(kind=st.sampled_from(["rnn-tanh", "rnn-relu", "lstm", "gru"]), B=sizes, I=sizes, H=sizes, seed=seeds)
def test_forward_equals_torch_cells(kind, B, I, H, seed):
    x, h, c = random_inputs(seed, B, I, H)
    if kind.startswith("rnn"):
        reference = torch_module("rnn", I, H, seed, nonlinearity=kind[4:])
        expected, actual = reference(x, h), from_torch(reference)(x, h)
    elif kind == "lstm":
        reference = torch_module("lstm", I, H, seed)
        expected, actual = torch.cat(reference(x, (h, c)), 1), torch.cat(from_torch(reference)(x, (h, c)), 1)
    else:
        reference = torch_module("gru", I, H, seed)
        expected, actual = reference(x, h), from_torch(reference)(x, h)
    assert relative_error(actual, expected) <= 1e-12


@pytest.mark.parametrize("kind", ["rnn", "lstm", "lstm-proj", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_from_torch_layers_reproduce_the_fused_module(kind, bidirectional):
    torch.manual_seed(0)
    T, B, I, H, L = 7, 3, 4, 5, 2
    module_type = {"rnn": nn.RNN, "lstm": nn.LSTM, "lstm-proj": nn.LSTM, "gru": nn.GRU}[kind]
    options = {"proj_size": 2} if kind == "lstm-proj" else {}
    module = module_type(I, H, num_layers=L, bidirectional=bidirectional, **options).double()
    x = torch.randn(T, B, I, dtype=torch.float64)
    expected = module(x)[0]  # (T, B, D·H), top layer
    directions = 2 if bidirectional else 1
    layer_input = x
    for layer in range(L):
        outputs = []
        for direction in range(directions):
            cell = from_torch(module, layer, direction)
            assert isinstance(cell, ProjectedLSTMCell) == (kind == "lstm-proj")
            steps = range(T) if direction == 0 else range(T - 1, -1, -1)
            state, out = None, [None] * T
            for t in steps:
                state = cell(layer_input[t], state)
                out[t] = state[0] if kind.startswith("lstm") else state
            outputs.append(torch.stack(out))
        layer_input = torch.cat(outputs, dim=-1)
    assert relative_error(layer_input, expected) <= 1e-12


def test_from_torch_copies_and_leaves_module_unchanged():
    module = nn.LSTM(3, 4, num_layers=2).double()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    cell = from_torch(module, layer=1)
    with torch.no_grad():
        cell.weight_hh.zero_()
    for key, value in module.state_dict().items():
        assert torch.equal(value, before[key])
    assert cell.weight_ih.shape == (16, 4)


def test_from_torch_leaves_the_global_random_state_alone():
    module = nn.GRU(3, 4)
    state = torch.get_rng_state()
    from_torch(module)
    assert torch.equal(torch.get_rng_state(), state)


def test_state_dict_loads_into_torch_cell():
    cell = GRUCell(3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    reference = nn.GRUCell(3, 5).double()
    reference.load_state_dict(cell.state_dict())
    x, h, _ = random_inputs(2, 4, 3, 5)
    assert relative_error(cell(x, h), reference(x, h)) <= 1e-12


def test_unbatched_input_like_torch():
    cell = LSTMCell(3, 4, dtype=torch.float64)
    reference = nn.LSTMCell(3, 4).double()
    reference.load_state_dict(cell.state_dict())
    x = torch.randn(3, dtype=torch.float64)
    h, c = cell(x)
    h_ref, c_ref = reference(x)
    assert h.shape == (4,) and relative_error(h, h_ref) <= 1e-12 and relative_error(c, c_ref) <= 1e-12


# --- step Jacobians: equal to jacrev to 1e-12 ------------------------------------------------


def jacrev_per_example(step_of_example, state: torch.Tensor) -> torch.Tensor:
    """Autograd oracle: (B, S, S) from torch.func.jacrev of each example's step s -> s'."""
    jacobians = []
    for b in range(state.shape[0]):
        jacobian = torch.func.jacrev(step_of_example(b))(state[[b]])  # (1, S, 1, S)
        jacobians.append(jacobian[0, :, 0, :])
    return torch.stack(jacobians)


@given(activation=st.sampled_from(activation_names()), B=sizes, I=sizes, H=sizes, seed=seeds)
def test_rnn_step_jacobian_equals_jacrev(activation, B, I, H, seed):
    cell = RNNCell(I, H, activation, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    x, h, _ = random_inputs(seed, B, I, H, scale=2.0)
    expected = jacrev_per_example(lambda b: lambda s: cell(x[[b]], s), h)
    actual = cell.step_jacobian(x, h)
    assert actual.shape == (B, H, H)
    assert relative_error(actual, expected) <= 1e-12


@given(forget_gate=st.booleans(), B=sizes, I=sizes, H=sizes, seed=seeds)
def test_lstm_full_state_jacobian_equals_jacrev(forget_gate, B, I, H, seed):
    cell = LSTMCell(I, H, forget_gate=forget_gate, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    x, h, c = random_inputs(seed, B, I, H)

    def step(b):
        return lambda s: torch.cat(cell(x[[b]], (s[:, :H], s[:, H:])), dim=1)

    expected = jacrev_per_example(step, torch.cat([h, c], dim=1))
    actual = cell.step_jacobian(x, (h, c))
    assert actual.shape == (B, 2 * H, 2 * H)
    assert relative_error(actual, expected) <= 1e-12
    # The carousel-only factor is the (c, c) block: diag(f), and exactly I without a forget gate.
    # Off the diagonal the block is exactly 0; on it, f from the same z through another BLAS path
    # (the Jacobian reads h from a strided state), equal up to the rounding of z.
    carousel = cell.carousel_factor(x, (h, c))
    block = actual[:, H:, H:]
    assert torch.equal(block - torch.diag_embed(torch.diagonal(block, dim1=-2, dim2=-1)), torch.zeros_like(block))
    difference = (torch.diagonal(block, dim1=-2, dim2=-1) - carousel).abs()
    assert bool((difference <= forget_gate_rounding_bound(cell, x, h)).all()), float(difference.max())
    if not forget_gate:
        assert torch.equal(carousel, torch.ones_like(carousel))


@given(B=sizes, I=sizes, H=sizes, seed=seeds)
def test_gru_step_jacobian_equals_jacrev(B, I, H, seed):
    cell = GRUCell(I, H, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    x, h, _ = random_inputs(seed, B, I, H)
    expected = jacrev_per_example(lambda b: lambda s: cell(x[[b]], s), h)
    actual = cell.step_jacobian(x, h)
    assert relative_error(actual, expected) <= 1e-12


def test_lstm_without_forget_gate_keeps_the_cell_state_exactly():
    cell = LSTMCell(2, 3, forget_gate=False, dtype=torch.float64)
    x = torch.randn(4, 2, dtype=torch.float64)
    h, c = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.zero_(), cell.weight_hh.zero_(), cell.bias_hh.zero_()
        cell.bias_ih.copy_(torch.tensor([-40.0] * 3 + [0.0] * 3 + [0.0] * 3 + [0.0] * 3))  # i ≈ 0
    _, c_next = cell(x, (h, c))
    assert torch.allclose(c_next, c, rtol=0, atol=1e-15)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, -3, 2.5, True])
def test_sizes_must_be_positive_integers(size):
    with pytest.raises(InputError, match="hidden_size: expected a positive integer"):
        RNNCell(3, size)


def test_unknown_activation_is_named():
    with pytest.raises(InputError, match="activation.*'swishy'"):
        RNNCell(3, 4, activation="swishy")


def test_wrong_input_size_says_expected_and_got():
    cell = GRUCell(3, 4)
    with pytest.raises(InputError, match="input_size=3, got 5"):
        cell(torch.zeros(2, 5))
    with pytest.raises(InputError, match="got 3D"):
        cell(torch.zeros(1, 2, 3))
    with pytest.raises(InputError, match=r"hx: expected shape \(2, 4\), got \(2, 3\)"):
        cell(torch.zeros(2, 3), torch.zeros(2, 3))


def test_from_torch_rejects_what_it_cannot_represent():
    with pytest.raises(InputError, match="layer: expected 0..0, got 1"):
        from_torch(nn.GRU(3, 4), layer=1)
    with pytest.raises(InputError, match="direction: expected 0..0, got 1"):
        from_torch(nn.GRU(3, 4), direction=1)
    with pytest.raises(InputError, match="got Linear"):
        from_torch(nn.Linear(3, 4))


# --- run: the states of a whole sequence equal torch.nn's outputs ------------------------------


@given(kind=st.sampled_from(["rnn-tanh", "rnn-relu", "lstm", "gru"]), B=sizes, I=sizes, H=sizes, seed=seeds)
def test_run_equals_torch_modules(kind, B, I, H, seed):
    arch, _, nonlinearity = kind.partition("-")
    torch.manual_seed(seed)
    options = {"nonlinearity": nonlinearity} if arch == "rnn" else {}
    module = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[arch](I, H, dtype=torch.float64, **options)
    cell = from_torch(module).requires_grad_(False)
    inputs = torch.randn(7, B, I, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    initial = torch.randn(B, cell.state_size, dtype=torch.float64, generator=torch.Generator().manual_seed(seed + 1))
    states = cell.run(inputs, initial)  # (T+1, B, S)
    hx = (initial[:, :H], initial[:, H:]) if arch == "lstm" else initial
    hx = tuple(part.unsqueeze(0).contiguous() for part in hx) if arch == "lstm" else hx.unsqueeze(0)
    with torch.no_grad():
        output = module(inputs, hx)[0]  # (T, B, H)
    assert torch.equal(states[0], initial)
    assert relative_error(states[1:, :, :H], output) <= 1e-12


# --- the LSTM with a projection (torch.nn.LSTM's proj_size) ----------------------------------------


@given(forget_gate=st.booleans(), B=sizes, I=sizes, H=st.integers(min_value=2, max_value=9), seed=seeds,
       data=st.data())
def test_projected_lstm_full_state_jacobian_equals_jacrev(forget_gate, B, I, H, seed, data):
    P = data.draw(st.integers(min_value=1, max_value=H - 1))
    cell = ProjectedLSTMCell(I, H, P, forget_gate=forget_gate, dtype=torch.float64,
                             generator=torch.Generator().manual_seed(seed))
    x, _, c = random_inputs(seed, B, I, H)
    h = torch.randn(B, P, dtype=torch.float64, generator=torch.Generator().manual_seed(seed + 1))

    def step(b):
        return lambda s: torch.cat(cell(x[[b]], (s[:, :P], s[:, P:])), dim=1)

    expected = jacrev_per_example(step, torch.cat([h, c], dim=1))
    actual = cell.step_jacobian(x, (h, c))
    assert actual.shape == (B, P + H, P + H)
    assert relative_error(actual, expected) <= 1e-12
    # the carousel block (7) is diag(f) as without the projection
    assert torch.equal(actual[:, P:, P:], torch.diag_embed(torch.diagonal(actual[:, P:, P:], dim1=-2, dim2=-1)))


def test_projected_lstm_checks_its_sizes_and_state():
    with pytest.raises(InputError, match="proj_size: expected a size below hidden_size=4, got 4"):
        ProjectedLSTMCell(3, 4, 4)
    cell = ProjectedLSTMCell(3, 4, 2)
    with pytest.raises(InputError, match=r"hx\[0\] \(h\): expected shape \(2, 2\), got \(2, 4\)"):
        cell(torch.zeros(2, 3), (torch.zeros(2, 4), torch.zeros(2, 4)))
    h, c = cell(torch.zeros(3))  # unbatched, zero state
    assert h.shape == (2,) and c.shape == (4,)
