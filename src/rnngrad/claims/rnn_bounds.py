r"""C3 and C4: when the RNN's gradient vanishes, and when it explodes.

With γ = sup |φ'| (1 for tanh, 1/4 for sigmoid) and λ₁ = ‖W_hh‖₂, every factor of the product
(3) of :mod:`rnngrad.claims.rnn_chain` has norm ≤ γλ₁, so (Pascanu, Mikolov & Bengio 2013)

.. math::

    \Big\|\frac{\partial h_T}{\partial h_t}\Big\|_2 \le (\gamma \lambda_1)^{T-t}
    \qquad\Longrightarrow\qquad \lambda_1 < 1/\gamma \text{ is sufficient for vanishing}  \tag{1}

    \text{exploding} \Longrightarrow \lambda_1 > 1/\gamma
    \qquad\text{(necessary, not sufficient)}                                              \tag{2}

C3 tests (1) over many random draws, and the seed's literal reading of "small W_hh" — every
entry in (−1, 1) — which does not bound λ₁. C4 maps ‖∂h_T/∂h_0‖₂ over weight gain λ₁ × input
scale: it tests (2), and shows where saturation (tanh' → 0) makes a large W_hh vanish anyway.
"""

from __future__ import annotations

import torch

from rnngrad._json import number, numbers
from rnngrad.activations import get_activation
from rnngrad.claims._result import CAVEAT, FAILS, HOLDS, Advance, ClaimResult, ClaimsConfig, generator
from rnngrad.claims._tools import lag_major, rnn_cell, unit_spectral_direction
from rnngrad.jacobians import jacobian_through_time, trajectory

C3_CLAIM = ("Small W_hh ⇒ vanishing: if W_hh is small (between −1 and 1), ∂h_T/∂h_t → 0 as T − t grows; "
            "tested as ‖W_hh‖₂ < 1 ⇒ ‖∂h_T/∂h_t‖ ≤ ‖W_hh‖₂^(T−t)")
C4_CLAIM = ("Large W_hh ⇒ exploding: if W_hh is large, ∂h_T/∂h_t can diverge as T − t grows; "
            "tested against the necessary condition λ₁ > 1/γ")
INPUT_SIZE = 4
FIGURE_GAINS = (0.5, 0.9, 1.0, 1.5, 2.0, 4.0)
BOUND_TOLERANCE = 1e-9  # log10 slack for float64 rounding in (1)


def _inputs(T: int, B: int, scale: float, g: torch.Generator) -> torch.Tensor:
    return scale * torch.randn(T, B, INPUT_SIZE, generator=g, dtype=torch.float64)  # (T, B, I)


def _input_weights(H: int, g: torch.Generator) -> torch.Tensor:
    return torch.randn(H, INPUT_SIZE, generator=g, dtype=torch.float64) / INPUT_SIZE**0.5  # (H, I)


def _uniform(low: float, high: float, g: torch.Generator) -> float:
    return float(low + (high - low) * torch.rand(1, generator=g, dtype=torch.float64))


@torch.no_grad()
def measure_vanishing(config: ClaimsConfig, advance: Advance) -> ClaimResult:
    """C3: (1) over ``config.draws`` draws of tanh and sigmoid RNNs, then the entrywise reading."""
    g = generator(config.seed, "C3")
    T, B = config.T, config.batch
    sizes = [H for H in (2, 4, 8, 16, 32) if H <= config.hidden_size] or [config.hidden_size]
    violations, worst, at_lag_T = 0, -float("inf"), []
    for draw in range(config.draws):
        activation = get_activation("tanh" if draw % 2 == 0 else "sigmoid")
        gamma = activation.sup_derivative  # 1 or 1/4
        H = sizes[int(torch.randint(len(sizes), (1,), generator=g))]
        gain = _uniform(0.05, 0.999, g) / gamma  # λ₁ < 1/γ
        scale = 10 ** _uniform(-2, 1, g)
        W = gain * unit_spectral_direction(H, g)
        cell = rnn_cell(activation.name, W, _input_weights(H, g), 0.1 * torch.randn(H, generator=g, dtype=torch.float64))
        log_norm = lag_major(jacobian_through_time(cell, _inputs(T, B, scale, g)).log10_norm)  # (B, T+1) by lag
        lags = torch.arange(T + 1, dtype=torch.float64)
        ratio = log_norm - lags * torch.log10(torch.tensor(gamma * gain))  # (1) holds ⇔ ≤ 0
        worst = max(worst, float(ratio[:, 1:].max()))
        violations += int((ratio[:, 1:] > BOUND_TOLERANCE).sum())
        at_lag_T.append(float(log_norm[:, T].mean()))
        advance(0.6 * (draw + 1) / config.draws)

    entrywise_draws = max(2, config.draws // 8)
    H = config.hidden_size
    not_vanishing, spectral_norms = 0, []
    for draw in range(entrywise_draws):  # the seed's reading: every entry of W_hh in (−1, 1)
        W = 2 * torch.rand(H, H, generator=g, dtype=torch.float64) - 1
        spectral_norms.append(float(torch.linalg.matrix_norm(W, ord=2)))
        cell = rnn_cell("tanh", W, _input_weights(H, g))
        log_norm = lag_major(jacobian_through_time(cell, _inputs(T, B, 0.1, g)).log10_norm)
        not_vanishing += int(float(log_norm[:, T].mean()) > 0)
        advance(0.6 + 0.2 * (draw + 1) / entrywise_draws)

    curves = _gain_curves(config, g)
    advance(1.0)
    median_at_T = float(torch.tensor(at_lag_T).median())
    median_norm = float(torch.tensor(spectral_norms).median())
    evidence = {
        "draws": config.draws, "T": T, "bound_violations": violations,
        "bound_max_log10_ratio": number(worst, 4),
        "median_log10_norm_at_lag_T": number(median_at_T, 4),
        "entrywise_draws": entrywise_draws, "entrywise_not_vanishing": not_vanishing,
        "entrywise_median_spectral_norm": number(median_norm, 4),
        "headline": (f"‖∂h_T/∂h_t‖ ≤ (γλ₁)^(T−t) in all {config.draws} draws × {T} lags "
                     f"({violations} violations; median ‖∂h_T/∂h_0‖ = 1e{median_at_T:.0f}); but with every "
                     f"entry in (−1, 1), ‖W_hh‖₂ ≈ {median_norm:.1f} and {not_vanishing}/{entrywise_draws} "
                     f"draws did not vanish"),
    }
    return ClaimResult("C3", C3_CLAIM, decide_vanishing(evidence), evidence, "rnn_gradient_norms", curves)


def decide_vanishing(evidence) -> str:
    """C3: (1) never violated → holds, with a caveat when entries in (−1, 1) did not vanish."""
    if evidence["bound_violations"]:
        return FAILS
    return CAVEAT if evidence["entrywise_not_vanishing"] else HOLDS


def decide_exploding(evidence) -> str:
    """C4: some cell explodes and none with λ₁ ≤ 1 does; a caveat when λ₁ > 1 also vanishes."""
    if not evidence["exploding_cells"] or evidence["necessary_condition_violations"]:
        return FAILS
    return CAVEAT if evidence["large_gain_vanishing_cells"] else HOLDS


def _gain_curves(config: ClaimsConfig, g: torch.Generator) -> dict:
    """log10 ‖∂h_T/∂h_{T−k}‖₂ against k for the figure gains, one W_hh direction, inputs N(0, 1)."""
    H, T = config.hidden_size, config.T
    direction, W_ih = unit_spectral_direction(H, g), _input_weights(H, g)
    x = _inputs(T, config.batch, 1.0, g)
    curves = {}
    for gain in FIGURE_GAINS:
        log_norm = lag_major(jacobian_through_time(rnn_cell("tanh", gain * direction, W_ih), x).log10_norm)
        curves[f"{gain:g}"] = numbers(log_norm.mean(dim=0), 5)
    return {"lag": list(range(T + 1)), "gains": [f"{gain:g}" for gain in FIGURE_GAINS], "log10_norm": curves}


@torch.no_grad()
def measure_exploding(config: ClaimsConfig, advance: Advance) -> ClaimResult:
    """C4: the regime map over ‖W_hh‖₂ × input scale, and the necessary condition (2)."""
    g = generator(config.seed, "C4")
    H, T, B = config.hidden_size, config.T, config.batch
    direction, W_ih = unit_spectral_direction(H, g), _input_weights(H, g)
    noise = _inputs(T, B, 1.0, g)  # one input draw, rescaled per column of the map
    log_norm = torch.empty(len(config.gains), len(config.input_scales), dtype=torch.float64)
    mean_derivative = torch.empty_like(log_norm)
    cells = len(config.gains) * len(config.input_scales)
    for row, gain in enumerate(config.gains):
        for column, scale in enumerate(config.input_scales):
            cell = rnn_cell("tanh", gain * direction, W_ih)
            x = scale * noise
            log_norm[row, column] = jacobian_through_time(cell, x).log10_norm[:, 0].mean()  # lag T
            states = trajectory(cell, x)  # (T+1, B, H)
            from_input, from_hidden = cell.pre_activations(x, states[:-1])
            mean_derivative[row, column] = (1 - torch.tanh(from_input + from_hidden) ** 2).mean()
            advance((row * len(config.input_scales) + column + 1) / cells)

    gains = torch.tensor(config.gains, dtype=torch.float64).unsqueeze(1)  # (G, 1)
    explodes = log_norm > 0
    necessary_violations = int((explodes & (gains <= 1.0)).sum())  # (2) with γ = 1
    large_vanishing = int((~explodes & (gains > 1.0)).sum())
    flips = [float(gain) for gain, row in zip(config.gains, explodes) if bool(row[0]) and not bool(row[-1])]
    exploding = int(explodes.sum())
    saturated = mean_derivative[:, -1].mean()
    evidence = {
        "H": H, "T": T, "map_cells": cells, "exploding_cells": exploding,
        "necessary_condition_violations": necessary_violations,
        "large_gain_cells": int((gains > 1.0).sum()) * len(config.input_scales),
        "large_gain_vanishing_cells": large_vanishing,
        "gains_flipped_by_saturation": flips,
        "largest_log10_norm": number(log_norm.max(), 4),
        "mean_tanh_derivative_at_largest_input": number(saturated, 4),
        "headline": (f"{exploding}/{cells} cells explode, all with λ₁ > 1 ({necessary_violations} violations "
                     f"of λ₁ > 1/γ); {large_vanishing} cells with λ₁ > 1 vanish; at input scale "
                     f"{config.input_scales[-1]:g} mean tanh' = {float(saturated):.2f} and "
                     f"{len(flips)} gains flip from exploding to vanishing"),
    }
    series = {"gains": list(config.gains), "input_scales": list(config.input_scales),
              "log10_norm_lag_T": numbers(log_norm, 5), "mean_tanh_derivative": numbers(mean_derivative, 5)}
    return ClaimResult("C4", C4_CLAIM, decide_exploding(evidence), evidence, "regime_map", series)
