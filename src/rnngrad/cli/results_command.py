"""``rnngrad results``: the runs in a results DB as a table per task, beside the published numbers.

``--out DIR`` writes the committed summary of a sweep: ``summary.json`` (the table, the summary
rows, every run without its curves, and the spec), ``table.md`` and ``success-vs-T.png``. Each
file is written to a temporary name and renamed into place, so an interrupted write leaves the
older file as it was.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from rnngrad.cli._app import app, exits_2_on_bad_input, print_json
from rnngrad.cli._files import check_figure_path, save_figure, write_atomically
from rnngrad.errors import InputError
from rnngrad.sweep import load_results
from rnngrad.sweep import plot_success_rate
from rnngrad.sweep.markdown import budget_text, cell_text, legend_lines, note_text, table_markdown
from rnngrad.sweep.spec_file import SweepPlan, load_sweep_plan
from rnngrad.sweep.table import results_table

SUMMARY_FILE, TABLE_FILE, FIGURE_FILE = "summary.json", "table.md", "success-vs-T.png"


@app.command("results")
@exits_2_on_bad_input(options=("spec",))
def results_command(
    db: Path = typer.Option(Path("results.db"), "--db", help="Results database written by rnngrad sweep."),
    spec: Optional[Path] = typer.Option(None, "--spec", help="The sweep's spec file: a row and a cell for every "
                                        "run it plans, marked where none has run yet; runs it does not plan are left out."),
    json_output: bool = typer.Option(False, "--json", help='Print {"runs": [...], "summary": [...]} '
                                     '(with --spec also "table" and "spec").'),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Also save success rate against T to this image file."),
    out: Optional[Path] = typer.Option(None, "--out", help=f"Also write {SUMMARY_FILE}, {TABLE_FILE} and "
                                       f"{FIGURE_FILE} into this existing folder."),
) -> None:
    """Success rate and median updates per (task, T, model), side by side with the papers."""
    if plot is not None:
        check_figure_path("--plot", plot)
    if out is not None:
        _check_folder("--out", out)
    plan = load_sweep_plan(spec) if spec is not None else None
    results = load_results(db)
    table = results_table(results["runs"], plan)
    if plot is not None and results["summary"]:
        save_figure("--plot", plot_success_rate(results["summary"]), plot)
    if out is not None:
        write_summary(out, results, table, plan)
    if json_output:
        print_json(results if plan is None else {**results, "table": table, "spec": plan.source})
    else:
        print_table(table, Console())


def write_summary(folder: Path, results: dict[str, Any], table: dict[str, Any], plan: SweepPlan | None) -> None:
    """``summary.json``, ``table.md`` and (once a task with two lengths has runs) the figure."""
    summary = {"table": table, "summary": results["summary"], "runs": results["runs"],
               "spec": None if plan is None else plan.source}
    _write_text("--out", folder / SUMMARY_FILE, json.dumps(summary, indent=1, allow_nan=False) + "\n")
    _write_text("--out", folder / TABLE_FILE, table_markdown(table))
    points = _figure_points(table)
    if any(point["success_rate"] is not None for point in points):
        save_figure("--out", plot_success_rate(points), folder / FIGURE_FILE)


def print_table(table: dict[str, Any], console: Console) -> None:
    """Render :func:`rnngrad.sweep.table.results_table` on the terminal: a table per task, then the
    papers as numbered notes and what each status means."""
    if not table["rows"]:
        console.print("no runs recorded yet")
        return
    if table["title"]:
        console.print(table["title"], markup=False, highlight=False)
    notes: dict[int, str] = {}
    for task in dict.fromkeys(row["task"] for row in table["rows"]):
        rows = [row for row in table["rows"] if row["task"] == task]
        console.print(f"\n{task} — solved: {rows[0]['criterion']}", markup=False, highlight=False)
        for source in dict.fromkeys(row["budget"]["source"] for row in rows if row["budget"]["source"]):
            console.print(f"budget: {source}", markup=False, highlight=False)
        grid = Table(box=box.SIMPLE, pad_edge=False)
        grid.add_column("T", justify="right", no_wrap=True)
        grid.add_column("budget", justify="right")
        for model in table["models"]:
            grid.add_column(model, justify="center", overflow="fold")
        grid.add_column("papers", justify="left", no_wrap=True)
        for row in rows:
            for entry in row["published"]:
                notes[entry["ref"]] = note_text(row["T"], entry)
            papers = " ".join(f"[{entry['ref']}]" for entry in row["published"]) or "–"
            grid.add_row(str(row["T"]), budget_text(row["budget"]),
                         *[_terminal_cell(cell) for cell in row["cells"]], papers)
        console.print(grid)
    for ref, text in sorted(notes.items()):
        console.print(f"[{ref}] {text}", markup=False, highlight=False)
    for line in legend_lines(table):
        console.print(line.rstrip().replace("**bold**", "*").replace("`", ""), markup=False, highlight=False)


def _terminal_cell(cell: dict[str, Any]) -> str:
    text = cell_text(cell)
    return f"*{text}" if cell["agrees"] is False else text


def _figure_points(table: dict[str, Any]) -> list[dict[str, Any]]:
    """Success rates (None: not run yet) of the cells of the tasks planned (or run) at two T or more."""
    lengths: dict[str, set[int]] = {}
    for row in table["rows"]:
        lengths.setdefault(row["task"], set()).add(row["T"])
    return [{"task": row["task"], "T": row["T"], "model": cell["model"], "success_rate": cell["success_rate"]}
            for row in table["rows"] if len(lengths[row["task"]]) > 1 for cell in row["cells"]]


def _check_folder(option: str, folder: Path) -> None:
    if not folder.is_dir():
        raise InputError(f"{option}: expected an existing folder, got {str(folder)!r}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{option}: expected a folder that can be written, got {str(folder)!r} (read-only)")


def _write_text(option: str, path: Path, text: str) -> None:
    write_atomically(option, path, lambda file: file.write(text.encode("utf-8")))