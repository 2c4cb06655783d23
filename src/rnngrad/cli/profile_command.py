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
LOSS_WORDS = {"last": "Σ_j h_T,j of the top layer", "mean": "the mean of the top layer's h_t,j",
              "sum": "Σ_t Σ_j h_t,j of the top layer"}


@app.command("profile")
@exits_2_on_bad_input
def profile_command(
    checkpoint: Path = typer.Option(..., help="state_dict of a torch.nn.RNN, LSTM or GRU, or an rnngrad MinGRU, MinLSTM or LRU (torch.save)."),
    inputs: Path = typer.Option(..., help="Input sequence (T, I): torch.save'd tensor or .npy."),
    nonlinearity: str = typer.Option("tanh", help="For an RNN checkpoint: tanh or relu."),
    arch: Optional[str] = typer.Option(
        None, help="For a diagonal checkpoint: mingru, minlstm or lru (inferred when the shapes tell)."),
    loss: str = typer.Option("last", help="Loss on the top layer's output: last, mean or sum."),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    plot: Optional[Path] = typer.Option(None, help="Also write a PNG of ‖dL/dh_t‖ against t."),
) -> None:
    """‖dL/dh_t‖ for every layer, direction and step t, its decay rate and memory horizon."""
    if loss not in LOSSES:
        raise InputError(f"--loss: expected one of {', '.join(LOSSES)}, got {loss!r}")
    if plot is not None:
        plot = check_figure_path("--plot", plot)  # before the work, not after it
    module, sequence = load_checkpoint_and_inputs(checkpoint, inputs, nonlinearity, arch)  # (T, I)
    result = profile(module, (sequence,), LOSSES[loss])
    if plot is not None:
        save_plot(result, plot)
    data = summary(result)
    kind = getattr(module, "mode", None) or type(module).__name__  # "LSTM", "RNN_TANH", ...; "MinGRU"
    if json_output:
        print_json({"arch": kind, "loss_function": loss, **data})
    else:
        _print_table(kind, loss, data)


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
            _format(entry["decay_rate_nats_per_step"]),
            str(entry["memory_horizon"]),
            _format(entry.get("mean_forget_gate")),
        )
    console.print(table)
    eps = data["memory_horizon_eps"]
    console.print(f"decay: −slope of ln mean ‖dL/dh_t‖ against the lag k back through the recurrence "
                  f"(least squares over every lag), nats per step, > 0: vanishing; L = {LOSS_WORDS[loss]}")
    if loss == "last":
        console.print("`rnngrad spectrum --layer l` measures it with L = Σ_j h_T,j of layer l itself: "
                      "the same rate for the top layer; a lower layer's dL/dh_t here also comes down "
                      "through the layers above")
    console.print(f"horizon: lags over which the mean ‖dL/dh‖ stays ≥ {eps:g} × its peak")
    if data["nonfinite"] is not None:
        mark = data["nonfinite"]
        where = f"{mark['quantity']} at layer {mark['layer']}, step {mark['step']}"
        console.print(f"first non-finite value: {where}")


def _format(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"
