"""The ``rnngrad jacobian`` job: ∂s_T/∂s_t of one layer of a saved torch.nn.RNN/LSTM/GRU."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from rnngrad.cells import from_torch
from rnngrad.checkpoint import load_checkpoint_and_inputs
from rnngrad.errors import InputError
from rnngrad.jacobians import JacobianThroughTime, jacobian_through_time

SUMMARY_LAGS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000)


@dataclass(frozen=True)
class JacobianJob:
    """What ``rnngrad jacobian`` computes."""

    checkpoint: Path  # state_dict of a torch.nn.RNN, LSTM or GRU
    inputs: Path  # (T, I) tensor, .npy or torch.save
    nonlinearity: str = "tanh"  # for an RNN: "tanh" or "relu"
    layer: int = 0  # which layer's state s = h (RNN, GRU) or (h, c) (LSTM)


@dataclass(frozen=True)
class JacobianSummary:
    """A readable digest of a :class:`JacobianThroughTime` (one sequence)."""

    log10_norm_at_lag: dict[int, float]  # lag k = T − t -> log10 ‖∂s_T/∂s_{T−k}‖₂
    first_lag_below_1e_3: int | None  # smallest lag where the norm < 1e-3
    first_lag_below_1e_10: int | None
    max_log10_norm: float  # over lags ≥ 1
    ever_exceeds_one: bool  # some lag ≥ 1 has norm > 1


def run_jacobian(job: JacobianJob) -> JacobianThroughTime:
    """Load the checkpoint and inputs and compute the Jacobians through time of ``job.layer``."""
    module, inputs = load_checkpoint_and_inputs(job.checkpoint, job.inputs, job.nonlinearity)  # (T, I)
    cell = from_torch(module, layer=job.layer)
    return jacobian_through_time(cell, input_of_layer(module, inputs, job.layer))


@torch.no_grad()
def input_of_layer(module: nn.RNNBase, inputs: torch.Tensor, layer: int) -> torch.Tensor:
    """What ``layer`` of a multi-layer module reads: the outputs of the layers below, (T, D·H_out)."""
    if not 0 <= layer < module.num_layers:
        raise InputError(f"layer: expected 0..{module.num_layers - 1}, got {layer}")
    if layer == 0:
        return inputs
    below = _truncated(module, layer)
    return below(inputs)[0]  # (T, D·H_out), from a zero initial state


def _truncated(module: nn.RNNBase, layers: int) -> nn.RNNBase:
    """A copy of ``module`` with only its first ``layers`` layers (eval mode, no dropout)."""
    options = dict(
        input_size=module.input_size,
        hidden_size=module.hidden_size,
        num_layers=layers,
        bias=module.bias,
        bidirectional=module.bidirectional,
        dtype=module.weight_ih_l0.dtype,
    )
    if isinstance(module, nn.LSTM):
        copy: nn.RNNBase = nn.LSTM(proj_size=module.proj_size, **options)
    elif isinstance(module, nn.GRU):
        copy = nn.GRU(**options)
    else:
        copy = nn.RNN(nonlinearity=module.nonlinearity, **options)
    kept = {k: v for k, v in module.state_dict().items() if int(k.split("_l")[1].split("_")[0]) < layers}
    copy.load_state_dict(kept)
    return copy.eval()


def contract_json(result: JacobianThroughTime) -> dict:
    """The JSON object of the ``rnngrad jacobian --json`` contract (one sequence).

    ``log10_norm`` has T+1 entries (entry t for ∂s_T/∂s_t, entry T is 0). An exactly zero
    Jacobian (log 0 = −inf, e.g. a dead ReLU layer) is written as null.
    """
    data = {
        "arch": result.arch,
        "T": result.T,
        "hidden_size": result.state_size // 2 if result.arch == "lstm" else result.state_size,
        "log10_norm": _finite_or_none(result.log10_norm),
    }
    if result.log10_carousel is not None:
        data["log10_norm_carousel"] = _finite_or_none(result.log10_carousel)
    return data


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

    Weights are torch.nn's default draw (seeded); the RNN's W_hh is rescaled to the gain shown
    (its spectral norm), and the LSTM's forget-gate bias is set in bias_ih only.
    """
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(T, 4, dtype=torch.float64, generator=generator)
    results = []
    for gain in (0.8, 1.0, 2.0):
        torch.manual_seed(seed)
        rnn = nn.RNN(4, hidden_size, dtype=torch.float64)
        with torch.no_grad():
            rnn.weight_hh_l0.mul_(gain / torch.linalg.matrix_norm(rnn.weight_hh_l0, ord=2))
        results.append((f"tanh RNN, ‖W_hh‖₂={gain:g}", jacobian_through_time(from_torch(rnn), inputs)))
    for forget_bias in (0.0, math.log(99.0)):
        torch.manual_seed(seed)
        lstm = nn.LSTM(4, hidden_size, dtype=torch.float64)
        with torch.no_grad():
            lstm.bias_ih_l0[hidden_size : 2 * hidden_size] = forget_bias
            lstm.bias_hh_l0[hidden_size : 2 * hidden_size] = 0.0
        label = f"LSTM, σ(b_f)={1 / (1 + math.exp(-forget_bias)):.2f}"
        results.append((label, jacobian_through_time(from_torch(lstm), inputs)))
    return results


def _finite_or_none(values: torch.Tensor) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in values.tolist()]
