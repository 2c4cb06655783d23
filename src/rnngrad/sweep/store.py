"""The results database: SQLite (stdlib ``sqlite3``), WAL mode, one row per finished run.

Crash safety, which a sweep killed with SIGKILL at any moment relies on:

- A run's row is written in one transaction when the run ends (``INSERT OR IGNORE`` on the
  run's key), so a row is either all there or not there, and a key is never there twice.
- A new database is built under a temporary name and linked into place only once its schema is
  committed, so no half-made file ever sits at the given path.
- A file at the path that is not an rnngrad results database is refused before it is opened for
  writing, and left byte for byte as it was.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rnngrad._json import finite_or_none
from rnngrad.errors import InputError
from rnngrad.sweep.spec import config_key
from rnngrad.training import TrainResult

FORMAT = "rnngrad.results"
VERSION = "1"
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
    key TEXT PRIMARY KEY,                -- SHA-256 of the run's full config
    task TEXT NOT NULL,
    T INTEGER NOT NULL,
    model TEXT NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('solved', 'failed', 'diverged')),
    steps INTEGER NOT NULL,
    sequences INTEGER NOT NULL,
    final_loss REAL,
    final_accuracy REAL,
    wall_time_s REAL NOT NULL,
    config TEXT NOT NULL,                -- TrainConfig as JSON
    result TEXT NOT NULL,                -- TrainResult as JSON (curves, profiles)
    finished_at TEXT NOT NULL            -- ISO 8601, UTC
);
"""

_COLUMNS = ("key", "task", "T", "model", "seed", "status", "steps", "sequences", "final_loss",
            "final_accuracy", "wall_time_s", "config", "finished_at")


def check_results_db(path: Path) -> None:
    """Raise :class:`InputError` unless ``path`` is an rnngrad results database (read-only check)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"db: expected a results database file, got {str(path)!r} (no such file)")
    with open(path, "rb") as file:
        header = file.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise InputError(f"db: expected an rnngrad results database, got {str(path)!r}, which is not SQLite")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            row = connection.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError:
        row = None
    if row is None or row[0] != FORMAT:
        raise InputError(f"db: expected an rnngrad results database, got {str(path)!r}, an SQLite file of another kind")


class ResultsStore:
    """One open results database. Use :meth:`open`; close with :meth:`close` or ``with``."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._connection = connection

    @classmethod
    def open(cls, path: Path | str, create: bool = True) -> ResultsStore:
        """Open the database at ``path``; with ``create``, make it first if there is no file.

        Raises:
            InputError: the file is not a results database (it is left untouched), or it does
                not exist and ``create`` is False, or its folder does not exist.
        """
        path = Path(path)
        if not path.exists():
            if not create:
                raise InputError(f"db: expected an existing results database, got {str(path)!r} (no such file)")
            _create(path)
        check_results_db(path)
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        return cls(path, connection)

    def finished_keys(self) -> set[str]:
        """Keys of the runs already recorded."""
        return {row[0] for row in self._connection.execute("SELECT key FROM runs")}

    def record(self, result: TrainResult) -> bool:
        """Write one finished run in one transaction; False if its key was already there."""
        config = result.config
        row = (
            config_key(config), config.task, config.T, config.model, config.seed, result.status,
            result.steps, result.sequences, finite_or_none(result.final_loss), finite_or_none(result.final_accuracy),
            result.wall_time_s, json.dumps(config.to_dict(), sort_keys=True),
            json.dumps(result.to_dict(), allow_nan=False), datetime.now(timezone.utc).isoformat(),
        )
        placeholders = ", ".join("?" * len(row))
        columns = "key, task, T, model, seed, status, steps, sequences, final_loss, final_accuracy, " \
                  "wall_time_s, config, result, finished_at"
        with self._transaction():
            cursor = self._connection.execute(f"INSERT OR IGNORE INTO runs ({columns}) VALUES ({placeholders})", row)
        return cursor.rowcount == 1

    def runs(self) -> list[dict[str, Any]]:
        """Every recorded run (without curves), ordered by task, T, model, seed."""
        query = f"SELECT {', '.join(_COLUMNS)} FROM runs ORDER BY task, T, model, seed, key"
        runs = []
        for values in self._connection.execute(query):
            run = dict(zip(_COLUMNS, values))
            run["config"] = json.loads(run["config"])
            runs.append(run)
        return runs

    def result(self, key: str) -> TrainResult:
        """The full :class:`TrainResult` (curves, profiles) of one run."""
        row = self._connection.execute("SELECT result FROM runs WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise InputError(f"key: expected the key of a recorded run, got {key!r}")
        return TrainResult.from_dict(json.loads(row[0]))

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _transaction(self):
        return _Transaction(self._connection)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on an exception."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def __enter__(self) -> None:
        self._connection.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *rest: object) -> None:
        self._connection.execute("ROLLBACK" if exc_type else "COMMIT")


def _create(path: Path) -> None:
    """Build an empty database beside ``path`` and link it into place (never overwriting)."""
    if not path.parent.is_dir():
        raise InputError(f"db: expected a file in an existing folder, got {str(path)!r}")
    temporary = path.parent / f".{path.name}.{secrets.token_hex(8)}.creating"
    os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))  # mode as umask allows
    try:
        connection = sqlite3.connect(temporary, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                                   [("format", FORMAT), ("version", VERSION)])
            connection.execute("COMMIT")
        finally:
            connection.close()  # checkpoints the WAL into the file and removes it
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another sweep created it first; theirs is checked like any existing file
    finally:
        os.unlink(temporary)
