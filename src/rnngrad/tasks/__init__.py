"""Long-time-lag tasks from the papers, as seeded generators with the papers' success criteria.

``make_task(name, T)`` builds one; ``task_names()`` lists them: ``adding`` (Hochreiter &
Schmidhuber 1997), ``adding-sum`` (Le et al. 2015 / Arjovsky et al. 2016), ``copy`` (Arjovsky et
al. 2016), ``temporal-order`` (HS97 exp. 6a), ``digits`` and ``digits-permuted`` (scikit-learn's
8×8 digits read pixel by pixel; needs scikit-learn).
"""

from rnngrad.tasks._task import WINDOW, Batch, SequenceScores, Task
from rnngrad.tasks.adding import AddingProblem, AddingSumProblem
from rnngrad.tasks.copy_memory import CopyMemory
from rnngrad.tasks.digits import PermutedSequentialDigits, SequentialDigits
from rnngrad.tasks.published import PublishedResult, published_results, published_summary
from rnngrad.tasks.registry import make_task, task_class, task_names
from rnngrad.tasks.temporal_order import TemporalOrder

__all__ = [
    "WINDOW",
    "AddingProblem",
    "AddingSumProblem",
    "Batch",
    "CopyMemory",
    "PermutedSequentialDigits",
    "PublishedResult",
    "SequenceScores",
    "SequentialDigits",
    "Task",
    "TemporalOrder",
    "make_task",
    "published_results",
    "published_summary",
    "task_class",
    "task_names",
]
