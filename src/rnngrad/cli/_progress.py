"""The progress of the commands that measure the seed's claims (``claims``, ``report``), on stderr.

On a terminal: a rich progress bar. Otherwise (a pipe, a log file, CI): one plain line per stage —
each claim, the figures, the end — so that a long run still shows where it is.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from rnngrad.claims import Progress as ClaimProgress


@contextmanager
def progress_bar(description: str) -> Iterator:
    """Progress on stderr (a bar on a terminal, a line per stage elsewhere); yields the library's callback."""
    console = Console(stderr=True)
    if not console.is_terminal:
        start = time.monotonic()
        yield _stage_lines(description, console, start)
        console.print(f"{description}: done ({time.monotonic() - start:.0f} s)", markup=False, highlight=False)
        return
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[label]}"))
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=1.0, label="")

        def update(progress: ClaimProgress) -> None:
            bar.update(task, completed=progress.done / progress.total, label=progress.label)

        yield update


def _stage_lines(description: str, console: Console, start: float):
    """A callback that prints ``report: 12% C3 small W_hh ⇒ vanishing (4 s)`` when a new stage starts."""
    last = [None]

    def update(progress: ClaimProgress) -> None:
        stage = progress.label.split(" ", 1)[0].rstrip("s")  # "C3"; "figure …" and "figures done": one stage
        if stage == last[0]:
            return
        last[0] = stage
        label = "figures" if stage == "figure" else progress.label
        console.print(f"{description}: {100 * progress.done / progress.total:3.0f}% {label} "
                      f"({time.monotonic() - start:.0f} s)", markup=False, highlight=False, soft_wrap=True)

    return update
