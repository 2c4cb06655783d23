"""Item 4 of issue 17: the results database.

A file that is refused stays byte for byte as it was, with no ``-wal``/``-shm`` beside it; a
read-only database or folder is one clear line for a sweep and still readable by ``results``;
a damaged row is one line; a killed creation's temporary files are removed by the next sweep;
concurrent sweeps on one database share the work, each run trained once, and each says what it
wrote.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from rnngrad.errors import InputError
from rnngrad.sweep import ResultsStore, SweepConfig, config_key, load_results, run_sweep
from rnngrad.sweep._db_file import FORMAT, VERSION
from rnngrad.training import TrainConfig, train, train_all
from tests.hardening.conftest import assert_one_line_error, invoke, snapshot

TINY = dict(task="adding", T=(4, 5), models=("rnn-tanh", "lstm"), seeds=2, workers=1, steps=2, batch_size=2,
            hidden_size=2)
SWEEP_OPTIONS = ["--task", "adding", "--T", "4,5", "--model", "rnn-tanh,lstm", "--seeds", "2", "--steps", "2",
                 "--batch-size", "2", "--hidden-size", "2", "--workers", "1"]


def sweep(db: Path, **changes) -> SweepConfig:
    return replace(SweepConfig(db=db, **TINY), **changes)


def sqlite_file(path: Path, statements: list[str], wal: bool = True) -> None:
    connection = sqlite3.connect(path)
    if wal:
        connection.execute("PRAGMA journal_mode=WAL")
    for statement in statements:
        connection.execute(statement)
    connection.commit()
    connection.close()


REFUSED = {
    "foreign SQLite in WAL mode": (["CREATE TABLE notes (text TEXT)", "INSERT INTO notes VALUES ('keep me')"],
                                   r"an SQLite file of another kind"),
    "forged: meta says rnngrad, no runs table": (
        ["CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
         f"INSERT INTO meta VALUES ('format', '{FORMAT}')", f"INSERT INTO meta VALUES ('version', '{VERSION}')"],
        r"which says it is one but has version '1' and tables that do not match"),
    "forged: another version": (
        ["CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
         f"INSERT INTO meta VALUES ('format', '{FORMAT}')", "INSERT INTO meta VALUES ('version', '99')"],
        r"of version 1 with its runs table, got .*has version '99'"),
}


@pytest.mark.parametrize("case", [*REFUSED, "corrupt: SQLite header, then garbage", "empty file", "a directory"])
def test_a_refused_file_is_left_byte_for_byte_with_nothing_beside_it(tmp_path, case):
    db = tmp_path / "results.db"
    if case in REFUSED:
        statements, pattern = REFUSED[case]
        sqlite_file(db, statements)
    elif case == "a directory":
        db.mkdir()
        pattern = r"which is a directory"
    else:
        db.write_bytes(b"SQLite format 3\x00" + os.urandom(3000) if case.startswith("corrupt") else b"")
        pattern = r"an SQLite file of another kind|which is not SQLite"
    before = snapshot(tmp_path)
    for args in (["sweep", *SWEEP_OPTIONS, "--db", db], ["results", "--db", db], ["results", "--db", db, "--json"]):
        assert_one_line_error(invoke(*args), 2, pattern)
    for call in (lambda: run_sweep(sweep(db)), lambda: load_results(db), lambda: ResultsStore.open(db)):
        with pytest.raises(InputError, match=pattern):
            call()
    assert snapshot(tmp_path) == before  # same bytes; no -wal, -shm or .creating beside it


def test_a_read_only_database_is_refused_by_a_sweep_and_read_by_results(read_only_folder):
    folder, seal = read_only_folder
    db = folder / "results.db"
    run_sweep(sweep(db, seeds=1))
    assert sorted(path.name for path in folder.iterdir()) == ["results.db"]
    seal()
    before = snapshot(folder)
    result = invoke("sweep", *SWEEP_OPTIONS, "--db", db)
    assert_one_line_error(result, 2, r"db: expected a results database (that can be written|in a folder that can be written)")
    with pytest.raises(InputError, match="can be written"):
        run_sweep(sweep(db))
    listing = invoke("results", "--db", db, "--json")
    assert listing.exit_code == 0, listing.output
    assert len(json.loads(listing.stdout)["runs"]) == 4
    assert snapshot(folder) == before


@pytest.mark.parametrize("column, value, pattern", [("config", "{not json", r"whose config is not JSON"),
                                                     ("T", "four", r"with T = 'four'"),
                                                     ("seed", 1.5, r"with seed = '1\.5'"),
                                                     ("status", "won", r"with status = 'won'")])
def test_a_row_that_is_not_as_a_sweep_writes_it_is_one_line(tmp_path, column, value, pattern):
    db = tmp_path / "results.db"
    run_sweep(sweep(db, seeds=1))
    connection = sqlite3.connect(db)
    connection.execute("PRAGMA ignore_check_constraints = ON")
    connection.execute(f"UPDATE runs SET {column} = ? WHERE rowid = 1", (value,))
    connection.commit()
    connection.close()
    assert_one_line_error(invoke("results", "--db", db), 2, rf"db: expected rows as rnngrad sweep writes them, .*{pattern}")
    with pytest.raises(InputError, match=pattern):
        load_results(db)


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_killed_creation_leaves_files_the_next_sweep_removes(tmp_path):
    db = tmp_path / "results.db"
    dead, alive = dead_pid(), os.getpid()
    stale = [tmp_path / f".results.db.{dead}-0123456789abcdef.creating{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]
    live = tmp_path / f".results.db.{alive}-fedcba9876543210.creating"  # a creation still under way
    other = tmp_path / f".other.db.{dead}-0123456789abcdef.creating"  # another database's
    for path in (*stale, live, other):
        path.write_bytes(b"half-made")
    result = invoke("sweep", *SWEEP_OPTIONS, "--db", db)
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([db.name, live.name, other.name])
    stale[0].write_bytes(b"half-made")  # a later kill: the next open for writing removes it too
    ResultsStore.open(db).close()
    assert not stale[0].exists() and live.exists()


def test_claims_share_the_runs_between_stores(tmp_path):
    db = tmp_path / "results.db"
    first, second = ResultsStore.open(db), ResultsStore.open(db)
    try:
        key = config_key(TrainConfig(task="adding", T=4, steps=2, batch_size=2, hidden_size=2))
        assert first.claim(key) is True
        assert second.claim(key) is False  # another open store (a sweep) has it
        first.close()
        assert second.claim(key) is True  # its claim went with it
        connection = sqlite3.connect(db)
        import socket
        connection.execute("UPDATE claims SET owner = ? WHERE key = ?", (f"{socket.gethostname()}:{dead_pid()}:x", key))
        connection.commit()
        connection.close()
        third = ResultsStore.open(db)
        assert third.claim(key) is True  # a claim of a process that is gone is taken over
        third.close()
        result = train(TrainConfig(task="adding", T=4, steps=2, batch_size=2, hidden_size=2))
        assert second.record(result) is True and second.claim(key) is False  # recorded: nobody claims it
    finally:
        second.close()


def test_train_all_skips_runs_it_cannot_claim(tmp_path):
    configs = [TrainConfig(task="adding", T=4, steps=1, batch_size=2, hidden_size=2, seed=seed) for seed in range(4)]
    for workers in (1, 2):
        trained = []
        train_all(configs, workers, lambda index, result: trained.append(index), claim=lambda index: index % 2 == 0)
        assert sorted(trained) == [0, 2]


def test_two_sweeps_at_once_train_each_run_once_and_say_what_each_wrote(tmp_path):
    db = tmp_path / "results.db"
    grid = ["--task", "adding", "--T", "4,5,6", "--model", "rnn-tanh,lstm", "--seeds", "2", "--steps", "60",
            "--batch-size", "4", "--hidden-size", "8", "--workers", "1", "--db", str(db)]
    command = [sys.executable, "-c", "from rnngrad.cli import main; main()", "sweep", *grid]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
                 for _ in range(2)]
    outputs = [process.communicate(timeout=600) for process in processes]
    assert all(process.returncode == 0 for process in processes), [err[-2000:] for _, err in outputs]
    connection = sqlite3.connect(db)
    keys = [key for (key,) in connection.execute("SELECT key FROM runs")]
    claims = connection.execute("SELECT count(*) FROM claims").fetchone()[0]
    connection.close()
    assert len(keys) == len(set(keys)) == 12 and claims == 0
    written = []
    for _, stderr in outputs:
        match = re.search(r"(\d+) runs done now, (\d+) already in [^\s,]+(?:, (\d+) done by another sweep on it meanwhile)?",
                          stderr)
        assert match, stderr[-2000:]
        ran, skipped, elsewhere = (int(group or 0) for group in match.groups())
        assert ran + skipped + elsewhere == 12
        written.append(ran)
    assert sum(written) == 12  # each run written by exactly one of them, and each says so
