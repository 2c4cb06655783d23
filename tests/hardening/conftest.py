"""Hostile conditions built in the test: a full disk, a read-only folder, a CLI run as a user would.

A full disk and a read-only folder are a small tmpfs where this process may mount one (root
with CAP_SYS_ADMIN); elsewhere a read-only folder is made with chmod (which binds everyone but
root), and a test that needs a full disk patches the writer instead. Running as root without
mount rights, a test that needs a read-only folder is skipped, saying why.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Callable, Iterator

import pytest
from typer.testing import CliRunner

from rnngrad.cli import app

TMPFS_BYTES = 1 << 20  # 1 MiB: room for a tiny results database and a figure, filled on demand


def invoke(*args: object, env: dict[str, str] | None = None):
    """Run the CLI in this process; stderr apart from stdout."""
    return CliRunner().invoke(app, [str(arg) for arg in args], env=env)


def assert_one_line_error(result, exit_code: int = 2, pattern: str | None = None) -> str:
    """The command failed with ``exit_code``, one line ``Error: …`` on stderr, no traceback."""
    import re

    assert result.exit_code == exit_code, (result.exit_code, result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    if pattern is not None:
        assert re.search(pattern, lines[0]), lines[0]
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry under ``folder`` with its bytes (files) or link target (symlinks)."""
    entries: dict[str, bytes | str] = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.is_symlink():
            entries[name] = "-> " + os.readlink(path)
        elif path.is_file():
            entries[name] = path.read_bytes()
        else:
            entries[name] = "dir"
    return entries


def _mount(folder: Path, options: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    return done.returncode == 0


def _unmount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


@pytest.fixture
def read_only_folder(tmp_path) -> Iterator[tuple[Path, Callable[[], None]]]:
    """(folder, seal): fill ``folder``, then ``seal()`` makes it and its files read-only."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    mounted = _mount(folder, f"size={TMPFS_BYTES},mode=0755")
    if not mounted and os.geteuid() == 0:
        pytest.skip("running as root without the right to mount a tmpfs: no way to make a folder read-only")

    def seal() -> None:
        if mounted:
            done = subprocess.run(["mount", "-o", "remount,ro", str(folder)], capture_output=True)
            assert done.returncode == 0, done.stderr
        else:
            for path in [*folder.rglob("*"), folder]:
                if not path.is_symlink():
                    path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))

    try:
        yield folder, seal
    finally:
        if mounted:
            _unmount(folder)
        else:
            for path in [folder, *folder.rglob("*")]:
                if not path.is_symlink():
                    path.chmod(path.stat().st_mode | stat.S_IWUSR)


@pytest.fixture
def full_folder(tmp_path) -> Iterator[Path | None]:
    """A folder on a tmpfs filled to the last byte (the next write fails with ENOSPC), or None
    where no tmpfs can be mounted (the test then patches its writer)."""
    folder = tmp_path / "full"
    folder.mkdir()
    if not _mount(folder, f"size={TMPFS_BYTES},mode=0777"):
        yield None
        return
    try:
        yield folder
    finally:
        _unmount(folder)


def fill(folder: Path) -> None:
    """Write a filler file into ``folder`` until its file system has no byte left."""
    with open(folder / ".filler", "wb", buffering=0) as file:
        chunk = b"\0" * 4096
        while True:
            try:
                file.write(chunk)
            except OSError as error:
                assert error.errno == errno.ENOSPC, error
                break
        for size in (512, 64, 1):
            while True:
                try:
                    file.write(b"\0" * size)
                except OSError:
                    break
