"""Benchmark: ``rnngrad.profile`` on recurrences called step by step, against the same model's
plain forward + backward.

Two models, float32, 2 threads, loss on the last step's output:

- an ``nn.LSTMCell`` loop (I = 32, H = 128, B = 32, T = 256): one chain of 256 cell calls;
- a decoder that calls its ``nn.GRU`` once per step with the state it returned (same sizes).

``profile(model, (x,), loss, accumulate_grad=True)`` (every dL/dh_t, the log-scaled recursion's
bookkeeping and every parameter's gradient) against ``loss(model(x)).backward()``. Timed in
blocks (``_timing``), the order rotating; medians and the median of per-call ratios are reported. There
is no target in issue 18 for these chains: the numbers show what the per-step hooks cost.

    python bench/profile_chains.py [--repeats 21]

Prints one JSON object, with the CPU model and torch's CPU capability.
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
from torch import nn  # noqa: E402

from rnngrad import profile  # noqa: E402

I, H, B, T = 32, 128, 32, 256


class CellLoop(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.LSTMCell(I, H)

    def forward(self, inputs):
        state = None
        for x in inputs:
            state = self.cell(x, state)
        return state[0]


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(I, H)

    def forward(self, inputs):
        state = None
        for x in inputs:
            output, state = self.rnn(x.unsqueeze(0), state)
        return output[0]


def loss(output):
    return output.square().mean()


def measure(model: nn.Module, x: torch.Tensor, repeats: int) -> dict:
    def plain():
        loss(model(x)).backward()

    def profiled():
        profile(model, (x,), loss, accumulate_grad=True)

    return alternating(plain, profiled, repeats, before=lambda: model.zero_grad(set_to_none=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    torch.manual_seed(0)
    x = torch.randn(T, B, I)
    results = {name: measure(model, x, args.repeats)
               for name, model in (("LSTMCell loop", CellLoop()), ("GRU decoder, one call a step", Decoder()))}
    print(json.dumps({"benchmark": "profile on step-by-step recurrences against their plain forward + backward",
                      "I": I, "H": H, "B": B, "T": T, "dtype": "float32", "repeats": args.repeats,
                      **machine_facts(), "results": results}, indent=1))


if __name__ == "__main__":
    main()
