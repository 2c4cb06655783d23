"""``rnngrad sweep --ray``: a real local Ray cluster runs the sweep; bad addresses write nothing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import rnngrad.cli.results_command  # noqa: F401  (registers the command)
import rnngrad.cli.sweep_command  # noqa: F401
from rnngrad.cli import app

CLI = "from rnngrad.cli import main, sweep_command, results_command; main()"
TINY = ["--task", "adding", "--T", "4,5", "--model", "rnn-tanh,gru", "--seeds", "2", "--steps", "3",
        "--batch-size", "2", "--hidden-size", "2"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_ray_address_is_a_clear_error_and_writes_nothing(tmp_path):
    pytest.importorskip("ray", reason="ray (the optional extra rnngrad[ray]) is not installed")
    db = tmp_path / "results.db"
    result = CliRunner().invoke(app, ["sweep", *TINY, "--db", str(db), "--ray", f"127.0.0.1:{free_port()}"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ray: expected a Ray cluster at '127.0.0.1:") and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_without_ray_installed_the_option_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails
    result = CliRunner().invoke(app, ["sweep", *TINY, "--db", str(tmp_path / "results.db"), "--ray", "auto"])
    assert result.exit_code == 2 and "pip install 'rnngrad[ray]'" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_sweep_runs_as_ray_tasks_on_a_local_cluster(tmp_path):
    pytest.importorskip("ray", reason="ray (the optional extra rnngrad[ray]) is not installed")
    port = free_port()
    ray_executable = Path(sys.executable).with_name("ray")
    head = subprocess.Popen(
        [str(ray_executable), "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
         "--include-dashboard=false", "--disable-usage-stats", "--node-ip-address=127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 600  # waits for the port; only a broken head takes this long
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and head.poll() is None, "the Ray head did not start"
                time.sleep(0.2)
        db = tmp_path / "results.db"
        command = [sys.executable, "-c", CLI, "sweep", *TINY, "--db", str(db), "--ray", f"127.0.0.1:{port}"]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "120"})
        assert completed.returncode == 0, completed.stderr[-3000:]
        again = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert again.returncode == 0 and "0 runs done now, 8 already in" in again.stderr, again.stderr[-2000:]
    finally:
        head.send_signal(signal.SIGTERM)  # ray start --block stops the processes it started
        head.wait(timeout=600)
    listing = CliRunner().invoke(app, ["results", "--db", str(db), "--json"])
    runs = json.loads(listing.stdout)["runs"]
    assert len(runs) == 8 and {run["model"] for run in runs} == {"rnn-tanh", "gru"}
