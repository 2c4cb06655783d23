"""The compiled linear scan (``_linear_scan.cpp``): built where a compiler is, a clean fallback
where the build fails, and no deadlock on a lock file that a killed build left behind."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
import torch

from rnngrad import _compiled, linear_scan
from rnngrad._compiled import NO_COMPILE_VARIABLE, linear_scans

CPU = torch.device("cpu")


def test_the_compiled_scan_builds_where_a_compiler_is():
    if shutil.which("c++") is None or shutil.which("ninja") is None:
        pytest.skip("no C++ compiler or ninja here: the chunked scan serves")
    assert linear_scans(CPU) is not None


def test_the_environment_variable_and_other_devices_choose_the_fallback(monkeypatch):
    monkeypatch.setenv(NO_COMPILE_VARIABLE, "1")
    assert linear_scans(CPU) is None
    monkeypatch.setenv(NO_COMPILE_VARIABLE, "0")
    assert linear_scans(torch.device("meta")) is None


def test_a_failed_build_logs_one_line_and_the_scan_still_runs(monkeypatch, caplog):
    import torch.utils.cpp_extension

    def broken_build(**_):
        raise RuntimeError("Error building extension 'rnngrad_linear_scan'\nc++: not found")

    monkeypatch.delenv(NO_COMPILE_VARIABLE, raising=False)
    monkeypatch.setattr(torch.utils.cpp_extension, "load", broken_build)
    _compiled._build_linear_scan.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger=_compiled.__name__):
            assert linear_scans(CPU) is None
            a, b = torch.full((5, 2), 0.5, dtype=torch.float64), torch.ones(5, 2, dtype=torch.float64)
            h = linear_scan(a, b)
    finally:
        _compiled._build_linear_scan.cache_clear()
    assert [record.getMessage() for record in caplog.records] == [
        "rnngrad: could not build the compiled linear scan, using the chunked scan: "
        "Error building extension 'rnngrad_linear_scan'"
    ]
    torch.testing.assert_close(h[:, 0], 2 - 0.5 ** torch.arange(5, dtype=torch.float64), rtol=1e-15, atol=0)


def test_a_lock_file_left_by_a_killed_build_does_not_block_the_next(monkeypatch, tmp_path):
    """Torch waits forever while its lock file exists; a build killed midway leaves one."""
    import torch.utils.cpp_extension

    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    monkeypatch.delenv(NO_COMPILE_VARIABLE, raising=False)
    directory = _compiled._build_directory()
    directory.mkdir(parents=True)
    (directory / "lock").touch()
    seen = []

    def build_that_would_wait(*, build_directory, **_):
        seen.append((build_directory, (Path(build_directory) / "lock").exists()))
        raise RuntimeError("stop before compiling")

    monkeypatch.setattr(torch.utils.cpp_extension, "load", build_that_would_wait)
    _compiled._build_linear_scan.cache_clear()
    try:
        assert linear_scans(CPU) is None
    finally:
        _compiled._build_linear_scan.cache_clear()
    assert seen == [(str(directory), False)]
    assert str(directory).startswith(str(tmp_path))
