"""Benchmark: ``rnngrad.profile`` on the diagonal modules against their own forward + backward.

For MinGRU, MinLSTM and LRU (one layer, B = 32, T = 256, I = 32, H = 128, float32, 2 threads):
``profile(model, (x,), loss, accumulate_grad=True)`` (every dL/dh_t and every parameter's
gradient) against ``loss(model(x)).backward()``; timed in blocks (``_timing``), the order
rotating, medians reported, ``ratio`` = median(profile) / median(plain), ``paired_ratio`` the
median of per-call ratios. Target ≤ 1.0 (issue 14). Prints one JSON object.

    python bench/profile_diagonal.py [--repeats 21]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from _machine import machine_facts  # noqa: E402  (from bench/, before it leaves sys.path)
from _timing import alternating  # noqa: E402

# bench/ is sys.path[0] when run as a script; its profile.py would shadow the standard library's
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != os.path.dirname(os.path.abspath(__file__))]

import torch  # noqa: E402

import rnngrad  # noqa: E402
from rnngrad import profile  # noqa: E402


def measure(module: torch.nn.Module, x: torch.Tensor, repeats: int) -> dict:
    def loss(output):
        return output[0][-1].pow(2).mean()

    def plain():
        loss(module(x)).backward()

    def profiled():
        profile(module, (x,), loss, accumulate_grad=True)

    return alternating(plain, profiled, repeats, before=lambda: module.zero_grad(set_to_none=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    x = torch.randn(256, 32, 32, generator=torch.Generator().manual_seed(0))
    results = {}
    for name, module in (("MinGRU", rnngrad.MinGRU(32, 128)), ("MinLSTM", rnngrad.MinLSTM(32, 128)),
                         ("LRU", rnngrad.LRU(32, 128, r_min=0.9, r_max=0.999))):
        results[name] = measure(module, x, args.repeats)
    print(json.dumps({
        "benchmark": "profile on diagonal modules against their own forward + backward",
        "B": 32, "T": 256, "I": 32, "H": 128, "dtype": "float32", "repeats": args.repeats, "target_ratio": 1.0,
        **machine_facts(),
        "results": results,
    }, indent=1))


if __name__ == "__main__":
    main()
