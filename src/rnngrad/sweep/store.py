"""The results database: SQLite (stdlib ``sqlite3``), WAL mode, one row per finished run.

Crash safety, which a sweep killed with SIGKILL at any moment relies on:

- A run's row is written in one transaction when the run ends (``INSERT OR IGNORE`` on the
  run's key), so a row is either all there or not there, and a key is never there twice.
- A new database is built under a temporary name and linked into place only once its schema is
  committed, so no half-made file ever sits at the given path (:mod:`rnngrad.sweep._db_file`).
- A file at the path that is not an rnngrad results database is refused before it is opened for
  writing, and left byte for byte as it was, with no file created beside it.

Sweeps that share one database share its work: before a run starts, a sweep **claims** it (a
row in ``claims``, in the same transaction that checks the run is not recorded yet); a run
recorded, or claimed by another sweep whose process still runs on this machine, is left to it.
A claim is dropped when its run is recorded or its sweep closes the database; the claims of a
sweep killed with SIGKILL are taken over by the next one (its process is gone). A claim made on
another machine (a database on a shared file system) cannot be checked and is honoured until
that sweep closes the database.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rnngrad._json import finite_or_none
from rnngrad.errors import InputError
from rnngrad.sweep._db_file import (BUSY_TIMEOUT_S, CLAIMS_SCHEMA, RUN_COLUMNS, check_results_db, check_writable,
                                    create_database, process_alive, read_only_connection, remove_stale_creations)
from rnngrad.sweep.spec import config_key
from rnngrad.training import TrainResult
from rnngrad.training.config import STATUSES

_LISTED = tuple(column for column in RUN_COLUMNS if column != "result")  # runs() leaves the curves out
_TYPES = {"key": str, "task": str, "T": int, "model": str, "seed": int, "status": str, "steps": int,
          "sequences": int, "config": str, "finished_at": str}

_OPEN_OWNERS: set[str] = set()  # owners of the stores open in this process (two sweeps in one process)

__all__ = ["ResultsStore", "check_results_db"]


class ResultsStore:
    """One open results database. Use :meth:`open`; close with :meth:`close` or ``with``."""

    def __init__(self, path: Path, connection: sqlite3.Connection, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self._connection = connection
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        _OPEN_OWNERS.add(self._owner)

    @classmethod
    def open(cls, path: Path | str, create: bool = True, read_only: bool = False) -> ResultsStore:
        """Open the database at ``path``; with ``create``, make it first if there is no file.

        ``read_only`` opens it for reading only (as ``rnngrad results`` does): nothing is
        written or created, and a database on a read-only mount or folder can be read.

        Raises:
            InputError: the file is not a results database (it is left untouched, with nothing
                created beside it), or it does not exist and ``create`` is False (or
                ``read_only``), or its folder does not exist, or it is to be written and the
                file or its folder is read-only.
        """
        path = Path(path)
        if not path.exists() and not path.is_symlink():
            if not create or read_only:
                raise InputError(f"db: expected an existing results database, got {str(path)!r} (no such file)")
            create_database(path)
        check_results_db(path)
        if read_only:
            return cls(path, read_only_connection(path), read_only=True)
        check_writable(path)
        remove_stale_creations(path)
        try:
            connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute(CLAIMS_SCHEMA)
        except sqlite3.Error as error:
            raise InputError(f"db: could not open {str(path)!r} for writing ({error})") from None
        return cls(path, connection)

    def finished_keys(self) -> set[str]:
        """Keys of the runs already recorded."""
        return {row[0] for row in self._execute("SELECT key FROM runs")}

    def claim(self, key: str) -> bool:
        """Claim the run ``key`` for this sweep: False if it is recorded, or claimed by another
        sweep that still runs (see the module); True (and claimed) otherwise."""
        with _Transaction(self):
            if self._execute("SELECT 1 FROM runs WHERE key = ?", (key,)).fetchone() is not None:
                return False
            row = self._execute("SELECT owner FROM claims WHERE key = ?", (key,)).fetchone()
            if row is not None and row[0] != self._owner and _owner_alive(row[0]):
                return False
            self._execute("INSERT OR REPLACE INTO claims (key, owner) VALUES (?, ?)", (key, self._owner))
        return True

    def record(self, result: TrainResult) -> bool:
        """Write one finished run in one transaction; False if its key was already there."""
        config = result.config
        key = config_key(config)
        row = (
            key, config.task, config.T, config.model, config.seed, result.status,
            result.steps, result.sequences, finite_or_none(result.final_loss), finite_or_none(result.final_accuracy),
            result.wall_time_s, json.dumps(config.to_dict(), sort_keys=True),
            json.dumps(result.to_dict(), allow_nan=False), datetime.now(timezone.utc).isoformat(),
        )
        placeholders = ", ".join("?" * len(row))
        with _Transaction(self):
            cursor = self._execute(f"INSERT OR IGNORE INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({placeholders})", row)
            self._execute("DELETE FROM claims WHERE key = ?", (key,))
        return cursor.rowcount == 1

    def runs(self) -> list[dict[str, Any]]:
        """Every recorded run (without curves), ordered by task, T, model, seed.

        Raises:
            InputError: a row is not as a sweep writes it (its config not JSON, a count not an
                integer, an unknown status): the database was changed by hand or damaged.
        """
        query = f"SELECT {', '.join(_LISTED)} FROM runs ORDER BY task, T, model, seed, key"
        runs = []
        for values in self._execute(query):
            run = _checked_run(dict(zip(_LISTED, values)), self.path)
            run["config"] = _json_column(run, "config", self.path)
            runs.append(run)
        return runs

    def result(self, key: str) -> TrainResult:
        """The full :class:`TrainResult` (curves, profiles) of one run."""
        row = self._execute("SELECT key, result FROM runs WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise InputError(f"key: expected the key of a recorded run, got {key!r}")
        data = _json_column({"key": row[0], "result": row[1]}, "result", self.path)
        try:
            return TrainResult.from_dict(data)
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(f"db: expected rows as rnngrad sweep writes them, got run {key!r} in {str(self.path)!r} "
                             f"whose result does not read back ({type(error).__name__}: {error})") from None

    def close(self) -> None:
        """Drop this sweep's unfinished claims and close the connection."""
        try:
            if not self.read_only:
                self._connection.execute("DELETE FROM claims WHERE owner = ?", (self._owner,))
        except sqlite3.Error:
            pass  # a claim left behind is taken over by the next sweep: its process is gone
        finally:
            _OPEN_OWNERS.discard(self._owner)
            self._connection.close()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _execute(self, statement: str, parameters: tuple = ()) -> sqlite3.Cursor:
        """``execute``, with SQLite's failures (a full disk, a lock held too long) as one InputError."""
        try:
            return self._connection.execute(statement, parameters)
        except sqlite3.Error as error:
            raise InputError(f"db: could not use {str(self.path)!r} ({error})") from None


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on an exception."""

    def __init__(self, store: ResultsStore) -> None:
        self._store = store

    def __enter__(self) -> None:
        self._store._execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *rest: object) -> None:
        if exc_type is None:
            self._store._execute("COMMIT")
            return
        try:
            self._store._connection.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the transaction is gone already; the error that ended it propagates


def _owner_alive(owner: str) -> bool:
    """Whether the sweep ``host:pid:token`` may still be running (a dead pid of this host: no)."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True  # another machine's sweep: its claim is honoured
    if int(pid_text) == os.getpid():
        return owner in _OPEN_OWNERS  # this process: another store still open, or a past life of the pid
    return process_alive(int(pid_text))


def _checked_run(run: dict[str, Any], path: Path) -> dict[str, Any]:
    for column, kind in _TYPES.items():
        if not isinstance(run[column], kind) or (column == "status" and run[column] not in STATUSES):
            raise InputError(f"db: expected rows as rnngrad sweep writes them, got run {str(run['key'])[:16]!r} in "
                             f"{str(path)!r} with {column} = {str(run[column])[:40]!r}")
    return run


def _json_column(run: dict[str, Any], column: str, path: Path) -> Any:
    try:
        return json.loads(run[column])
    except (TypeError, ValueError):
        raise InputError(f"db: expected rows as rnngrad sweep writes them, got run {str(run['key'])[:16]!r} in "
                         f"{str(path)!r} whose {column} is not JSON") from None
