"""``rnngrad activations``: list the registered transfer functions and the sup of |φ'|."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from rnngrad.activations import ACTIVATIONS
from rnngrad.cli._app import app, exits_2_on_bad_input, print_json


@app.command("activations")
@exits_2_on_bad_input
def activations_command(
    json_output: bool = typer.Option(False, "--json", help="Print a JSON list instead of a table."),
) -> None:
    """List every activation with its formula and sup |φ'(x)|, the most one step can pass back."""
    rows = [
        {
            "name": activation.name,
            "formula": activation.formula,
            "sup_derivative": activation.sup_derivative,
            "argmax": activation.argmax,
            "attained_at": activation.attained_at,
        }
        for activation in ACTIVATIONS.values()
    ]
    if json_output:
        print_json(rows)
        return
    table = Table(title="Activations: sup over x of |φ'(x)|")
    for header in ("name", "formula", "sup |φ'|", "attained at"):
        table.add_column(header)
    for row in rows:
        sup = f"{row['sup_derivative']:.6g}"
        table.add_row(row["name"], row["formula"], sup, row["attained_at"])
    Console().print(table)
