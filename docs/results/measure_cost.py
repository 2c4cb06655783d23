"""Measure milliseconds per update of every (task, T, model) of a sweep spec, one thread.

    nice -n 19 python docs/results/measure_cost.py [SPEC] [UPDATES] > per-update-ms.json

Each class is timed as (wall time of 5 + UPDATES updates − wall time of 5 updates) / UPDATES
(UPDATES = 30 by default), so model building and data set up cancel out; about 10 minutes for
the issue-16 spec on the 2-core machine. Read the numbers as estimates: the machine is shared.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import torch

from rnngrad.sweep import load_sweep_plan
from rnngrad.training import train


def main() -> None:
    spec = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "sweep-spec.json"
    updates = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    torch.set_num_threads(1)
    plan = load_sweep_plan(spec)
    timings = {}
    for task_plan, T in plan.cells():
        for model in plan.models:
            config = replace(task_plan.config(T, model, 0), profile_every=0)
            train(replace(config, steps=2))  # warm-up: first-use compilation, data loading
            short = train(replace(config, steps=5)).wall_time_s
            long = train(replace(config, steps=5 + updates)).wall_time_s
            timings[f"{task_plan.task}/{T}/{model}"] = round(max(long - short, 0.0) / updates * 1000, 2)
            print(f"{task_plan.task}/{T}/{model}: {timings[f'{task_plan.task}/{T}/{model}']} ms", file=sys.stderr)
    what = f"milliseconds per update, one thread, (time of {5 + updates} updates − time of 5) / {updates}"
    json.dump({"what": what, "ms_per_update": timings}, sys.stdout, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
