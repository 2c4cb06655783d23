"""Sweeps: run keys, the results DB (refusal, exactly-once rows), skipping, parallel workers, NaN."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest

from rnngrad.errors import InputError
from rnngrad.sweep import SweepConfig, load_results, run_sweep
from rnngrad.sweep import ResultsStore, SweepSpec, check_results_db, config_key
from rnngrad.tasks import AddingProblem
from rnngrad.training import TrainConfig, train

TINY = dict(steps=3, batch_size=2, hidden_size=2, log_every=1)


def tiny_job(db, **changes) -> SweepConfig:
    job = SweepConfig(task="adding", T=(4, 5), models=("rnn-tanh", "lstm"), seeds=2, db=db, workers=1,
                      steps=3, batch_size=2, hidden_size=2)
    return replace(job, **changes)


def test_the_key_is_a_hash_of_the_full_config():
    config = TrainConfig(**TINY)
    assert config_key(config) == config_key(TrainConfig(**TINY)) and len(config_key(config)) == 64
    for change in ({"seed": 1}, {"lr": 2e-3}, {"clip": None}, {"steps": 4}, {"model": "gru"}, {"T": 101}):
        assert config_key(replace(config, **change)) != config_key(config), change


def test_a_spec_expands_to_every_combination_once():
    spec = SweepSpec("adding", (50, 100, 50), ("rnn-tanh", "lstm"), seeds=3, base=TrainConfig(**TINY))
    configs = spec.configs()
    assert len(configs) == 2 * 2 * 3 == len({config_key(config) for config in configs})
    expected = {(T, m, s) for T in (50, 100) for m in ("rnn-tanh", "lstm") for s in range(3)}
    assert {(c.T, c.model, c.seed) for c in configs} == expected
    with pytest.raises(InputError, match="seeds: expected a positive integer, got 0"):
        SweepSpec("adding", (50,), ("lstm",), seeds=0)
    with pytest.raises(InputError, match="T: expected an integer ≥ 4 for task 'adding', got 3"):
        SweepSpec("adding", (50, 3), ("lstm",))


def test_the_store_writes_each_run_exactly_once_in_wal_mode(tmp_path):
    db = tmp_path / "results.db"
    result = train(TrainConfig(T=4, **TINY))
    with ResultsStore.open(db) as store:
        assert store.record(result) is True
        assert store.record(result) is False  # same key: ignored
        (run,) = store.runs()
        assert run["key"] == config_key(result.config) and run["status"] == "failed" and run["steps"] == 3
        assert store.result(run["key"]).to_dict() == result.to_dict()
    connection = sqlite3.connect(db)
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
    connection.close()
    assert not list(tmp_path.glob(".*.creating"))


@pytest.mark.parametrize("content", [b"", b"hello, not a database\n", None])
def test_a_file_that_is_not_a_results_db_is_refused_and_left_untouched(tmp_path, content):
    db = tmp_path / "other.db"
    if content is None:  # an SQLite database of another kind
        connection = sqlite3.connect(db)
        connection.execute("CREATE TABLE notes (text TEXT)")
        connection.execute("INSERT INTO notes VALUES ('keep me')")
        connection.commit()
        connection.close()
    else:
        db.write_bytes(content)
    before = db.read_bytes()
    with pytest.raises(InputError, match="db: expected an rnngrad results database"):
        run_sweep(tiny_job(db))
    with pytest.raises(InputError, match="db: expected an rnngrad results database"):
        load_results(db)
    assert db.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["other.db"]


def test_rerunning_a_sweep_skips_finished_runs(tmp_path):
    db = tmp_path / "results.db"
    first = run_sweep(tiny_job(db))
    assert (first.total, first.skipped, first.ran) == (8, 0, 8)
    again = run_sweep(tiny_job(db))
    assert (again.total, again.skipped, again.ran) == (8, 8, 0)
    more = run_sweep(tiny_job(db, seeds=3))
    assert (more.total, more.skipped, more.ran) == (12, 8, 4)
    results = load_results(db)
    assert len(results["runs"]) == 12 and len(results["summary"]) == 4
    assert all(row["runs"] == 3 and row["success_rate"] == 0.0 for row in results["summary"])


def test_a_diverging_run_is_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch):
    sample = AddingProblem.sample

    def nan_when_T_is_5(self, batch_size, generator):
        batch = sample(self, batch_size, generator)
        if self.T == 5:
            batch.inputs[0, 0, 0] = float("nan")
        return batch

    monkeypatch.setattr(AddingProblem, "sample", nan_when_T_is_5)
    run_sweep(tiny_job(tmp_path / "results.db"))
    runs = load_results(tmp_path / "results.db")["runs"]
    assert {(run["T"], run["status"], run["steps"]) for run in runs} == {(4, "failed", 3), (5, "diverged", 1)}
    assert len(runs) == 8


def test_local_worker_processes_give_the_same_results_as_in_process(tmp_path):
    serial = run_sweep(tiny_job(tmp_path / "serial.db", models=("lstm",)))
    parallel = run_sweep(tiny_job(tmp_path / "parallel.db", models=("lstm",), workers=2))
    assert serial.ran == parallel.ran == 4

    def curves(db):
        with ResultsStore.open(db, create=False) as store:
            return {run["key"]: store.result(run["key"]).loss_curve for run in store.runs()}

    assert curves(tmp_path / "serial.db") == curves(tmp_path / "parallel.db")


def test_results_of_a_missing_db_and_bad_workers(tmp_path):
    with pytest.raises(InputError, match="db: expected an existing results database"):
        load_results(tmp_path / "missing.db")
    with pytest.raises(InputError, match="workers: expected a positive integer, got 0"):
        run_sweep(tiny_job(tmp_path / "results.db", workers=0))
    assert not (tmp_path / "results.db").exists()
    with pytest.raises(InputError, match="db: expected a file in an existing folder"):
        run_sweep(tiny_job(tmp_path / "no" / "such" / "results.db"))


def test_check_results_db_accepts_what_the_store_made(tmp_path):
    ResultsStore.open(tmp_path / "results.db").close()
    check_results_db(tmp_path / "results.db")
    assert (tmp_path / "results.db").stat().st_mode & 0o044  # readable as the umask allows, not 0600
