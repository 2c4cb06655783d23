"""The ``rnngrad train`` job: one training run, and its result beside the published one."""

from __future__ import annotations

from typing import Any

from rnngrad.tasks import make_task, published_summary
from rnngrad.training import ProgressCallback, TrainConfig, TrainResult, train


def run_train(config: TrainConfig, on_progress: ProgressCallback | None = None) -> TrainResult:
    """Train (see :func:`rnngrad.training.train`); the task is built first, so a missing optional
    dependency (scikit-learn for the digits tasks) is reported before any training."""
    make_task(config.task, config.T)
    return train(config, on_progress)


def contract_json(result: TrainResult) -> dict[str, Any]:
    """The ``rnngrad train --json`` object: :meth:`TrainResult.to_dict` plus ``published``."""
    config = result.config
    return {**result.to_dict(), "published": published_summary(config.task, config.T, config.model)}
