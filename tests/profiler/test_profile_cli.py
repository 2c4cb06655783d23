"""``rnngrad profile`` end to end: exit codes, JSON, the plot file, and errors without traces."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import rnngrad.cli.profile_command  # noqa: F401  (registers the command)
from rnngrad.cli._app import app
from rnngrad.profiler import profile


def invoke(*args):
    return CliRunner().invoke(app, ["profile", *map(str, args)], env={"COLUMNS": "120"})


@pytest.fixture
def files(tmp_path):
    torch.manual_seed(0)
    module = torch.nn.LSTM(3, 4, num_layers=2)
    torch.save(module.state_dict(), tmp_path / "lstm.pt")
    inputs = torch.randn(9, 3)
    np.save(tmp_path / "inputs.npy", inputs.numpy())
    return tmp_path, module.double(), inputs.double()


def test_json_matches_the_library(files):
    path, module, inputs = files
    result = invoke("--checkpoint", path / "lstm.pt", "--inputs", path / "inputs.npy", "--loss", "sum", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["arch"] == "LSTM" and len(data["layers"]) == 2
    expected = profile(module, (inputs,), lambda out: out[0].sum())
    norms = expected.mean_hidden_grad_norm("", layer=1).tolist()
    assert data["layers"][1]["mean_grad_norm_by_time"] == pytest.approx(norms, rel=1e-12)
    assert data["layers"][0]["mean_forget_gate"] == pytest.approx(expected.mean_forget_gate("", 0), rel=1e-12)
    for layer, entry in enumerate(data["layers"]):  # the unit is in the key (issue 15); no unitless key
        assert "decay_rate" not in entry
        assert entry["decay_rate_nats_per_step"] == pytest.approx(expected.decay_rate("", layer), rel=1e-12)


def test_table_and_plot(files):
    path, _, _ = files
    result = invoke("--checkpoint", path / "lstm.pt", "--inputs", path / "inputs.npy", "--plot", path / "flow.png")
    assert result.exit_code == 0, result.output
    assert "decay (nats/step)" in result.output and "horizon" in result.output
    assert (path / "flow.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in path.iterdir()) == ["flow.png", "inputs.npy", "lstm.pt"]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--loss", "median"], "--loss: expected one of last, mean, sum, got 'median'"),
        (["--plot", "flow.svg"], "plot: expected a .png file name"),
        (["--nonlinearity", "relu6"], "nonlinearity: expected one of tanh, relu"),
    ],
)
def test_bad_options_exit_2_without_traceback_or_files(files, extra, message):
    path, _, _ = files
    result = invoke("--checkpoint", path / "lstm.pt", "--inputs", path / "inputs.npy", *extra)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in path.iterdir()) == ["inputs.npy", "lstm.pt"]


def test_inputs_with_the_wrong_width(files):
    path, _, _ = files
    np.save(path / "wide.npy", np.zeros((5, 7)))
    result = invoke("--checkpoint", path / "lstm.pt", "--inputs", path / "wide.npy")
    assert result.exit_code == 2 and "expected input size I = 3 (the checkpoint's), got 7" in result.output


def test_the_script_shows_the_librarys_log_lines_on_stderr_only():
    """``rnngrad``'s entry point routes the library's messages (such as the one-time build of
    the compiled linear scan) to stderr, so that --json output on stdout stays clean."""
    import subprocess
    import sys

    code = ("import logging; from rnngrad.cli import log_to_stderr; log_to_stderr(); "
            "logging.getLogger('rnngrad.profiler._compiled').info('building the compiled linear scan'); "
            "logging.getLogger('rnngrad.profiler._compiled').debug('not shown')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "building the compiled linear scan\n")


def test_a_plot_path_that_cannot_be_written_is_refused_before_the_work(tmp_path, monkeypatch):
    from rnngrad.cli import profile_command as command

    def never(*args, **kwargs):
        raise AssertionError("the model was profiled before the plot path was checked")

    monkeypatch.setattr(command, "load_checkpoint_and_inputs", never)
    (tmp_path / "folder.png").mkdir()
    for plot, message in ((tmp_path / "folder.png", "which is a directory"),
                          (tmp_path / "missing" / "p.png", "expected a file in an existing folder")):
        result = CliRunner().invoke(app, ["profile", "--checkpoint", str(tmp_path / "c.pt"), "--inputs",
                                          str(tmp_path / "x.pt"), "--plot", str(plot)])
        assert result.exit_code == 2 and message in result.output, result.output
