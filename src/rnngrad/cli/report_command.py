"""``rnngrad report``: the seed's claims, measured, as a self-contained HTML report."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from rnngrad.cli._app import app, exits_2_on_bad_input
from rnngrad.cli._progress import progress_bar
from rnngrad.report import ReportConfig, run_report


@app.command("report")
@exits_2_on_bad_input(options=("out", "lang", "force", "workers"))
def report_command(
    out: Path = typer.Option(Path("report"), "--out", help="Folder to write (index.html, report.json, assets/)."),
    lang: str = typer.Option("en", "--lang", help="Language of the text: en or ko."),
    quick: bool = typer.Option(False, "--quick", help="Small sizes (seconds); for tests, not for verdicts."),
    force: bool = typer.Option(False, "--force", help="Write into a non-empty folder that is not a report."),
    seed: int = typer.Option(0, help="Random seed of every experiment."),
    workers: int = typer.Option(2, help="Processes for the training runs of C11 (1: none)."),
) -> None:
    """Run every claim experiment and write an HTML report with figures, offline-readable."""
    config = ReportConfig(seed=seed, quick=quick, lang=lang, workers=workers)
    if out.is_symlink():  # follow it: the user's link stays, the report goes where it points
        out = out.resolve()
    with progress_bar("report") as on_progress:
        index = run_report(config, out, force, on_progress)
    Console().print(f"Report written to {index}")
