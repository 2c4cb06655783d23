"""Benchmark: the full Lyapunov spectrum against a straightforward QR at every step.

    python bench/spectrum.py [--repeats 5] [--steps 1024] [--hidden 128] [--threads 2] [--models rnn_tanh,lstm_h_c]

Models: a tanh ``torch.nn.RNN`` (S = H) and a ``torch.nn.LSTM`` on its full (h, c) state
(S = 2H), torch's default initialisation (seed 0), float64, inputs x_t ~ N(0, 1) of size 32
(seed 1), one sequence, 2 threads by default. The baseline is the textbook loop: for each step, build J_t
with the cell, then ``Q, R = torch.linalg.qr(J_t @ Q)``. Every variant runs the whole job from
the inputs (trajectory included). Repetitions are interleaved (the order rotates each round) and
times are medians. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch
from torch import nn

from rnngrad.cells import from_torch
from rnngrad.jacobians import trajectory
from rnngrad.spectra.lyapunov import default_log_condition, lyapunov_exponents

INPUT_SIZE = 32
TOP = 10


@torch.no_grad()
def baseline_exponents(cell, inputs: torch.Tensor) -> torch.Tensor:
    """The straightforward QR method: one Householder QR (with Q formed) at every step, (S,)."""
    states = trajectory(cell, inputs)  # (T+1, 1, S)
    S = cell.state_size
    frame = torch.eye(S, dtype=inputs.dtype).unsqueeze(0)  # Q_0 = I, (1, S, S)
    sums = torch.zeros(1, S, dtype=torch.float64)
    for t in range(inputs.shape[0]):
        jacobian = cell._forward_and_jacobian(inputs[t], states[t])[1]  # (1, S, S)
        frame, R = torch.linalg.qr(jacobian @ frame)
        sums += R.diagonal(dim1=-2, dim2=-1).abs().log()
    return (sums / inputs.shape[0]).sort(dim=1, descending=True).values[0]


@torch.no_grad()
def mean_log_det(cell, inputs: torch.Tensor) -> float:
    """(1/T) Σ log|det J_t|, what the exponents must sum to."""
    states = trajectory(cell, inputs)
    total = 0.0
    for t in range(inputs.shape[0]):
        total += float(torch.linalg.slogdet(cell._forward_and_jacobian(inputs[t], states[t])[1]).logabsdet)
    return total / inputs.shape[0]


def variants() -> dict[str, dict]:
    """name -> keyword arguments of :func:`lyapunov_exponents`."""
    return {
        "every_step": {"max_interval": 1},
        "default": {"max_log_condition": None},
        "budget_24": {"max_log_condition": 24.0},
        "budget_30": {"max_log_condition": 30.0},
    }


def timed(run) -> tuple[float, object]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def bench_model(name: str, module: nn.Module, inputs: torch.Tensor, repeats: int) -> dict:
    cell = from_torch(module)
    S = cell.state_size
    runs = {"baseline": lambda: baseline_exponents(cell, inputs)}
    for label, options in variants().items():
        runs[label] = lambda options=options: lyapunov_exponents(cell, inputs, S, **options)
    times: dict[str, list[float]] = {label: [] for label in runs}
    results: dict[str, object] = {}
    labels = list(runs)
    for round_ in range(repeats):
        shift = round_ % len(labels)
        for label in labels[shift:] + labels[:shift]:  # interleaved, rotating order
            seconds, results[label] = timed(runs[label])
            times[label].append(seconds)

    reference = results["baseline"]
    log_det = mean_log_det(cell, inputs)
    baseline_ms = 1e3 * statistics.median(times["baseline"])
    report = {
        "state_size": S,
        "baseline_ms": round(baseline_ms, 1),
        "baseline_sum_rule_error": float(abs(reference.sum() - log_det)),
        "top_exponents": [round(float(v), 6) for v in reference[:3]],
        "bottom_exponent": round(float(reference[-1]), 6),
        "variants": {},
    }
    for label, options in variants().items():
        found = results[label]
        exponents = found.exponents[0]
        budget = options.get("max_log_condition")
        milliseconds = 1e3 * statistics.median(times[label])
        per_round = [v / b for v, b in zip(times[label], times["baseline"])]
        report["variants"][label] = {
            "max_log_condition": None if "max_interval" in options else
            round(default_log_condition(inputs.dtype) if budget is None else budget, 2),
            "ms": round(milliseconds, 1),
            "ratio": round(milliseconds / baseline_ms, 3),
            "ratio_median_of_rounds": round(statistics.median(per_round), 3),
            "factorizations": found.factorizations,
            "top10_max_abs_diff": float((exponents[:TOP] - reference[:TOP]).abs().max()),
            "all_max_abs_diff": float((exponents - reference).abs().max()),
            "sum_rule_error": float(abs(exponents.sum() - log_det)),
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=1024)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", default="rnn_tanh,lstm_h_c")
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)
    load_before = os.getloadavg()[0]
    dtype = torch.float64
    inputs = torch.randn(arguments.steps, 1, INPUT_SIZE, dtype=dtype, generator=torch.Generator().manual_seed(1))
    models = {}
    for name, kind in (("rnn_tanh", nn.RNN), ("lstm_h_c", nn.LSTM)):
        if name not in arguments.models.split(","):
            continue
        torch.manual_seed(0)
        module = kind(INPUT_SIZE, arguments.hidden, dtype=dtype)
        models[name] = bench_model(name, module, inputs, arguments.repeats)
    print(json.dumps({
        "threads": torch.get_num_threads(),
        "dtype": "float64",
        "T": arguments.steps,
        "hidden_size": arguments.hidden,
        "repeats": arguments.repeats,
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "models": models,
    }, indent=1))


if __name__ == "__main__":
    main()
