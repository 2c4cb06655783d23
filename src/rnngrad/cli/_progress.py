"""The progress bar of the commands that measure the seed's claims (``claims``, ``report``)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from rnngrad.claims import Progress as ClaimProgress


@contextmanager
def progress_bar(description: str) -> Iterator:
    """A rich progress bar on stderr (drawn only on a terminal); yields the library's callback."""
    console = Console(stderr=True)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[label]}"))
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(description, total=1.0, label="")

        def update(progress: ClaimProgress) -> None:
            bar.update(task, completed=progress.done / progress.total, label=progress.label)

        yield update
