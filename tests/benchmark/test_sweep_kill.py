"""A sweep killed with SIGKILL at random moments, then run again, ends with every run exactly once.

The sweep runs in a real subprocess (``rnngrad sweep``). Each attempt kills it when the sweep
has reached a chosen point, read from what it has done, never from a clock: at once (while the
interpreter starts), as soon as the database file appears (while it creates its tables and
trains the first run), or as soon as k runs are committed, with k drawn at random among the
runs still to do (so the kill lands at the start of run k + 1, or while run k + 1 is being
committed). However slow the machine, every kill lands where it is meant to.
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
from dataclasses import dataclass
from pathlib import Path

import pytest

from rnngrad.sweep import SweepConfig
from rnngrad.sweep import config_key
from rnngrad.training import TrainConfig

CLI = "from rnngrad.cli import main, train_command, sweep_command, results_command; main()"
GRID = dict(task="adding", T=(4, 5, 6), models=("rnn-tanh", "lstm"), seeds=4, steps=20, batch_size=2, hidden_size=2)
TOTAL = len(SweepConfig(**GRID).spec().configs())  # 24 runs
POLL_S = 0.005  # how often the test reads the database; only the reaction time depends on it
STUCK_S = 600.0  # a sweep that reaches no event in this long is broken, not slow


def sweep_command(db: Path, workers: int) -> list[str]:
    return [sys.executable, "-c", CLI, "sweep", "--task", GRID["task"], "--T", ",".join(map(str, GRID["T"])),
            "--model", ",".join(GRID["models"]), "--seeds", str(GRID["seeds"]), "--steps", str(GRID["steps"]),
            "--batch-size", str(GRID["batch_size"]), "--hidden-size", str(GRID["hidden_size"]),
            "--db", str(db), "--workers", str(workers)]


def rows(db: Path) -> int:
    """Committed runs in the database (0 while it or its table does not exist yet)."""
    if not db.exists():
        return 0
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return connection.execute("SELECT count(*) FROM runs").fetchone()[0]
    except sqlite3.DatabaseError:
        return 0
    finally:
        connection.close()


@dataclass(frozen=True)
class Moment:
    """When to kill: ``"start"``, ``"database"`` (the file exists) or ``"rows"`` (``rows`` committed)."""

    event: str
    rows: int = 0

    def reached(self, db: Path) -> bool:
        if self.event == "start":
            return True
        if self.event == "database":
            return db.exists()
        return rows(db) >= self.rows


def kill_at(db: Path, workers: int, moment: Moment, log: Path) -> int:
    """Start the sweep, SIGKILL it when ``moment`` is reached, return the rows it left.

    Fails if the sweep ended by itself first (it finished, or it crashed: its stderr says why)."""
    with open(log, "w") as stderr:
        process = subprocess.Popen(sweep_command(db, workers), stdout=subprocess.DEVNULL, stderr=stderr,
                                   env={**os.environ, "COLUMNS": "100", "OMP_NUM_THREADS": "1"})
        try:
            stuck = time.monotonic() + STUCK_S
            while not moment.reached(db) and process.poll() is None and time.monotonic() < stuck:
                time.sleep(POLL_S)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
    assert process.returncode == -signal.SIGKILL, (moment, process.returncode, log.read_text()[-2000:])
    return rows(db)


def check_no_corrupt_row(db: Path) -> list[tuple]:
    """The database's integrity, and every stored row whole and consistent with its key."""
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = connection.execute("SELECT key, config, result, status, steps FROM runs").fetchall()
    finally:
        connection.close()
    for key, config, result, status, steps in stored:
        assert config_key(TrainConfig.from_dict(json.loads(config))) == key
        assert json.loads(result)["status"] == status and status in ("solved", "failed", "diverged")
        assert 1 <= steps <= GRID["steps"]
    return stored


def check_every_run_exactly_once(db: Path) -> None:
    keys = [key for key, *_ in check_no_corrupt_row(db)]
    expected = {config_key(config) for config in SweepConfig(**GRID, db=db).spec().configs()}
    assert len(keys) == len(set(keys)) == len(expected) and set(keys) == expected


def run_kill_test(tmp_path: Path, kills: int, workers: int, seed: int) -> None:
    """Up to ``kills`` attempts: at start, at the database's creation, then at random row counts
    while at least 4 runs are left (fewer would let the sweep finish before the kill arrives)."""
    db, rng = tmp_path / "results.db", random.Random(seed)
    left = []
    for attempt in range(kills):
        done = rows(db)
        if attempt < 2:
            moment = Moment(("start", "database")[attempt])
        elif TOTAL - done >= 4:  # k runs committed, at most a third of what is left: runs to spare
            moment = Moment("rows", done + rng.randint(1, max(1, (TOTAL - done) // 3)))
        else:
            break
        left.append(kill_at(db, workers, moment, tmp_path / f"attempt-{attempt}.log"))
        assert done <= left[-1] < TOTAL, (moment, left)
        if moment.event == "rows":
            assert left[-1] >= moment.rows, (moment, left)
        if db.exists():
            check_no_corrupt_row(db)
    assert any(0 < count < TOTAL for count in left), left  # some kills landed mid-sweep
    completed = subprocess.run(sweep_command(db, workers), capture_output=True, text=True, timeout=STUCK_S)
    assert completed.returncode == 0, completed.stderr[-2000:]
    check_every_run_exactly_once(db)


def test_sweep_survives_sigkill_at_chosen_points(tmp_path):
    run_kill_test(tmp_path, kills=4, workers=1, seed=0)


@pytest.mark.slow
def test_sweep_with_worker_processes_survives_many_sigkills(tmp_path):
    run_kill_test(tmp_path, kills=12, workers=2, seed=1)
