"""A sweep is a grid of training runs; each run is keyed by a hash of its full config."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace

from rnngrad.errors import InputError, require_positive_int
from rnngrad.tasks import make_task
from rnngrad.training import TrainConfig

KEY_VERSION = 1  # bump if the meaning of a config field changes


@dataclass(frozen=True)
class SweepSpec:
    """Every (T, model, seed) combination of one task, with shared hyperparameters.

    Args:
        task: a task name.
        T: the lengths to try, each ≥ 2 (and whatever the task needs beyond that).
        models: model names.
        seeds: how many seeds per cell; seeds 0..seeds−1.
        base: the hyperparameters every run shares (its task, T, model and seed are replaced).
    """

    task: str
    T: tuple[int, ...]
    models: tuple[str, ...]
    seeds: int = 1
    base: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        require_positive_int("seeds", self.seeds)
        if not self.T:
            raise InputError("T: expected at least one length, got none")
        if not self.models:
            raise InputError("model: expected at least one model name, got none")
        for T in self.T:
            replace(self.base, task=self.task, T=T, model=self.models[0]).check_budget()  # names, T ≥ 2, sizes
            make_task(self.task, T)  # the task's own bounds on T (e.g. digits needs 64)
        for model in self.models:
            replace(self.base, task=self.task, T=self.T[0], model=model)

    def configs(self) -> list[TrainConfig]:
        """The runs, ordered T, then model, then seed (duplicates in T or models removed)."""
        return [
            replace(self.base, task=self.task, T=T, model=model, seed=seed)
            for T in dict.fromkeys(self.T)
            for model in dict.fromkeys(self.models)
            for seed in range(self.seeds)
        ]


def config_key(config: TrainConfig) -> str:
    """The run's key: SHA-256 of its full config as canonical JSON (64 hex digits)."""
    canonical = json.dumps({"key_version": KEY_VERSION, **config.to_dict()}, sort_keys=True, allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
