"""Jacobians through time: against autograd, closed forms and exact known answers."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import rnngrad.jacobians as jacobians_module
from rnngrad import GRUCell, InputError, LSTMCell, ProjectedLSTMCell, RNNCell, jacobian_through_time
from rnngrad.jacobians import trajectory


def make_cell(kind: str, I: int, H: int, seed: int, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    if kind == "lstm":
        return LSTMCell(I, H, dtype=dtype, generator=generator)
    if kind == "lstm-proj":  # c of size H + 1, h of size ⌊(H + 1)/2⌋
        return ProjectedLSTMCell(I, H + 1, (H + 1) // 2, dtype=dtype, generator=generator)
    if kind == "gru":
        return GRUCell(I, H, dtype=dtype, generator=generator)
    return RNNCell(I, H, kind, dtype=dtype, generator=generator)


def autograd_products(cell, inputs: torch.Tensor) -> list[torch.Tensor]:
    """Oracle: ∂s_T/∂s_t for every t by jacrev of the unrolled map s_t -> s_T (one example)."""
    states = trajectory(cell, inputs.unsqueeze(1))[:, 0]  # (T+1, S)
    T = inputs.shape[0]

    def unrolled_from(t):
        def run(state):
            for k in range(t, T):
                state = cell.state_to_vector(cell(inputs[k], cell.vector_to_state(state)))
            return state

        return run

    return [torch.func.jacrev(unrolled_from(t))(states[t]).detach() for t in range(T + 1)]


@given(
    kind=st.sampled_from(["tanh", "sigmoid", "relu", "lstm", "lstm-proj", "gru"]),
    T=st.integers(1, 12),
    I=st.integers(1, 4),
    H=st.integers(1, 6),
    seed=st.integers(0, 10_000),
)
def test_products_and_norms_equal_autograd(kind, T, I, H, seed):
    cell = make_cell(kind, I, H, seed)
    inputs = torch.randn(T, I, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    result = jacobian_through_time(cell, inputs, keep_products=True)
    expected = autograd_products(cell, inputs)
    for t in range(T + 1):
        actual = result.product(t)[0]
        scale = expected[t].abs().max()
        assert (actual - expected[t]).abs().max() <= 1e-12 * scale
        if scale > 0:
            spectral = torch.linalg.matrix_norm(expected[t], ord=2)
            frobenius = torch.linalg.matrix_norm(expected[t])
            assert result.log10_norm[t].item() == pytest.approx(math.log10(spectral), abs=1e-12)
            assert result.log10_frobenius[t].item() == pytest.approx(math.log10(frobenius), abs=1e-12)
    assert result.log10_norm[T] == 0.0


@given(T=st.integers(1, 40), seed=st.integers(0, 10_000))
def test_seed_closed_form_is_exact_for_one_unit(T, seed):
    """H = 1: ∂h_T/∂h_t = W_hh^(T−t) · ∏_{i=t+1..T} tanh'(a_i), the seed's formula."""
    cell = make_cell("tanh", 2, 1, seed)
    inputs = torch.randn(T, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    states = trajectory(cell, inputs.unsqueeze(1))[:, 0, 0]  # (T+1,)
    w = cell.weight_hh[0, 0].item()
    a = (inputs @ cell.weight_ih.T)[:, 0] + cell.bias_ih + cell.bias_hh + w * states[:-1]  # a_1..a_T
    tanh_derivative = 1 - torch.tanh(a) ** 2
    result = jacobian_through_time(cell, inputs, keep_products=True)
    for t in range(T + 1):
        closed_form = w ** (T - t) * torch.prod(tanh_derivative[t:]).item()
        assert result.product(t)[0, 0, 0].item() == pytest.approx(closed_form, rel=1e-12)


@pytest.mark.parametrize("a", [1e-3, 0.5, 0.9, 1.5, 7.0])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_linear_rnn_with_scaled_identity_gives_exact_log_norms(a, dtype):
    """W = aI, φ = identity: ‖∂h_T/∂h_t‖ = a^(T−t), e.g. 1e-3000 at T = 1000, never 0 or inf."""
    T, H = 1000, 6
    cell = RNNCell(3, H, "identity", dtype=dtype)
    with torch.no_grad():
        cell.weight_hh.copy_(a * torch.eye(H, dtype=torch.float64))
    inputs = torch.randn(T, 3, dtype=dtype, generator=torch.Generator().manual_seed(0))
    result = jacobian_through_time(cell, inputs)
    expected = (T - torch.arange(T + 1, dtype=torch.float64)) * math.log10(a)
    tolerance = 1e-9 if dtype == torch.float64 else 1e-3  # absolute, in log10, at |log10| up to 3000
    assert torch.allclose(result.log10_norm, expected, rtol=0, atol=tolerance)
    assert torch.isfinite(result.log10_norm).all()
    # S = H equal singular values: the Frobenius norm is √H times the spectral norm.
    assert torch.allclose(result.log10_frobenius - result.log10_norm, torch.full((T + 1,), 0.5 * math.log10(H), dtype=torch.float64), atol=tolerance)


def test_orthogonal_linear_rnn_keeps_norm_one():
    T, H = 500, 8
    cell = RNNCell(2, H, "identity", dtype=torch.float64)
    orthogonal = torch.linalg.qr(torch.randn(H, H, dtype=torch.float64, generator=torch.Generator().manual_seed(3)))[0]
    with torch.no_grad():
        cell.weight_hh.copy_(orthogonal)
    result = jacobian_through_time(cell, torch.randn(T, 2, dtype=torch.float64))
    assert result.log10_norm.abs().max() <= 1e-12


def test_lstm_carousel_is_the_product_of_forget_gates():
    T = 30
    cell = make_cell("lstm", 3, 4, seed=5)
    inputs = torch.randn(T, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    states = trajectory(cell, inputs.unsqueeze(1))[:, 0]
    with torch.no_grad():
        gates = torch.stack([cell.carousel_factor(inputs[t], cell.vector_to_state(states[t])) for t in range(T)])  # f_1..f_T
    result = jacobian_through_time(cell, inputs)
    for t in range(T + 1):
        expected = torch.prod(gates[t:], dim=0).max() if t < T else torch.tensor(1.0)
        assert result.log10_carousel[t].item() == pytest.approx(math.log10(expected), abs=1e-12)


def test_lstm_carousel_does_not_underflow_over_a_long_horizon():
    """Default init gives f ≈ 0.5: ∏ f over 5000 steps is ~1e-1500, far below float64's range."""
    cell = make_cell("lstm", 2, 3, seed=1, dtype=torch.float32)
    result = jacobian_through_time(cell, torch.randn(5000, 2))
    assert torch.isfinite(result.log10_carousel).all() and result.log10_carousel[0] < -500
    assert torch.isfinite(result.log10_norm).all() and result.log10_norm[0] < -500


def test_initial_state_is_where_the_trajectory_starts():
    cell = make_cell("lstm", 2, 3, seed=6)
    inputs = torch.randn(15, 1, 2, dtype=torch.float64)
    start = torch.randn(1, 6, dtype=torch.float64)
    result = jacobian_through_time(cell, inputs, start, keep_products=True)
    states = trajectory(cell, inputs, start)[:, 0]

    def unrolled(state):
        for t in range(15):
            state = cell.state_to_vector(cell(inputs[t, 0], cell.vector_to_state(state)))
        return state

    expected = torch.func.jacrev(unrolled)(states[0]).detach()
    assert (result.product(0)[0] - expected).abs().max() <= 1e-12 * expected.abs().max()


def test_batch_matches_examples_one_by_one():
    cell = make_cell("gru", 3, 5, seed=2)
    inputs = torch.randn(20, 4, 3, dtype=torch.float64)
    batched = jacobian_through_time(cell, inputs)
    for b in range(4):
        single = jacobian_through_time(cell, inputs[:, b])
        assert torch.allclose(batched.log10_norm[b], single.log10_norm, atol=1e-12)


def test_chunked_spectral_norms_equal_unchunked(monkeypatch):
    cell = make_cell("tanh", 3, 5, seed=4)
    inputs = torch.randn(50, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    whole = jacobian_through_time(cell, inputs)
    monkeypatch.setattr(jacobians_module, "_CHUNK_ELEMENTS", 7 * 2 * 25)  # 7 steps a chunk
    chunked = jacobian_through_time(cell, inputs)
    # the step Jacobians come from one product per chunk, whose rounding may depend on its size
    assert torch.allclose(whole.log10_norm, chunked.log10_norm, rtol=0, atol=1e-12)
    assert torch.allclose(whole.log10_frobenius, chunked.log10_frobenius, rtol=0, atol=1e-13)


def test_bad_inputs_are_named():
    cell = make_cell("tanh", 3, 4, seed=0)
    with pytest.raises(InputError, match="T = 0"):
        jacobian_through_time(cell, torch.zeros(0, 3, dtype=torch.float64))
    with pytest.raises(InputError, match="input size 3.*got 5"):
        jacobian_through_time(cell, torch.zeros(4, 5, dtype=torch.float64))
    with pytest.raises(InputError, match="inputs: expected finite values, got nan"):
        jacobian_through_time(cell, torch.tensor([[0.0, float("nan"), 0.0]], dtype=torch.float64))
    with pytest.raises(InputError, match=r"initial_state: expected a flat state of shape \(1, 4\), got \(1, 3\)"):
        jacobian_through_time(cell, torch.zeros(4, 3, dtype=torch.float64), torch.zeros(1, 3, dtype=torch.float64))
    with torch.no_grad():
        cell.weight_hh[0, 0] = float("inf")
    with pytest.raises(InputError, match="weight_hh.*inf"):
        jacobian_through_time(cell, torch.zeros(4, 3, dtype=torch.float64))


def test_norms_on_a_second_thread_equal_norms_in_line():
    """With two threads the norms of the short lags are certified beside the products; the split
    of the lags is fixed, so the values are the same bit for bit as with one thread."""
    cell = make_cell("tanh", 4, 24, seed=6)
    inputs = torch.randn(200, 2, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        in_line = jacobian_through_time(cell, inputs)
        torch.set_num_threads(2)
        beside = jacobian_through_time(cell, inputs)
        assert torch.get_num_threads() == 2  # restored after the call
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(in_line.log10_norm, beside.log10_norm)
    assert torch.equal(in_line.log10_frobenius, beside.log10_frobenius)
