"""What "solved" means for each task, by name: the combinations a sweep spec may ask for.

A sweep spec names, for every task, the success criterion its runs are judged by. Each task has
exactly one definition here, the one its class implements (``Task.solved``, in words
``Task.criterion``); a spec that pairs a task with another criterion, or names a criterion that
does not exist, is refused with one line naming the valid pairs, because its table would claim
a comparison that no paper defines.

==================  ====================  =========================================================
task                criterion             definition (source)
==================  ====================  =========================================================
adding              hs97                  HS97 exp. 4: the 2000 most recent sequences have
                                          |error| < 0.04 (the paper's stopping rule)
adding-sum          beats-baseline        Le et al. 2015 / Arjovsky et al. 2016 "beat the baseline
                                          MSE 0.167"; counted at ≤ 0.1 × baseline over 2000
                                          sequences, a margin noise cannot reach (issue 16)
copy                beats-baseline        Arjovsky et al. 2016 "beat the baseline 10·log 8/(T+20)";
                                          counted likewise at ≤ 0.1 × baseline
temporal-order      hs97                  HS97 exp. 6a: the 2000 most recent sequences have every
                                          output within 0.3 of its target
digits,             held-out-accuracy     ours: accuracy ≥ 0.9 on the held-out split (the papers
digits-permuted                           report accuracy and define no success criterion)
==================  ====================  =========================================================
"""

from __future__ import annotations

from dataclasses import dataclass

from rnngrad.errors import InputError
from rnngrad.tasks import task_class


@dataclass(frozen=True)
class Criterion:
    """One task's success criterion as a sweep spec names it."""

    task: str
    name: str  # what a spec writes, e.g. "hs97"
    published: bool  # defined by the paper the task follows (False: ours, the paper reports a score)

    @property
    def text(self) -> str:
        """The criterion in words, as the task class states it."""
        return task_class(self.task).criterion

    @property
    def source(self) -> str:
        return task_class(self.task).source


CRITERIA: tuple[Criterion, ...] = (
    Criterion("adding", "hs97", True),
    Criterion("adding-sum", "beats-baseline", True),
    Criterion("copy", "beats-baseline", True),
    Criterion("temporal-order", "hs97", True),
    Criterion("digits", "held-out-accuracy", False),
    Criterion("digits-permuted", "held-out-accuracy", False),
)


def valid_pairs() -> str:
    """``adding/hs97, adding-sum/beats-baseline, ...``: every task/criterion pair there is."""
    return ", ".join(f"{criterion.task}/{criterion.name}" for criterion in CRITERIA)


def criterion_for(task: str, name: str, where: str = "criterion") -> Criterion:
    """The criterion ``name`` of ``task``, or :class:`InputError` naming the valid pairs.

    Args:
        task: a task name (checked first: an unknown task names the valid tasks).
        name: the criterion the caller asks for.
        where: how the message names the argument (e.g. ``spec tasks[2].criterion``).
    """
    task_class(task)  # an unknown task: InputError listing the tasks
    for criterion in CRITERIA:
        if criterion.task == task and criterion.name == name:
            return criterion
    own = next((criterion.name for criterion in CRITERIA if criterion.task == task), None)
    if own is None:
        raise InputError(f"{where}: expected a task with a defined criterion (one of {valid_pairs()}), "
                         f"got task {task!r}")
    raise InputError(f"{where}: expected {own!r} for task {task!r} ({task_class(task).criterion}; the defined "
                     f"task/criterion pairs are {valid_pairs()}), got {name!r}")
