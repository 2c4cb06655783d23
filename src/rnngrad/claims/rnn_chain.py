r"""C1 and C2: the seed's chain rule for the RNN, and its closed form.

The seed's RNN (its eq. for h_t) and the matrix form of its one-step derivative:

.. math::

    a_k = W_{hh} h_{k-1} + W_{xh} x_k + b_h,\qquad h_k = \tanh(a_k)                  \tag{1}

    \frac{\partial h_k}{\partial h_{k-1}} = \operatorname{diag}(\tanh'(a_k))\, W_{hh}  \tag{2}

    \frac{\partial h_T}{\partial h_t} = \prod_{k=T}^{t+1} \operatorname{diag}(\tanh'(a_k))\, W_{hh}
                                                                                      \tag{3}

The seed writes the closed form

.. math::

    \frac{\partial h_T}{\partial h_t} \overset{?}{=} W_{hh}^{T-t} \prod_{k=t+1}^{T} \tanh'(a_k)  \tag{4}

which is (3) when H = 1. For H > 1 the diagonals and W_hh do not commute; what survives is the
norm bound

.. math::

    \Big\|\frac{\partial h_T}{\partial h_t}\Big\|_2 \le \|W_{hh}\|_2^{T-t}
        \prod_{k=t+1}^{T} \max_i \tanh'(a_{k,i})                                       \tag{5}

C1 checks (2) and (3) against autograd through ``torch.nn.RNNCell`` (float64). C2 measures how
far (4) is from (3) (both orders of the diagonal tried, the better one kept) and checks (5).
"""

from __future__ import annotations

import torch

from rnngrad._json import number, numbers
from rnngrad.claims._result import CAVEAT, EXACT, FAILS, HOLDS, Advance, ClaimResult, ClaimsConfig, generator
from rnngrad.claims._tools import autograd_state_jacobians, relative_error, rnn_cell, torch_rnn_step
from rnngrad.claims._tools import unit_spectral_direction
from rnngrad.jacobians import jacobian_through_time, trajectory

C1_CLAIM = ("RNN chain rule: ∂h_T/∂h_t = ∂h_T/∂h_{T−1} · … · ∂h_{t+1}/∂h_t, with "
            "∂h_k/∂h_{k−1} = W_hh · tanh'(W_hh h_{k−1} + W_xh x_k + b_h)")
C2_CLAIM = "Closed form: ∂h_T/∂h_t = W_hh^(T−t) · ∏_{i=t}^{T−1} tanh'(W_hh h_i + W_xh x_{i+1} + b_h)"
INPUT_SIZE = 4
C1_MAX_T = 40  # the autograd oracle costs O(H·T) backward passes


def _tanh_cell(H: int, gain: float, input_scale: float, g: torch.Generator):
    W_hh = gain * unit_spectral_direction(H, g)  # (H, H)
    W_ih = torch.randn(H, INPUT_SIZE, generator=g, dtype=torch.float64) / INPUT_SIZE**0.5
    bias = 0.1 * torch.randn(H, generator=g, dtype=torch.float64)
    return rnn_cell("tanh", W_hh, W_ih, bias), input_scale


def _pre_activations(cell, inputs: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """a_1..a_T of (1), (T, H), for one sequence: inputs (T, I), states s_0..s_T (T+1, H)."""
    from_input, from_hidden = cell.pre_activations(inputs, states[:-1])
    return from_input + from_hidden  # (1), a_{k} uses h_{k-1}


@torch.no_grad()
def measure_chain_rule(config: ClaimsConfig, advance: Advance) -> ClaimResult:
    """C1: (2) and the product (3) against autograd, float64."""
    g = generator(config.seed, "C1")
    H, T = config.hidden_size, min(config.T, C1_MAX_T)
    cell, scale = _tanh_cell(H, 1.0, 1.0, g)
    inputs = scale * torch.randn(T, INPUT_SIZE, generator=g, dtype=torch.float64)  # (T, I)
    states = trajectory(cell, inputs.unsqueeze(1))[:, 0]  # (T+1, H)
    truth = autograd_state_jacobians(torch_rnn_step(cell), states[0], inputs)  # (T+1, H, H)
    advance(0.5)

    a = _pre_activations(cell, inputs, states)  # (T, H)
    derivative = 1 - torch.tanh(a) ** 2  # tanh'(a_k), (T, H)
    one_step = derivative.unsqueeze(-1) * cell.weight_hh.detach()  # (2), (T, H, H): diag(d) W
    seed_order = cell.weight_hh.detach() * derivative.unsqueeze(-2)  # W diag(d), (T, H, H)
    step_truth = torch.stack([autograd_state_jacobians(torch_rnn_step(cell), states[k], inputs[k : k + 1])[0]
                              for k in range(T)])  # ∂h_{k+1}/∂h_k, (T, H, H)

    products = [torch.eye(H, dtype=torch.float64)]  # P_T = I, then P_{T-1}, ...
    for k in range(T - 1, -1, -1):
        products.append(products[-1] @ one_step[k])  # (3), P_k = P_{k+1} J_{k+1}
    products = torch.stack(products[::-1])  # (T+1, H, H), entry t = ∂h_T/∂h_t
    library = jacobian_through_time(cell, inputs.unsqueeze(1), keep_products=True)
    library_products = torch.stack([library.product(t)[0] for t in range(T + 1)])  # (T+1, H, H)
    advance(1.0)

    one_step_error = float(relative_error(one_step, step_truth).max())
    seed_order_error = float(relative_error(seed_order, step_truth).median())
    product_error = float(relative_error(products[:T], truth[:T]).max())
    library_error = float(relative_error(library_products[:T], truth[:T]).max())
    evidence = {
        "H": H, "T": T,
        "one_step_max_relative_error": number(one_step_error, 3),
        "product_max_relative_error": number(product_error, 3),
        "library_product_max_relative_error": number(library_error, 3),
        "seed_order_median_relative_error": number(seed_order_error, 3),
        "headline": (f"diag(tanh')·W_hh and the product of T = {T} steps equal autograd to "
                     f"{max(one_step_error, product_error):.0e} (H = {H}); the seed's order "
                     f"W_hh·diag(tanh') is off by {seed_order_error:.0%}"),
    }
    return ClaimResult("C1", C1_CLAIM, decide_chain_rule(evidence), evidence, None)


def decide_chain_rule(evidence) -> str:
    """C1 holds iff (2) and (3) equal autograd to float64 precision."""
    errors = (evidence["one_step_max_relative_error"], evidence["product_max_relative_error"],
              evidence["library_product_max_relative_error"])
    return HOLDS if max(errors) < EXACT else FAILS


def decide_closed_form(evidence) -> str:
    """C2: exact for H = 1 and H > 1 → holds; exact for H = 1 with the bound (5) → caveat."""
    scalar_exact = evidence["scalar_max_relative_error"] < EXACT
    matrix_exact = evidence["matrix_max_relative_error"] < EXACT
    bound_holds = evidence["bound_violations"] == 0
    if scalar_exact and matrix_exact and bound_holds:
        return HOLDS
    if scalar_exact and bound_holds:
        return CAVEAT  # exact for H = 1 only; the bound (5) is what holds for H > 1
    return FAILS


@torch.no_grad()
def _closed_form_errors(cell, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per lag k = 1..T: relative error of (4) (the better diagonal order), and log10 norms of (3), (4)."""
    T = inputs.shape[0]
    states = trajectory(cell, inputs.unsqueeze(1))[:, 0]  # (T+1, H)
    truth = autograd_state_jacobians(torch_rnn_step(cell), states[0], inputs)  # (T+1, H, H)
    derivative = 1 - torch.tanh(_pre_activations(cell, inputs, states)) ** 2  # (T, H)
    W = cell.weight_hh.detach()
    errors, true_norms, closed_norms = [], [], []
    for lag in range(1, T + 1):
        t = T - lag
        power = torch.linalg.matrix_power(W, lag)  # W_hh^(T−t)
        diagonal = derivative[t:].prod(dim=0)  # ∏_{k=t+1}^{T} tanh'(a_k), (H,)
        left, right = diagonal.unsqueeze(-1) * power, power * diagonal  # diag·W^k, W^k·diag
        candidates = torch.stack([relative_error(left, truth[t]), relative_error(right, truth[t])])
        best = left if candidates[0] <= candidates[1] else right
        errors.append(candidates.min())
        true_norms.append(torch.linalg.matrix_norm(truth[t], ord=2).log10())
        closed_norms.append(torch.linalg.matrix_norm(best, ord=2).log10())
    return torch.stack(errors), torch.stack(true_norms), torch.stack(closed_norms)


@torch.no_grad()
def measure_closed_form(config: ClaimsConfig, advance: Advance) -> ClaimResult:
    """C2: (4) for H = 1 and H > 1 against autograd, and the norm bound (5) over many draws."""
    g = generator(config.seed, "C2")
    T = min(config.T, C1_MAX_T)
    scalar_errors = []
    for _ in range(5):  # H = 1: (4) should be (3) exactly
        cell, scale = _tanh_cell(1, float(0.5 + torch.rand(1, generator=g)), 1.0, g)
        inputs = scale * torch.randn(T, INPUT_SIZE, generator=g, dtype=torch.float64)
        scalar_errors.append(_closed_form_errors(cell, inputs)[0].max())
    scalar_error = float(torch.stack(scalar_errors).max())
    advance(0.2)

    H = config.hidden_size
    cell, scale = _tanh_cell(H, 1.5, 1.0, g)  # the figure's example
    inputs = scale * torch.randn(T, INPUT_SIZE, generator=g, dtype=torch.float64)
    matrix_errors, true_norms, closed_norms = _closed_form_errors(cell, inputs)
    advance(0.5)

    draws = max(4, config.draws // 4)
    worst_ratio, violations = -float("inf"), 0
    for draw_index in range(draws):  # (5) on random draws, lags 1..T of the full T
        gain = float(0.5 + 2.5 * torch.rand(1, generator=g))
        scale = float(10 ** (2 * torch.rand(1, generator=g) - 1))
        draw, _ = _tanh_cell(H, gain, scale, g)
        x = scale * torch.randn(config.T, config.batch, INPUT_SIZE, generator=g, dtype=torch.float64)
        states = trajectory(draw, x)  # (T+1, B, H)
        from_input, from_hidden = draw.pre_activations(x, states[:-1])
        max_derivative = (1 - torch.tanh(from_input + from_hidden) ** 2).amax(dim=-1)  # (T, B)
        log_bound_steps = max_derivative.log10() + torch.log10(torch.tensor(gain, dtype=torch.float64))
        log_bound = torch.cat([log_bound_steps.flip(0).cumsum(0).flip(0), x.new_zeros(1, x.shape[1])])  # (T+1, B)
        log_norm = jacobian_through_time(draw, x).log10_norm.T  # (T+1, B), index t
        ratio = (log_norm - log_bound)[:-1]  # (5) holds ⇔ ratio ≤ 0
        worst_ratio = max(worst_ratio, float(ratio.max()))
        violations += int((ratio > 1e-9).sum())
        advance(0.5 + 0.5 * (draw_index + 1) / draws)

    median_error = float(matrix_errors[1:].median())
    norm_gap = float((true_norms - closed_norms).abs().max())
    evidence = {
        "T": T, "H": H,
        "scalar_max_relative_error": number(scalar_error, 3),
        "matrix_median_relative_error": number(median_error, 3),
        "matrix_max_relative_error": number(matrix_errors[1:].max(), 3),
        "matrix_max_log10_norm_gap": number(norm_gap, 3),
        "bound_draws": draws, "bound_lags_per_draw": config.T,
        "bound_max_log10_ratio": number(worst_ratio, 4),
        "bound_violations": violations,
        "headline": (f"exact for H = 1 (error {scalar_error:.0e}); for H = {H} off by "
                     f"{median_error:.0%} (median over lags, norms up to {norm_gap:.2f} decades apart); "
                     f"the norm bound holds in {draws} draws × {config.T} lags "
                     f"({violations} violations)"),
    }
    series = {"lag": list(range(1, T + 1)), "relative_error": numbers(matrix_errors),
              "log10_true_norm": numbers(true_norms), "log10_closed_form_norm": numbers(closed_norms)}
    return ClaimResult("C2", C2_CLAIM, decide_closed_form(evidence), evidence, "rnn_closed_form", series)
