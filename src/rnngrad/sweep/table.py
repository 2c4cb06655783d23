r"""The results table: one row per (task, T), one cell per model, the papers beside them.

Each cell summarises the runs of one (task, T, model) over its seeds:

.. math::

    \text{success rate} = \frac{\#\,\text{solved}}{\#\,\text{runs}},\qquad
    \text{median updates} = \operatorname{median}\{\text{steps of the solved runs}\}     \tag{1}

and sits beside the published verdict for that model, if a paper reports one
(:mod:`rnngrad.tasks.published`). A cell **agrees** with a paper when the majority verdict of
its runs (success rate ≥ 1/2) is the paper's verdict.

Given the spec the runs came from (:class:`rnngrad.sweep.spec_file.SweepPlan`), the table has a
row for every (task, T) of the spec and a cell for every model, with ``planned`` seeds; a cell
with fewer runs is partial, one with none is *not run yet*. Only runs the spec asks for are
counted (a run of another budget in the same database is left out and counted in
``outside_spec``). Without a spec, the table holds what the database holds.
"""

from __future__ import annotations

import statistics
from typing import Any

from rnngrad.models import model_names
from rnngrad.sweep.spec import config_key
from rnngrad.sweep.spec_file import SweepPlan
from rnngrad.tasks import PublishedResult, published_results, task_class, task_names

STATUS_MEANINGS = {
    "solved": "the task's criterion was met within the update budget",
    "failed": "the update budget ran out before the task's criterion was met",
    "diverged": "the loss became NaN or infinite before the task's criterion was met",
}


def results_table(runs: list[dict[str, Any]], plan: SweepPlan | None = None) -> dict[str, Any]:
    """The table of ``runs`` (as :meth:`ResultsStore.runs` returns them), JSON-ready.

    Returns:
        ``{"title", "models", "rows", "statuses", "runs_counted", "outside_spec"}``. Each row:
        ``task``, ``T``, ``criterion`` (in words), ``budget`` (``{"steps": [...],
        "batch_size": [...], "source"}``), ``cells`` (one per model: ``model``, ``planned``,
        ``runs``, ``solved``, ``failed``, ``diverged``, ``success_rate``, ``median_steps``,
        ``median_sequences``, ``published`` (the paper's verdict or None), ``agrees``) and
        ``published`` (the papers' entries for the row, each with its ``ref`` number, the models it
        is compared with and which of them ``agree``, ``differ`` or are ``pending``).
    """
    if plan is not None:
        wanted = {config_key(config) for config in plan.configs()}
        counted = [run for run in runs if run["key"] in wanted]
        models = list(plan.models)
        grid = [(task_plan.task, T, task_plan) for task_plan, T in plan.cells()]
    else:
        counted = list(runs)
        models = [name for name in model_names() if any(run["model"] == name for run in runs)]
        models += sorted({run["model"] for run in runs} - set(models))
        grid = [(task, T, None) for task, T in sorted({(run["task"], int(run["T"])) for run in runs}, key=_row_order)]
    by_cell: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for run in counted:
        by_cell.setdefault((run["task"], int(run["T"]), run["model"]), []).append(run)
    references: dict[PublishedResult, int] = {}
    rows = [_row(task, T, task_plan, models, by_cell, plan, references) for task, T, task_plan in grid]
    return {
        "title": plan.title if plan is not None else None,
        "models": models,
        "rows": rows,
        "statuses": STATUS_MEANINGS,
        "runs_counted": len(counted),
        "outside_spec": len(runs) - len(counted),
    }


def _row(task: str, T: int, task_plan: Any, models: list[str], by_cell: dict, plan: SweepPlan | None,
         references: dict[PublishedResult, int]) -> dict[str, Any]:
    row_runs = [run for model in models for run in by_cell.get((task, T, model), [])]
    if task_plan is not None:
        config = task_plan.config(T, models[0], 0)
        budget = {"steps": [config.steps], "batch_size": [config.batch_size], "source": task_plan.budget}
        criterion = task_plan.criterion.text
    else:
        budget = {"steps": sorted({run["config"]["steps"] for run in row_runs}),
                  "batch_size": sorted({run["config"]["batch_size"] for run in row_runs}), "source": None}
        criterion = task_class(task).criterion if task in task_names() else None
    cells = []
    for model in models:
        entries = published_results(task, T, model)
        for entry in entries:
            references.setdefault(entry, len(references) + 1)
        cells.append(_cell(model, by_cell.get((task, T, model), []), plan.seeds if plan else None, entries))
    published = []
    for entry in dict.fromkeys(entry for model in models for entry in published_results(task, T, model)):
        compared = [cell for cell in cells if cell["model"] in entry.models]
        verdicts = {name: [cell["model"] for cell in compared if _verdict(cell, entry) == name]
                    for name in ("agree", "differ", "pending")}
        published.append({"ref": references[entry], "source": entry.source, "paper_model": entry.paper_model,
                          "result": entry.result, "solved": entry.solved, "sequences": entry.sequences,
                          "updates": getattr(entry, "updates", None),
                          "models": [cell["model"] for cell in compared], **verdicts})
    return {"task": task, "T": T, "criterion": criterion, "budget": budget, "cells": cells, "published": published}


def _cell(model: str, runs: list[dict[str, Any]], planned: int | None,
          entries: list[PublishedResult]) -> dict[str, Any]:
    solved = [run for run in runs if run["status"] == "solved"]
    verdicts = {entry.solved for entry in entries}
    paper = verdicts.pop() if len(verdicts) == 1 else None  # None: no paper, or papers that disagree
    rate = len(solved) / len(runs) if runs else None  # (1)
    return {
        "model": model,
        "planned": planned,
        "runs": len(runs),
        "solved": len(solved),
        "failed": sum(run["status"] == "failed" for run in runs),
        "diverged": sum(run["status"] == "diverged" for run in runs),
        "success_rate": rate,
        "median_steps": _median([run["steps"] for run in solved]),  # (1)
        "median_sequences": _median([run["sequences"] for run in solved]),
        "published": paper,
        "agrees": None if paper is None or rate is None else (rate >= 0.5) == paper,
    }


def _verdict(cell: dict[str, Any], entry: PublishedResult) -> str:
    if cell["success_rate"] is None or entry.solved is None:
        return "pending"
    return "agree" if (cell["success_rate"] >= 0.5) == entry.solved else "differ"


def _median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def _row_order(cell: tuple[str, int]) -> tuple:
    tasks = task_names()
    return (tasks.index(cell[0]) if cell[0] in tasks else len(tasks), cell[0], cell[1])
