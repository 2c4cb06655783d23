"""``rnngrad jacobian``: norms of ∂s_T/∂s_t for one layer of a saved RNN, LSTM or GRU."""

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
from rnngrad.layer_jacobians import demo_results, jacobian_of_layer, summarize


@app.command("jacobian")
@exits_2_on_bad_input
def jacobian_command(
    checkpoint: Optional[Path] = typer.Option(
        None, help="state_dict of a torch.nn.RNN, LSTM or GRU, or of an rnngrad MinGRU, MinLSTM or LRU (torch.save)."),
    inputs: Optional[Path] = typer.Option(None, help="Input sequence (T, I): torch.save'd tensor or .npy."),
    nonlinearity: str = typer.Option("tanh", help="For an RNN checkpoint: tanh or relu."),
    arch: Optional[str] = typer.Option(
        None, help="For a diagonal checkpoint: mingru, minlstm or lru (inferred when the shapes tell)."),
    layer: int = typer.Option(0, help="Which layer's state to differentiate."),
    json_output: bool = typer.Option(False, "--json", help="Print the JSON contract instead of a summary."),
    demo: bool = typer.Option(False, "--demo", help="Run on built-in RNNs and LSTMs (no files needed)."),
) -> None:
    """Log-scaled norms of ∂s_T/∂s_t for every t (s = h, or (h, c) for an LSTM), float64."""
    if demo:
        if checkpoint is not None or inputs is not None:
            raise InputError("--demo: expected no --checkpoint or --inputs with it, got them")
        _print_demo(json_output)
        return
    if checkpoint is None or inputs is None:
        raise InputError("--checkpoint and --inputs: expected both files (or --demo), got "
                         f"{'neither' if checkpoint is None and inputs is None else 'only one'}")
    module, sequence = load_checkpoint_and_inputs(checkpoint, inputs, nonlinearity, arch)  # float64, (T, I)
    result = jacobian_of_layer(module, sequence, layer)
    if json_output:
        print_json(result.to_json())
    else:
        _print_summary(result)


def _print_summary(result) -> None:
    summary = summarize(result)
    console = Console()
    state = "(h, c)" if result.arch == "lstm" else "h"
    table = Table(title=f"{result.arch.upper()}, s = {state}, T = {result.T}", box=box.SIMPLE)
    table.add_column("lag k", justify="right")
    table.add_column("log10 norm", justify="right")
    table.add_column("‖∂s_T/∂s_(T−k)‖₂", justify="right")
    for lag, value in summary.log10_norm_at_lag.items():
        table.add_row(str(lag), f"{value:.3f}", _power_of_ten(value))
    console.print(table)
    console.print(f"first lag with norm < 1e-3:  {_lag_or_never(summary.first_lag_below_1e_3)}")
    console.print(f"first lag with norm < 1e-10: {_lag_or_never(summary.first_lag_below_1e_10)}")
    verdict = "yes" if summary.ever_exceeds_one else "no"
    console.print(f"ever exceeds 1: {verdict} (largest: {_power_of_ten(summary.max_log10_norm)})")


def _print_demo(json_output: bool) -> None:
    results = demo_results()
    if json_output:
        print_json([{"label": label, **result.to_json()} for label, result in results])
        return
    lags = [1, 10, 50, 100, 200]
    table = Table(title="‖∂s_T/∂s_(T−k)‖₂ on random inputs, T = 200, H = 32", box=box.SIMPLE)
    table.add_column("s = h; LSTM: s = (h, c)", no_wrap=True)
    for lag in lags:
        table.add_column(f"k = {lag}", justify="right", no_wrap=True)
    for label, result in results:
        by_lag = result.log10_norm.flip(0)
        table.add_row(label, *(_power_of_ten(float(by_lag[lag])) for lag in lags))
        if result.log10_carousel is not None:
            carousel = result.log10_carousel.flip(0)
            table.add_row("  ∏ f (seed's formula)", *(_power_of_ten(float(carousel[lag])) for lag in lags))
    console = Console()
    console.print(table)
    console.print(
        "RNN: the gradient vanishes geometrically. LSTM: ∏ f (the seed's formula) decays like "
        "σ(b_f)^k and never exceeds 1, but the full (h, c) Jacobian can grow past 1."
    )


def _power_of_ten(log10_value: float) -> str:
    if log10_value != log10_value or log10_value in (float("inf"), float("-inf")):
        return "0" if log10_value == float("-inf") else str(log10_value)
    exponent = math.floor(log10_value)
    mantissa = 10 ** (log10_value - exponent)
    if round(mantissa, 1) >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.1f}e{exponent}"


def _lag_or_never(lag: int | None) -> str:
    return "never" if lag is None else str(lag)
