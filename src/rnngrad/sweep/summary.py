r"""Runs grouped by (task, T, model) beside the published result for that cell.

.. math::

    \text{success rate} = \frac{\#\,\text{solved}}{\#\,\text{runs}},\qquad
    \text{median steps} = \operatorname{median}\{\text{steps of the solved runs}\}      \tag{1}

(median steps is None when no run solved the task).
"""

from __future__ import annotations

import statistics
from typing import Any

from rnngrad.models import model_names
from rnngrad.tasks import published_summary, task_names


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (task, T, model) with eq. (1) and the published result.

    Args:
        runs: dicts with at least ``task``, ``T``, ``model``, ``status``, ``steps`` and
            ``sequences`` (as :meth:`ResultsStore.runs` returns them).

    Returns:
        Rows ``{"task", "T", "model", "runs", "solved", "diverged", "success_rate",
        "median_steps", "median_sequences", "published"}`` ordered by task, T, then model in
        registry order.
    """
    cells: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for run in runs:
        cells.setdefault((run["task"], int(run["T"]), run["model"]), []).append(run)
    rows = []
    for (task, T, model), members in sorted(cells.items(), key=lambda item: _order(*item[0])):
        solved = [run for run in members if run["status"] == "solved"]
        rows.append({
            "task": task,
            "T": T,
            "model": model,
            "runs": len(members),
            "solved": len(solved),
            "diverged": sum(run["status"] == "diverged" for run in members),
            "success_rate": len(solved) / len(members),  # (1)
            "median_steps": _median([run["steps"] for run in solved]),  # (1)
            "median_sequences": _median([run["sequences"] for run in solved]),
            "published": published_summary(task, T, model),
        })
    return rows


def _median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def _order(task: str, T: int, model: str) -> tuple:
    tasks, models = task_names(), model_names()
    return (tasks.index(task) if task in tasks else len(tasks), task, T,
            models.index(model) if model in models else len(models), model)
