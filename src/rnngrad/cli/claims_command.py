"""``rnngrad claims``: run every claim of the seed as an experiment and print the verdict table."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from rnngrad.cli._app import app, exits_2_on_bad_input, print_json
from rnngrad.claims import Progress as ClaimProgress
from rnngrad.jobs.claims import ClaimsJob, claims_json, run_claims_job

VERDICT_STYLE = {"holds": "green", "holds with caveat": "yellow", "does not hold": "red"}


@contextmanager
def progress_bar(description: str) -> Iterator:
    """A rich progress bar on stderr (drawn only on a terminal); yields the library's callback."""
    console = Console(stderr=True)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[label]}"))
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(description, total=1.0, label="")

        def update(progress: ClaimProgress) -> None:
            bar.update(task, completed=progress.done / progress.total, label=progress.label)

        yield update


@app.command("claims")
@exits_2_on_bad_input
def claims_command(
    json_output: bool = typer.Option(False, "--json", help="Print a JSON list (id, claim, verdict, evidence, figure)."),
    quick: bool = typer.Option(False, "--quick", help="Small sizes (seconds); for tests, not for verdicts."),
    seed: int = typer.Option(0, help="Random seed of every experiment."),
    workers: int = typer.Option(2, help="Processes for the training runs of C11 (1: none)."),
) -> None:
    """Measure each claim of the seed post and decide from the numbers whether it holds."""
    with progress_bar("claims") as on_progress:
        results = run_claims_job(ClaimsJob(quick=quick, seed=seed, workers=workers), on_progress)
    if json_output:
        print_json(claims_json(results))
        return
    table = Table(title="The seed's claims, measured" + (" (quick sizes)" if quick else ""), box=box.SIMPLE,
                  show_lines=True)
    table.add_column("id", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("claim", ratio=2)
    table.add_column("key evidence", ratio=3)
    for result in results:
        verdict = f"[{VERDICT_STYLE[result.verdict]}]{result.verdict}[/]"
        table.add_row(result.id, verdict, result.claim, str(result.evidence.get("headline", "")))
    Console().print(table)
