"""Write the explorer folder: ``index.html`` (the page, self-contained) and ``weights.json``.

As for the report (:mod:`rnngrad.report.writer`, whose checks are reused): ``out`` is checked before
any work, everything is written to a temporary folder beside it and renamed into place, so a failure
leaves nothing half-written. An existing ``out`` is replaced when it is empty or a previous explorer;
any other non-empty folder needs ``force`` (then only the explorer's two files in it are replaced).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from rnngrad.errors import InputError
from rnngrad.explore.page import check_language, explorer_html
from rnngrad.explore.weights import FORMAT, explorer_weights
from rnngrad.report.writer import check_out

OWN_FILES = ("index.html", "weights.json")


def is_previous_explorer(folder: Path) -> bool:
    """Whether ``folder`` holds exactly what :func:`write_explorer` writes."""
    try:
        names = {path.name for path in folder.iterdir()}
        document = json.loads((folder / "weights.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return names == set(OWN_FILES) and isinstance(document, dict) and document.get("format") == FORMAT


def write_explorer(out: str | Path, lang: str = "en", seed: int = 0, force: bool = False) -> Path:
    """Write the explorer page for the weights of ``seed`` into ``out``; returns its ``index.html``.

    Args:
        out: the folder to create or replace.
        lang: the page's language, ``"en"`` or ``"ko"``.
        seed: seed of :func:`~rnngrad.explore.explorer_weights`.
        force: write into a non-empty folder that is not a previous explorer.
    """
    out = Path(out)
    check_language(lang)
    if out.is_dir() and any(out.iterdir()) and not force and not is_previous_explorer(out):
        raise InputError(f"out: expected a new or empty folder or a previous explorer, got the non-empty folder "
                         f"{out} (pass force=True to write into it)")
    check_out(out, force=True)  # the report's checks: a folder, whose parent exists and is writable
    weights = explorer_weights(seed)
    files = {"weights.json": json.dumps(weights, allow_nan=False) + "\n", "index.html": explorer_html(weights, lang)}
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.resolve().parent))
    try:
        staging.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the page folder is not
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
        _install(staging, out)
    except OSError as error:
        raise InputError(f"out: could not write the explorer to {out} ({error.strerror or error})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out / "index.html"


def _install(staging: Path, out: Path) -> None:
    """Move the finished files into ``out`` by renames."""
    if not out.exists():
        staging.rename(out)
        return
    for name in OWN_FILES:  # an empty folder, a previous explorer, or forced: replace our two files
        os.replace(staging / name, out / name)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
