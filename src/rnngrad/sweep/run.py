"""Run a grid of training runs into a results database, and read it back.

Order of a sweep, so that bad input leaves nothing behind: check the grid and every name; refuse
a ``db`` file that is not a results database (untouched) or cannot be written; connect to Ray if
asked (an unreachable cluster stops here, before any file is made); only then open or create the
database, skip the runs it already holds and run the rest, each claimed just before it starts
(a run another sweep on the same database has claimed or recorded meanwhile is left to it) and
its row written when it ends.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from rnngrad.errors import require_positive_int
from rnngrad.sweep import ray_backend
from rnngrad.sweep.spec import SweepSpec, config_key
from rnngrad.sweep.spec_file import SweepPlan
from rnngrad.sweep._db_file import check_sweep_target
from rnngrad.sweep.store import ResultsStore
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
    skipped: int  # already in the database when the sweep started
    ran: int  # trained and written now, by this sweep
    statuses: dict[str, int] = field(default_factory=dict)  # over the runs written now
    elsewhere: int = 0  # left to, or already written by, another sweep on the same database meanwhile


def run_sweep(sweep: SweepConfig, on_event: Callable[[SweepEvent], None] | None = None,
              on_start: Callable[[int, int], None] | None = None) -> SweepOutcome:
    """Run every missing run of ``sweep``'s grid and record it in ``sweep.db``.

    Args:
        sweep: the sweep.
        on_event: called once per finished run (after its row is committed).
        on_start: called once with (runs in the grid, runs to do) before training starts.
    """
    configs = sweep.spec().configs()
    return run_configs(configs, sweep.db, sweep.workers, sweep.ray, on_event=on_event, on_start=on_start)


def run_plan(plan: SweepPlan, db: Path, workers: int | None = None, ray: str | None = None,
             on_event: Callable[[SweepEvent], None] | None = None,
             on_start: Callable[[int, int], None] | None = None) -> SweepOutcome:
    """Run every missing run of a spec file's plan, in its order, each on one thread (so a run's
    numbers do not depend on ``workers``); arguments as :func:`run_sweep`'s."""
    return run_configs(plan.configs(), db, workers, ray, threads=1, on_event=on_event, on_start=on_start)


def run_configs(configs: list[TrainConfig], db: Path, workers: int | None = None, ray: str | None = None,
                threads: int | None = None, on_event: Callable[[SweepEvent], None] | None = None,
                on_start: Callable[[int, int], None] | None = None) -> SweepOutcome:
    """Run, in the given order, each of ``configs`` not yet recorded in ``db`` (see the module).

    Args:
        configs: the runs (already checked).
        db: the results database (created if missing).
        workers: local processes; None: one per CPU core. Not with ``ray``.
        ray: "auto" or host:port of an existing Ray cluster; None: run locally.
        threads: intra-op threads per local run (:func:`rnngrad.training.train_all`).
        on_event, on_start: as :func:`run_sweep`'s.
    """
    workers = (os.cpu_count() or 1) if workers is None else require_positive_int("workers", workers)
    db = Path(db)
    check_sweep_target(db)  # refuse a foreign or read-only file before anything can touch it
    if ray is not None:
        ray_backend.connect(ray)  # an unreachable cluster stops the sweep here
    try:
        with ResultsStore.open(db, create=True) as store:
            finished = store.finished_keys()
            pending = [config for config in configs if config_key(config) not in finished]
            if on_start is not None:
                on_start(len(configs), len(pending))
            statuses: Counter[str] = Counter()
            trained = 0

            def record(result: TrainResult) -> None:
                nonlocal trained
                trained += 1
                if store.record(result):  # False: another sweep wrote this run first
                    statuses[result.status] += 1
                if on_event is not None:
                    on_event(SweepEvent(result, trained, len(pending)))

            def claim(index: int) -> bool:
                return store.claim(config_key(pending[index]))

            if ray is not None:
                ray_backend.run_ray([config for index, config in enumerate(pending) if claim(index)], record)
            else:
                train_all(pending, workers, lambda _, result: record(result), claim=claim, threads=threads)
    finally:
        if ray is not None:
            ray_backend.disconnect()
    ran = sum(statuses.values())
    return SweepOutcome(db, len(configs), len(configs) - len(pending), ran, dict(statuses), len(pending) - ran)


def load_results(db: Path) -> dict[str, Any]:
    """The ``rnngrad results --json`` contract: ``{"runs": [...], "summary": [...]}``.

    Each run: ``task``, ``T``, ``model``, ``seed``, ``status``, ``steps``, ``sequences``,
    ``final_loss``, ``final_accuracy``, ``wall_time_s``, ``key``, ``finished_at``, ``config``.
    Each summary row: see :func:`rnngrad.sweep.summarize` (``success_rate``, ``median_steps``,
    ``published``, ...).
    """
    with ResultsStore.open(Path(db), create=False, read_only=True) as store:  # works on a read-only mount
        runs = store.runs()
    return {"runs": runs, "summary": summarize(runs)}
