"""The ``rnngrad report`` job: measure, render, write — one progress count for all three."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rnngrad.claims import ProgressCallback
from rnngrad.errors import require_positive_int
from rnngrad.report import ReportConfig, build_report, check_out, render_figures, write_report


@dataclass(frozen=True)
class ReportJob:
    """What ``rnngrad report`` writes."""

    out: Path = Path("report")  # the report folder (created, or replaced if it holds a report)
    lang: str = "en"  # "en" or "ko"
    quick: bool = False  # small sizes, for tests
    force: bool = False  # write into a non-empty folder that is not a previous report
    seed: int = 0
    workers: int = 1  # processes for the training runs of C11


def run_report(job: ReportJob, on_progress: ProgressCallback | None = None) -> Path:
    """Check ``--out``, run every experiment, render every figure and write the folder.

    Returns:
        The path of the written ``index.html``.
    """
    config = ReportConfig(seed=job.seed, quick=job.quick, lang=job.lang)  # validates the language
    require_positive_int("--workers", job.workers)
    check_out(Path(job.out), job.force)  # fail before minutes of work, not after
    report = build_report(config, on_progress, workers=job.workers)
    rendered = render_figures(report, on_progress)
    return write_report(report, rendered, Path(job.out), job.force)


__all__ = ["ReportJob", "run_report"]
