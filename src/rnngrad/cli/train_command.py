"""``rnngrad train``: one run on a long-lag task, with a progress bar, then its result."""

from __future__ import annotations

import dataclasses

from typing import Optional

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rnngrad.cli._app import app, exits_2_on_bad_input, print_json
from rnngrad.errors import InputError
from rnngrad.tasks import published_summary
from rnngrad.training import TrainConfig, TrainProgress, TrainResult, train


# TrainConfig's defaults, shown in --help (the options stay None so a config's own default applies)
_DEFAULT = {field.name: field.default for field in dataclasses.fields(TrainConfig)}
# what a status means, under the table (the JSON keeps the bare word: it is the results contract)
STATUS_MEANING = {
    "failed": "the update budget (--steps) ran out before the task's criterion was met.",
    "diverged": "the loss became NaN or infinite; training stopped at that update.",
}


@app.command("train")
@exits_2_on_bad_input
def train_command(
    task: str = typer.Option("adding", "--task", help="adding, adding-sum, copy, temporal-order, digits, digits-permuted."),
    T: int = typer.Option(100, "--T", help="The task's length parameter (≥ 2)."),
    model: str = typer.Option(
        "lstm", "--model",
        help="rnn-tanh, rnn-sigmoid, irnn, lstm, lstm-fb1, lstm-chrono, lstm-nofg, gru, mingru, minlstm, lru.",
    ),
    steps: Optional[int] = typer.Option(None, "--steps", help=f"Update budget (default {_DEFAULT['steps']})."),
    seed: int = typer.Option(0, "--seed", help="Fixes the weights and the data."),
    lr: Optional[float] = typer.Option(None, "--lr", help=f"Learning rate (default {_DEFAULT['lr']:g})."),
    clip: Optional[float] = typer.Option(None, "--clip", help=f"Gradient-norm threshold (Pascanu et al. 2013) (default {_DEFAULT['clip']:g})."),
    no_clip: bool = typer.Option(False, "--no-clip", help="Train without gradient clipping."),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help=f"adam or rmsprop (default {_DEFAULT['optimizer']})."),
    schedule: Optional[str] = typer.Option(None, "--schedule", help=f"constant or cosine (default {_DEFAULT['schedule']})."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help=f"Sequences per update (default {_DEFAULT['batch_size']})."),
    hidden_size: Optional[int] = typer.Option(None, "--hidden-size", help=f"H (default {_DEFAULT['hidden_size']})."),
    log_every: Optional[int] = typer.Option(None, "--log-every", help=f"Steps between points of the loss and accuracy curves (default {_DEFAULT['log_every']})."),
    profile_every: Optional[int] = typer.Option(None, "--profile-every", help=f"Steps between gradient profiles; 0: none (default {_DEFAULT['profile_every']})."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON (progress goes to stderr)."),
) -> None:
    """Train one model on one task until it is solved, diverges or spends its budget."""
    if no_clip and clip is not None:
        raise InputError(f"--no-clip: expected no --clip with it, got --clip {clip}")
    given = {"steps": steps, "lr": lr, "clip": clip, "optimizer": optimizer, "schedule": schedule,
             "batch_size": batch_size, "hidden_size": hidden_size, "log_every": log_every,
             "profile_every": profile_every}
    overrides = {name: value for name, value in given.items() if value is not None}
    if no_clip:
        overrides["clip"] = None
    config = TrainConfig(task=task, T=T, model=model, seed=seed, **overrides)
    console = Console(stderr=True)
    progress = Progress(TextColumn(f"{model} on {task}, T = {T}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("loss {task.fields[loss]}  acc {task.fields[accuracy]}"), TimeElapsedColumn(),
                        console=console, transient=json_output, disable=not console.is_terminal)
    bar = progress.add_task("train", total=config.steps, loss="…", accuracy="…")

    def show(update: TrainProgress) -> None:  # the first report starts the bar: bad input never draws it
        if not progress.live.is_started:
            progress.start()
        accuracy = "…" if update.accuracy is None else f"{update.accuracy:.3f}"
        progress.update(bar, completed=update.step, loss=f"{update.loss:.4g}", accuracy=accuracy)

    try:
        result = train(config, show)
    except BaseException:
        progress.live.transient = True  # stopped early: the one line that says why is enough
        raise
    finally:
        if progress.live.is_started:
            progress.stop()
    if json_output:
        print_json(result.to_json())
    else:
        _print_result(result)


def _print_result(result: TrainResult) -> None:
    config = result.config
    table = Table(title=f"{config.model} on {config.task}, T = {config.T}, seed {config.seed}", box=box.SIMPLE)
    for column in ("status", "steps", "sequences", "final loss", "final accuracy", "wall time"):
        table.add_column(column, justify="right")
    table.add_row(
        result.status, str(result.steps), f"{result.sequences:,}",
        "–" if result.final_loss is None else f"{result.final_loss:.4g}",
        "–" if result.final_accuracy is None else f"{result.final_accuracy:.3f}",
        f"{result.wall_time_s:.1f} s",
    )
    console = Console()
    console.print(table)
    if result.status in STATUS_MEANING:
        console.print(f"{result.status}: {STATUS_MEANING[result.status]}", markup=False, highlight=False)
    published = published_summary(config.task, config.T, config.model)
    if published is not None:
        console.print(f"published: {published['result']} ({published['source']}; {published['paper_model']})")
