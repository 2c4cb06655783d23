"""The results database as a file: recognising one without touching it, and making a new one.

Checking a file never changes it and never creates a file beside it. SQLite in WAL mode keeps a
``-wal`` and a ``-shm`` file next to the database while it is open for writing; a plain
read-only connection to a WAL database would create them. So a file nobody has open (no
``-wal``/``-shm`` beside it) is read with ``immutable=1``, which makes SQLite read the file as
it is, take no lock and create nothing, and works on a read-only mount or folder too; a file
with both a ``-wal`` and a ``-shm`` beside it (a sweep is writing it, or was killed writing) is read
with ``mode=ro``, which then reads the committed runs still in the ``-wal`` too.

A new database is built under a temporary name ``.NAME.PID-HEX.creating`` and linked into
place once its schema is committed. A sweep killed meanwhile leaves that file (and its
journals); the next sweep on the same path removes those whose process is gone.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from contextlib import closing
from pathlib import Path

from rnngrad.errors import InputError

FORMAT = "rnngrad.results"
VERSION = "1"
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 30.0
RUN_COLUMNS = ("key", "task", "T", "model", "seed", "status", "steps", "sequences", "final_loss",
               "final_accuracy", "wall_time_s", "config", "result", "finished_at")

SCHEMA = """
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
# Runs a sweep is training now, so that sweeps on one database share the work. Added to a
# database when a sweep opens it for writing (databases made before it lack it until then).
CLAIMS_SCHEMA = "CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, owner TEXT NOT NULL)"
_CREATING = ".creating"
_JOURNALS = ("", "-journal", "-wal", "-shm")


def check_results_db(path: Path) -> None:
    """Raise :class:`InputError` unless ``path`` is an rnngrad results database.

    Read-only: the file stays byte for byte as it was and nothing is created beside it.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"db: expected a results database file, got {str(path)!r}, which is a directory")
    if not path.exists():
        raise InputError(f"db: expected a results database file, got {str(path)!r} (no such file)")
    try:
        with open(path, "rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except OSError as error:
        raise InputError(f"db: could not read {str(path)!r} ({error.strerror or error})") from None
    if header != SQLITE_HEADER:
        raise InputError(f"db: expected an rnngrad results database, got {str(path)!r}, which is not SQLite")
    try:
        with closing(read_only_connection(path)) as connection:
            tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            meta = dict(connection.execute("SELECT key, value FROM meta").fetchall()) if "meta" in tables else {}
            columns = {row[1] for row in connection.execute("PRAGMA table_info(runs)")}
    except sqlite3.Error:
        meta, columns = {}, set()
    if meta.get("format") != FORMAT:
        raise InputError(f"db: expected an rnngrad results database, got {str(path)!r}, an SQLite file of another kind")
    if meta.get("version") != VERSION or not set(RUN_COLUMNS) <= columns:
        raise InputError(f"db: expected an rnngrad results database of version {VERSION} with its runs table, got "
                         f"{str(path)!r}, which says it is one but has version {meta.get('version')!r} and tables "
                         f"that {'match' if set(RUN_COLUMNS) <= columns else 'do not match'} (damaged, forged or newer)")


def read_only_connection(path: Path) -> sqlite3.Connection:
    """A connection that can only read ``path`` and creates no file beside it (see the module)."""
    resolved = Path(path).resolve()  # SQLite keeps -wal and -shm beside the file a symlink points to
    in_use = all(Path(f"{resolved}{suffix}").exists() for suffix in ("-wal", "-shm"))
    base = f"{resolved.as_uri()}?mode=ro"
    if in_use:
        connection = sqlite3.connect(base, uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the WAL now
            return connection
        except sqlite3.OperationalError:  # e.g. a read-only folder holding a stale -shm
            connection.close()
    return sqlite3.connect(base + "&immutable=1", uri=True, timeout=BUSY_TIMEOUT_S)


def check_writable(path: Path) -> None:
    """Raise :class:`InputError` unless the database at ``path`` and its folder can be written
    (SQLite keeps its ``-wal`` and ``-shm`` beside the file)."""
    path = Path(path)
    if not os.access(path, os.R_OK | os.W_OK):
        raise InputError(f"db: expected a results database that can be written, got {str(path)!r} (read-only)")
    folder = path.resolve().parent
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"db: expected a results database in a folder that can be written (SQLite keeps its -wal "
                         f"and -shm files beside it), got {str(path)!r} in the read-only {str(folder)!r}")


def check_sweep_target(path: Path) -> None:
    """Refuse, before any work, a ``path`` a sweep could not write: a file that is not a results
    database or is read-only, or no file and a folder that is missing or read-only."""
    path = Path(path)
    if path.exists() or path.is_symlink():
        check_results_db(path)
        check_writable(path)
        return
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"db: expected a file in an existing folder, got {str(path)!r}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"db: expected a file in a folder that can be written, got {str(path)!r} "
                         f"(the folder {str(folder.resolve())!r} is read-only)")


def create_database(path: Path) -> None:
    """Build an empty database beside ``path`` and link it into place (never overwriting)."""
    folder = path.parent
    check_sweep_target(path)
    remove_stale_creations(path)
    temporary = folder / f".{path.name}.{os.getpid()}-{secrets.token_hex(8)}{_CREATING}"
    try:
        os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))  # mode as umask allows
        connection = sqlite3.connect(temporary, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("BEGIN IMMEDIATE")
            for statement in (*SCHEMA.split(";"), CLAIMS_SCHEMA):
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
    except (OSError, sqlite3.Error) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise InputError(f"db: could not create {str(path)!r} ({reason})") from None
    finally:
        for suffix in _JOURNALS:
            Path(f"{temporary}{suffix}").unlink(missing_ok=True)


def remove_stale_creations(path: Path) -> list[Path]:
    """Remove the temporary files of creations of ``path`` whose process is gone; return them."""
    removed = []
    for candidate in path.parent.glob(f".{path.name}.*{_CREATING}*"):
        stem, _, suffix = candidate.name.partition(_CREATING)
        pid_text = stem[len(f".{path.name}."):].split("-", 1)[0]
        if suffix in _JOURNALS and pid_text.isdigit() and not process_alive(int(pid_text)):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (this process counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
