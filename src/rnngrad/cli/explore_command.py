"""``rnngrad explore``: write the interactive explorer page (sliders, computed in the browser)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from rnngrad.cli._app import app, exits_2_on_bad_input
from rnngrad.explore import write_explorer


@app.command("explore")
@exits_2_on_bad_input(options=("out", "lang", "force"))
def explore_command(
    out: Path = typer.Option(Path("explore"), "--out", help="Folder to write (index.html, weights.json)."),
    lang: str = typer.Option("en", "--lang", help="Language of the page: en or ko."),
    seed: int = typer.Option(0, help="Seed of the page's fixed weights and inputs."),
    force: bool = typer.Option(False, "--force", help="Write into a non-empty folder that is not an explorer."),
) -> None:
    """Write one offline page where sliders move the seed's argument (RNN gain, LSTM forget bias)."""
    index = write_explorer(out, lang=lang, seed=seed, force=force)
    Console().print(f"Explorer written to {index} (open it in a browser; it needs no server)")
