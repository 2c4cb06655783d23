"""What every claim experiment shares: its config, its result, and how progress is reported.

A claim experiment measures, then decides. The verdict is a function of the measured numbers
and fixed thresholds (each module states its thresholds next to its decision), never of what
the seed asserts. Results are plain data: JSON-ready ``evidence`` for the table and ``series``
for the figures.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import torch

from rnngrad.errors import InputError, require_positive_int

HOLDS = "holds"
CAVEAT = "holds with caveat"
FAILS = "does not hold"
VERDICTS = (HOLDS, CAVEAT, FAILS)

EXACT = 1e-9  # float64 relative error below which two computations count as the same number


@dataclass(frozen=True)
class ClaimsConfig:
    """Sizes of the claim experiments. ``ClaimsConfig.quick()`` gives the small test sizes."""

    seed: int = 0  # every random draw derives from it (one independent stream per claim)
    hidden_size: int = 32  # H of the Jacobian experiments (the LSTM ones use H/2 for speed)
    T: int = 100  # steps of the Jacobian experiments
    batch: int = 4  # sequences per weight draw
    draws: int = 200  # random weight draws of C3 (C2 uses a quarter of them)
    gains: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)  # ‖W_hh‖₂ of C4's map
    input_scales: tuple[float, ...] = (0.01, 0.1, 0.3, 1.0, 3.0, 10.0)  # std of x_t in C4's map
    search_draws: int = 48  # random LSTMs tried by C6
    train_tasks: tuple[str, ...] = ("adding-sum", "adding")  # C11's variants: Le/Arjovsky and HS97 placement
    train_T: tuple[int, ...] = (50, 100)  # adding-problem lengths of C11
    train_models: tuple[str, ...] = ("rnn-tanh", "lstm", "lstm-chrono", "gru")  # trained on every variant
    train_steps: int = 1500  # update budget of every C11 run (the same for every model and variant)
    train_batch: int = 128
    train_hidden: int = 16
    train_lr: float = 1e-2
    train_workers: int = 1  # processes for the C11 runs (1: inline; >1 needs a __main__ guard in scripts)
    quick_mode: bool = False  # set by quick(): the verdicts of a quick run are not the report's

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(f"seed: expected an integer ≥ 0, got {self.seed!r}")
        for name in ("hidden_size", "batch", "draws", "search_draws", "train_steps",
                     "train_batch", "train_hidden", "train_workers"):
            require_positive_int(name, getattr(self, name))
        if isinstance(self.T, bool) or not isinstance(self.T, int) or self.T < 8:
            raise InputError(f"T: expected an integer ≥ 8, got {self.T!r}")
        if self.hidden_size < 2:
            raise InputError(f"hidden_size: expected at least 2, got {self.hidden_size}")
        if not self.gains or not self.input_scales or not self.train_T or not self.train_models or not self.train_tasks:
            raise InputError("gains, input_scales, train_T, train_models, train_tasks: expected non-empty tuples")
        unknown = [task for task in self.train_tasks if task not in ("adding-sum", "adding")]
        if unknown:
            raise InputError(f"train_tasks: expected adding-problem variants among adding-sum, adding, got {unknown}")

    @classmethod
    def quick(cls, seed: int = 0, train_workers: int = 1) -> ClaimsConfig:
        """Small sizes for tests and quick runs: the same experiments, seconds instead of minutes."""
        return cls(seed=seed, hidden_size=8, T=30, batch=2, draws=24, gains=(0.5, 1.0, 2.0, 4.0, 8.0),
                   input_scales=(0.01, 1.0, 10.0), search_draws=8, train_T=(10, 20),
                   train_steps=40, train_batch=16, train_hidden=8, train_workers=train_workers, quick_mode=True)


@dataclass(frozen=True)
class ClaimResult:
    """One claim, measured: the seed's statement, the verdict and the numbers behind it."""

    id: str  # "C1" .. "C14"
    claim: str  # the seed's statement with its formula (English)
    verdict: str  # one of VERDICTS
    evidence: Mapping[str, Any]  # JSON-ready measured numbers; "headline" holds the key ones
    figure: str | None  # name of the report figure that shows it
    series: Mapping[str, Any] = field(default_factory=dict)  # JSON-ready data of the figure

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict: expected one of {VERDICTS}, got {self.verdict!r}")

    def to_json(self) -> dict[str, Any]:
        """The ``rnngrad claims --json`` object."""
        return {"id": self.id, "claim": self.claim, "verdict": self.verdict,
                "evidence": dict(self.evidence), "figure": self.figure}


@dataclass(frozen=True)
class Progress:
    """What a progress callback sees: work done of the total, in arbitrary units, and a label."""

    done: float
    total: float
    label: str


ProgressCallback = Callable[[Progress], None]
Advance = Callable[[float], None]  # inside one claim: fraction 0..1 of that claim done


def generator(seed: int, stream: str) -> torch.Generator:
    """An independent generator for one named stream ("C3", "C4/map", ...) of a seed."""
    digest = hashlib.sha256(f"rnngrad.claims:{seed}:{stream}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") >> 1)
