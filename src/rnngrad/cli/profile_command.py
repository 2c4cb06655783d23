"""``rnngrad profile``: dL/dh_t at every step of a saved RNN, LSTM or GRU, from one backward pass."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from rnngrad.checkpoint import load_checkpoint_and_inputs
from rnngrad.cli._app import app, exits_2_on_bad_input, print_json
from rnngrad.cli._files import check_figure_path
from rnngrad.errors import InputError
from rnngrad.profiler import profile
from rnngrad.profiler.render import save_plot, summary

LOSSES = {
    "last": lambda output: output[0][-1].sum(),  # Σ_j h_T,j of the top layer
    "mean": lambda output: output[0].mean(),  # mean over t and j
    "sum": lambda output: output[0].sum(),  # Σ_t Σ_j h_t,j
}


@app.command("profile")
@exits_2_on_bad_input
def profile_command(
    checkpoint: Path = typer.Option(..., help="state_dict of a torch.nn.RNN, LSTM or GRU (torch.save)."),
    inputs: Path = typer.Option(..., help="Input sequence (T, I): torch.save'd tensor or .npy."),
    nonlinearity: str = typer.Option("tanh", help="For an RNN checkpoint: tanh or relu."),
    loss: str = typer.Option("last", help="Loss on the top layer's output: last, mean or sum."),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    plot: Optional[Path] = typer.Option(None, help="Also write a PNG of ‖dL/dh_t‖ against t."),
) -> None:
    """‖dL/dh_t‖ for every layer, direction and step t, its decay rate and memory horizon."""
    if loss not in LOSSES:
        raise InputError(f"--loss: expected one of {', '.join(LOSSES)}, got {loss!r}")
    if plot is not None:
        plot = check_figure_path("--plot", plot)  # before the work, not after it
    module, sequence = load_checkpoint_and_inputs(checkpoint, inputs, nonlinearity)  # (T, I)
    result = profile(module, (sequence,), LOSSES[loss])
    if plot is not None:
        save_plot(result, plot)
    data = summary(result)
    if json_output:
        print_json({"arch": module.mode, "loss_function": loss, **data})
    else:
        _print_table(module.mode, loss, data)


def _print_table(arch: str, loss: str, data: dict) -> None:
    console = Console()
    table = Table(title=f"{arch}, loss = {loss}, L = {data['loss']:.6g}", box=box.SIMPLE)
    for header in ("layer", "dir", "‖dL/dh‖ t=T−1", "t=0", "decay (nats/step)", "horizon", "mean f"):
        table.add_column(header, justify="right")
    for entry in data["layers"]:
        norms = entry["mean_grad_norm_by_time"]
        table.add_row(
            str(entry["layer"]),
            "bwd" if entry["direction"] else "fwd",
            _format(norms[-1]),
            _format(norms[0]),
            _format(entry["decay_rate"]),
            str(entry["memory_horizon"]),
            _format(entry.get("mean_forget_gate")),
        )
    console.print(table)
    eps = data["memory_horizon_eps"]
    console.print(f"horizon: lags over which the mean ‖dL/dh‖ stays ≥ {eps:g} × its peak")
    if data["nonfinite"] is not None:
        mark = data["nonfinite"]
        where = f"{mark['quantity']} at layer {mark['layer']}, step {mark['step']}"
        console.print(f"first non-finite value: {where}")


def _format(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"
