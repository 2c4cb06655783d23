"""The whole report in one call: check the folder, measure, render, write — one progress count."""

from __future__ import annotations

from pathlib import Path

from rnngrad.claims import ProgressCallback
from rnngrad.report._build import ReportConfig, build_report
from rnngrad.report.figures import render_figures
from rnngrad.report.writer import check_out, write_report


def run_report(config: ReportConfig, out: Path, force: bool = False,
               on_progress: ProgressCallback | None = None) -> Path:
    """Check ``out``, run every experiment, render every figure and write the folder.

    Args:
        config: seed, quick, language and training processes.
        out: the report folder (created, or replaced if it holds a previous report).
        force: write into a non-empty folder that is not a previous report (only the report's
            own files are replaced).
        on_progress: called with :class:`~rnngrad.claims.Progress` over measuring and rendering.

    Returns:
        The path of the written ``index.html``.
    """
    check_out(Path(out), force)  # fail before minutes of work, not after
    report = build_report(config, on_progress)
    rendered = render_figures(report, on_progress)
    return write_report(report, rendered, Path(out), force)
