"""Tasks by name: ``make_task("adding", T=100)``."""

from __future__ import annotations

from rnngrad.errors import InputError
from rnngrad.tasks._task import Task
from rnngrad.tasks.adding import AddingProblem, AddingSumProblem
from rnngrad.tasks.copy_memory import CopyMemory
from rnngrad.tasks.digits import PermutedSequentialDigits, SequentialDigits
from rnngrad.tasks.temporal_order import TemporalOrder

_TASKS: dict[str, type[Task]] = {
    task.name: task
    for task in (AddingProblem, AddingSumProblem, CopyMemory, TemporalOrder, SequentialDigits,
                 PermutedSequentialDigits)
}


def task_names() -> list[str]:
    """The registered task names, in a fixed order."""
    return list(_TASKS)


def task_class(name: str) -> type[Task]:
    """The class registered as ``name``, or :class:`InputError` listing the valid names."""
    if name not in _TASKS:
        raise InputError(f"task: expected one of {', '.join(_TASKS)}, got {name!r}")
    return _TASKS[name]


def make_task(name: str, T: int) -> Task:
    """The task ``name`` at length parameter ``T`` (checked by the task)."""
    return task_class(name)(T)
