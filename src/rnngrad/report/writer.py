"""Write a report folder: ``index.html``, ``report.json`` and ``assets/`` (every figure as PNG and SVG).

Everything is written to a temporary folder beside ``out`` and renamed into place at the end,
so a failure leaves nothing half-written. An existing ``out`` is replaced only when it is empty
or a previous report; any other non-empty folder needs ``force`` (then only the report's own
files in it are replaced).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from rnngrad.errors import InputError
from rnngrad.report import text_en, text_ko
from rnngrad.report._build import FORMAT, ReportData
from rnngrad.report.equations import CLAIM_FORMULAS, equations_json
from rnngrad.report.html import render_html

TEXTS = {"en": text_en, "ko": text_ko}
OWN_FILES = ("index.html", "report.json", "assets")


def report_document(report: ReportData) -> dict[str, Any]:
    """The full ``report.json``: every number, plus the language, captions, file names, the equations
    (LaTeX and plain text) and each claim's verdict in the report's language."""
    document = report.to_json()
    language = TEXTS[report.config.lang]
    evidence = {claim.id: claim.evidence for claim in report.claims}
    parameters = {"H": evidence.get("C2", {}).get("H", ""), "T": evidence.get("C4", {}).get("T", ""),
                  "lengths": ", ".join(str(T) for T in evidence.get("C11", {}).get("T", []))}
    document["lang"] = report.config.lang
    for figure in document["figures"]:
        caption = language.TEXT["captions"][figure["name"]]
        for key, value in parameters.items():
            caption = caption.replace("{" + key + "}", str(value))
        figure["caption"] = caption
        figure["files"] = {"png": f"assets/{figure['name']}.png", "svg": f"assets/{figure['name']}.svg"}
    for claim in document["claims"]:
        claim["headline"] = language.headline(claim)
        claim["statement"] = language.TEXT.get("claims", {}).get(claim["id"], claim["claim"])
        claim["verdict_label"] = language.TEXT["verdicts"][claim["verdict"]]  # beside the stable key "verdict"
        claim["formulas"] = [{"latex": f.latex, "text": f.text} for f in CLAIM_FORMULAS.get(claim["id"], ())]
    document["equations"] = equations_json()
    for equation in document["equations"]:
        note = language.TEXT.get("equation_notes", {}).get(equation["number"])
        if note:
            equation["note"] = note
    return document


def is_previous_report(folder: Path) -> bool:
    """Whether ``folder`` holds a report written by :func:`write_report`."""
    try:
        return json.loads((folder / "report.json").read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def check_out(out: Path, force: bool) -> None:
    """Refuse an ``out`` that cannot or must not receive a report (before any work is done)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"out: expected a folder, got the file {out}")
    if out.is_dir() and any(out.iterdir()) and not force and not is_previous_report(out):
        raise InputError(f"out: expected a new or empty folder or a previous report, got the non-empty folder "
                         f"{out} (pass force=True to write into it)")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise InputError(f"out: expected a folder whose parent exists, got {out} ({parent} is not a folder)")
    try:
        probe = tempfile.mkdtemp(prefix=".rnngrad-probe-", dir=parent)
    except OSError as error:
        raise InputError(f"out: cannot write to {parent} ({error.strerror or error})") from None
    Path(probe).rmdir()


def write_report(report: ReportData, rendered: dict[str, tuple[bytes, bytes]], out: Path, force: bool = False) -> Path:
    """Write the report folder and return its ``index.html``.

    Args:
        report: from :func:`rnngrad.report.build_report`.
        rendered: (PNG, SVG) bytes by figure name, from :func:`rnngrad.report.render_figures`.
        out: the folder to create or replace.
        force: write into a non-empty folder that is not a previous report (only the report's
            own files there are replaced).
    """
    out = Path(out)
    if out.is_symlink():  # follow it: the user's link stays, the report goes where it points
        out = out.resolve()
    check_out(out, force)
    document = report_document(report)
    language = TEXTS[report.config.lang]
    html = render_html(document, language.TEXT, lambda claim: claim["headline"])
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.resolve().parent))
    try:
        staging.chmod(0o777 & ~_umask())  # mkdtemp makes it private; a report folder is not
        (staging / "assets").mkdir()
        for name, (png, svg) in rendered.items():
            (staging / "assets" / f"{name}.png").write_bytes(png)
            (staging / "assets" / f"{name}.svg").write_bytes(svg)
        (staging / "report.json").write_text(json.dumps(document, ensure_ascii=False, indent=1, allow_nan=False) + "\n",
                                             encoding="utf-8")
        (staging / "index.html").write_text(html, encoding="utf-8")
        _install(staging, out)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise InputError(f"out: could not write the report to {out} ({error.strerror or error})") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out / "index.html"


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _install(staging: Path, out: Path) -> None:
    """Move the finished report into ``out`` by renames, keeping the old one until the end."""
    if not out.exists():
        staging.rename(out)
        return
    if not any(out.iterdir()) or is_previous_report(out):
        backup = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.resolve().parent))
        backup.rmdir()
        out.rename(backup)
        try:
            staging.rename(out)
        except OSError:
            backup.rename(out)
            raise
        shutil.rmtree(backup, ignore_errors=True)
        return
    backup = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.resolve().parent))
    moved = []
    try:
        for name in OWN_FILES:  # force into a foreign folder: replace only the report's own files
            if (out / name).exists():
                (out / name).rename(backup / name)
                moved.append(name)
            (staging / name).rename(out / name)
    except OSError:
        for name in moved:
            if not (out / name).exists():
                (backup / name).rename(out / name)
        raise
    shutil.rmtree(backup, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)
