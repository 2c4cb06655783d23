"""The typer application and the one rule every command shares: bad input exits 2, no traceback."""

from __future__ import annotations

import functools
import json
import sys
from typing import Any, Callable, TypeVar

import typer

from rnngrad.errors import InputError

app = typer.Typer(
    name="rnngrad",
    help="Show, measure and explain how gradients flow back through time in RNNs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Command = TypeVar("Command", bound=Callable[..., Any])


def exits_2_on_bad_input(command: Command) -> Command:
    """Wrap a command so an :class:`InputError` prints one line on stderr and exits with code 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InputError as error:
            typer.echo(f"Error: {error}", err=True)
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def print_json(data: Any) -> None:
    """Print ``data`` as one JSON document on stdout (NaN/inf are refused, not written)."""
    sys.stdout.write(json.dumps(data, allow_nan=False) + "\n")
