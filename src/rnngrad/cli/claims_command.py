"""``rnngrad claims``: run every claim of the seed as an experiment and print the verdict table."""

from __future__ import annotations

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from rnngrad.cli._app import app, exits_2_on_bad_input, print_json
from rnngrad.cli._progress import progress_bar
from rnngrad.claims import ClaimsConfig, run_claims
from rnngrad.errors import require_positive_int

VERDICT_STYLE = {"holds": "green", "holds with caveat": "yellow", "does not hold": "red"}


@app.command("claims")
@exits_2_on_bad_input(options=("workers",))
def claims_command(
    json_output: bool = typer.Option(False, "--json", help="Print a JSON list (id, claim, verdict, evidence, figure)."),
    quick: bool = typer.Option(False, "--quick", help="Small sizes (seconds); for tests, not for verdicts."),
    seed: int = typer.Option(0, help="Random seed of every experiment."),
    workers: int = typer.Option(2, help="Processes for the training runs of C11 (1: none)."),
) -> None:
    """Measure each claim of the seed post and decide from the numbers whether it holds."""
    require_positive_int("workers", workers)
    config = ClaimsConfig.quick(seed, train_workers=workers) if quick else ClaimsConfig(seed=seed, train_workers=workers)
    with progress_bar("claims") as on_progress:
        results = run_claims(config, on_progress)
    if json_output:
        print_json([result.to_json() for result in results])
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
