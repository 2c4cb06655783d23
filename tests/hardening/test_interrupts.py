"""Item 5 of issue 17: Ctrl-C while worker processes start is one line, exit 130, nothing left.

The command runs in its own process group, as in a terminal, and SIGINT goes to the whole group
(a terminal's Ctrl-C reaches the workers too) at a moment read from what the command has done,
never from a clock: as soon as it has k child processes (the resource tracker, then each
worker as it is spawned, while it still imports).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHILDREN = Path("/proc/self/task")
POLL_S = 0.001  # how often the test looks for the moment; only its reaction time depends on it
STUCK_S = 300.0  # a command that reaches no moment in this long is broken, not slow
pytestmark = pytest.mark.skipif(not CHILDREN.exists(), reason="needs Linux /proc to see child processes appear")


def children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def is_worker(pid: int) -> bool:
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def interrupt_when(command: list[str], cwd: Path, moment: int) -> tuple[subprocess.CompletedProcess, list[int]]:
    """Run ``command``; when it has ``moment`` child processes, Ctrl-C its process group."""
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "120"}
    # A job a non-interactive shell started in the background inherits SIGINT ignored, and Python
    # then installs no Ctrl-C handler: give the command the terminal's default, as a user has it.
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=environment, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    stuck = time.monotonic() + STUCK_S
    while len(children(process.pid)) < moment and process.poll() is None and time.monotonic() < stuck:
        time.sleep(POLL_S)
    workers = [pid for pid in children(process.pid) if is_worker(pid)]
    assert process.poll() is None, "the command ended before the moment came"
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=STUCK_S)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr), workers


CLI = [sys.executable, "-c", "from rnngrad.cli import main; main()"]


@pytest.mark.parametrize("moment", [1, 2, 3])
def test_ctrl_c_during_a_sweep_while_workers_start(tmp_path, moment):
    command = [*CLI, "sweep", "--task", "adding", "--T", "4,5", "--model", "rnn-tanh,lstm", "--seeds", "2",
               "--steps", "200", "--batch-size", "2", "--hidden-size", "2", "--db", "results.db", "--workers", "2"]
    done, workers = interrupt_when(command, tmp_path, moment)
    assert done.returncode == 130, done.stderr[-3000:]
    assert done.stderr == "Interrupted.\n" and done.stdout == ""
    assert not any(running(pid) for pid in workers)  # the workers went with it
    assert sorted(path.name for path in tmp_path.iterdir()) == ["results.db"]  # no -wal, -shm or .creating
    connection = sqlite3.connect(tmp_path / "results.db")
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert connection.execute("SELECT count(*) FROM claims").fetchone()[0] == 0  # its claims went too
    connection.close()


def test_ctrl_c_during_a_report_while_workers_start(tmp_path):
    done, workers = interrupt_when([*CLI, "report", "--quick", "--workers", "2", "--out", "report"], tmp_path, 2)
    assert done.returncode == 130, done.stderr[-3000:]
    assert done.stderr.splitlines()[-1] == "Interrupted."
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr
    assert not any(running(pid) for pid in workers)
    assert list(tmp_path.iterdir()) == []  # no report folder, no staging folder
