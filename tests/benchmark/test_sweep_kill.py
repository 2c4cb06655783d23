"""A sweep killed with SIGKILL at random moments, then run again, ends with every run exactly once.

The sweep runs in a real subprocess (``rnngrad sweep``); each attempt kills it at a random time,
some while it starts and creates the database, most while runs are being written.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnngrad.jobs.sweep import SweepJob
from rnngrad.sweep import config_key
from rnngrad.training import TrainConfig

CLI = "from rnngrad.cli import main, train_command, sweep_command, results_command; main()"
# 48 runs: about 8 s here, so that a kill in the first 4 s always lands before the sweep ends
GRID = dict(task="adding", T=(4, 5, 6), models=("rnn-tanh", "lstm"), seeds=8, steps=20, batch_size=2, hidden_size=2)


def sweep_command(db: Path, workers: int) -> list[str]:
    return [sys.executable, "-c", CLI, "sweep", "--task", GRID["task"], "--T", ",".join(map(str, GRID["T"])),
            "--model", ",".join(GRID["models"]), "--seeds", str(GRID["seeds"]), "--steps", str(GRID["steps"]),
            "--batch-size", str(GRID["batch_size"]), "--hidden-size", str(GRID["hidden_size"]),
            "--db", str(db), "--workers", str(workers)]


def rows(db: Path) -> int:
    if not db.exists():
        return 0
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return connection.execute("SELECT count(*) FROM runs").fetchone()[0]
    except sqlite3.DatabaseError:
        return 0
    finally:
        connection.close()


def kill_at_random(db: Path, workers: int, rng: random.Random, while_writing: bool) -> int:
    """Start the sweep, SIGKILL it at a random moment, return the rows it left."""
    process = subprocess.Popen(sweep_command(db, workers), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "COLUMNS": "100", "OMP_NUM_THREADS": "1"})
    try:
        if while_writing:  # wait for this attempt's first new row, then a random moment
            start_rows, deadline = rows(db), time.monotonic() + 120
            while rows(db) == start_rows and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.4))
        else:  # any moment from the start: imports, creating the database, first runs
            time.sleep(rng.uniform(0.0, 4.0))
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    return rows(db)


def check_every_run_exactly_once(db: Path) -> None:
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = connection.execute("SELECT key, config, result, status, steps FROM runs").fetchall()
    finally:
        connection.close()
    job = SweepJob(**GRID, db=db)
    expected = {config_key(config) for config in job.spec().configs()}
    keys = [key for key, *_ in stored]
    assert len(keys) == len(set(keys)) == len(expected) and set(keys) == expected
    for key, config, result, status, steps in stored:
        assert config_key(TrainConfig.from_dict(json.loads(config))) == key
        assert json.loads(result)["status"] == status and status in ("solved", "failed", "diverged")
        assert 1 <= steps <= GRID["steps"]


def run_kill_test(tmp_path: Path, kills: int, workers: int, seed: int) -> None:
    db = tmp_path / "results.db"
    rng = random.Random(seed)
    left = [kill_at_random(db, workers, rng, while_writing=attempt % 3 != 0) for attempt in range(kills)]
    total = len(SweepJob(**GRID, db=db).spec().configs())
    assert any(0 < count < total for count in left), left  # some kills landed mid-sweep
    completed = subprocess.run(sweep_command(db, workers), capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-2000:]
    check_every_run_exactly_once(db)


def test_sweep_survives_sigkill_at_random_points(tmp_path):
    run_kill_test(tmp_path, kills=3, workers=1, seed=0)


@pytest.mark.slow
def test_sweep_with_worker_processes_survives_many_sigkills(tmp_path):
    run_kill_test(tmp_path, kills=12, workers=2, seed=1)
