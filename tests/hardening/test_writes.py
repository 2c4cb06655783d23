"""Item 3 of issue 17: a write never fails with a traceback and never leaves a partial file.

``results --plot`` checks its path before any work and writes through a temporary file renamed
into place, so a folder, a read-only folder or a full disk gives one line, exit 2, and leaves
the user's files as they were; ``report --out`` follows a symlink instead of replacing it; and
any ``OSError`` a command meets is one line naming the file.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from rnngrad.sweep import SweepConfig, run_sweep
from tests.hardening.conftest import assert_one_line_error, fill, invoke, snapshot


@pytest.fixture(scope="module")
def results_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("db") / "results.db"
    run_sweep(SweepConfig(task="adding", T=(4,), models=("rnn-tanh",), seeds=1, db=db, workers=1,
                          steps=2, batch_size=2, hidden_size=2))
    return db


def test_plot_to_a_directory_or_an_unknown_format_is_refused_before_work(tmp_path, results_db):
    folder = tmp_path / "plot.png"
    folder.mkdir()
    for plot, pattern in [(folder, r"--plot: expected a file, got .*which is a directory"),
                          (tmp_path / "plot.xyz", r"--plot: expected an image file name ending in one of .*\.png"),
                          (tmp_path / "missing" / "plot.png", r"--plot: expected a file in an existing folder")]:
        before = snapshot(tmp_path)
        assert_one_line_error(invoke("results", "--db", results_db, "--plot", plot), 2, pattern)
        assert snapshot(tmp_path) == before


def test_plot_into_a_read_only_folder_is_refused(read_only_folder, results_db):
    folder, seal = read_only_folder
    (folder / "old.png").write_bytes(b"the user's old plot")
    seal()
    before = snapshot(folder)
    for name in ("new.png", "old.png"):
        result = invoke("results", "--db", results_db, "--plot", folder / name)
        assert_one_line_error(result, 2, r"--plot: expected a file in a folder that can be written")
    assert snapshot(folder) == before


def test_plot_on_a_full_disk_leaves_no_partial_file(full_folder, tmp_path, results_db, monkeypatch):
    if full_folder is None:  # no tmpfs here: a writer that fills the disk halfway through the image
        folder = tmp_path

        def savefig(self, file, **options):
            file.write(b"\x89PNG half an image")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(Figure, "savefig", savefig)
    else:
        folder = full_folder
    (folder / "plot.png").write_bytes(b"the user's previous plot")
    if full_folder is not None:
        fill(folder)
    before = snapshot(folder)
    result = invoke("results", "--db", results_db, "--plot", folder / "plot.png")
    assert_one_line_error(result, 2, r"--plot: could not write .*plot\.png.* \(No space left on device\)")
    assert snapshot(folder) == before  # the old plot byte for byte, no temporary, no 0-byte file


def test_plot_is_written_whole_with_the_usual_permissions(tmp_path, results_db):
    result = invoke("results", "--db", results_db, "--plot", tmp_path / "plot.svg")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "plot.svg").read_bytes().lstrip().startswith(b"<?xml")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["plot.svg"]
    assert (tmp_path / "plot.svg").stat().st_mode & 0o044  # readable as the umask allows, not 0600


def test_report_out_follows_a_symlink_and_keeps_it(tmp_path, monkeypatch):
    """The CLI's part: the folder the link points to is what the report writer gets."""
    target = tmp_path / "target"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target)
    seen = []

    def fake_run_report(config, out, force, on_progress):
        seen.append(Path(out))
        return Path(out) / "index.html"

    monkeypatch.setattr("rnngrad.cli.report_command.run_report", fake_run_report)
    result = invoke("report", "--out", link, "--quick")
    assert result.exit_code == 0, result.output
    assert seen == [target.resolve()] and link.is_symlink() and os.readlink(link) == str(target)


def test_any_os_error_of_a_command_is_one_line_naming_the_file(tmp_path, monkeypatch):
    def failing_load(db):
        raise OSError(errno.EIO, os.strerror(errno.EIO), str(db))

    monkeypatch.setattr("rnngrad.cli.results_command.load_results", failing_load)
    result = invoke("results", "--db", tmp_path / "r.db")
    assert_one_line_error(result, 2, r"^Error: could not read or write '.*r\.db': Input/output error$")


def test_profile_plot_to_a_directory_is_one_line(tmp_path):
    import numpy as np
    import torch
    from torch import nn

    torch.save(nn.RNN(3, 4).state_dict(), tmp_path / "m.pt")
    np.save(tmp_path / "x.npy", np.ones((5, 3)))
    (tmp_path / "plot.png").mkdir()
    before = snapshot(tmp_path)
    result = invoke("profile", "--checkpoint", tmp_path / "m.pt", "--inputs", tmp_path / "x.npy",
                    "--plot", tmp_path / "plot.png")
    assert_one_line_error(result, 2, r"plot\.png")
    assert snapshot(tmp_path) == before
