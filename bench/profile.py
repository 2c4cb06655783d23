"""Speed and peak memory of ``rnngrad.profile`` against torch's fused forward + backward.

For each module kind and size: float32, loss = mean of squared outputs, 2 threads. Timings are
interleaved (fused, profile, ...) repetition by repetition and reported as medians; ``ratio`` is
median(profile) / median(fused), ``paired_ratio`` the median of the per-repetition ratios. Peak memory
is the high-water mark of CPU tensor memory during one call above the level at its start, from
torch.profiler's memory timeline (it sees allocations inside autograd functions too). For the
LSTM, ``profile_accumulate_grad_python_loops`` times the Python loops that serve where the
compiled ones cannot be built.

With ``--device cuda`` the fused side is cuDNN, every timing ends with a synchronize, and peak
memory is ``torch.cuda.max_memory_allocated`` above the level at the call's start.

Run: ``PYTHONPATH=src python bench/profile.py [--repeats 15] [--quick] [--device cuda]``; prints
one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch
from torch.profiler import ProfilerActivity
from torch.profiler import profile as torch_profile
from torch.profiler._memory_profiler import MemoryProfileTimeline  # what export_memory_timeline uses

from rnngrad.profiler import profile
from rnngrad._compiled import NO_COMPILE_VARIABLE, lstm_scans

KINDS = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU, "RNN": torch.nn.RNN}
TARGETS = {"LSTM": 1.0, "GRU": 1.0, "RNN": 0.8}  # profile time / fused time, at most
SIZES = [dict(B=32, T=256, H=128, I=32), dict(B=32, T=1024, H=256, I=32)]


def loss_fn(output):
    return output[0].square().mean()


def variants(module, x):
    def fused_forward_backward():
        loss_fn(module(x)).backward()

    def fused_forward():
        with torch.no_grad():
            module(x)

    def profile_with_parameter_grads():
        profile(module, (x,), loss_fn, accumulate_grad=True)

    def profile_default():
        profile(module, (x,), loss_fn)

    def profile_python_loops():  # the LSTM's fallback where its compiled loops cannot be built
        os.environ[NO_COMPILE_VARIABLE] = "1"
        try:
            profile(module, (x,), loss_fn, accumulate_grad=True)
        finally:
            del os.environ[NO_COMPILE_VARIABLE]

    functions = {
        "fused_forward_backward": fused_forward_backward,
        "profile_accumulate_grad": profile_with_parameter_grads,
        "profile_default": profile_default,
        "fused_forward": fused_forward,
    }
    if isinstance(module, torch.nn.LSTM) and lstm_scans(x.device) is not None:
        functions["profile_accumulate_grad_python_loops"] = profile_python_loops
    return functions


def peak_bytes(function) -> int:
    """High-water mark of CPU tensor memory during ``function()``, above the level at its start.

    From torch.profiler's memory timeline (every allocation and free, inside autograd functions
    too); tensors that exist before the call count only through what is added to them.
    """
    with torch_profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=True,
                       with_stack=True) as prof:
        function()
    _, sizes = MemoryProfileTimeline(prof._memory_profile())._coalesce_timeline("cpu")
    levels = [sum(level) for level in sizes] or [0]
    return max(levels) - levels[0]


def peak_cuda_bytes(function) -> int:
    """High-water mark of CUDA memory allocated during ``function()``, above its start."""
    torch.cuda.synchronize()
    start = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    function()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - start


def synchronized(function, device: str):
    if device == "cpu":
        return function

    def run():
        function()
        torch.cuda.synchronize()

    return run


def measure(kind: str, size: dict, repeats: int, memory: bool = True, device: str = "cpu") -> dict:
    torch.manual_seed(0)
    module = KINDS[kind](size["I"], size["H"]).to(device)
    x = torch.randn(size["T"], size["B"], size["I"], device=device)
    functions = {name: synchronized(f, device) for name, f in variants(module, x).items()}
    for function in functions.values():  # warm up
        function()
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            module.zero_grad(set_to_none=True)
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    base = times["fused_forward_backward"]
    medians = {name: statistics.median(t) for name, t in times.items()}
    result = {"kind": kind, "device": device, **size, "median_ms": {n: round(m * 1e3, 2) for n, m in medians.items()}}
    result["ratio"] = {  # median(profile) / median(fused forward + backward)
        name: round(median / medians["fused_forward_backward"], 3)
        for name, median in medians.items() if name != "fused_forward_backward"
    }
    result["paired_ratio"] = {  # median over repetitions of the side-by-side ratio
        name: round(statistics.median(a / b for a, b in zip(t, base)), 3)
        for name, t in times.items() if name != "fused_forward_backward"
    }
    result["target_ratio"] = TARGETS[kind]
    result["meets_time_target"] = result["ratio"]["profile_accumulate_grad"] <= TARGETS[kind]
    if not memory:
        return result
    peak = peak_bytes if device == "cpu" else peak_cuda_bytes
    module.zero_grad(set_to_none=True)
    fused_peak = peak(functions["fused_forward_backward"])
    module.zero_grad(set_to_none=True)
    profile_peak = peak(functions["profile_accumulate_grad"])
    result["peak_mb"] = {"fused_forward_backward": round(fused_peak / 2**20, 2),
                         "profile_accumulate_grad": round(profile_peak / 2**20, 2)}
    result["memory_ratio"] = round(profile_peak / fused_peak, 3)
    result["meets_memory_target"] = result["memory_ratio"] <= 1.5
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="only the first size")
    parser.add_argument("--kinds", default="LSTM,GRU,RNN")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device: expected a machine with a CUDA device, got none (torch.cuda.is_available() is False)")
    torch.set_num_threads(args.threads)
    sizes = SIZES[:1] if args.quick else SIZES
    results = [
        measure(kind, size, args.repeats if size is SIZES[0] else max(3, args.repeats // 3), not args.no_memory,
                args.device)
        for size in sizes for kind in args.kinds.split(",")
    ]
    load = os.getloadavg()[0]  # a busy shared machine slows multi-threaded runs most
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "load_average_1min": round(load, 2), "results": results}, indent=1))


if __name__ == "__main__":
    main()
