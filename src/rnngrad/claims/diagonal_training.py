r"""C14: do the recurrences that replaced the LSTM learn the long-lag tasks it learns?

The runs are the long-range sweep's (issue 16; ``docs/results/sweep-spec.json``): every model
with the same budget, batch, learning rate, clipping and seeds, on the Le/Arjovsky adding problem
(``adding-sum``) and the copy task at T ≥ 100. They take core-hours, not the report's two
minutes, so the report reads their summary: ``claims/data/long_range.json``, written from the
sweep's database by :func:`extract` (``rnngrad results --spec ... --out docs/results`` writes
``summary.json``, and ``python tools/refresh_long_range.py`` refreshes the packaged file from it;
a test keeps the two equal). Per (task, T) and model, with r the runs done and s the runs solved,

.. math::

    \text{success} = s / r                                                              \tag{1}

The verdict compares the diagonal models with the torch-init LSTM cell by cell, where both ran:

- "holds": some model solved some cell, and every diagonal model solves at least the LSTM's share
  of runs in every cell where both ran;
- "holds with caveat": some diagonal models do and others do not (or have no cell beside the
  LSTM's yet), or nobody solved anything (then the budget cannot tell the models apart);
- "does not hold": no diagonal model matches the LSTM.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from rnngrad.claims._result import CAVEAT, FAILS, HOLDS, Advance, ClaimResult, ClaimsConfig

C14_CLAIM = ("The recurrences that replaced the LSTM keep its promise: with the same budget, minGRU, "
             "minLSTM and the LRU learn the long-lag tasks (the Le/Arjovsky adding problem and the copy "
             "task at T ≥ 100) wherever the LSTM with torch's init does")
TASKS = ("adding-sum", "copy")
MIN_T = 100
MODELS = ("lstm", "lstm-chrono", "mingru", "minlstm", "lru")
DIAGONAL = ("mingru", "minlstm", "lru")
PACKAGED = "long_range.json"


def extract(summary: dict[str, Any]) -> dict[str, Any]:
    """The cells C14 reads, from ``rnngrad results --spec --out``'s ``summary.json``."""
    spec = summary.get("spec", {})
    cells = [{key: row[key] for key in ("task", "T", "model", "runs", "solved", "diverged", "median_steps")}
             for row in summary["summary"]
             if row["task"] in TASKS and row["T"] >= MIN_T and row["model"] in MODELS]
    steps = {entry["task"]: entry["steps"] for entry in spec.get("tasks", []) if entry["task"] in TASKS}
    return {"source": "docs/results/sweep-spec.json (rnngrad sweep --spec)", "title": spec.get("title"),
            "seeds": spec.get("seeds"), "train": spec.get("train"), "steps": steps,
            "runs_counted": summary.get("table", {}).get("runs_counted"), "cells": cells}


def packaged() -> dict[str, Any]:
    """The summary shipped with rnngrad (``claims/data/long_range.json``)."""
    return json.loads(resources.files("rnngrad.claims").joinpath("data", PACKAGED).read_text())


def measure_long_range(config: ClaimsConfig, advance: Advance) -> ClaimResult:
    """C14 from the sweep's packaged summary (no training here: see the module's docstring)."""
    data = packaged()
    advance(1.0)
    cells = data["cells"]
    by_key = {(cell["task"], cell["T"], cell["model"]): cell for cell in cells}
    lengths = sorted({(cell["task"], cell["T"]) for cell in cells})
    table = {f"{task}/T={T}": {model: _cell_text(by_key.get((task, T, model))) for model in MODELS}
             for task, T in lengths}
    evidence = {
        "source": data["source"], "steps_budget": data["steps"], "seeds": data["seeds"],
        "train": data["train"], "runs_counted": sum(cell["runs"] for cell in cells),
        "cells": cells, "table": table,
        "headline": "; ".join(f"{key}: " + ", ".join(f"{model} {text}" for model, text in row.items())
                              for key, row in table.items()) or "no runs of these cells yet",
    }
    return ClaimResult("C14", C14_CLAIM, decide_long_range(evidence), evidence, None)


def _cell_text(cell: dict[str, Any] | None) -> str:
    if cell is None or cell["runs"] == 0:
        return "not run yet"
    text = f"{cell['solved']}/{cell['runs']} solved"
    return text + (f" (median {cell['median_steps']:.0f} updates)" if cell["median_steps"] is not None else "")


def decide_long_range(evidence: dict[str, Any]) -> str:
    """(1) per cell; see the module docstring for the rule."""
    cells = {(cell["task"], cell["T"], cell["model"]): cell for cell in evidence["cells"] if cell["runs"] > 0}
    lengths = {(task, T) for task, T, _ in cells}

    def success(task, T, model):
        cell = cells.get((task, T, model))
        return None if cell is None else cell["solved"] / cell["runs"]

    if not any(cell["solved"] for cell in cells.values()):
        return CAVEAT  # nobody learned within the budget: it cannot tell the models apart
    matches = {}
    for model in DIAGONAL:
        compared = [(success(task, T, model), success(task, T, "lstm")) for task, T in lengths
                    if success(task, T, model) is not None and success(task, T, "lstm") is not None]
        matches[model] = bool(compared) and all(mine >= lstm for mine, lstm in compared)
    if all(matches.values()):
        return HOLDS
    return CAVEAT if any(matches.values()) else FAILS

