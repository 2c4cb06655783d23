"""Sweep spec files: the committed issue-16 spec, its run order, and bad specs refused in one line."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import rnngrad.cli.sweep_command  # noqa: F401  (registers the command)
from rnngrad.cli import app
from rnngrad.errors import InputError
from rnngrad.models import model_names
from rnngrad.sweep import load_sweep_plan
from rnngrad.sweep.criteria import CRITERIA, criterion_for
from rnngrad.sweep.spec_file import parse_sweep_plan
from rnngrad.tasks import task_class, task_names

COMMITTED = Path(__file__).parents[2] / "docs" / "results" / "sweep-spec.json"
ISSUE_GRID = {("adding", T) for T in (50, 100, 200, 400)} | {("adding-sum", T) for T in (50, 100, 200, 400)} \
    | {("copy", T) for T in (50, 100, 200)} | {("temporal-order", 100), ("digits", 64), ("digits-permuted", 64)}
SMALL = {
    "format": "rnngrad-sweep-spec", "version": 1, "title": "small",
    "models": ["rnn-tanh", "lstm"], "seeds": 2, "train": {"batch_size": 2, "hidden_size": 2},
    "stages": [[10], [20]],
    "tasks": [{"task": "adding", "criterion": "hs97", "T": [10, 20], "steps": {"10": 3, "20": 4}, "budget": "tiny"},
              {"task": "copy", "criterion": "beats-baseline", "T": [10], "steps": 5, "budget": "tiny"}],
}


def changed(path: list, value) -> dict:
    """SMALL with the field at ``path`` set to ``value`` (or removed, for ``...``)."""
    data = copy.deepcopy(SMALL)
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


def test_the_committed_spec_covers_the_issue_grid_with_every_model_and_three_seeds():
    plan = load_sweep_plan(COMMITTED)
    assert list(plan.models) == model_names() and len(plan.models) == 11 and plan.seeds == 3
    assert {(task_plan.task, T) for task_plan, T in plan.cells()} == ISSUE_GRID
    configs = plan.configs()
    assert len(configs) == len(ISSUE_GRID) * 11 * 3 == len({(c.task, c.T, c.model, c.seed) for c in configs})
    for task_plan in plan.tasks:  # each task judged by its own published (or stated) criterion, budget stated
        assert task_plan.criterion.text == task_class(task_plan.task).criterion and len(task_plan.budget) > 40
    first_stage = [c for c in configs if c.T <= 100]
    assert configs[:len(first_stage)] == first_stage  # T ≤ 100 (digits at 64) first …
    seed_0 = first_stage[:len(first_stage) // 3]
    assert {c.seed for c in seed_0} == {0} and {(c.task, c.T, c.model) for c in seed_0} == {
        (task, T, model) for task, T in ISSUE_GRID if T <= 100 for model in model_names()}  # … seed 0 of it first
    assert [c.T for c in configs[-len(configs) // 7:]] == [400] * (len(configs) // 7)  # T = 400 last
    assert {c.steps for c in configs if c.task == "adding" and c.T == 100} == {3000}  # 96,000 ≥ HS97's 74,000


def test_the_order_is_stage_then_seed_then_task_T_model():
    plan = parse_sweep_plan(SMALL)
    order = [(c.T, c.seed, c.task, c.model, c.steps) for c in plan.configs()]
    assert order == [(10, 0, "adding", "rnn-tanh", 3), (10, 0, "adding", "lstm", 3), (10, 0, "copy", "rnn-tanh", 5),
                     (10, 0, "copy", "lstm", 5), (10, 1, "adding", "rnn-tanh", 3), (10, 1, "adding", "lstm", 3),
                     (10, 1, "copy", "rnn-tanh", 5), (10, 1, "copy", "lstm", 5),
                     (20, 0, "adding", "rnn-tanh", 4), (20, 0, "adding", "lstm", 4),
                     (20, 1, "adding", "rnn-tanh", 4), (20, 1, "adding", "lstm", 4)]
    assert {c.batch_size for c in plan.configs()} == {2}


def test_every_task_has_exactly_one_criterion():
    assert sorted(criterion.task for criterion in CRITERIA) == sorted(task_names())
    assert criterion_for("adding-sum", "beats-baseline").published
    assert not criterion_for("digits", "held-out-accuracy").published  # ours: the papers report accuracy


@pytest.mark.parametrize("path, value, message", [
    (["tasks", 0, "criterion"], "beats-baseline",
     r"spec: tasks\[0\]: criterion: expected 'hs97' for task 'adding' \(the 2000 most recent .*; the defined "
     r"task/criterion pairs are adding/hs97, adding-sum/beats-baseline, copy/beats-baseline, temporal-order/hs97, "
     r"digits/held-out-accuracy, digits-permuted/held-out-accuracy\), got 'beats-baseline'"),
    (["tasks", 1, "criterion"], "accuracy", r"spec: tasks\[1\]: criterion: expected 'beats-baseline' for task 'copy'"),
    (["tasks", 0, "task"], "adder", r"spec: tasks\[0\]: task: expected one of adding, adding-sum, copy, "),
    (["models"], ["lstm", "transformer"], r"spec: model: expected one of rnn-tanh, .*, got 'transformer'"),
    (["tasks", 0, "T"], [10, 3], r"spec: tasks\[0\]: T: expected an integer ≥ 4 for task 'adding', got 3"),
    (["tasks", 0, "steps"], {"10": 3}, r"spec: tasks\[0\]: steps: expected a budget for each T, keys \['10', '20'\], got keys \['10'\]"),
    (["tasks", 1, "steps"], 0, r"spec: tasks\[1\]: steps: expected a positive integer, got 0"),
    (["tasks", 1, "budget"], " ", r"spec: tasks\[1\]: budget: expected the budget's source in words"),
    (["tasks", 1, "budget"], ..., r"spec: tasks\[1\]: expected the keys task, criterion, T, steps, budget, got none for budget"),
    (["stages"], [[10]], r"spec: stages: expected every T of the tasks in exactly one stage, got 20 in no stage"),
    (["stages"], [[10, 20], [20, 30]], r"got 20 in two stages; 30 used by no task"),
    (["train", "lr"], -1, r"spec: tasks\[0\]: lr: expected a positive finite number, got -1"),
    (["train", "steps"], 5, r"spec: train: expected keys among batch_size, clip, .*, got unknown steps"),
    (["seeds"], 0, r"spec: seeds: expected a positive integer, got 0"),
    (["format"], "other", r"spec: expected \"format\": 'rnngrad-sweep-spec' and \"version\": 1"),
    (["tasks"], [], r"spec: tasks: expected a non-empty list of objects, got '\[\]'"),
])
def test_a_bad_spec_is_one_clear_error(path, value, message):
    with pytest.raises(InputError, match=message):
        parse_sweep_plan(changed(path, value))


def test_digits_only_at_64():
    data = changed(["tasks", 1], {"task": "digits", "criterion": "held-out-accuracy", "T": [20], "steps": 5, "budget": "b"})
    with pytest.raises(InputError, match=r"T: expected 64 for task 'digits' \(8×8 pixels\), got 20"):
        parse_sweep_plan(data)


def invoke(*args) -> object:
    return CliRunner().invoke(app, [str(arg) for arg in args], env={"COLUMNS": "160"})


@pytest.mark.parametrize("content, args, message", [
    (changed(["tasks", 0, "criterion"], "beats-baseline"), [],
     "Error: --spec: tasks[0]: criterion: expected 'hs97' for task 'adding' ("),
    ("{not json", [], "Error: --spec: expected JSON, got "),
    (None, [], "Error: --spec: expected an existing JSON file, got "),
    (SMALL, ["--task", "copy"], "Error: --spec: expected no grid option with it (the spec file sets the grid), got --task copy"),
    (SMALL, ["--no-clip"], "Error: --spec: expected no grid option with it (the spec file sets the grid), got --no-clip"),
])
def test_the_cli_refuses_a_bad_spec_in_one_line_and_writes_nothing(tmp_path, content, args, message):
    spec = tmp_path / "spec.json"
    if content is not None:
        spec.write_text(content if isinstance(content, str) else json.dumps(content))
    result = invoke("sweep", "--spec", spec, "--db", tmp_path / "results.db", *args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith(message), result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not (tmp_path / "results.db").exists()
