r"""C8, C9 and C10: the seed's appendix, "why tanh?".

The seed reads the two derivatives off their graphs:

.. math::

    \sigma'(x) = \sigma(x)(1 - \sigma(x)) \le \tfrac14,\qquad
    \tanh'(x) = 1 - \tanh^2 x \le 1,\qquad \text{both maxima at } x = 0               \tag{1}

C8 and C9 find the maxima numerically — autograd derivatives of ``torch.sigmoid`` and
``torch.tanh`` on a dense float64 grid, then a golden-section search — and compare them with
(1). C10 puts every registered activation φ in an RNN with the same weights and measures how
fast ‖∂h_T/∂h_{T−k}‖₂ decays with the lag k: the decay rate r is minus the least-squares slope
of the natural log ln ‖∂h_T/∂h_{T−k}‖₂ against k,

.. math::

    \ln \Big\|\frac{\partial h_T}{\partial h_{T-k}}\Big\|_2 \approx c - r\,k          \tag{2}

in nats per step, as the profiler's decay rate and the Lyapunov exponents (r > 0 vanishes, r < 0
explodes; r / ln 10 is the same rate in decades per step). An activation whose product becomes
exactly 0 (every unit in a flat region at once) has no rate; it is reported as such.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

from rnngrad._json import number, numbers
from rnngrad.activations import ACTIVATIONS, activation_names
from rnngrad.cells import RNNCell
from rnngrad.claims._result import CAVEAT, FAILS, HOLDS, Advance, ClaimResult, ClaimsConfig, generator
from rnngrad.claims._tools import lag_major, least_squares_slope
from rnngrad.jacobians import jacobian_through_time

C8_CLAIM = "max dσ(x)/dx ≈ 0.25: repeated multiplication by sigmoid' makes the gradient vanish"
C9_CLAIM = "max dtanh(x)/dx = 1: tanh resists gradient vanishing better than sigmoid"
C10_CLAIM = ("A tanh RNN keeps its gradient over more steps than a sigmoid RNN with the same weights; "
             "decay rate of ‖∂h_T/∂h_t‖ for every registered activation")
ARGMAX_TOLERANCE = 1e-6  # the maximiser is found to ~√ε of the flat peak
VANISHED = -3.0  # log10 ‖∂h_T/∂h_0‖ below which a gradient counts as vanished after T steps
INPUT_SIZE = 4
GOLDEN = (math.sqrt(5) - 1) / 2


def _derivative(function: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """φ'(x) element-wise by autograd (independent of the registry's analytic derivatives)."""
    with torch.enable_grad():
        x = x.detach().clone().requires_grad_(True)
        return torch.autograd.grad(function(x).sum(), x)[0]


def maximise_derivative(function: Callable[[Tensor], Tensor], low: float = -10.0, high: float = 10.0,
                        points: int = 200_001) -> tuple[float, float]:
    """(max φ', argmax) on [low, high]: dense grid, then golden-section search around the best point."""
    grid = torch.linspace(low, high, points, dtype=torch.float64)
    best = int(_derivative(function, grid).argmax())
    a, b = float(grid[max(best - 1, 0)]), float(grid[min(best + 1, points - 1)])
    value = lambda x: float(_derivative(function, torch.tensor([x], dtype=torch.float64))[0])  # noqa: E731
    for _ in range(100):
        c, d = b - GOLDEN * (b - a), a + GOLDEN * (b - a)
        if value(c) >= value(d):
            b = d
        else:
            a = c
    argmax = (a + b) / 2
    return value(argmax), argmax


def _maximum_claim(claim_id: str, statement: str, name: str, function, exact: float, figure: str) -> ClaimResult:
    maximum, argmax = maximise_derivative(function)
    error = abs(maximum - exact)
    x = torch.linspace(-6.0, 6.0, 241, dtype=torch.float64)
    evidence = {
        "max_derivative": number(maximum, 15), "argmax": number(argmax, 3), "closed_form": exact,
        "abs_error": number(error, 3), "registry_sup_derivative": ACTIVATIONS[name].sup_derivative,
        "headline": (f"max {name}' = {maximum:.15g} at x = {argmax:.0e} (closed form {exact:g}, "
                     f"error {error:.0e})"),
    }
    series = {"x": numbers(x, 6), "value": numbers(function(x), 8), "derivative": numbers(_derivative(function, x), 8)}
    return ClaimResult(claim_id, statement, decide_maximum(evidence), evidence, figure, series)


def decide_maximum(evidence) -> str:
    """C8, C9: the numerical maximum is the closed form, at x = 0."""
    return HOLDS if evidence["abs_error"] < 1e-12 and abs(evidence["argmax"]) < ARGMAX_TOLERANCE else FAILS


def decide_decay(evidence) -> str:
    """C10: tanh decays slower than sigmoid at every weight scale; a caveat when tanh still vanishes."""
    def rate(value):
        return math.inf if value is None else value

    tanh, sigmoid = evidence["tanh_decay_rate_nats_per_step"], evidence["sigmoid_decay_rate_nats_per_step"]
    if not all(rate(tanh[label]) < rate(sigmoid[label]) for label in tanh):
        return FAILS
    at_T = evidence["tanh_log10_norm_at_lag_T"]
    return CAVEAT if at_T is None or at_T < VANISHED else HOLDS


def measure_sigmoid_maximum(config: ClaimsConfig, advance: Advance) -> ClaimResult:
    """C8: max σ' = 1/4 at 0."""
    result = _maximum_claim("C8", C8_CLAIM, "sigmoid", torch.sigmoid, 0.25, "sigmoid")
    advance(1.0)
    return result


def measure_tanh_maximum(config: ClaimsConfig, advance: Advance) -> ClaimResult:
    """C9: max tanh' = 1 at 0."""
    result = _maximum_claim("C9", C9_CLAIM, "tanh", torch.tanh, 1.0, "tanh")
    advance(1.0)
    return result


def decay_rate(log10_norm_by_lag: Tensor) -> tuple[float | None, int | None]:
    """(r of (2) in nats per step over lags 1..T, None) from a (T+1,) curve of log10 norms;
    (None, first lag) if it hits exactly 0."""
    curve = log10_norm_by_lag[1:]
    zero = torch.isneginf(curve)
    if bool(zero.any()):
        return None, int(zero.double().argmax()) + 1
    return -least_squares_slope(curve) * math.log(10), None  # log10 → natural log


@torch.no_grad()
def measure_decay_rates(config: ClaimsConfig, advance: Advance) -> ClaimResult:
    """C10: r of (2) for every registered activation, at three weight scales, the same weights."""
    g = generator(config.seed, "C10")
    H, T, B = config.hidden_size, config.T, config.batch
    base = RNNCell(INPUT_SIZE, H, "tanh", dtype=torch.float64, generator=g)  # torch's init
    inputs = torch.randn(T, B, INPUT_SIZE, generator=g, dtype=torch.float64)  # (T, B, I)
    init_norm = float(torch.linalg.matrix_norm(base.weight_hh, ord=2))
    settings = (("torch init", init_norm), ("‖W_hh‖₂ = 2", 2.0), ("‖W_hh‖₂ = 4", 4.0))
    names = activation_names()
    rates: dict[str, list] = {label: [] for label, _ in settings}
    zeros: dict[str, list] = {label: [] for label, _ in settings}
    at_lag_T: dict[str, dict[str, float | None]] = {label: {} for label, _ in settings}
    total = len(settings) * len(names)
    for row, (label, spectral_norm) in enumerate(settings):
        state = {key: value.clone() for key, value in base.state_dict().items()}
        state["weight_hh"] = state["weight_hh"] * (spectral_norm / init_norm)
        for column, name in enumerate(names):
            cell = RNNCell(INPUT_SIZE, H, name, dtype=torch.float64)
            cell.load_state_dict(state)
            by_lag = lag_major(jacobian_through_time(cell, inputs).log10_norm).mean(dim=0)  # (T+1,)
            rate, zero_from = decay_rate(by_lag)
            rates[label].append(number(rate, 4))
            zeros[label].append(zero_from)
            at_lag_T[label][name] = number(by_lag[T], 4)
            advance((row * len(names) + column + 1) / total)

    tanh, sigmoid = names.index("tanh"), names.index("sigmoid")
    infinite = math.inf

    def rate_of(label: str, index: int) -> float:
        value = rates[label][index]
        return infinite if value is None else value

    default = "torch init"
    ranking = sorted((rate_of(default, i), name) for i, name in enumerate(names))
    evidence = {
        "H": H, "T": T, "torch_init_spectral_norm": number(init_norm, 4),
        "tanh_decay_rate_nats_per_step": {label: rates[label][tanh] for label, _ in settings},
        "sigmoid_decay_rate_nats_per_step": {label: rates[label][sigmoid] for label, _ in settings},
        "tanh_log10_norm_at_lag_T": at_lag_T[default]["tanh"],
        "slowest_decay_at_torch_init": [name for _, name in ranking[:3]],
        "headline": ("decay rate in nats per step, tanh vs sigmoid: "
                     + ", ".join(f"{rate_of(label, tanh):.3f} vs {rate_of(label, sigmoid):.3f}" for label, _ in settings)
                     + f" (‖W_hh‖₂ = {init_norm:.2f}, 2, 4); tanh still reaches 10^{at_lag_T[default]['tanh']:.0f} "
                     f"after {T} steps at torch's init"),
    }
    series = {"activations": names, "settings": [label for label, _ in settings], "decay_rates_nats_per_step": rates,
              "exact_zero_from_lag": zeros, "log10_norm_at_lag_T": at_lag_T}
    return ClaimResult("C10", C10_CLAIM, decide_decay(evidence), evidence, "decay_rates", series)
