"""The claims' numbers against independent oracles: torch.func.jacrev, autograd loops, closed forms."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rnngrad.cells import LSTMCell, RNNCell
from rnngrad.claims._tools import autograd_state_jacobians, torch_rnn_step
from rnngrad.claims.activation_claims import decay_rate, maximise_derivative
from rnngrad.claims.lstm_carousel import gates, total_cell_gradients
from rnngrad.claims.rnn_chain import _closed_form_errors
from rnngrad.init import forget_bias
from rnngrad.jacobians import jacobian_through_time, trajectory

F64 = torch.float64


def jacrev_from_state(step, states, inputs, t):
    """∂s_T/∂s_t by torch.func.jacrev of the unrolled recurrence started at s_t."""
    def run(state):
        for x in inputs[t:]:
            state = step(x, state)
        return state
    return torch.func.jacrev(run)(states[t])


def test_autograd_oracle_matches_jacrev():
    generator = torch.Generator().manual_seed(1)
    cell = RNNCell(3, 4, dtype=F64, generator=generator)
    inputs = torch.randn(6, 3, dtype=F64, generator=generator)
    states = trajectory(cell, inputs.unsqueeze(1))[:, 0]
    step = torch_rnn_step(cell)
    ours = autograd_state_jacobians(step, states[0], inputs)
    for t in range(6):
        torch.testing.assert_close(ours[t], jacrev_from_state(step, states, inputs, t), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(ours[6], torch.eye(4, dtype=F64))


def test_c1_product_of_diag_times_w_equals_fused_torch_rnn(claims_by_id):
    evidence = claims_by_id["C1"].evidence
    assert evidence["one_step_max_relative_error"] < 1e-12 and evidence["product_max_relative_error"] < 1e-12
    assert evidence["seed_order_median_relative_error"] > 0.05  # W_hh·diag is a different matrix
    # independent: jacrev through the fused torch.nn.RNN from h_t, against ∏ diag(1 − tanh²(a_k)) W_hh
    torch.manual_seed(3)
    rnn = nn.RNN(2, 5, dtype=F64)
    x = torch.randn(7, 1, 2, dtype=F64)
    W, U, b = rnn.weight_hh_l0.detach(), rnn.weight_ih_l0.detach(), rnn.bias_ih_l0 + rnn.bias_hh_l0
    hs = [torch.zeros(5, dtype=F64)]
    for k in range(7):
        hs.append(torch.tanh(W @ hs[-1] + U @ x[k, 0] + b).detach())
    product = torch.eye(5, dtype=F64)
    for k in range(6, 2, -1):  # t = 3: factors k = 7..4 (1-based a_k uses h_{k−1})
        a = W @ hs[k] + U @ x[k, 0] + b
        product = product @ (torch.diag(1 - torch.tanh(a) ** 2) @ W)
    truth = torch.func.jacrev(lambda h: rnn(x[3:], h.view(1, 1, 5))[1].flatten())(hs[3])
    torch.testing.assert_close(product.detach(), truth, rtol=1e-10, atol=1e-14)


def test_c2_closed_form_exact_for_one_unit_not_for_matrices():
    generator = torch.Generator().manual_seed(4)
    scalar = RNNCell(2, 1, dtype=F64, generator=generator)
    inputs = torch.randn(12, 2, dtype=F64, generator=generator)
    errors, _, _ = _closed_form_errors(scalar, inputs)
    assert float(errors.max()) < 1e-12
    # the scalar closed form by hand: w^k ∏ tanh'(a)
    states = trajectory(scalar, inputs.unsqueeze(1))[:, 0, 0]
    w, u = float(scalar.weight_hh.detach()), scalar.weight_ih.detach()[0]
    b = float((scalar.bias_ih + scalar.bias_hh).detach())
    a = [w * float(states[k]) + float(u @ inputs[k]) + b for k in range(12)]  # a_{k+1}
    by_hand = math.prod(w * (1 - math.tanh(value) ** 2) for value in a[4:])
    truth = jacrev_from_state(torch_rnn_step(scalar), states.view(-1, 1), inputs, 4)
    assert by_hand == pytest.approx(float(truth.detach()), rel=1e-12)
    matrix = RNNCell(2, 6, dtype=F64, generator=generator)
    matrix_errors, _, _ = _closed_form_errors(matrix, inputs)
    assert float(matrix_errors[1:].median()) > 1e-3


def test_c3_bound_holds_for_explicit_products(claims_by_id):
    evidence = claims_by_id["C3"].evidence
    assert evidence["bound_violations"] == 0 and evidence["bound_max_log10_ratio"] <= 1e-9
    generator = torch.Generator().manual_seed(5)
    cell = RNNCell(3, 6, dtype=F64, generator=generator)
    with torch.no_grad():
        cell.weight_hh.mul_(0.9 / torch.linalg.matrix_norm(cell.weight_hh, ord=2))
    inputs = torch.randn(20, 1, 3, dtype=F64, generator=generator)
    result = jacobian_through_time(cell, inputs, keep_products=True)
    for t in range(20):
        norm = torch.linalg.matrix_norm(result.product(t)[0], ord=2)
        assert float(norm) <= 0.9 ** (20 - t) * (1 + 1e-12)
        assert float(result.log10_norm[0, t]) == pytest.approx(math.log10(float(norm)), abs=1e-9)


def test_c4_counts_follow_the_map(claims_by_id):
    claim = claims_by_id["C4"]
    gains, values = claim.series["gains"], claim.series["log10_norm_lag_T"]
    explodes = [(gain, value > 0) for gain, row in zip(gains, values) for value in row]
    assert claim.evidence["exploding_cells"] == sum(flag for _, flag in explodes)
    assert claim.evidence["necessary_condition_violations"] == sum(flag for gain, flag in explodes if gain <= 1)
    T = claim.evidence["T"]
    assert values[0][0] <= T * math.log10(gains[0]) + 1e-9  # λ₁ = 0.5: below (γλ₁)^T


def test_c5_carousel_and_total_gradient_against_hand_written_autograd():
    generator = torch.Generator().manual_seed(6)
    cell = forget_bias(LSTMCell(4, 3, dtype=F64, generator=generator), 1.0)
    inputs = torch.randn(9, 4, dtype=F64, generator=generator)
    states = trajectory(cell, inputs.unsqueeze(1))[:, 0]
    i, f, g, _ = gates(cell, inputs, states)
    cut = torch.func.jacrev(lambda c: [c := f[k] * c + i[k] * g[k] for k in range(2, 9)][-1])(states[2, 3:])
    torch.testing.assert_close(cut, torch.diag(f[2:].prod(dim=0)), rtol=1e-13, atol=1e-15)
    readout = torch.randn(3, dtype=F64, generator=generator)
    torch_cell = nn.LSTMCell(4, 3, dtype=F64)
    torch_cell.load_state_dict(cell.state_dict())
    h = c = torch.zeros(1, 3, dtype=F64)
    kept = []
    for x in inputs:
        h, c = torch_cell(x.view(1, 4), (h, c))
        c.retain_grad()
        kept.append(c)
    (h[0] * readout).sum().backward()
    expected = torch.cat([c.grad for c in kept])
    torch.testing.assert_close(total_cell_gradients(cell, inputs, readout), expected, rtol=1e-10, atol=1e-14)


def test_c6_carousel_bounded_full_product_not(claims_by_id):
    evidence = claims_by_id["C6"].evidence
    assert evidence["carousel_max_log10"] < 0
    assert (evidence["largest_log10_full_norm"] > 0) == (evidence["draws_with_full_norm_above_1"] > 0)


def test_c7_predictions_are_the_closed_forms(claims_by_id):
    rows = {row["forget_bias"]: row for row in claims_by_id["C7"].evidence["settings"]}
    for label, bias in (("0", 0.0), ("1", 1.0), ("2", 2.0), ("log 99", math.log(99))):
        sigma = 1 / (1 + math.exp(-bias))
        assert rows[label]["predicted_horizon"] == pytest.approx(1 / (1 - sigma), rel=1e-3)
    lag = int(next(k for k in rows["0"] if k.startswith("log10_prod_f_")).rsplit("_", 1)[1])
    measured = rows["0"][f"log10_prod_f_{lag}"]
    assert measured == pytest.approx(lag * math.log10(0.5), rel=0.25)  # f ≈ σ(0) = 1/2 on average


def test_c8_c9_maxima_are_exact(claims_by_id):
    assert claims_by_id["C8"].evidence["max_derivative"] == 0.25
    assert claims_by_id["C9"].evidence["max_derivative"] == 1.0
    assert abs(claims_by_id["C8"].evidence["argmax"]) < 1e-6 and abs(claims_by_id["C9"].evidence["argmax"]) < 1e-6


def test_maximiser_finds_known_peaks():
    peak = 0.5 * (1 + math.erf(1.0)) + math.sqrt(2) * math.exp(-1.0) / math.sqrt(2 * math.pi)  # GELU' at √2
    value, argmax = maximise_derivative(torch.nn.functional.gelu)
    assert value == pytest.approx(peak, abs=1e-12) and argmax == pytest.approx(math.sqrt(2), abs=1e-6)
    value, argmax = maximise_derivative(lambda x: torch.sigmoid(x - 1.5))
    assert value == pytest.approx(0.25, abs=1e-15) and argmax == pytest.approx(1.5, abs=1e-6)


def test_decay_rate_of_a_scaled_orthogonal_linear_rnn():
    generator = torch.Generator().manual_seed(7)
    Q = torch.linalg.qr(torch.randn(5, 5, dtype=F64, generator=generator))[0]
    cell = RNNCell(2, 5, "identity", dtype=F64)
    with torch.no_grad():
        cell.weight_hh.copy_(0.5 * Q)  # ‖∂h_T/∂h_{T−k}‖₂ = 0.5^k exactly
    by_lag = jacobian_through_time(cell, torch.randn(30, 2, dtype=F64, generator=generator)).log10_norm.flip(0)
    rate, zero = decay_rate(by_lag)
    assert zero is None and rate == pytest.approx(math.log(2), abs=1e-9)  # nats per step: ln 2, not log10 2
    assert decay_rate(torch.tensor([0.0, -1.0, -math.inf]))[1] == 2
