"""Speed of ``rnngrad.profile`` against torch's fused forward + backward (issue 18's table), and
in a language model's training step.

Modules: for LSTM, GRU and RNN (tanh) at each size of ``SIZES`` (B × T × H × I × layers),
float32, loss = mean of squared outputs, threads as given (2 by default):
``profile(module, (x,), loss, accumulate_grad=True)`` and ``profile(...)`` (no parameter
gradients) against ``loss(module(x)).backward()``. Timed in blocks (``_timing``: three calls of
one kind in a row, the first not kept, the order rotating), reported as medians; ``ratio`` =
median(profile) / median(fused), ``paired_ratio`` the median of the per-call ratios. Targets: ≤ 1.0 (LSTM, GRU), ≤ 0.8 (RNN) where the fused step takes ≥ 5
ms, ≤ 1.5 below that.

Language model: a 2-layer LSTM LM as in pytorch/examples' word_language_model (embedding 200,
hidden 200, bptt 35, batch 20, vocabulary 33,278 as WikiText-2's), one training step (zero_grad,
forward, cross-entropy, backward, clip 0.25, SGD) with ``loss.backward()`` against the same step
with ``profile(accumulate_grad=True)`` in its place; target ≤ 1.05.

Run on a quiet machine, with both oneDNN ISAs (torch's fused LSTM differs between them)::

    python bench/profile.py [--repeats 9] [--quick] [--device cuda]
    ONEDNN_MAX_CPU_ISA=AVX2 python bench/profile.py

Prints one JSON object, with the CPU model and torch's CPU capability.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from _machine import machine_facts  # noqa: E402  (from bench/, before it leaves sys.path)
from _timing import in_blocks, ratios  # noqa: E402

# bench/ is sys.path[0] when run as a script; this file would shadow the standard library's
# profile module, which torch imports (through cProfile).
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != os.path.dirname(os.path.abspath(__file__))]

import torch  # noqa: E402
from torch import nn  # noqa: E402

from rnngrad.profiler import profile  # noqa: E402

KINDS = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN}
TARGETS = {"LSTM": 1.0, "GRU": 1.0, "RNN": 0.8}  # profile / fused where fused ≥ SMALL_MS
SMALL_MS, SMALL_TARGET = 5.0, 1.5
SIZES = [dict(B=32, T=256, H=128, I=32, layers=1), dict(B=20, T=35, H=200, I=200, layers=2),
         dict(B=1, T=1000, H=64, I=16, layers=1), dict(B=64, T=100, H=512, I=128, layers=1),
         dict(B=8, T=64, H=32, I=8, layers=1)]
LM_TARGET = 1.05


def loss_fn(output):
    return output[0].square().mean()


def synchronized(function, device: str):
    if device == "cpu":
        return function

    def run():
        function()
        torch.cuda.synchronize()

    return run


def measure_module(kind: str, size: dict, repeats: int, device: str) -> dict:
    torch.manual_seed(0)
    module = KINDS[kind](size["I"], size["H"], num_layers=size["layers"]).to(device)
    x = torch.randn(size["T"], size["B"], size["I"], device=device)
    functions = {
        "fused_forward_backward": lambda: loss_fn(module(x)).backward(),
        "profile_accumulate_grad": lambda: profile(module, (x,), loss_fn, accumulate_grad=True),
        "profile_default": lambda: profile(module, (x,), loss_fn),
    }
    functions = {name: synchronized(f, device) for name, f in functions.items()}
    times = in_blocks(functions, repeats, before=lambda: module.zero_grad(set_to_none=True))
    result = {"kind": kind, **size, **ratios(times, "fused_forward_backward")}
    fused_ms = result["median_ms"]["fused_forward_backward"]
    result["target_ratio"] = TARGETS[kind] if fused_ms >= SMALL_MS else SMALL_TARGET
    result["meets_target"] = result["ratio"]["profile_accumulate_grad"] <= result["target_ratio"]
    return result


class LanguageModel(nn.Module):
    """word_language_model's RNNModel (LSTM, untied): embedding, 2-layer LSTM, decoder."""

    def __init__(self, vocabulary=33278, size=200, layers=2, dropout=0.2):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(vocabulary, size)
        self.rnn = nn.LSTM(size, size, layers, dropout=dropout)
        self.decoder = nn.Linear(size, vocabulary)

    def forward(self, tokens, state):  # (T, B)
        output, state = self.rnn(self.drop(self.encoder(tokens)), state)
        return self.decoder(self.drop(output)), state  # (T, B, V)


def measure_language_model(repeats: int, device: str) -> dict:
    torch.manual_seed(0)
    vocabulary, bptt, batch = 33278, 35, 20
    model = LanguageModel(vocabulary).to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=20.0)
    tokens = torch.randint(vocabulary, (bptt + 1, batch), device=device)
    state = tuple(torch.zeros(2, batch, 200, device=device) for _ in range(2))

    def loss_of(output):
        return nn.functional.cross_entropy(output[0].reshape(-1, vocabulary), tokens[1:].reshape(-1))

    def plain_step():
        optimizer.zero_grad()
        loss_of(model(tokens[:-1], state)).backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        optimizer.step()

    def profiled_step():
        optimizer.zero_grad()
        profile(model, (tokens[:-1], state), loss_of, accumulate_grad=True)
        nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        optimizer.step()

    functions = {name: synchronized(f, device) for name, f in
                 {"plain_step": plain_step, "profiled_step": profiled_step}.items()}
    result = {"model": "2-layer LSTM LM, embedding 200, hidden 200, bptt 35, batch 20, vocabulary 33278",
              **ratios(in_blocks(functions, repeats), "plain_step"), "target_ratio": LM_TARGET}
    result["meets_target"] = result["ratio"]["profiled_step"] <= LM_TARGET
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="only the first size, and the LM")
    parser.add_argument("--kinds", default="LSTM,GRU,RNN")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device: expected a machine with a CUDA device, got none (torch.cuda.is_available() is False)")
    torch.set_num_threads(args.threads)
    sizes = SIZES[:1] if args.quick else SIZES
    modules = [measure_module(kind, size, args.repeats, args.device)
               for size in sizes for kind in args.kinds.split(",")]
    language_model = measure_language_model(args.repeats, args.device)
    print(json.dumps({"benchmark": "rnngrad.profile against torch's fused forward + backward",
                      "device": args.device, **machine_facts(), "modules": modules,
                      "language_model": language_model}, indent=1))


if __name__ == "__main__":
    main()
