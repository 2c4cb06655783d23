"""The typer application and the rule every command shares: one line on stderr, never a traceback.

Bad input (:class:`InputError`) exits 2; so does a file the command could not read or write
(an ``OSError`` that no check caught first: a full disk, a read-only folder), naming the file.
Ctrl-C exits 130 with the one line ``Interrupted.``; every ``finally`` has run by then, so
nothing half-written is left.

The library's messages name Python arguments (``lang: expected …``, ``pass force=True``); a
command can show them as its own options (``--lang: expected …``, ``pass --force``).
"""

from __future__ import annotations

import errno
import functools
import inspect
import json
import re
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


def _print_version(value: bool) -> None:
    if value:
        from rnngrad._version import __version__

        typer.echo(f"rnngrad {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                       help="Print rnngrad's version and exit.")) -> None:
    """Show, measure and explain how gradients flow back through time in RNNs."""


def exits_2_on_bad_input(command: Command | None = None, *, options: tuple[str, ...] = ()) -> Any:
    """Wrap a command so an :class:`InputError` prints one line on stderr and exits with code 2.

    ``options`` names parameters whose library spelling in a message (``lang:`` at its start,
    ``force=True`` anywhere) is shown as the command's option (``--lang:``, ``--force``).
    Used bare (``@exits_2_on_bad_input``) or with options (``@exits_2_on_bad_input(options=…)``).
    """
    if command is None:
        return functools.partial(exits_2_on_bad_input, options=options)
    flags = {name: flag for name, flag in option_flags(command).items() if name in options}

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InputError as error:
            typer.echo(f"Error: {as_options(str(error), flags)}", err=True)
            raise typer.Exit(code=2) from None
        except KeyboardInterrupt:
            typer.echo("Interrupted.", err=True)
            raise typer.Exit(code=130) from None
        except OSError as error:
            if error.errno == errno.EPIPE:  # stdout closed early (| head): typer exits quietly
                raise
            typer.echo(f"Error: {describe_os_error(error)}", err=True)
            raise typer.Exit(code=2) from None

    return wrapper


def describe_os_error(error: OSError) -> str:
    """``could not read or write 'path': No space left on device`` from an ``OSError``."""
    reason = error.strerror or str(error) or type(error).__name__
    if error.filename is None:
        return f"could not read or write a file: {reason}"
    return f"could not read or write {str(error.filename)!r}: {reason}"


def option_flags(command: Callable[..., Any]) -> dict[str, str]:
    """``{parameter name: its long option}`` of a typer command (``json_output`` → ``--json``)."""
    flags = {}
    for name, parameter in inspect.signature(command).parameters.items():
        declared = [d for d in getattr(parameter.default, "param_decls", ()) or () if d.startswith("--")]
        flags[name] = declared[0] if declared else "--" + name.replace("_", "-")
    return flags


def as_options(message: str, flags: dict[str, str]) -> str:
    """``message`` with a leading ``name:`` and any ``name=True`` written as the options in ``flags``."""
    head, colon, rest = message.partition(":")
    if colon and head in flags:
        message = flags[head] + colon + rest
    return re.sub(r"\b(\w+)=True\b", lambda m: flags.get(m.group(1), m.group(0)), message)


def print_json(data: Any) -> None:
    """Print ``data`` as one JSON document on stdout (NaN/inf are refused, not written)."""
    sys.stdout.write(json.dumps(data, allow_nan=False) + "\n")
