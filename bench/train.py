"""Benchmark: training throughput of ``rnngrad.training.train`` against a bare torch loop.

Both routes train the same fused ``torch.nn.LSTM`` (+ linear readout) on the adding problem with
Adam, gradient-norm clipping at 1 and the same batch size, drawing every batch from the same task
generator. The bare loop is forward, MSE, zero_grad, backward, ``clip_grad_norm_``, step and
nothing else; ``train`` adds what it needs (per-sequence scores, the success window, curves,
early-stop checks). Repetitions are interleaved, medians reported; throughput ratio =
bare time / rnngrad time (≥ 0.95 is the target). Also reports what one periodic gradient profile
costs, in training steps. Prints one JSON object.

    python bench/train.py [--repeats 5] [--steps 150] [--T 100] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

# bench/ is sys.path[0] when run as a script, and its profile.py would shadow the standard
# library's profile module (imported by torch._dynamo when an optimizer is built).
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != os.path.dirname(os.path.abspath(__file__))]

import torch  # noqa: E402
from torch import nn  # noqa: E402

from rnngrad.models import build_model  # noqa: E402
from rnngrad.tasks import make_task  # noqa: E402
from rnngrad.training import TrainConfig, gradient_profile_summary, train  # noqa: E402


def bare_loop(steps: int, T: int, batch_size: int, hidden_size: int) -> None:
    task = make_task("adding", T)
    data = torch.Generator().manual_seed(1)
    lstm = nn.LSTM(task.input_size, hidden_size, batch_first=True)
    readout = nn.Linear(hidden_size, 1)
    parameters = [*lstm.parameters(), *readout.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=1e-3)
    for _ in range(steps):
        batch = task.sample(batch_size, data)
        prediction = readout(lstm(batch.inputs)[0][:, -1]).squeeze(1)  # (B,)
        loss = torch.nn.functional.mse_loss(prediction, batch.targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--T", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = TrainConfig(task="adding", T=args.T, model="lstm", steps=args.steps, batch_size=args.batch_size,
                         hidden_size=args.hidden_size, lr=1e-3, clip=1.0)
    routes = {
        "bare_torch": lambda: bare_loop(args.steps, args.T, args.batch_size, args.hidden_size),
        "rnngrad_train": lambda: train(config),
    }
    for route in routes.values():  # warm-up: first-use imports (torch._dynamo via the optimizer), caches
        route()
    seconds: dict[str, list[float]] = {name: [] for name in routes}
    for _ in range(args.repeats):
        for name, route in routes.items():
            start = time.perf_counter()
            route()
            seconds[name].append(time.perf_counter() - start)
    median_ms_per_step = {name: statistics.median(values) / args.steps * 1e3 for name, values in seconds.items()}

    task = make_task("adding", args.T)
    network = build_model("lstm", 2, args.hidden_size, 1, generator=torch.Generator().manual_seed(0))
    batch = task.sample(config.profile_batch, torch.Generator().manual_seed(2))
    profile_times = []
    for _ in range(3):
        start = time.perf_counter()
        summary = gradient_profile_summary(network, batch.inputs, lambda out: (out.squeeze(1) - batch.targets).square().mean(), 0)
        profile_times.append(time.perf_counter() - start)
    profile_ms = statistics.median(profile_times) * 1e3
    profile_in_steps = profile_ms / median_ms_per_step["rnngrad_train"]
    print(json.dumps({
        "benchmark": "training throughput: rnngrad.training.train vs a bare torch loop (fused nn.LSTM, Adam, clip 1)",
        "task": "adding", "T": args.T, "batch_size": args.batch_size, "hidden_size": args.hidden_size,
        "steps_per_repeat": args.steps, "repeats": args.repeats, "threads": args.threads,
        "median_ms_per_step": {name: round(value, 3) for name, value in median_ms_per_step.items()},
        "throughput_ratio": round(median_ms_per_step["bare_torch"] / median_ms_per_step["rnngrad_train"], 3),
        "all_ms_per_step": {name: [round(v / args.steps * 1e3, 3) for v in values] for name, values in seconds.items()},
        "gradient_profile": None if summary is None else {
            "ms_per_profile": round(profile_ms, 1),
            "in_steps": round(profile_in_steps, 1),
            "overhead_at_profile_every": {"every": config.profile_every,
                                          "fraction": round(profile_in_steps / config.profile_every, 4)},
        },
    }, indent=2))


if __name__ == "__main__":
    main()
