"""``rnngrad sweep``: a grid of training runs into a results DB, locally or on a Ray cluster.

The grid is given by options (one task) or by a spec file (``--spec``, several tasks with their
criteria and budgets: :mod:`rnngrad.sweep.spec_file`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rnngrad.cli._app import app, exits_2_on_bad_input
from rnngrad.cli.results_command import print_table
from rnngrad.errors import InputError
from rnngrad.sweep import SweepConfig, SweepEvent, load_results, run_plan, run_sweep
from rnngrad.sweep.spec_file import load_sweep_plan
from rnngrad.sweep.table import results_table


@app.command("sweep")
@exits_2_on_bad_input(options=("spec",))
def sweep_command(
    spec: Optional[Path] = typer.Option(None, "--spec", help="A sweep spec file (JSON: tasks, criteria, budgets, "
                                        "models, seeds, run order); it sets the whole grid, so no grid option goes with it."),
    task: Optional[str] = typer.Option(None, "--task", help="A task name (see rnngrad train --help) (default adding)."),
    T: Optional[str] = typer.Option(None, "--T", help="Comma-separated lengths, e.g. 50,100,200 (default 50,100)."),
    model: Optional[str] = typer.Option(None, "--model", help="Comma-separated model names (default rnn-tanh,lstm,gru)."),
    seeds: Optional[int] = typer.Option(None, "--seeds", help="Seeds per (T, model): 0..seeds−1 (default 1)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Update budget per run."),
    db: Path = typer.Option(Path("results.db"), "--db", help="Results database (created if missing)."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Local worker processes (default: CPU cores)."),
    ray: Optional[str] = typer.Option(None, "--ray", help="Run as Ray tasks on an existing cluster: auto or host:port."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size"),
    hidden_size: Optional[int] = typer.Option(None, "--hidden-size"),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="adam or rmsprop."),
    lr: Optional[float] = typer.Option(None, "--lr"),
    clip: Optional[float] = typer.Option(None, "--clip"),
    no_clip: bool = typer.Option(False, "--no-clip"),
) -> None:
    """Run every (T, model, seed) not yet in the database; print the table at the end.

    With --spec, the runs go in the spec's order (its first stages first, seed 0 before seed 1),
    each on one thread; run the same command again to resume where an interrupted sweep stopped.
    """
    if ray is not None and workers is not None:
        raise InputError(f"--workers: expected no --workers with --ray (Ray schedules the runs), got {workers}")
    if no_clip and clip is not None:
        raise InputError(f"--no-clip: expected no --clip with it, got --clip {clip}")
    plan = None
    if spec is not None:
        grid = {"--task": task, "--T": T, "--model": model, "--seeds": seeds, "--steps": steps,
                "--batch-size": batch_size, "--hidden-size": hidden_size, "--optimizer": optimizer, "--lr": lr,
                "--clip": clip, "--no-clip": no_clip or None}
        given = [f"{option} {value}" if value is not True else option for option, value in grid.items() if value is not None]
        if given:
            raise InputError(f"--spec: expected no grid option with it (the spec file sets the grid), got {given[0]}")
        plan = load_sweep_plan(spec)
        name = plan.title or str(spec)
    else:
        sweep = SweepConfig(task=task or "adding", T=_lengths(T or "50,100"),
                            models=_names("--model", model or "rnn-tanh,lstm,gru"), seeds=1 if seeds is None else seeds,
                            db=db, workers=workers, ray=ray, steps=steps, batch_size=batch_size,
                            hidden_size=hidden_size, optimizer=optimizer, lr=lr, clip=clip, no_clip=no_clip)
        name = sweep.task
    console = Console(stderr=True)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.fields[last]}"), console=console, disable=not console.is_terminal)
    bar = progress.add_task(f"sweep {name}", total=None, last="")

    def started(total: int, pending: int) -> None:  # input checked and DB open: show the bar
        progress.update(bar, total=pending, description=f"sweep {name}: {total - pending} of {total} runs already done")
        progress.start()

    def finished(event: SweepEvent) -> None:
        config = event.result.config
        last = f"{config.task} T={config.T} {config.model} seed {config.seed}: {event.result.status} at {event.result.steps}"
        progress.update(bar, completed=event.done, last=last)

    try:
        if plan is not None:
            outcome = run_plan(plan, db, workers, ray, on_event=finished, on_start=started)
        else:
            outcome = run_sweep(sweep, on_event=finished, on_start=started)
    except BaseException:
        progress.live.transient = True  # stopped early: the one line that says why is enough
        raise
    finally:
        if progress.live.is_started:
            progress.stop()
    message = f"{outcome.ran} runs done now, {outcome.skipped} already in {outcome.db}"
    if outcome.elsewhere:
        message += f", {outcome.elsewhere} done by another sweep on it meanwhile"
    console.print(message)
    print_table(results_table(load_results(outcome.db)["runs"], plan), Console())


def _lengths(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise InputError(f"--T: expected comma-separated integers ≥ 2, got {text!r}") from None
    bad = [value for value in values if value < 2]
    if not values or bad:
        raise InputError(f"--T: expected comma-separated integers ≥ 2, got {text!r}")
    return values


def _names(option: str, text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise InputError(f"{option}: expected comma-separated names, got {text!r}")
    return names
