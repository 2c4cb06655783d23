"""minGRU, minLSTM and LRU cells: step Jacobians against torch.func.jacrev, forward against the
papers' equations written out here independently, the linear-recurrence view against stepping,
the LRU's ring initialisation, parameter gradients and bad input; float64 / complex128."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rnngrad.cells.lru import LRUCell
from rnngrad.cells.min_gru import MinGRUCell
from rnngrad.cells.min_lstm import MinLSTMCell
from rnngrad.errors import InputError

sizes = st.integers(min_value=1, max_value=9)
seeds = st.integers(min_value=0, max_value=2**31 - 1)
real_cells = [MinGRUCell, MinLSTMCell]
all_cells = [MinGRUCell, MinLSTMCell, LRUCell]


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    actual, expected = actual.detach(), expected.detach()
    return float((actual - expected).abs().max() / expected.abs().max().clamp_min(1e-300))


def make_cell(cell_type, I: int, H: int, seed: int, **options):
    return cell_type(I, H, dtype=torch.float64, generator=torch.Generator().manual_seed(seed), **options)


def random_inputs(cell, seed: int, batch: int, scale: float = 1.0, steps: int | None = None):
    """x (B, I) or (T, B, I) and a state h (B, H), complex for the LRU."""
    generator = torch.Generator().manual_seed(seed)
    leading = (batch,) if steps is None else (steps, batch)
    x = scale * torch.randn(*leading, cell.input_size, dtype=torch.float64, generator=generator)
    h = torch.randn(batch, cell.hidden_size, dtype=torch.float64, generator=generator)
    if isinstance(cell, LRUCell):
        h = torch.complex(h, torch.randn(batch, cell.hidden_size, dtype=torch.float64, generator=generator))
    return x, h


def jacrev_per_example(step_of_example, state: torch.Tensor) -> torch.Tensor:
    """Autograd oracle: (B, S, S) from torch.func.jacrev of each example's step s -> s'."""
    jacobians = [torch.func.jacrev(step_of_example(b))(state[[b]])[0, :, 0, :] for b in range(state.shape[0])]
    return torch.stack(jacobians)


# --- step Jacobians: equal to jacrev to 1e-12, and diagonal -------------------------------------


@pytest.mark.parametrize("cell_type", real_cells)
@given(B=sizes, I=sizes, H=sizes, seed=seeds)
def test_step_jacobian_equals_jacrev_and_is_diagonal(cell_type, B, I, H, seed):
    cell = make_cell(cell_type, I, H, seed)
    x, h = random_inputs(cell, seed, B, scale=2.0)
    expected = jacrev_per_example(lambda b: lambda s: cell(x[[b]], s), h)
    actual = cell.step_jacobian(x, h)
    assert actual.shape == (B, H, H)
    assert relative_error(actual, expected) <= 1e-12
    diagonal = cell.step_jacobian_diagonal(x, h)  # (B, H)
    assert diagonal.shape == (B, H)
    assert torch.equal(actual, torch.diag_embed(diagonal))  # off the diagonal exactly 0
    assert torch.equal(cell.step_jacobian_diagonal(x, 3 * h + 1), diagonal)  # independent of h_{t-1}


@given(B=sizes, I=sizes, H=sizes, seed=seeds)
def test_lru_real_and_complex_step_jacobians_equal_jacrev(B, I, H, seed):
    cell = make_cell(LRUCell, I, H, seed)
    x, h = random_inputs(cell, seed, B)

    def real_step(b):  # (Re h, Im h) (1, 2H) -> (Re h', Im h') (1, 2H)
        def step(s):
            h_next = cell(x[[b]], torch.complex(s[:, :H], s[:, H:]))
            return torch.cat([h_next.real, h_next.imag], dim=1)

        return step

    expected = jacrev_per_example(real_step, torch.cat([h.real, h.imag], dim=1))  # (B, 2H, 2H)
    real_view = cell.step_jacobian_real(x, h)
    assert real_view.shape == (B, 2 * H, 2 * H)
    assert relative_error(real_view, expected) <= 1e-12
    # Cauchy–Riemann in the oracle: the step is holomorphic, so its complex derivative is
    # ∂Re h'/∂Re h + i ∂Im h'/∂Re h, which is what step_jacobian returns.
    top_left, top_right = expected[:, :H, :H], expected[:, :H, H:]
    bottom_left, bottom_right = expected[:, H:, :H], expected[:, H:, H:]
    assert relative_error(bottom_right, top_left) <= 1e-12
    assert relative_error(top_right, -bottom_left) <= 1e-12
    complex_view = cell.step_jacobian(x, h)
    assert complex_view.shape == (B, H, H) and complex_view.dtype == torch.complex128
    assert relative_error(complex_view, torch.complex(top_left, bottom_left)) <= 1e-12
    assert torch.equal(complex_view, torch.diag_embed(cell.step_jacobian_diagonal(x, h)))
    assert torch.equal(cell.step_jacobian_diagonal(x, h), cell.eigenvalues().expand(B, H))


# --- forward: the papers' equations, written out independently ---------------------------------


def paper_min_gru(cell: MinGRUCell, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    W_z, W_h = cell.weight_ih.split(cell.hidden_size)
    b_z, b_h = cell.bias_ih.split(cell.hidden_size)
    z = 1 / (1 + torch.exp(-(x @ W_z.T + b_z)))
    h_tilde = x @ W_h.T + b_h
    return (1 - z) * h + z * h_tilde


def paper_min_lstm(cell: MinLSTMCell, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    W_f, W_i, W_h = cell.weight_ih.split(cell.hidden_size)
    b_f, b_i, b_h = cell.bias_ih.split(cell.hidden_size)
    f = 1 / (1 + torch.exp(-(x @ W_f.T + b_f)))
    i = 1 / (1 + torch.exp(-(x @ W_i.T + b_i)))
    f_normalised, i_normalised = f / (f + i), i / (f + i)
    return f_normalised * h + i_normalised * (x @ W_h.T + b_h)


def paper_lru(cell: LRUCell, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    modulus, phase = torch.exp(-torch.exp(cell.nu_log)), torch.exp(cell.theta_log)  # polar form of λ
    eigenvalues = torch.complex(modulus * torch.cos(phase), modulus * torch.sin(phase))
    B = torch.complex(cell.B_re, cell.B_im)
    return eigenvalues * h + torch.exp(cell.gamma_log) * (x.to(B.dtype) @ B.T)


paper_step = {MinGRUCell: paper_min_gru, MinLSTMCell: paper_min_lstm, LRUCell: paper_lru}


@pytest.mark.parametrize("cell_type", all_cells)
@given(B=sizes, I=sizes, H=sizes, seed=seeds, scale=st.sampled_from([0.1, 1.0, 4.0]))
def test_forward_equals_the_papers_equations(cell_type, B, I, H, seed, scale):
    cell = make_cell(cell_type, I, H, seed)
    x, h = random_inputs(cell, seed, B, scale=scale)
    assert relative_error(cell(x, h), paper_step[cell_type](cell, x, h)) <= 1e-12
    assert relative_error(cell(x), paper_step[cell_type](cell, x, torch.zeros_like(h))) <= 1e-12


@pytest.mark.parametrize("cell_type", all_cells)
def test_forward_is_exactly_a_times_state_plus_b(cell_type):
    cell = make_cell(cell_type, 3, 5, seed=1)
    x, h = random_inputs(cell, 2, batch=4)
    a, b = cell.coefficients(x)
    assert torch.equal(cell(x, h), a * h + b)


@pytest.mark.parametrize("cell_type", all_cells)
def test_unbatched_input_gives_unbatched_state(cell_type):
    cell = make_cell(cell_type, 3, 5, seed=3)
    x, h = random_inputs(cell, 4, batch=1)
    h_next = cell(x[0], h[0])
    assert h_next.shape == (5,)
    assert torch.equal(h_next, cell(x, h)[0])
    assert cell.step_jacobian(x[0]).shape == (1, 5, 5)  # batched, as the other cells' step_jacobian


@given(B=sizes, I=sizes, H=sizes, seed=seeds, scale=st.sampled_from([1.0, 30.0]))
def test_min_lstm_normalised_gates_sum_to_one(B, I, H, seed, scale):
    cell = make_cell(MinLSTMCell, I, H, seed)
    x, _ = random_inputs(cell, seed, B, scale=scale)
    forget, input_ = cell.normalised_gates(x)
    assert (forget + input_ - 1).abs().max() <= 4 * torch.finfo(torch.float64).eps
    W_f, W_i, _ = cell.weight_ih.detach().split(H)
    b_f, b_i, _ = cell.bias_ih.detach().split(H)
    f, i = torch.sigmoid(x @ W_f.T + b_f), torch.sigmoid(x @ W_i.T + b_i)
    assert relative_error(forget, f / (f + i)) <= 1e-12
    assert torch.equal(cell.step_jacobian_diagonal(x), forget)


def test_min_lstm_gates_stay_finite_where_both_gates_underflow():
    cell = make_cell(MinLSTMCell, 2, 3, seed=0)
    with torch.no_grad():
        cell.weight_ih.zero_()
        cell.bias_ih.copy_(torch.tensor([-800.0, -800.0, -790.0, -790.0, -800.0, -810.0, 1.0, 1.0, 1.0]))
    forget, input_ = cell.normalised_gates(torch.zeros(1, 2, dtype=torch.float64))  # σ(−800) = 0: f/(f+i) = 0/0
    expected = torch.sigmoid(torch.tensor([[-10.0, 0.0, 20.0]], dtype=torch.float64))  # f/(f+i) = σ(k_f − k_i)
    assert relative_error(forget, expected) <= 1e-12
    assert torch.allclose(forget + input_, torch.ones_like(forget), rtol=0, atol=1e-15)


# --- the linear-recurrence view: one batched product equals stepping ----------------------------


@pytest.mark.parametrize("cell_type", all_cells)
@given(B=sizes, I=sizes, H=sizes, T=st.integers(min_value=1, max_value=6), seed=seeds)
def test_coefficients_of_a_sequence_equal_stepping_forward(cell_type, B, I, H, T, seed):
    cell = make_cell(cell_type, I, H, seed)
    inputs, initial = random_inputs(cell, seed, B, steps=T)  # (T, B, I), (B, H)
    a, b = cell.coefficients(inputs)  # (T, B, H) each
    assert a.shape == b.shape == (T, B, H)
    scanned = stepped = initial
    for t in range(T):
        scanned = a[t] * scanned + b[t]
        stepped = cell(inputs[t], stepped)
        a_t, b_t = cell.coefficients(inputs[t])
        assert relative_error(a[t], a_t) <= 1e-12 and relative_error(b[t], b_t) <= 1e-12
    assert relative_error(scanned, stepped) <= 1e-12


# --- LRU initialisation: the paper's ring ------------------------------------------------------


def test_lru_ring_initialisation():
    r_min, r_max, max_phase = 0.9, 0.999, math.pi / 10
    cell = make_cell(LRUCell, 6, 4000, seed=7, r_min=r_min, r_max=r_max, max_phase=max_phase)
    eigenvalues = cell.eigenvalues().detach()
    modulus, phase = eigenvalues.abs(), torch.angle(eigenvalues)
    assert bool(((modulus >= r_min) & (modulus <= r_max)).all())
    assert bool(((phase >= 0) & (phase <= max_phase)).all())
    # |λ|² is uniform on [r_min², r_max²]: its mean within 5 standard errors of the midpoint.
    width = r_max**2 - r_min**2
    assert abs(float((modulus**2).mean()) - (r_min**2 + r_max**2) / 2) <= 5 * width / math.sqrt(12 * 4000)
    gamma = cell.gamma_log.detach().exp()
    assert relative_error(gamma, torch.sqrt(1 - modulus**2)) <= 1e-12
    assert abs(float(cell.B_re.detach().std()) - 1 / math.sqrt(12)) <= 0.01  # N(0, 1/(2I)), I = 6


def test_lru_default_initialisation_covers_the_unit_disc():
    cell = make_cell(LRUCell, 3, 2000, seed=8)
    modulus, phase = cell.eigenvalues().detach().abs(), cell.theta_log.detach().exp()
    assert bool(((modulus > 0) & (modulus < 1)).all())
    assert bool(((phase >= 0) & (phase <= 2 * math.pi)).all())
    assert float(phase.max()) > 6.0 and float(phase.min()) < 0.3


@pytest.mark.parametrize("cell_type", all_cells)
def test_initialisation_is_determined_by_the_generator(cell_type):
    first, second, other = (make_cell(cell_type, 3, 4, seed) for seed in (5, 5, 6))
    for key, value in first.state_dict().items():
        assert torch.equal(value, second.state_dict()[key])
    assert any(not torch.equal(v, other.state_dict()[k]) for k, v in first.state_dict().items())


def test_contract_attributes_and_parameter_shapes():
    min_gru, min_lstm, lru = (make_cell(cell_type, 3, 4, seed=0) for cell_type in all_cells)
    assert (min_gru.arch, min_lstm.arch, lru.arch) == ("mingru", "minlstm", "lru")
    assert all((cell.input_size, cell.hidden_size) == (3, 4) for cell in (min_gru, min_lstm, lru))
    assert {k: tuple(v.shape) for k, v in min_gru.named_parameters()} == {"weight_ih": (8, 3), "bias_ih": (8,)}
    assert {k: tuple(v.shape) for k, v in min_lstm.named_parameters()} == {"weight_ih": (12, 3), "bias_ih": (12,)}
    assert {k: tuple(v.shape) for k, v in lru.named_parameters()} == {
        "nu_log": (4,), "theta_log": (4,), "gamma_log": (4,), "B_re": (4, 3), "B_im": (4, 3)
    }


# --- parameters get gradients: gradcheck (finite differences) on tiny cells -------------------


@pytest.mark.parametrize("cell_type", all_cells)
def test_every_parameter_gets_the_finite_difference_gradient(cell_type):
    cell = make_cell(cell_type, 2, 3, seed=11)
    inputs, initial = random_inputs(cell, 12, batch=2, steps=3)  # (T, B, I), (B, H)
    names = [name for name, _ in cell.named_parameters()]

    def final_state(*parameters):
        state = initial
        for x in inputs:
            state = torch.func.functional_call(cell, dict(zip(names, parameters)), (x, state))
        return torch.view_as_real(state) if state.is_complex() else state

    parameters = tuple(p.detach().clone().requires_grad_(True) for p in cell.parameters())
    assert torch.autograd.gradcheck(final_state, parameters, eps=1e-6, atol=1e-8, rtol=1e-6)
    final_state(*parameters).square().sum().backward()
    for name, parameter in zip(names, parameters):
        assert parameter.grad is not None and bool(parameter.grad.abs().max() > 0), name


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("cell_type", all_cells)
def test_bad_input_is_named_with_what_was_expected_and_what_came(cell_type):
    cell = make_cell(cell_type, 3, 4, seed=0)
    x = torch.zeros(2, 3, dtype=torch.float64)
    state_dtype = torch.complex128 if cell_type is LRUCell else torch.float64
    with pytest.raises(InputError, match="x: expected a tensor, got list"):
        cell([0.0, 0.0, 0.0])
    with pytest.raises(InputError, match="x: expected last dimension input_size=3, got 5"):
        cell(torch.zeros(2, 5, dtype=torch.float64))
    with pytest.raises(InputError, match="x: expected a 1D .* or 2D .* tensor, got 3D"):
        cell(torch.zeros(1, 2, 3, dtype=torch.float64))
    with pytest.raises(InputError, match="x: expected a real tensor of dtype torch.float64 .*got a complex tensor"):
        cell(torch.zeros(2, 3, dtype=torch.complex128))
    with pytest.raises(InputError, match="x: expected .*float64.* got a tensor of dtype torch.float32"):
        cell(torch.zeros(2, 3, dtype=torch.float32))
    with pytest.raises(InputError, match="x: expected .*got an integer tensor"):
        cell.coefficients(torch.zeros(5, 2, 3, dtype=torch.int64))
    with pytest.raises(InputError, match="x: expected last dimension input_size=3, got 4"):
        cell.coefficients(torch.zeros(5, 2, 4, dtype=torch.float64))
    with pytest.raises(InputError, match=r"state: expected shape \(2, 4\), got \(2, 3\)"):
        cell(x, torch.zeros(2, 3, dtype=state_dtype))
    with pytest.raises(InputError, match="state: expected a tensor or None, got float"):
        cell.step_jacobian(x, 0.0)
    with pytest.raises(InputError, match="hidden_size: expected a positive integer, got 0"):
        cell_type(3, 0)
    with pytest.raises(InputError, match="dtype: expected a real floating-point dtype .*got torch.complex128"):
        cell_type(3, 4, dtype=torch.complex128)


@pytest.mark.parametrize("cell_type", real_cells)
def test_real_cells_reject_a_complex_state(cell_type):
    cell = make_cell(cell_type, 3, 4, seed=0)
    with pytest.raises(InputError, match="state: expected a real tensor of dtype torch.float64, got torch.complex128"):
        cell(torch.zeros(2, 3, dtype=torch.float64), torch.zeros(2, 4, dtype=torch.complex128))


def test_lru_rejects_a_real_state_and_a_bad_ring():
    cell = make_cell(LRUCell, 3, 4, seed=0)
    expected = r"state: expected a complex tensor of dtype torch.complex128 \(the LRU's state is complex\), got torch.float64"
    with pytest.raises(InputError, match=expected):
        cell(torch.zeros(2, 3, dtype=torch.float64), torch.zeros(2, 4, dtype=torch.float64))
    with pytest.raises(InputError, match="r_min, r_max: expected 0 ≤ r_min ≤ r_max ≤ 1.*got r_min=0.9, r_max=0.5"):
        LRUCell(3, 4, r_min=0.9, r_max=0.5)
    with pytest.raises(InputError, match="got r_min=0.0, r_max=1.5"):
        LRUCell(3, 4, r_max=1.5)
    with pytest.raises(InputError, match="max_phase: expected a finite number > 0, got 0"):
        LRUCell(3, 4, max_phase=0)
    with pytest.raises(InputError, match="r_min: expected a real number, got True"):
        LRUCell(3, 4, r_min=True)
