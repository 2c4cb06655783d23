"""Compiled loops, built once on first use: the linear scan of :func:`rnngrad.linear_scan`
(``_linear_scan.cpp``), which the diagonal modules and the profiler's LSTM cell gradients use.

Torch compiles the file with the machine's C++ compiler through ``torch.utils.cpp_extension``
(about 15 s, once; the library is cached under ``TORCH_EXTENSIONS_DIR``, by default
``~/.cache/torch_extensions``, one folder per Python and torch version). Where it cannot be
built (no compiler), or when the environment variable ``RNNGRAD_NO_COMPILE`` is set to anything
but ``0``, the chunked scan of ``rnngrad._chunked_scan`` runs instead: the same values, slower.

Processes that start at once (a sweep's workers) build one at a time. Torch's own lock is a file
that a build killed midway leaves behind, after which every later build would wait for it
forever; builds here also take a kernel lock (``flock``), released when its process dies, and
whoever holds it removes such a stale file.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import sys
from pathlib import Path
from typing import Iterator

import torch

NO_COMPILE_VARIABLE = "RNNGRAD_NO_COMPILE"
_LINEAR_SOURCE = Path(__file__).with_name("_linear_scan.cpp")
_log = logging.getLogger(__name__)


def compile_disabled() -> bool:
    """True when ``RNNGRAD_NO_COMPILE`` asks for the Python fallback."""
    return os.environ.get(NO_COMPILE_VARIABLE, "") not in ("", "0")


@functools.cache
def _build_linear_scan() -> object | None:
    return _load("rnngrad_linear_scan", _LINEAR_SOURCE, "the compiled linear scan", "the chunked scan", "-O3")


def _load(name: str, source: Path, what: str, fallback: str, optimization: str) -> object | None:
    """Build (once, cached on disk) and load the extension ``name``; None, with one warning, if
    it cannot be built."""
    try:
        from torch.utils.cpp_extension import load

        directory = _build_directory(name)
        built = (directory / f"{name}.so").exists()  # torch still rebuilds it if the source changed
        (_log.debug if built else _log.info)("rnngrad: %s %s in %s%s", "loading" if built else "building", what,
                                            directory, "" if built else " (once, about 15 s)")
        with _scripts_on_path(), _one_build_at_a_time(directory):
            load(name=name, sources=[str(source)], extra_cflags=[optimization],
                 build_directory=str(directory), is_python_module=False)
    except Exception as error:  # no compiler, no ninja, a failed build: the Python code serves
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        _log.warning("rnngrad: could not build %s, using %s: %s", what, fallback, reason)
        return None
    return getattr(torch.ops, name)


def _build_directory(name: str = "rnngrad_linear_scan") -> Path:
    """``TORCH_EXTENSIONS_DIR`` (or ``~/.cache/torch_extensions``)/py3XX_torch<version>/``name``."""
    root = os.environ.get("TORCH_EXTENSIONS_DIR") or Path.home() / ".cache" / "torch_extensions"
    version = re.sub(r"[^0-9A-Za-z.]+", "_", torch.__version__)
    return Path(root) / f"py{sys.version_info.major}{sys.version_info.minor}_torch{version}" / name


@contextlib.contextmanager
def _one_build_at_a_time(directory: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``directory``; under it, torch's lock file is stale."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: torch's lock file alone
        yield
        return
    with open(directory / "rnngrad-build.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes or the process dies
        (directory / "lock").unlink(missing_ok=True)  # torch's FileBaton of a killed build
        yield


@contextlib.contextmanager
def _scripts_on_path() -> Iterator[None]:
    """Torch runs ``ninja`` from PATH; the pip-installed one sits beside the interpreter, which is
    not on PATH when a virtual environment's python runs without being activated."""
    scripts = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if scripts in path.split(os.pathsep):
        yield
        return
    os.environ["PATH"] = os.pathsep.join([path, scripts]) if path else scripts
    try:
        yield
    finally:
        os.environ["PATH"] = path


def linear_scans(device: torch.device) -> object | None:
    """The compiled linear scan (``sequential_scan``) for tensors on ``device``, or None."""
    if device.type != "cpu" or compile_disabled():
        return None
    return _build_linear_scan()
