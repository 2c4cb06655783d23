"""Run a grid of training runs into a results database, and read it back.

Order of a sweep, so that bad input leaves nothing behind: check the grid and every name; refuse
a ``db`` file that is not a results database (untouched); connect to Ray if asked (an unreachable
cluster stops here, before any file is made); only then open or create the database, skip the
runs it already holds and run the rest, writing each row when its run ends.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from rnngrad.errors import InputError, require_positive_int
from rnngrad.sweep import ray_backend
from rnngrad.sweep.spec import SweepSpec, config_key
from rnngrad.sweep.store import ResultsStore, check_results_db
from rnngrad.sweep.summary import summarize
from rnngrad.training import TrainConfig, TrainResult, train_all


@dataclass(frozen=True)
class SweepConfig:
    """A sweep: the grid, where its results go and where it runs. None hyperparameters take
    :class:`TrainConfig`'s defaults."""

    task: str
    T: tuple[int, ...]
    models: tuple[str, ...]
    seeds: int = 1  # seeds 0..seeds−1 per (T, model)
    db: Path = Path("results.db")
    workers: int | None = None  # local processes; None: one per CPU core
    ray: str | None = None  # "auto" or host:port of an existing Ray cluster; None: run locally
    steps: int | None = None
    batch_size: int | None = None
    hidden_size: int | None = None
    optimizer: str | None = None
    lr: float | None = None
    clip: float | None = None
    no_clip: bool = False  # train without gradient clipping

    def spec(self) -> SweepSpec:
        """The grid, validated (names, T, seeds, hyperparameters)."""
        overrides = {name: getattr(self, name)
                     for name in ("steps", "batch_size", "hidden_size", "optimizer", "lr", "clip")
                     if getattr(self, name) is not None}
        if self.no_clip:
            overrides["clip"] = None
        base = TrainConfig(task=self.task, T=max(2, self.T[0]) if self.T else 100,
                           model=self.models[0] if self.models else "lstm", **overrides)
        return SweepSpec(self.task, tuple(self.T), tuple(self.models), self.seeds, base)


@dataclass(frozen=True)
class SweepEvent:
    """One finished run, as the progress display sees it."""

    result: TrainResult
    done: int  # runs finished in this invocation, this one included
    pending: int  # runs this invocation had to do


@dataclass(frozen=True)
class SweepOutcome:
    """What a sweep did."""

    db: Path
    total: int  # runs in the grid
    skipped: int  # already in the database
    ran: int  # trained and written now
    statuses: dict[str, int] = field(default_factory=dict)  # over the runs done now


def run_sweep(sweep: SweepConfig, on_event: Callable[[SweepEvent], None] | None = None,
              on_start: Callable[[int, int], None] | None = None) -> SweepOutcome:
    """Run every missing run of ``sweep``'s grid and record it in ``sweep.db``.

    Args:
        sweep: the sweep.
        on_event: called once per finished run (after its row is committed).
        on_start: called once with (runs in the grid, runs to do) before training starts.
    """
    spec = sweep.spec()
    workers = (os.cpu_count() or 1) if sweep.workers is None else require_positive_int("workers", sweep.workers)
    db = Path(sweep.db)
    if db.exists():
        check_results_db(db)  # refuse a foreign file before anything can touch it
    if sweep.ray is not None:
        ray_backend.connect(sweep.ray)  # an unreachable cluster stops the sweep here
    try:
        with ResultsStore.open(db, create=True) as store:
            configs = spec.configs()
            finished = store.finished_keys()
            pending = [config for config in configs if config_key(config) not in finished]
            if on_start is not None:
                on_start(len(configs), len(pending))
            statuses: Counter[str] = Counter()

            def record(result: TrainResult) -> None:
                store.record(result)
                statuses[result.status] += 1
                if on_event is not None:
                    on_event(SweepEvent(result, sum(statuses.values()), len(pending)))

            if sweep.ray is not None:
                ray_backend.run_ray(pending, record)
            else:
                train_all(pending, workers, lambda _, result: record(result))
    finally:
        if sweep.ray is not None:
            ray_backend.disconnect()
    return SweepOutcome(db, len(configs), len(configs) - len(pending), sum(statuses.values()), dict(statuses))


def load_results(db: Path) -> dict[str, Any]:
    """The ``rnngrad results --json`` contract: ``{"runs": [...], "summary": [...]}``.

    Each run: ``task``, ``T``, ``model``, ``seed``, ``status``, ``steps``, ``sequences``,
    ``final_loss``, ``final_accuracy``, ``wall_time_s``, ``key``, ``finished_at``, ``config``.
    Each summary row: see :func:`rnngrad.sweep.summarize` (``success_rate``, ``median_steps``,
    ``published``, ...).
    """
    db = Path(db)
    if not db.exists():
        raise InputError(f"db: expected an existing results database, got {str(db)!r} (no such file)")
    with ResultsStore.open(db, create=False) as store:
        runs = store.runs()
    return {"runs": runs, "summary": summarize(runs)}
