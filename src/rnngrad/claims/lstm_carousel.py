r"""C5 and C6: the LSTM's cell-state derivative, on the carousel and in full.

The seed's LSTM cell state and its derivative along the constant error carousel:

.. math::

    c_k = f_k \odot c_{k-1} + i_k \odot g_k                                            \tag{1}

    \frac{\partial c_T}{\partial c_t}\Big|_{\text{carousel}} = \operatorname{diag}\Big(\prod_{k=t+1}^{T} f_k\Big)
                                                                                      \tag{2}

(2) treats f, i, g as constants: every path c_{k-1} → h_{k-1} → gates is cut. The full
Jacobian of the state s = (h, c) keeps those paths (:mod:`rnngrad.cells.lstm` (4)–(7)); the
total gradient dL/dc_t of a loss collects every path. C5 checks (2) against autograd on the cut
graph and reports the gap to both. C6 checks that (2) never exceeds 1 and searches for LSTM
weights whose full product ‖∂s_T/∂s_t‖₂ does.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rnngrad._json import number, numbers
from rnngrad.cells import LSTMCell
from rnngrad.claims._result import CAVEAT, EXACT, FAILS, HOLDS, Advance, ClaimResult, ClaimsConfig, generator
from rnngrad.claims._tools import autograd_state_jacobians, lag_major, relative_error, torch_lstm_step
from rnngrad.init import forget_bias
from rnngrad.jacobians import jacobian_through_time, trajectory
from rnngrad.profiler import profile

C5_CLAIM = "LSTM: ∂C_T/∂C_t = ∂C_T/∂C_{T−1} · … · ∂C_{t+1}/∂C_t = ∏_{i=t+1}^{T} f_i, from C_t = f_t·C_{t−1} + i_t·C̃_t"
C6_CLAIM = "f ∈ (0, 1) ⇒ no explosion: f cannot exceed 1, so ∂C_T/∂C_t does not explode as T − t grows"
INPUT_SIZE = 4
FORGET_BIASES = (("0", 0.0), ("1", 1.0), ("2", 2.0), ("log 99", math.log(99.0)))
GAP = 1e-3  # relative gap above which the carousel is not the whole derivative
LONG_LAG = 10  # C6 counts norms > 1 from this lag on: growth over many steps, not one step's gain


def lstm_with_forget_bias(H: int, bias: float, g: torch.Generator) -> LSTMCell:
    """A float64 LSTM cell, torch's init drawn from ``g``, with effective forget bias ``bias``."""
    return forget_bias(LSTMCell(INPUT_SIZE, H, dtype=torch.float64, generator=g), bias)


def gates(cell: LSTMCell, inputs: Tensor, states: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """i_k, f_k, g_k, o_k for k = 1..T, each (T, ..., H): inputs (T, ..., I), states s_0..s_T."""
    H = cell.hidden_size
    from_input, from_hidden = cell.pre_activations(inputs, states[:-1, ..., :H])
    z_i, z_f, z_g, z_o = (from_input + from_hidden).chunk(4, dim=-1)  # (T, ..., H) each
    return torch.sigmoid(z_i), torch.sigmoid(z_f), torch.tanh(z_g), torch.sigmoid(z_o)


def total_cell_gradients(cell: LSTMCell, inputs: Tensor, readout: Tensor) -> Tensor:
    """dL/dc_k for k = 1..T, (T, H), of L = readout · h_T, in a torch.nn.LSTM with ``cell``'s weights.

    Read with :func:`rnngrad.profiler.profile`: the total gradient inside the fused module.
    """
    H = cell.hidden_size
    lstm = nn.LSTM(INPUT_SIZE, H, dtype=torch.float64)
    lstm.load_state_dict({f"{name}_l0": value for name, value in cell.state_dict().items()})
    loss = lambda output: (output[0][-1, 0] * readout).sum()  # noqa: E731  (L = w · h_T)
    return profile(lstm, (inputs.unsqueeze(1),), loss).cell_grad("")[:, 0].detach()  # (T, H)


@torch.no_grad()
def measure_carousel(config: ClaimsConfig, advance: Advance) -> ClaimResult:
    """C5: (2) against autograd on the cut graph; its gap to the full Jacobian and to dL/dc_t."""
    g = generator(config.seed, "C5")
    H, T = max(2, config.hidden_size // 2), config.T
    carousel_error, full_error = 0.0, 0.0
    gaps, total_gaps, series = {}, {}, {"lag": list(range(T + 1)), "forget_biases": [], "curves": {}}
    for index, (label, bias) in enumerate(FORGET_BIASES):
        cell = lstm_with_forget_bias(H, bias, g)
        inputs = torch.randn(T, INPUT_SIZE, generator=g, dtype=torch.float64)  # (T, I)
        states = trajectory(cell, inputs.unsqueeze(1))[:, 0]  # (T+1, 2H)
        i, f, g_gate, _ = gates(cell, inputs, states)  # (T, H) each
        log_carousel = torch.cat([f.log().flip(0).cumsum(0).flip(0), f.new_zeros(1, H)])  # (T+1, H), index t
        cut = autograd_state_jacobians(lambda u, c: u[0] * c + u[1], states[0, H:],
                                       torch.stack([f, i * g_gate], dim=1))  # (1) with f, i, g fixed
        carousel_error = max(carousel_error, float(relative_error(torch.diag_embed(log_carousel.exp()), cut).max()))

        result = jacobian_through_time(cell, inputs.unsqueeze(1), keep_products=True)
        full = torch.stack([result.product(t)[0] for t in range(T + 1)])  # (T+1, 2H, 2H)
        if index == 0:  # the library's full product against autograd through torch.nn.LSTMCell
            oracle = autograd_state_jacobians(torch_lstm_step(cell), states[0], inputs)
            full_error = float(relative_error(full[:T], oracle[:T]).max())
        cell_block = full[:, H:, H:]  # ∂c_T/∂c_t with every path, (T+1, H, H)
        gap = relative_error(torch.diag_embed(log_carousel.exp()), cell_block)  # (T+1,)

        readout = torch.randn(H, generator=g, dtype=torch.float64)
        total = total_cell_gradients(cell, inputs, readout)  # (T, H): dL/dc_1..dL/dc_T
        predicted = total[-1] * log_carousel[1:].exp()  # dL/dc_T ⊙ ∏_{k>t} f_k, (T, H), t = 1..T
        total_gap = (total - predicted).norm(dim=1) / total.norm(dim=1)  # (T,)
        gaps[label] = float(gap[:T].median())
        total_gaps[label] = float(total_gap[:-1].median())
        last = total[-1].norm()
        series["forget_biases"].append(label)
        series["curves"][label] = {
            "log10_carousel": numbers(lag_major(log_carousel.max(dim=1).values / math.log(10)), 5),
            "log10_cell_block": numbers(lag_major(torch.linalg.matrix_norm(cell_block, ord=2).log10()), 5),
            "log10_full_state": numbers(lag_major(result.log10_norm[0]), 5),
            "log10_total_cell_grad": numbers(lag_major(torch.cat([(total.norm(dim=1) / last).log10(),
                                                                  total.new_zeros(1)])), 5)[1:],
        }
        advance((index + 1) / len(FORGET_BIASES))

    worst_gap = max(gaps.values())
    worst_total = max(total_gaps.values())
    evidence = {
        "H": H, "T": T,
        "carousel_max_relative_error": number(carousel_error, 3),
        "full_jacobian_max_relative_error": number(full_error, 3),
        "median_gap_to_full_cell_block": {label: number(value, 4) for label, value in gaps.items()},
        "median_gap_to_total_dL_dc": {label: number(value, 4) for label, value in total_gaps.items()},
        "headline": (f"∏ f equals autograd on the carousel to {carousel_error:.0e}; the full ∂c_T/∂c_t "
                     f"differs by {min(gaps.values()):.0%}–{worst_gap:.0%} and the total dL/dc_t by "
                     f"{min(total_gaps.values()):.0%}–{worst_total:.0%} (median over lags, b_f = 0 … log 99)"),
    }
    return ClaimResult("C5", C5_CLAIM, decide_carousel(evidence), evidence, "lstm_carousel", series)


def decide_carousel(evidence) -> str:
    """C5: (2) exact on the cut graph → holds, with a caveat when the full derivatives differ by ≥ GAP."""
    if max(evidence["carousel_max_relative_error"], evidence["full_jacobian_max_relative_error"]) >= EXACT:
        return FAILS
    gaps = [*evidence["median_gap_to_full_cell_block"].values(), *evidence["median_gap_to_total_dL_dc"].values()]
    return CAVEAT if max(gaps) >= GAP else HOLDS


def decide_no_explosion(evidence) -> str:
    """C6: ∏ f ≤ 1 always → holds, with a caveat when some full product exceeds 1."""
    if evidence["carousel_max_log10"] > 1e-12:
        return FAILS
    return CAVEAT if evidence["draws_with_full_norm_above_1"] else HOLDS


@torch.no_grad()
def measure_no_explosion(config: ClaimsConfig, advance: Advance) -> ClaimResult:
    """C6: the carousel never exceeds 1; a random search for full products that do."""
    g = generator(config.seed, "C6")
    H, T, B = max(2, config.hidden_size // 2), config.T, 2
    carousel_max, exceeding, best = -math.inf, 0, None
    for draw in range(config.search_draws):
        weight_scale = 8 ** float(torch.rand(1, generator=g, dtype=torch.float64))  # ×1 .. ×8
        bias = 6 * float(torch.rand(1, generator=g, dtype=torch.float64))  # b_f in [0, 6]
        input_scale = 10 ** float(1.5 * torch.rand(1, generator=g, dtype=torch.float64) - 1)  # 0.1 .. 3.2
        cell = lstm_with_forget_bias(H, bias, g)
        cell.weight_hh.mul_(weight_scale)
        inputs = input_scale * torch.randn(T, B, INPUT_SIZE, generator=g, dtype=torch.float64)
        result = jacobian_through_time(cell, inputs)
        first = min(LONG_LAG, T)
        by_lag = lag_major(result.log10_norm)[:, first:]  # (B, T + 1 − first), lags first..T
        carousel_max = max(carousel_max, float(lag_major(result.log10_carousel)[:, 1:].max()))
        peak = float(by_lag.max())
        exceeding += int(peak > 0)
        if best is None or peak > best["log10_norm"]:
            sequence, lag = divmod(int(by_lag.argmax()), by_lag.shape[1])
            best = {"log10_norm": peak, "lag": lag + first, "weight_scale": weight_scale, "forget_bias": bias,
                    "input_scale": input_scale,
                    "curve": lag_major(result.log10_norm)[sequence],
                    "carousel": lag_major(result.log10_carousel)[sequence]}
        advance((draw + 1) / config.search_draws)

    evidence = {
        "H": H, "T": T, "draws": config.search_draws,
        "carousel_max_log10": number(carousel_max, 4),
        "from_lag": min(LONG_LAG, T),
        "draws_with_full_norm_above_1": exceeding,
        "largest_log10_full_norm": number(best["log10_norm"], 4),
        "largest_at_lag": best["lag"],
        "largest_weight_scale": number(best["weight_scale"], 4),
        "largest_forget_bias": number(best["forget_bias"], 4),
        "largest_input_scale": number(best["input_scale"], 4),
        "headline": (f"∏ f < 1 in every draw (largest {10 ** carousel_max:.6f}); {exceeding}/{config.search_draws} "
                     f"random LSTMs have ‖∂(h,c)_T/∂(h,c)_t‖₂ > 1 at a lag ≥ {min(LONG_LAG, T)}, largest "
                     f"{10 ** best['log10_norm']:.3g} at lag "
                     f"{best['lag']} (W_hh ×{best['weight_scale']:.1f}, b_f = {best['forget_bias']:.1f})"),
    }
    series = {"lag": list(range(T + 1)), "log10_full_state": numbers(best["curve"], 5),
              "log10_carousel": numbers(best["carousel"], 5)}
    return ClaimResult("C6", C6_CLAIM, decide_no_explosion(evidence), evidence, "lstm_explosion", series)
