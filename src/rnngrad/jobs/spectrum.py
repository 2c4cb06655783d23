"""The ``rnngrad spectrum`` job: Lyapunov exponents of one layer of a saved torch.nn.RNN/LSTM/GRU."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from rnngrad.checkpoint import load_checkpoint_and_inputs
from rnngrad.spectrum import Spectrum, spectrum


@dataclass(frozen=True)
class SpectrumJob:
    """What ``rnngrad spectrum`` computes."""

    checkpoint: Path  # state_dict of a torch.nn.RNN, LSTM or GRU
    inputs: Path  # (T, I) tensor, .npy or torch.save
    k: int | None = None  # how many exponents; None for all S (2H for the LSTM)
    warmup: int = 0  # steps left out of the averages
    nonlinearity: str = "tanh"  # for an RNN: "tanh" or "relu"
    layer: int = 0  # which layer's state s = h (RNN, GRU) or (h, c) (LSTM)
    max_log_condition: float | None = None  # L per re-orthonormalisation block; None: −⅓ log ε


def run_spectrum(job: SpectrumJob) -> Spectrum:
    """Load the checkpoint (float64) and inputs; exponents of ``job.layer`` and the measured rate."""
    module, inputs = load_checkpoint_and_inputs(job.checkpoint, job.inputs, job.nonlinearity)  # (T, I)
    return spectrum(module, inputs, k=job.k, warmup=job.warmup, layer=job.layer, max_log_condition=job.max_log_condition)


def contract_json(result: Spectrum) -> dict:
    """The JSON object of the ``rnngrad spectrum --json`` contract (one sequence).

    ``exponents``: natural log per step, descending. An exponent of −inf (an exactly singular
    Jacobian, e.g. a dead ReLU unit) is written as null; so is a rate the profiler could not
    measure.
    """
    return {
        "arch": result.arch,
        "exponents": [value if math.isfinite(value) else None for value in result.exponents.tolist()],
        "log_rate_measured": result.log_rate_measured,
    }
