"""Files the commands write: checked before the work, written whole or not at all.

A figure goes to a temporary file beside its target and is renamed into place only once it is
complete, so a full disk or an interrupt never leaves a truncated image, and an older file of
that name stays as it was until the new one is whole.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable

from rnngrad.errors import InputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def check_figure_path(option: str, path: Path) -> Path:
    """The file a figure will be written to (a symlink followed), refused with
    :class:`InputError` unless it has an image suffix matplotlib writes, is not a folder, and
    sits in an existing folder that can be written."""
    from matplotlib.backend_bases import FigureCanvasBase  # here: commands start faster

    path = Path(path)
    formats = FigureCanvasBase.get_supported_filetypes()
    if path.suffix.lower().lstrip(".") not in formats:
        shown = ", ".join(f".{name}" for name in sorted(formats))
        raise InputError(f"{option}: expected an image file name ending in one of {shown}, got {str(path)!r}")
    if path.is_dir():
        raise InputError(f"{option}: expected a file, got {str(path)!r}, which is a directory")
    target = path.resolve() if path.is_symlink() else path
    folder = target.parent
    if not folder.is_dir():
        raise InputError(f"{option}: expected a file in an existing folder, got {str(path)!r}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{option}: expected a file in a folder that can be written, got {str(path)!r} "
                         f"({str(folder)!r} is read-only)")
    return target


def save_figure(option: str, figure: Figure, path: Path) -> None:
    """Write ``figure`` to ``path`` (format from its suffix) atomically, via a temporary file."""
    target = check_figure_path(option, path)
    write_atomically(option, target, lambda file: figure.savefig(file, format=target.suffix.lower().lstrip(".")))


def write_atomically(option: str, path: Path, write: Callable[[BinaryIO], None]) -> None:
    """``write(file)`` into a temporary file beside ``path``, then renamed onto it: a failure (a
    full disk) leaves the old file, or none, and never half a file; errors name ``option``."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private; the result is not
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise InputError(f"{option}: could not write {str(path)!r} ({error.strerror or error})") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
