"""``rnngrad spectrum``: the Lyapunov exponents of one layer of a saved RNN, LSTM or GRU."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from rnngrad.cli._app import app, exits_2_on_bad_input, print_json
from rnngrad.errors import InputError
from rnngrad.checkpoint import load_checkpoint_and_inputs
from rnngrad.spectra import Spectrum, spectrum

_SHOWN = 12  # rows of the readable table before the middle is elided


@app.command("spectrum")
@exits_2_on_bad_input
def spectrum_command(
    checkpoint: Optional[Path] = typer.Option(None, help="state_dict of a torch.nn.RNN, LSTM or GRU, or an rnngrad MinGRU, MinLSTM or LRU (torch.save)."),
    inputs: Optional[Path] = typer.Option(None, help="Input sequence (T, I): torch.save'd tensor or .npy."),
    k: Optional[int] = typer.Option(None, "--k", help="How many exponents (default: all; 2H for an LSTM)."),
    warmup: int = typer.Option(0, help="Steps run before averaging starts (default 0: none discarded)."),
    nonlinearity: str = typer.Option("tanh", help="For an RNN checkpoint: tanh or relu."),
    arch: Optional[str] = typer.Option(
        None, help="For a diagonal checkpoint: mingru, minlstm or lru (inferred when the shapes tell)."),
    layer: int = typer.Option(0, help="Which layer's state to analyse."),
    max_log_condition: Optional[float] = typer.Option(
        None, help="Log-condition budget L per block between QR factorisations (default 12.0 in float64: "
        "every exponent to ~1e-11). Larger is faster; the top exponents stay exact, the bottom ones lose ~ε·e^L."),
    json_output: bool = typer.Option(False, "--json", help="Print the JSON contract instead of a table."),
) -> None:
    """Lyapunov exponents (natural log per step, descending) of s = h, or (h, c) for an LSTM, float64."""
    if checkpoint is None or inputs is None:
        missing = "neither" if checkpoint is None and inputs is None else "only one"
        raise InputError(f"--checkpoint and --inputs: expected both files, got {missing}")
    module, sequence = load_checkpoint_and_inputs(checkpoint, inputs, nonlinearity, arch)  # float64, (T, I)
    result = spectrum(module, sequence, k=k, warmup=warmup, layer=layer, max_log_condition=max_log_condition)
    if json_output:
        print_json(result.to_json())
    else:
        _print_table(result, layer, getattr(module, "num_layers", 1))


def _print_table(result: Spectrum, layer: int, num_layers: int) -> None:
    exponents = result.exponents.tolist()
    state = "(h, c)" if result.arch == "lstm" else "h"
    title = (f"{result.arch.upper()}, s = {state}, S = {result.state_size}, T = {result.T}"
             + (f", warmup {result.warmup}" if result.warmup else ""))
    table = Table(title=title, box=box.SIMPLE)
    table.add_column("i", justify="right")
    table.add_column("λ_i (nats per step)", justify="right")
    table.add_column("factor per step e^λ", justify="right")
    table.add_column("steps to shrink 1e-3", justify="right")
    rows = list(enumerate(exponents, start=1))
    if len(rows) > _SHOWN + 4:
        rows = rows[:_SHOWN] + [None] + rows[-3:]
    for row in rows:
        if row is None:
            table.add_row("…", "…", "…", "…")
            continue
        i, value = row
        table.add_row(str(i), f"{value:.6f}", _factor(value), _steps_to_shrink(value))
    console = Console()
    console.print(table)
    if len(exponents) < result.state_size:
        console.print(f"top {len(exponents)} of {result.state_size} exponents (--k)")
    else:
        console.print(f"sum of exponents (mean log|det J_t|): {sum(exponents):.6f}")
    console.print(f"predicted: λ1 = {exponents[0]:.6f} nats per step, the growth rate of ‖∂s_T/∂s_t‖ (< 0: decays)")
    console.print(_measured_line(result.log_rate_measured, layer, num_layers))


def _measured_line(measured: float | None, layer: int, num_layers: int) -> str:
    """The profiler's rate in the sign ``rnngrad profile`` prints, with the loss it was measured on."""
    if measured is None:
        return "measured by the profiler: n/a (the fit was not finite)"
    line = (f"measured by the profiler: decay rate {-measured:.6f} nats per step of ‖dL/dh_t‖ with "
            f"L = Σ_j h_T,j of layer {layer} (log_rate_measured = {measured:.6f} in --json, the sign of λ1); ")
    if layer == num_layers - 1:
        return line + "the decay rate `rnngrad profile --loss last` shows for this layer"
    return (line + "`rnngrad profile` shows another rate for this layer: its L sits on the top layer, "
            f"so layer {layer}'s dL/dh_t also comes down through the layers above")


def _factor(value: float) -> str:
    return "0" if value == -math.inf else f"{math.exp(value):.4g}"


def _steps_to_shrink(value: float) -> str:
    """Lag at which e^{λ·lag} falls to 1e-3: never when λ ≥ 0."""
    if value >= 0:
        return "never"
    if value == -math.inf:
        return "1"
    return f"{math.log(1e-3) / value:.3g}"
