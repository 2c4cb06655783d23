r"""C7: forget gates near 1 give a long memory. Memory horizon against the forget-gate bias.

On the carousel a unit forgets at the rate of its forget gate. With f_k ≈ σ(b_f) the product
decays like σ(b_f)^k, and its e-folding lag — the memory horizon — is

.. math::

    \tau = -\frac{1}{\log \sigma(b_f)} \approx \frac{1}{1 - \sigma(b_f)}                 \tag{1}

(the right side is the prediction we compare with; the two agree as σ(b_f) → 1). We measure,
per unit and sequence, the first lag k at which the carousel product falls to 1/e,

.. math::

    \tau_{\text{measured}} = \min\Big\{k : \sum_{j=T-k+1}^{T} \log f_j \le -1\Big\}     \tag{2}

and take the median over units and sequences (a unit that never falls within the T steps counts
as T + 1). The forget gate also reads x_t and h_{t−1}, so f_k fluctuates around σ(b_f).
Settings: b_f = 0 (torch's default init), 1, 2, log 99 (σ = 0.99), and chrono init
(Tallec & Ollivier 2018) with T_max = the claims' T.
"""

from __future__ import annotations

import math

import torch

from rnngrad._json import number, numbers
from rnngrad.cells import LSTMCell
from rnngrad.claims._result import CAVEAT, FAILS, HOLDS, Advance, ClaimResult, ClaimsConfig, generator
from rnngrad.claims.lstm_carousel import INPUT_SIZE, lstm_with_forget_bias
from rnngrad.init import chrono
from rnngrad.jacobians import trajectory

C7_CLAIM = ("f near 1 ⇒ long memory: a forget gate close to 1 keeps old memory and keeps ∏ f, "
            "and so the gradient, from vanishing")
SETTINGS = (("0", 0.0), ("1", 1.0), ("2", 2.0), ("log 99", math.log(99.0)), ("chrono", None))
SHORT = 5  # steps: a default-init horizon below this means torch's init is far from "f near 1"
PRODUCT_LAG = 100  # the lag of the ∏ f column (references: σ(0)^100 = 8e-31 ... 0.99^100 = 0.37)


@torch.no_grad()
def measure_memory(config: ClaimsConfig, advance: Advance) -> ClaimResult:
    """C7: measured horizon (2) against the prediction (1) for each forget-gate setting."""
    g = generator(config.seed, "C7")
    H, T, B = config.hidden_size, 3 * config.T, 2 * config.batch
    lag = min(PRODUCT_LAG, T)
    rows, curves = [], {}
    for index, (label, bias) in enumerate(SETTINGS):
        if bias is None:
            cell = chrono(LSTMCell(INPUT_SIZE, H, dtype=torch.float64, generator=g), config.T, g)
        else:
            cell = lstm_with_forget_bias(H, bias, g)
        inputs = torch.randn(T, B, INPUT_SIZE, generator=g, dtype=torch.float64)  # (T, B, I)
        states = trajectory(cell, inputs)  # (T+1, B, 2H)
        log_f = cell.log_forget_gate(inputs.flatten(0, 1), states[:-1].flatten(0, 1)).view(T, B, H)
        log_product = log_f.flip(0).cumsum(0)  # (T, B, H): entry k−1 = Σ of the last k log f, (2)
        fallen = log_product <= -1.0
        first = torch.where(fallen.any(0), fallen.double().argmax(0) + 1, torch.full_like(fallen[0], T + 1,
                                                                                         dtype=torch.float64))
        effective_bias = (cell.bias_ih + cell.bias_hh)[H : 2 * H]  # (H,)
        predicted = 1.0 / (1.0 - torch.sigmoid(effective_bias))  # (1)
        rows.append({
            "forget_bias": label,
            "sigma_b_f": number(torch.sigmoid(effective_bias).median(), 4),
            "predicted_horizon": number(predicted.median(), 4),
            "measured_horizon": number(first.median(), 4),
            "censored_share": number(fallen.any(0).logical_not().double().mean(), 3),
            f"log10_prod_f_{lag}": number(log_product[lag - 1].median() / math.log(10), 4),
            f"predicted_log10_prod_f_{lag}": number(lag * torch.sigmoid(effective_bias).log10().median(), 4),
        })
        curves[label] = numbers(torch.cat([log_f.new_zeros(1), log_product.median(dim=-1).values.median(dim=-1).values])
                                / math.log(10), 5)
        advance((index + 1) / len(SETTINGS))

    by_label = {row["forget_bias"]: row for row in rows}
    measured = " → ".join(_steps(row["measured_horizon"], T) for row in rows[:4])
    predicted = " → ".join(f"{row['predicted_horizon']:.3g}" for row in rows[:4])
    default_product = by_label["0"][f"log10_prod_f_{lag}"]
    evidence = {
        "H": H, "T": T, "sequences": B, "settings": rows,
        "headline": (f"median horizon grows with b_f: {measured} steps for b_f = 0, 1, 2, log 99 "
                     f"(predicted {predicted}); chrono {_steps(by_label['chrono']['measured_horizon'], T)}; "
                     f"torch's default b_f = 0 leaves ∏ f over {lag} steps at 10^{default_product:.0f}"),
    }
    series = {"lag": list(range(T + 1)), "settings": [row["forget_bias"] for row in rows],
              "median_log10_prod_f": curves,
              "predicted": [row["predicted_horizon"] for row in rows],
              "measured": [row["measured_horizon"] for row in rows]}
    return ClaimResult("C7", C7_CLAIM, decide_memory(evidence), evidence, "memory_horizon", series)


def decide_memory(evidence) -> str:
    """C7: the horizon grows with b_f → holds; a caveat when torch's default (b_f = 0) is short."""
    fixed = [row["measured_horizon"] for row in evidence["settings"] if row["forget_bias"] != "chrono"]
    if not (all(a <= b for a, b in zip(fixed, fixed[1:])) and fixed[-1] > fixed[0]):
        return FAILS
    return CAVEAT if fixed[0] < SHORT else HOLDS


def _steps(horizon: float, T: int) -> str:
    return f"> {T}" if horizon > T else f"{horizon:g}"
