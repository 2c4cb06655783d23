"""Step-Jacobian operators: J·Y, P·J and the dense J against torch.func.jacrev, in float64."""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

from rnngrad import GRUCell, LSTMCell, RNNCell
from rnngrad.cells.step_jacobians import DiagonalTimesWeights, HiddenColumnsAndDiagonal, StepJacobians
from rounding import forget_gate_rounding_bound

sizes = st.integers(min_value=1, max_value=7)
seeds = st.integers(min_value=0, max_value=2**31 - 1)
CELLS = {
    "rnn-tanh": lambda I, H, g: RNNCell(I, H, dtype=torch.float64, generator=g),
    "rnn-softsign": lambda I, H, g: RNNCell(I, H, activation="softsign", dtype=torch.float64, generator=g),
    "lstm": lambda I, H, g: LSTMCell(I, H, dtype=torch.float64, generator=g),
    "lstm-1997": lambda I, H, g: LSTMCell(I, H, forget_gate=False, dtype=torch.float64, generator=g),
    "gru": lambda I, H, g: GRUCell(I, H, dtype=torch.float64, generator=g),
}
OPERATOR = {"rnn": DiagonalTimesWeights, "lstm": HiddenColumnsAndDiagonal, "gru": StepJacobians}


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    return float((actual - expected).abs().max() / expected.abs().max())


@given(kind=st.sampled_from(sorted(CELLS)), N=sizes, B=sizes, I=sizes, H=sizes, k=sizes, seed=seeds)
def test_operators_equal_autograd_jacobians(kind, N, B, I, H, k, seed):
    generator = torch.Generator().manual_seed(seed)
    cell = CELLS[kind](I, H, generator)
    S = cell.state_size
    x = torch.randn(N * B, I, dtype=torch.float64, generator=generator)
    state = torch.randn(N * B, S, dtype=torch.float64, generator=generator)

    def step(x_row, s_row):
        return cell._forward_and_jacobian(x_row.unsqueeze(0), s_row.unsqueeze(0), False)[0][0]

    oracle = torch.func.vmap(torch.func.jacrev(step, argnums=1))(x, state).view(N, B, S, S).detach()
    cell.requires_grad_(False)
    operator = cell._step_jacobians(x, state, N)
    assert type(operator) is OPERATOR[cell.arch] and len(operator) == N
    assert relative_error(operator.dense(), oracle) <= 1e-12
    frame = torch.randn(B, S, k, dtype=torch.float64, generator=generator)
    product = torch.randn(B, k, S, dtype=torch.float64, generator=generator)
    for n in range(N):
        assert relative_error(operator.times(n, frame), oracle[n] @ frame) <= 1e-12
        assert relative_error(operator.left_times(n, product), product @ oracle[n]) <= 1e-12


def test_lstm_step_jacobian_is_assembled_from_the_same_blocks():
    cell = LSTMCell(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1)).requires_grad_(False)
    x, state = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 8, dtype=torch.float64)
    dense = cell._forward_and_jacobian(x, state)[1]  # (B, 2H, 2H)
    operator = cell._step_jacobians(x, state, 1)
    assert torch.equal(operator.dense()[0], dense)
    # the c_{t-1} columns are diagonal: ∂h_t/∂c_{t-1} and ∂c_t/∂c_{t-1} = diag(f), with f from a
    # contiguous h here and a strided one in the Jacobian: equal up to the rounding of z_f
    h = state[:, :4].contiguous()
    f = cell.carousel_factor(x, (h, state[:, 4:]))
    difference = (torch.diagonal(dense[:, 4:, 4:], dim1=-2, dim2=-1) - f).abs()
    assert bool((difference <= forget_gate_rounding_bound(cell, x, h)).all()), float(difference.max())
    assert torch.count_nonzero(dense[:, :, 4:]) <= 2 * 2 * 4
