"""The ``rnngrad`` command line: thin typer commands that build a config and call the library.

Each command lives in its own module and registers itself on :data:`app`. Bad input
(:class:`rnngrad.errors.InputError`) is printed as one line on stderr, exit code 2, no traceback.
The library's log messages (such as the one-time build of the compiled linear scan) go to stderr.
"""

from __future__ import annotations

import logging
import sys

from rnngrad.cli._app import app
from rnngrad.cli import activations_command as _activations_command  # noqa: F401  (registers)
from rnngrad.cli import jacobian_command as _jacobian_command  # noqa: F401  (registers)
from rnngrad.cli import claims_command as _claims_command  # noqa: F401  (registers)
from rnngrad.cli import report_command as _report_command  # noqa: F401  (registers)
from rnngrad.cli import explore_command as _explore_command  # noqa: F401  (registers)
from rnngrad.cli import profile_command as _profile_command  # noqa: F401  (registers)
from rnngrad.cli import spectrum_command as _spectrum_command  # noqa: F401  (registers)
from rnngrad.cli import results_command as _results_command  # noqa: F401  (registers)
from rnngrad.cli import sweep_command as _sweep_command  # noqa: F401  (registers)
from rnngrad.cli import train_command as _train_command  # noqa: F401  (registers)


def log_to_stderr() -> None:
    """Show the ``rnngrad`` loggers' messages from INFO up on stderr, one line each."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("rnngrad")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def main() -> None:
    """Entry point of the ``rnngrad`` script."""
    log_to_stderr()
    app()


__all__ = ["app", "main"]
