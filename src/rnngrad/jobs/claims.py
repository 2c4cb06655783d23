"""The ``rnngrad claims`` job: measure every claim of the seed and return the verdict table."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from rnngrad.claims import ClaimResult, ClaimsConfig, ProgressCallback, run_claims
from rnngrad.errors import require_positive_int


@dataclass(frozen=True)
class ClaimsJob:
    """What ``rnngrad claims`` computes."""

    quick: bool = False  # small sizes (seconds); the verdicts of a quick run are not the real ones
    seed: int = 0
    workers: int = 1  # processes for the training runs of C11

    def config(self) -> ClaimsConfig:
        require_positive_int("--workers", self.workers)
        base = ClaimsConfig.quick(self.seed) if self.quick else ClaimsConfig(seed=self.seed)
        return dataclasses.replace(base, train_workers=self.workers)


def run_claims_job(job: ClaimsJob, on_progress: ProgressCallback | None = None) -> list[ClaimResult]:
    """Every claim, measured, in the seed's order."""
    return run_claims(job.config(), on_progress)


def claims_json(results: list[ClaimResult]) -> list[dict]:
    """The ``rnngrad claims --json`` list: id, claim, verdict, evidence, figure."""
    return [result.to_json() for result in results]
