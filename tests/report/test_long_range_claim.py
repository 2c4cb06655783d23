"""C14 (``claims.diagonal_training``): its verdict rule on fixed evidence at both sides of each
line, and its packaged summary equal to what the committed sweep summary gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnngrad.claims._result import CAVEAT, FAILS, HOLDS, ClaimsConfig
from rnngrad.claims.diagonal_training import decide_long_range, extract, measure_long_range, packaged

SUMMARY = Path(__file__).resolve().parents[2] / "docs" / "results" / "summary.json"


def _evidence(solved: dict[str, int], runs: int = 3, tasks=("adding-sum/100", "copy/100")) -> dict:
    cells = []
    for task_T in tasks:
        task, T = task_T.split("/")
        for model, count in solved.items():
            cells.append({"task": task, "T": int(T), "model": model, "runs": runs, "solved": count,
                          "diverged": 0, "median_steps": 1000.0 if count else None})
    return {"cells": cells}


def test_every_diagonal_model_at_least_the_lstm_holds():
    assert decide_long_range(_evidence({"lstm": 2, "mingru": 2, "minlstm": 3, "lru": 2})) == HOLDS
    assert decide_long_range(_evidence({"lstm": 0, "mingru": 1, "minlstm": 1, "lru": 1})) == HOLDS


def test_one_diagonal_model_below_the_lstm_is_a_caveat_and_all_below_fail():
    assert decide_long_range(_evidence({"lstm": 2, "mingru": 2, "minlstm": 1, "lru": 2})) == CAVEAT
    assert decide_long_range(_evidence({"lstm": 2, "mingru": 1, "minlstm": 1, "lru": 0})) == FAILS


def test_nobody_learning_says_nothing_and_a_missing_model_is_a_caveat():
    assert decide_long_range(_evidence({"lstm": 0, "mingru": 0, "minlstm": 0, "lru": 0})) == CAVEAT
    assert decide_long_range(_evidence({"lstm": 1, "mingru": 1, "minlstm": 1})) == CAVEAT  # no lru yet
    assert decide_long_range({"cells": []}) == CAVEAT


def test_the_packaged_summary_is_the_committed_sweeps():
    assert packaged() == extract(json.loads(SUMMARY.read_text()))


def test_the_claim_reads_the_packaged_summary():
    result = measure_long_range(ClaimsConfig.quick(), lambda fraction: None)
    data = packaged()
    assert result.id == "C14" and result.evidence["cells"] == data["cells"]
    assert result.verdict == decide_long_range(result.evidence)
    for row in result.evidence["table"].values():
        assert list(row) == ["lstm", "lstm-chrono", "mingru", "minlstm", "lru"]


@pytest.mark.parametrize("change", ["task", "T", "model"])
def test_extract_keeps_only_the_claims_cells(change):
    row = {"task": "copy", "T": 100, "model": "mingru", "runs": 1, "solved": 1, "diverged": 0,
           "median_steps": 10.0, "success_rate": 1.0, "published": None}
    other = dict(row)
    other[change] = {"task": "adding", "T": 50, "model": "gru"}[change]
    kept = extract({"summary": [row, other], "spec": {}, "table": {}})["cells"]
    assert [cell["model"] for cell in kept] == ["mingru"]
