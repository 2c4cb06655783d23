"""Benchmark: spectral norm of ∂h_T/∂h_t for every t, rnngrad against the naive route.

Naive route: torch.func.jacrev (vmapped over time) for every step Jacobian, the products
P_t = P_{t+1} J_{t+1}, then torch.linalg.matrix_norm(ord=2) on all of them.
rnngrad: :func:`rnngrad.jacobian_through_time` (analytic Jacobians, log-scaled products,
certified spectral norms). Tanh RNN with torch.nn's default init, T = 256, H = 128, float64,
2 threads; repetitions interleaved, medians reported. Prints one JSON object.

    python bench/jacobian.py [--repeats 7] [--T 256] [--hidden 128] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

# bench/ is sys.path[0] when run as a script; its profile.py would shadow the standard library's
# profile module, which torch imports (through cProfile).
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != os.path.dirname(os.path.abspath(__file__))]

import torch  # noqa: E402

from rnngrad import from_torch, jacobian_through_time  # noqa: E402
from rnngrad.jacobians import trajectory  # noqa: E402


def naive_log10_norms(cell, inputs: torch.Tensor) -> torch.Tensor:
    states = trajectory(cell, inputs.unsqueeze(1))[:, 0]  # (T+1, H)

    def step(x, h):
        return cell(x, h)

    jacobians = torch.func.vmap(torch.func.jacrev(step, argnums=1))(inputs, states[:-1]).detach()  # (T, H, H)
    T, H = inputs.shape[0], cell.hidden_size
    products = [torch.eye(H, dtype=inputs.dtype)]
    for t in range(T - 1, -1, -1):
        products.append(products[-1] @ jacobians[t])
    products = torch.stack(products[::-1])  # (T+1, H, H), entry t is ∂h_T/∂h_t
    return torch.log10(torch.linalg.matrix_norm(products, ord=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--T", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rnn = torch.nn.RNN(32, args.hidden, dtype=torch.float64)
    cell = from_torch(rnn)
    for parameter in cell.parameters():
        parameter.requires_grad_(False)
    inputs = torch.randn(args.T, 32, dtype=torch.float64)

    routes = {"naive": lambda: naive_log10_norms(cell, inputs), "rnngrad": lambda: jacobian_through_time(cell, inputs).log10_norm}
    times: dict[str, list[float]] = {name: [] for name in routes}
    results = {name: route() for name, route in routes.items()}  # warm-up
    for _ in range(args.repeats):
        for name, route in routes.items():
            start = time.perf_counter()
            route()
            times[name].append(time.perf_counter() - start)

    naive, ours = results["naive"], results["rnngrad"]
    comparable = torch.isfinite(naive)
    relative_error = (10 ** (ours[comparable] - naive[comparable]) - 1).abs().max().item()
    median = {name: statistics.median(values) for name, values in times.items()}
    print(json.dumps({
        "benchmark": "spectral norm of dh_T/dh_t for every t (tanh RNN, float64)",
        "T": args.T, "H": args.hidden, "threads": args.threads, "repeats": args.repeats,
        "median_ms": {name: round(value * 1e3, 2) for name, value in median.items()},
        "speedup_vs_naive": round(median["naive"] / median["rnngrad"], 2),
        "max_relative_error": relative_error,
        "naive_finite_entries": int(comparable.sum()),
    }, indent=2))


if __name__ == "__main__":
    main()
