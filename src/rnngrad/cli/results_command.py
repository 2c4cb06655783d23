"""``rnngrad results``: the runs in a results DB, summarised beside the published numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from rnngrad.cli._app import app, exits_2_on_bad_input, print_json
from rnngrad.cli._files import check_figure_path, save_figure
from rnngrad.sweep import load_results
from rnngrad.sweep import plot_success_rate


@app.command("results")
@exits_2_on_bad_input
def results_command(
    db: Path = typer.Option(Path("results.db"), "--db", help="Results database written by rnngrad sweep."),
    json_output: bool = typer.Option(False, "--json", help='Print {"runs": [...], "summary": [...]}.'),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Also save success rate against T to this image file."),
) -> None:
    """Success rate and median steps per (task, T, model), side by side with the papers."""
    if plot is not None:
        check_figure_path("--plot", plot)
    results = load_results(db)
    if plot is not None and results["summary"]:
        save_figure("--plot", plot_success_rate(results["summary"]), plot)
    if json_output:
        print_json(results)
    else:
        print_summary(results["summary"], Console())


def print_summary(summary: list[dict[str, Any]], console: Console) -> None:
    """Render summary rows (see :func:`rnngrad.sweep.summarize`) as a table; papers as numbered notes."""
    if not summary:
        console.print("no runs recorded yet")
        return
    table = Table(box=box.SIMPLE, caption="steps, sequences: medians over the solved runs", caption_justify="left")
    for column, justify in (("task", "left"), ("T", "right"), ("model", "left"), ("solved", "right"),
                            ("steps", "right"), ("sequences", "right"), ("published", "left")):
        table.add_column(column, justify=justify, no_wrap=True)
    notes: dict[str, int] = {}
    for row in summary:
        published = row["published"]
        if published is not None:
            text = f"{published['source']}: {published['result']} ({published['paper_model']})"
            verdict = {True: "solved", False: "not solved", None: "mixed"}[published["solved"]]
            published_cell = f"{verdict} [{notes.setdefault(text, len(notes) + 1)}]"
        else:
            published_cell = "–"
        table.add_row(
            row["task"], str(row["T"]), row["model"],
            f"{row['solved']}/{row['runs']}" + (f", {row['diverged']} diverged" if row["diverged"] else ""),
            "–" if row["median_steps"] is None else f"{row['median_steps']:,.0f}",
            "–" if row["median_sequences"] is None else f"{row['median_sequences']:,.0f}",
            published_cell,
        )
    console.print(table)
    for text, number in notes.items():
        console.print(f"[{number}] {text}", markup=False, highlight=False)
