"""∂s_T/∂s_t of one layer of a torch.nn RNN, LSTM or GRU, and readable digests of the norms
(what ``rnngrad jacobian`` prints): norms at selected lags, and the seed's story on random data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from rnngrad.cells import LSTMCell, RNNCell
from rnngrad.jacobians import JacobianThroughTime, jacobian_through_time
from rnngrad.layer_inputs import cell_and_inputs

SUMMARY_LAGS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000)


def jacobian_of_layer(module: nn.Module, inputs: torch.Tensor, layer: int = 0, direction: int = 0) -> JacobianThroughTime:
    """:func:`jacobian_through_time` of ``layer`` (and ``direction``) of ``module`` on the inputs
    that layer reads (the outputs of the layers below). ``inputs`` (T, I) or (T, B, I)."""
    cell, layer_inputs, unbatched = cell_and_inputs(module, inputs, layer, direction)  # (T, B, I_layer)
    return jacobian_through_time(cell, layer_inputs[:, 0] if unbatched else layer_inputs)


@dataclass(frozen=True)
class JacobianSummary:
    """A readable digest of a :class:`JacobianThroughTime` (one sequence)."""

    log10_norm_at_lag: dict[int, float]  # lag k = T − t -> log10 ‖∂s_T/∂s_{T−k}‖₂
    first_lag_below_1e_3: int | None  # smallest lag where the norm < 1e-3
    first_lag_below_1e_10: int | None
    max_log10_norm: float  # over lags ≥ 1
    ever_exceeds_one: bool  # some lag ≥ 1 has norm > 1


def summarize(result: JacobianThroughTime) -> JacobianSummary:
    """Norms at selected lags, where they first drop below 1e-3 and 1e-10, and whether they exceed 1."""
    by_lag = result.log10_norm.flip(0)  # entry k is lag k = T − t
    lags = torch.arange(result.T + 1)

    def first_below(log10_threshold: float) -> int | None:
        below = lags[1:][by_lag[1:] < log10_threshold]
        return int(below[0]) if below.numel() else None

    tail = by_lag[1:]
    return JacobianSummary(
        log10_norm_at_lag={k: float(by_lag[k]) for k in SUMMARY_LAGS if k <= result.T},
        first_lag_below_1e_3=first_below(-3.0),
        first_lag_below_1e_10=first_below(-10.0),
        max_log10_norm=float(tail.max()) if tail.numel() else 0.0,
        ever_exceeds_one=bool((tail > 0).any()),
    )


def demo_results(T: int = 200, hidden_size: int = 32, seed: int = 0) -> list[tuple[str, JacobianThroughTime]]:
    """The seed's story on random data: tanh RNNs at three gains against LSTMs at two forget biases.

    Weights are torch.nn's initial draw U(−1/√H, 1/√H) from a generator seeded with ``seed``
    (torch's global RNG is left alone); the RNN's W_hh is rescaled to the gain shown (its
    spectral norm), and the LSTM's forget-gate bias is set in bias_ih only.
    """
    inputs = torch.randn(T, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    results = []
    for gain in (0.8, 1.0, 2.0):
        rnn = RNNCell(4, hidden_size, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            rnn.weight_hh.mul_(gain / torch.linalg.matrix_norm(rnn.weight_hh, ord=2))
        results.append((f"tanh RNN, ‖W_hh‖₂={gain:g}", jacobian_through_time(rnn, inputs)))
    for forget_bias in (0.0, math.log(99.0)):
        lstm = LSTMCell(4, hidden_size, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            lstm.bias_ih[hidden_size : 2 * hidden_size] = forget_bias
            lstm.bias_hh[hidden_size : 2 * hidden_size] = 0.0
        label = f"LSTM, σ(b_f)={1 / (1 + math.exp(-forget_bias)):.2f}"
        results.append((label, jacobian_through_time(lstm, inputs)))
    return results
