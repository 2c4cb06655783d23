"""A sweep spec file: a grid over several tasks, each with its criterion, budget and its source.

The file is JSON (``rnngrad sweep --spec FILE``)::

    {
      "format": "rnngrad-sweep-spec", "version": 1,
      "title": "…",
      "models": ["rnn-tanh", "lstm", …],          # every task runs every model
      "seeds": 3,                                  # seeds 0..seeds−1
      "train": {"batch_size": 32, "lr": 0.001, …}, # TrainConfig fields shared by every run
      "stages": [[50, 64, 100], [200], [400]],     # the run order, see below
      "tasks": [
        {"task": "adding", "criterion": "hs97", "T": [50, 100, 200, 400], "steps": 3000,
         "budget": "where this budget comes from, in words", "train": {…}},   # "train": optional
        …
      ],
      "notes": ["…"]                               # optional, free text
    }

``steps`` is one update budget for every T of the task, or a mapping ``{"50": 3000, …}`` from
each T to its budget. ``criterion`` must be the task's own (:mod:`rnngrad.sweep.criteria`).

**Order.** Runs go stage by stage; within a stage seed by seed (all of seed 0 first), then task
(file order), T, model (file order). A sweep submits runs in this order, so an interrupted
sweep has finished the earliest stages' first seeds, and resuming continues where it stopped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from rnngrad.errors import InputError, require_positive_int
from rnngrad.models import model_spec
from rnngrad.sweep.criteria import Criterion, criterion_for
from rnngrad.tasks import task_class
from rnngrad.training import TrainConfig

FORMAT = "rnngrad-sweep-spec"
VERSION = 1
_TOP_KEYS = {"format", "version", "title", "models", "seeds", "train", "stages", "tasks", "notes"}
_TASK_KEYS = {"task", "criterion", "T", "steps", "budget", "train"}
_PER_RUN = {"task", "T", "model", "seed", "steps"}  # set by the grid, not by "train"
TRAIN_KEYS = tuple(item.name for item in fields(TrainConfig) if item.name not in _PER_RUN)


@dataclass(frozen=True)
class TaskPlan:
    """One task of a spec: its criterion, lengths, update budget per T and where that comes from."""

    task: str
    criterion: Criterion
    T: tuple[int, ...]
    steps: tuple[int, ...]  # the update budget at each T, in the order of ``T``
    budget: str  # the budget's source, in words
    base: TrainConfig  # the shared hyperparameters of this task's runs

    def config(self, T: int, model: str, seed: int) -> TrainConfig:
        return replace(self.base, task=self.task, T=T, model=model, seed=seed, steps=self.steps[self.T.index(T)])


@dataclass(frozen=True)
class SweepPlan:
    """A parsed, checked spec file. :meth:`configs` gives its runs in run order."""

    title: str
    models: tuple[str, ...]
    seeds: int
    stages: tuple[tuple[int, ...], ...]
    tasks: tuple[TaskPlan, ...]
    source: dict[str, Any]  # the file's JSON, as read
    path: str = ""

    def configs(self) -> list[TrainConfig]:
        """Every run, stage by stage, then seed, task, T and model (see the module)."""
        return [plan.config(T, model, seed)
                for stage in self.stages for seed in range(self.seeds)
                for plan in self.tasks for T in plan.T if T in stage
                for model in self.models]

    def cells(self) -> list[tuple[TaskPlan, int]]:
        """Every (task, T) row of the table, in file order."""
        return [(plan, T) for plan in self.tasks for T in plan.T]


def load_sweep_plan(path: Path | str) -> SweepPlan:
    """Read and check the spec file at ``path``.

    Raises:
        InputError: the file is missing or not JSON, or a field is unknown, missing or wrong
            (an unknown task, model or criterion, a task paired with a criterion it does not
            have, a T the task is not defined for, a T in no stage); the message starts with
            ``spec`` and names the field, what was expected and what came.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"spec: expected an existing JSON file, got {str(path)!r} (no such file)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"spec: expected a readable UTF-8 JSON file, got {str(path)!r} ({error})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"spec: expected JSON, got {str(path)!r} with an error at line {error.lineno}, "
                         f"column {error.colno}: {error.msg}") from None
    return replace(parse_sweep_plan(data), path=str(path))


def parse_sweep_plan(data: Any) -> SweepPlan:
    """Check the JSON of a spec file (see :func:`load_sweep_plan`) and build the plan."""
    _require_object("spec", data, _TOP_KEYS, required=("format", "version", "models", "seeds", "stages", "tasks"))
    if data["format"] != FORMAT or data["version"] != VERSION:
        raise InputError(f"spec: expected \"format\": {FORMAT!r} and \"version\": {VERSION}, "
                         f"got {data['format']!r} and {data['version']!r}")
    models = tuple(_require_list("spec: models", data["models"], str))
    for model in models:
        _wrap("spec", lambda: model_spec(model))
    if len(set(models)) != len(models):
        raise InputError(f"spec: models: expected each model once, got {list(models)}")
    seeds = _wrap("spec", lambda: require_positive_int("seeds", data["seeds"]))
    shared = _train_fields("spec: train", data.get("train", {}))
    tasks = tuple(_task_plan(index, entry, models, shared) for index, entry in
                  enumerate(_require_list("spec: tasks", data["tasks"], dict)))
    names = [plan.task for plan in tasks]
    if len(set(names)) != len(names):
        raise InputError(f"spec: tasks: expected each task once, got {names}")
    stages = tuple(tuple(_require_list(f"spec: stages[{index}]", stage, int))
                   for index, stage in enumerate(_require_list("spec: stages", data["stages"], list)))
    _check_stages(stages, tasks)
    return SweepPlan(str(data.get("title", "")), models, seeds, stages, tasks, data)


def _task_plan(index: int, entry: dict, models: tuple[str, ...], shared: dict[str, Any]) -> TaskPlan:
    where = f"spec: tasks[{index}]"
    _require_object(where, entry, _TASK_KEYS, required=("task", "criterion", "T", "steps", "budget"))
    task = entry["task"]
    if not isinstance(task, str):
        raise InputError(f"{where}: task: expected a task name, got {task!r}")
    criterion = _wrap(where, lambda: criterion_for(task, entry["criterion"]))
    T = tuple(_require_list(f"{where}: T", entry["T"], int))
    if len(set(T)) != len(T):
        raise InputError(f"{where}: T: expected each length once, got {list(T)}")
    for length in T:
        _wrap(where, lambda: task_class(task).check_T(length))  # the task's own bounds (digits: 64)
    steps = _steps(f"{where}: steps", entry["steps"], T)
    if not isinstance(entry["budget"], str) or not entry["budget"].strip():
        raise InputError(f"{where}: budget: expected the budget's source in words, got {entry['budget']!r}")
    overrides = {**shared, **_train_fields(f"{where}: train", entry.get("train", {}))}
    base = _wrap(where, lambda: TrainConfig(task=task, T=T[0], model=models[0], **overrides))
    plan = TaskPlan(task, criterion, T, steps, entry["budget"].strip(), base)
    for length in T:
        for model in models:  # names, each T against the task's bounds, sizes against the element budget
            _wrap(f"{where} (T = {length}, model {model!r})", lambda: plan.config(length, model, 0).check_budget())
    return plan


def _steps(where: str, value: Any, T: tuple[int, ...]) -> tuple[int, ...]:
    if isinstance(value, dict):
        wanted = {str(length) for length in T}
        if set(value) != wanted:
            raise InputError(f"{where}: expected a budget for each T, keys {sorted(wanted, key=int)}, "
                             f"got keys {sorted(value)}")
        return tuple(_wrap(f"{where}[{str(length)!r}]", lambda: _positive(value[str(length)])) for length in T)
    budget = _wrap(where, lambda: _positive(value))
    return (budget,) * len(T)


def _train_fields(where: str, value: Any) -> dict[str, Any]:
    _require_object(where, value, set(TRAIN_KEYS))
    return dict(value)


def _check_stages(stages: tuple[tuple[int, ...], ...], tasks: tuple[TaskPlan, ...]) -> None:
    staged = [length for stage in stages for length in stage]
    repeated = sorted({length for length in staged if staged.count(length) > 1})
    used = {length for plan in tasks for length in plan.T}
    missing, unused = sorted(used - set(staged)), sorted(set(staged) - used)
    problems = [f"{', '.join(map(str, values))} {text}" for values, text in
                ((repeated, "in two stages"), (missing, "in no stage"), (unused, "used by no task")) if values]
    if problems:
        raise InputError(f"spec: stages: expected every T of the tasks in exactly one stage, got {'; '.join(problems)}")


def _positive(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"expected a positive integer, got {value!r}")
    return value


def _require_object(where: str, value: Any, allowed: set[str], required: tuple[str, ...] = ()) -> None:
    if not isinstance(value, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(value).__name__} {str(value)[:40]!r}")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise InputError(f"{where}: expected keys among {', '.join(sorted(allowed))}, got unknown {', '.join(unknown)}")
    absent = [key for key in required if key not in value]
    if absent:
        raise InputError(f"{where}: expected the keys {', '.join(required)}, got none for {', '.join(absent)}")


def _require_list(where: str, value: Any, kind: type) -> list:
    if not isinstance(value, list) or not value or not all(
            isinstance(item, kind) and not isinstance(item, bool) for item in value):
        raise InputError(f"{where}: expected a non-empty list of {_KIND_NAMES[kind]}, got {str(value)[:60]!r}")
    return value


_KIND_NAMES = {str: "names", int: "integers", dict: "objects", list: "lists"}


def _wrap(where: str, build):
    """``build()``, with an InputError's message prefixed by ``where`` (the field in the file)."""
    try:
        return build()
    except InputError as error:
        raise InputError(f"{where}: {error}") from None
