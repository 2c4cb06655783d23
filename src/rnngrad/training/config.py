"""What one training run is (:class:`TrainConfig`) and what it gave (:class:`TrainResult`)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from rnngrad._budget import check_elements
from rnngrad._json import finite_or_none
from rnngrad.errors import InputError, require_positive_int
from rnngrad.models import model_spec
from rnngrad.tasks import published_summary, task_class

OPTIMIZERS = ("adam", "rmsprop")
SCHEDULES = ("constant", "cosine")
STATUSES = ("solved", "failed", "diverged")


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Every field is part of the run's identity (its sweep key).

    The defaults are sized so the quick sweep (adding at T = 50 and 100; rnn-tanh, lstm, gru;
    one seed) fits in 10 minutes on 2 CPU cores, with a budget of 3,000 updates of 32 sequences
    per run. HS97's LSTM learned T = 100 on-line, one sequence per update, in 74,000 updates: the
    budget here is 4% of their updates and 96,000 sequences, 1.3 times their 74,000.

    Before a run is built, :meth:`check_budget` holds its sizes to the element budget
    (:mod:`rnngrad._budget`: 10⁸ by default, the environment variable ``RNNGRAD_MAX_ELEMENTS``
    raises it).
    """

    task: str = "adding"  # a name from rnngrad.tasks.task_names()
    T: int = 100  # the task's length parameter
    model: str = "lstm"  # a name from rnngrad.models.model_names()
    steps: int = 3000  # update budget: 3000 × 32 = 96,000 sequences (HS97: 74,000 updates of one sequence)
    seed: int = 0  # fixes the initial weights and the data stream
    batch_size: int = 32  # sequences per update
    hidden_size: int = 64  # H
    optimizer: str = "adam"  # "adam" or "rmsprop" (torch's defaults besides lr)
    lr: float = 1e-3  # learning rate
    schedule: str = "constant"  # "constant", or "cosine": lr·(1 + cos(π·step/steps))/2 over the budget
    clip: float | None = 1.0  # gradient-norm threshold (Pascanu et al. 2013, Alg. 1); None: off
    log_every: int = 50  # steps between points of the loss and accuracy curves
    eval_every: int = 100  # steps between held-out evaluations (tasks with a test split)
    profile_every: int = 1000  # steps between gradient profiles; 0: never
    profile_batch: int = 16  # sequences of the current batch a gradient profile looks at

    def __post_init__(self) -> None:
        task_class(self.task)  # InputError listing the valid names (before T is checked)
        model_spec(self.model)
        if isinstance(self.T, bool) or not isinstance(self.T, int) or self.T < 2:
            raise InputError(f"T: expected an integer ≥ 2, got {self.T!r}")
        task_class(self.task).check_T(self.T)  # the task's own bounds (adding: T ≥ 4; digits: 64)
        for name in ("steps", "batch_size", "hidden_size", "log_every", "eval_every", "profile_batch"):
            require_positive_int(name, getattr(self, name))
        for name in ("seed", "profile_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InputError(f"{name}: expected an integer ≥ 0, got {value!r}")
        if self.optimizer not in OPTIMIZERS:
            raise InputError(f"optimizer: expected one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise InputError(f"schedule: expected one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        _require_positive_number("lr", self.lr)
        object.__setattr__(self, "lr", float(self.lr))  # lr=1 and lr=1.0 are one run
        if self.clip is not None:
            _require_positive_number("clip", self.clip)
            object.__setattr__(self, "clip", float(self.clip))

    def check_budget(self) -> None:
        """Raise :class:`InputError` if the run would hold more elements than the budget allows:
        batch_size × T × hidden_size (the hidden states one update keeps) or 4·hidden_size² (the
        recurrent weights). :func:`~rnngrad.training.train` and a sweep's grid check it before
        anything is built; a config read back from a results database is not held to it."""
        check_elements("batch_size × T × hidden_size", self.batch_size * self.T * self.hidden_size,
                       f"{self.batch_size:,} × {self.T:,} × {self.hidden_size:,}: the hidden states one update keeps")
        check_elements("hidden_size", 4 * self.hidden_size**2,
                       f"4 × {self.hidden_size:,}²: the recurrent weights of up to four gates")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {item.name for item in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InputError(f"config: expected keys among {sorted(known)}, got unknown {sorted(unknown)}")
        return cls(**data)


@dataclass(frozen=True)
class TrainResult:
    """The outcome of :func:`rnngrad.training.train`: plain data, JSON round-trippable."""

    config: TrainConfig
    status: str  # "solved", "failed" (budget spent) or "diverged" (non-finite loss)
    steps: int  # updates done: the step it was solved or diverged at, or the budget
    sequences: int  # training sequences seen, steps × batch size (HS97 count sequences)
    loss_curve: tuple[tuple[int, float], ...]  # (step, mean training loss since the last point)
    accuracy_curve: tuple[tuple[int, float], ...]  # (step, window or held-out accuracy)
    final_loss: float | None  # window (or held-out) mean loss at the end; None if never measured
    final_accuracy: float | None
    wall_time_s: float
    profiles: tuple[dict[str, Any], ...] = field(default=())  # gradient-profile summaries

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON-ready dict (no NaN: non-finite numbers become None)."""
        return {
            "config": self.config.to_dict(),
            "status": self.status,
            "steps": self.steps,
            "sequences": self.sequences,
            "loss_curve": [[step, finite_or_none(value)] for step, value in self.loss_curve],
            "accuracy_curve": [[step, finite_or_none(value)] for step, value in self.accuracy_curve],
            "final_loss": finite_or_none(self.final_loss),
            "final_accuracy": finite_or_none(self.final_accuracy),
            "wall_time_s": self.wall_time_s,
            "profiles": list(self.profiles),
        }

    def to_json(self) -> dict[str, Any]:
        """The ``rnngrad train --json`` object: :meth:`to_dict` plus ``published``, the papers'
        result for this task, T and model (or null)."""
        config = self.config
        return {**self.to_dict(), "published": published_summary(config.task, config.T, config.model)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainResult:
        def curve(points: list) -> tuple[tuple[int, float], ...]:
            return tuple((int(step), math.nan if value is None else float(value)) for step, value in points)

        return cls(
            config=TrainConfig.from_dict(data["config"]),
            status=data["status"],
            steps=int(data["steps"]),
            sequences=int(data["sequences"]),
            loss_curve=curve(data["loss_curve"]),
            accuracy_curve=curve(data["accuracy_curve"]),
            final_loss=data["final_loss"],
            final_accuracy=data["final_accuracy"],
            wall_time_s=float(data["wall_time_s"]),
            profiles=tuple(data.get("profiles", ())),
        )


def _require_positive_number(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InputError(f"{name}: expected a positive finite number, got {value!r}")
