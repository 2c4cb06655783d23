"""Worst-case cost of a sweep spec: every run spends its whole budget (none solves early).

    python docs/results/estimate_cost.py [SPEC] [PER_UPDATE_MS]

Reads the spec (default docs/results/sweep-spec.json) and the measured milliseconds per update
of each (task, T, model) (default docs/results/per-update-ms.json, written by measure_cost.py)
and prints core-hours per stage and task, and the wall time on 1 and 2 workers (one thread
each; 2 workers assume both cores free). Runs that solve early cost less.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

from rnngrad.sweep import load_sweep_plan

HERE = Path(__file__).parent


def main() -> None:
    spec = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "sweep-spec.json"
    costs = json.loads((Path(sys.argv[2]) if len(sys.argv) > 2 else HERE / "per-update-ms.json").read_text())
    per_update = costs["ms_per_update"]
    plan = load_sweep_plan(spec)
    by_stage: dict[int, float] = defaultdict(float)
    by_task: dict[tuple[int, str, int], float] = defaultdict(float)
    longest = (0.0, "")
    for config in plan.configs():
        stage = next(index for index, stage in enumerate(plan.stages) if config.T in stage)
        seconds = per_update[f"{config.task}/{config.T}/{config.model}"] / 1000 * config.steps
        by_stage[stage] += seconds
        by_task[(stage, config.task, config.T)] += seconds
        longest = max(longest, (seconds, f"{config.task} T={config.T} {config.model} ({config.steps} updates)"))
    total = sum(by_stage.values())
    print(f"{len(plan.configs())} runs; worst case {total / 3600:.1f} core-hours: "
          f"{total / 3600:.1f} h on 1 worker, {total / 7200:.1f} h on 2 workers")
    for stage, seconds in sorted(by_stage.items()):
        print(f"  stage {stage + 1} (T in {list(plan.stages[stage])}): {seconds / 3600:.2f} core-hours "
              f"({seconds / 3600 / plan.seeds:.2f} per seed)")
        for (task_stage, task, T), task_seconds in sorted(by_task.items()):
            if task_stage == stage:
                print(f"    {task:16s} T = {T:4d}: {task_seconds / 3600:.2f} core-hours")
    print(f"  longest single run: {longest[1]}, {longest[0] / 60:.0f} min")


if __name__ == "__main__":
    main()
