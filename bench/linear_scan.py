"""Benchmark: forward + backward of ``rnngrad.scan.linear_scan`` against the sequential Python loop.

The loop is h = a_t * h + b_t over t with torch autograd, stepping through ``a.unbind(0)`` and
``b.unbind(0)`` (indexing a[t] instead would make the backward O(T²): each select's backward is a
zero tensor of a's full size). Both routes take h_0 = 0 and the same random incoming gradient g
and return ∂L/∂a, ∂L/∂b by ``torch.autograd.grad``. Sizes T = 4096, B = 8, H = 256; float32,
float64 and complex64; 2 threads (linear_scan runs its loops of small ops on one, see
rnngrad.scan); repetitions interleaved (loop, scan, loop, scan, ...), medians reported,
``speedup_vs_loop`` = median(loop) / median(scan), ``paired_speedup`` the median of the
per-repetition ratios; ``scan_forward`` is the scan without autograd. Errors are
max |scan − loop| / max |loop| per output. Prints one JSON object.

Both routes make three (T, B, H) tensors a call (h, ∂L/∂a, ∂L/∂b); tensors that large are often
new memory from the kernel, whose page faults (``minor_page_faults``, median per call; one per
4 KiB page, ~8200 for 32 MiB) are part of the times. Run with THP_MEM_ALLOC_ENABLE=1 to have
torch back them with 2 MiB pages (recorded in the JSON).

    PYTHONPATH=src python bench/linear_scan.py [--repeats 7] [--quick] [--T 4096] [--batch 8]
        [--hidden 256] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

from _machine import machine_facts  # noqa: E402  (from bench/, before it leaves sys.path)

# bench/ is sys.path[0] when run as a script; its profile.py would shadow the standard library's
# profile module, which torch imports (through cProfile).
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != os.path.dirname(os.path.abspath(__file__))]

import torch  # noqa: E402

from rnngrad.scan import linear_scan  # noqa: E402

TARGET_SPEEDUP = 10.0  # forward + backward, loop time / scan time, at least


def sequential_loop(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """h_t = a_t ⊙ h_{t−1} + b_t step by step from h_0 = 0, (T, B, H)."""
    h = torch.zeros_like(b[0])  # (B, H)
    states = []
    for a_t, b_t in zip(a.unbind(0), b.unbind(0)):
        h = a_t * h + b_t
        states.append(h)
    return torch.stack(states)  # (T, B, H)


def inputs(T: int, B: int, H: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """a with |a| uniform in [0.8, 1) (a random phase for complex), b and g standard normal."""
    generator = torch.Generator().manual_seed(0)
    magnitude = 0.8 + 0.2 * torch.rand(T, B, H, generator=generator, dtype=torch.float64)
    if dtype.is_complex:
        phase = 2 * math.pi * torch.rand(T, B, H, generator=generator, dtype=torch.float64)
        a = torch.polar(magnitude, phase)
    else:
        a = magnitude
    b = torch.randn(T, B, H, generator=generator, dtype=torch.float64)
    g = torch.randn(T, B, H, generator=generator, dtype=torch.float64)
    return a.to(dtype).requires_grad_(), b.to(dtype).requires_grad_(), g.to(dtype)


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    return ((actual - expected).abs().max() / expected.abs().max()).item()


def measure(T: int, B: int, H: int, dtype: torch.dtype, repeats: int) -> dict:
    a, b, g = inputs(T, B, H, dtype)

    def forward_backward(route):
        h = route(a, b)
        return (h.detach(), *torch.autograd.grad(h, (a, b), g))

    routes = {
        "loop": lambda: forward_backward(sequential_loop),
        "scan": lambda: forward_backward(linear_scan),
        "scan_forward": lambda: linear_scan(a.detach(), b.detach()),
    }
    results = {name: route() for name, route in routes.items()}  # warm-up
    times: dict[str, list[float]] = {name: [] for name in routes}
    faults: dict[str, list[int]] = {name: [] for name in routes}
    for _ in range(repeats):
        for name, route in routes.items():
            faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start = time.perf_counter()
            route()
            times[name].append(time.perf_counter() - start)
            faults[name].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before)
    median = {name: statistics.median(values) for name, values in times.items()}
    speedup = median["loop"] / median["scan"]
    return {
        "dtype": str(dtype).removeprefix("torch."),
        "median_ms": {name: round(value * 1e3, 2) for name, value in median.items()},
        "speedup_vs_loop": round(speedup, 2),
        "paired_speedup": round(statistics.median(loop / scan for loop, scan in zip(times["loop"], times["scan"])), 2),
        "meets_target": speedup >= TARGET_SPEEDUP,
        "minor_page_faults": {name: int(statistics.median(values)) for name, values in faults.items()},
        "max_relative_error": {
            name: relative_error(ours, loop)
            for name, ours, loop in zip(("h", "grad_a", "grad_b"), results["scan"], results["loop"])
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="float32 only, 3 repetitions")
    parser.add_argument("--T", type=int, default=4096)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dtypes = [torch.float32] if args.quick else [torch.float32, torch.float64, torch.complex64]
    repeats = min(args.repeats, 3) if args.quick else args.repeats
    results = [measure(args.T, args.batch, args.hidden, dtype, repeats) for dtype in dtypes]
    print(json.dumps({
        "benchmark": "linear_scan forward + backward against the sequential Python loop",
        "T": args.T, "B": args.batch, "H": args.hidden, "repeats": repeats,
        "target_speedup": TARGET_SPEEDUP,
        "results": results,
        **machine_facts(),
        "thp_mem_alloc_enable": os.environ.get("THP_MEM_ALLOC_ENABLE"),
    }, indent=1))


if __name__ == "__main__":
    main()
