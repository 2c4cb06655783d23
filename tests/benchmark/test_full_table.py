"""The full table: a spec swept into a DB (resumably, in order), rendered by ``rnngrad results``.

A tiny spec (2 models × 2 T × 1 seed, 20 updates of 2 sequences) stands in for the issue-16 spec.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import rnngrad.cli.results_command  # noqa: F401  (registers the commands)
import rnngrad.cli.sweep_command  # noqa: F401
from rnngrad.cli import app
from rnngrad.sweep import ResultsStore, config_key, load_results, results_table, run_plan
from rnngrad.sweep.markdown import table_markdown
from rnngrad.sweep.spec_file import parse_sweep_plan

TINY = {
    "format": "rnngrad-sweep-spec", "version": 1, "title": "tiny table",
    "models": ["rnn-tanh", "lstm"], "seeds": 1,
    "train": {"batch_size": 2, "hidden_size": 2, "profile_every": 0, "log_every": 10},
    "stages": [[50], [100]],
    "tasks": [{"task": "adding", "criterion": "hs97", "T": [50, 100], "steps": 20, "budget": "twenty updates"}],
}
FAILED_MEANS = "failed: the update budget ran out before the task's criterion was met"


def invoke(*args):
    return CliRunner().invoke(app, [str(arg) for arg in args], env={"COLUMNS": "200"})


def write_spec(folder: Path, **changes) -> Path:
    path = folder / f"spec-{len(list(folder.glob('spec-*')))}.json"
    path.write_text(json.dumps({**TINY, **changes}))
    return path


def recorded(db: Path) -> list[tuple[int, str, int]]:
    """(T, model, seed) of the recorded runs, in the order they were written."""
    with ResultsStore.open(db, create=False, read_only=True) as store:
        runs = sorted(store.runs(), key=lambda run: run["finished_at"])
    return [(run["T"], run["model"], run["seed"]) for run in runs]


def test_a_spec_sweep_resumes_in_order_without_redoing_runs(tmp_path):
    plan, db = parse_sweep_plan(TINY), tmp_path / "results.db"

    def stop_after_two(event):
        if event.done == 2:
            raise KeyboardInterrupt  # as Ctrl-C would, right after the second run is committed

    with pytest.raises(KeyboardInterrupt):
        run_plan(plan, db, workers=1, on_event=stop_after_two)
    assert recorded(db) == [(50, "rnn-tanh", 0), (50, "lstm", 0)]  # the first stage first
    again = run_plan(plan, db, workers=1)
    assert (again.total, again.skipped, again.ran) == (4, 2, 2)
    assert recorded(db) == [(50, "rnn-tanh", 0), (50, "lstm", 0), (100, "rnn-tanh", 0), (100, "lstm", 0)]
    with ResultsStore.open(db, create=False, read_only=True) as store:
        assert {run["key"] for run in store.runs()} == {config_key(config) for config in plan.configs()}
    swept = invoke("sweep", "--spec", write_spec(tmp_path), "--db", db, "--workers", "1")
    assert swept.exit_code == 0, swept.output
    assert "0 runs done now, 4 already in" in swept.output and FAILED_MEANS in swept.stdout


def test_results_renders_the_table_writes_the_summary_and_marks_what_has_not_run(tmp_path):
    db, out = tmp_path / "results.db", tmp_path / "out"
    out.mkdir()
    swept = invoke("sweep", "--spec", write_spec(tmp_path), "--db", db, "--workers", "1")
    assert swept.exit_code == 0, swept.output
    # the same grid planned with 3 seeds and one more model: partial cells and cells not run yet
    bigger = write_spec(tmp_path, seeds=3, models=["rnn-tanh", "lstm", "gru"])
    result = invoke("results", "--db", db, "--spec", bigger, "--out", out)
    assert result.exit_code == 0, result.output
    assert FAILED_MEANS in result.stdout and "0/1 of 3 failed" in result.stdout
    assert "solved after 74,000 training sequences" in result.stdout  # HS97's cell beside ours at T = 100
    assert sorted(path.name for path in out.iterdir()) == ["success-vs-T.png", "summary.json", "table.md"]
    assert (out / "success-vs-T.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == {"table", "summary", "runs", "spec"} and summary["spec"]["seeds"] == 3
    assert len(summary["runs"]) == 4 and {run["status"] for run in summary["runs"]} == {"failed"}  # JSON keeps "failed"
    rows = summary["table"]["rows"]
    assert [(row["task"], row["T"]) for row in rows] == [("adding", 50), ("adding", 100)]
    cells = {(row["T"], cell["model"]): cell for row in rows for cell in row["cells"]}
    lstm_50 = cells[(50, "lstm")]
    assert (lstm_50["planned"], lstm_50["runs"], lstm_50["failed"], lstm_50["success_rate"]) == (3, 1, 1, 0.0)
    assert cells[(100, "gru")]["runs"] == 0 and cells[(100, "gru")]["success_rate"] is None
    assert cells[(100, "lstm")]["published"] is True and cells[(100, "lstm")]["agrees"] is False
    hs97 = next(entry for entry in rows[1]["published"] if entry["source"].startswith("Hochreiter"))
    assert hs97["differ"] == ["lstm"] and hs97["agree"] == [] and hs97["sequences"] == 74_000
    markdown = (out / "table.md").read_text()
    assert "| 100 | 20 × 2 | **0/1 of 3 failed** (P ✓) | **0/1 of 3 failed** (P ✓) | · |" in markdown
    assert "`failed`: the update budget ran out before the task's criterion was met." in markdown
    listing = invoke("results", "--db", db, "--spec", bigger, "--json")
    assert listing.exit_code == 0 and json.loads(listing.stdout)["table"] == summary["table"]
    plain = json.loads(invoke("results", "--db", db, "--json").stdout)
    assert set(plain) == {"runs", "summary"}  # without --spec: the contract as before


def test_runs_outside_the_spec_are_left_out_and_counted(tmp_path):
    db = tmp_path / "results.db"
    assert invoke("sweep", "--spec", write_spec(tmp_path), "--db", db, "--workers", "1").exit_code == 0
    other = parse_sweep_plan({**TINY, "tasks": [{**TINY["tasks"][0], "steps": 21}]})  # another budget
    table = results_table(load_results(db)["runs"], other)
    assert table["runs_counted"] == 0 and table["outside_spec"] == 4
    assert all(cell["runs"] == 0 for row in table["rows"] for cell in row["cells"])
    assert "4 runs in the database are not in this spec and are left out." in table_markdown(table)


def test_the_table_counts_seeds_medians_and_agreement():
    plan = parse_sweep_plan({**TINY, "seeds": 3})

    def run(T, model, seed, status, steps):
        config = next(c for c in plan.configs() if (c.T, c.model, c.seed) == (T, model, seed))
        return {"key": config_key(config), "task": "adding", "T": T, "model": model, "seed": seed,
                "status": status, "steps": steps, "sequences": 2 * steps, "config": config.to_dict()}

    runs = [run(100, "lstm", 0, "solved", 9), run(100, "lstm", 1, "solved", 13), run(100, "lstm", 2, "failed", 20),
            run(100, "rnn-tanh", 0, "diverged", 4), run(100, "rnn-tanh", 1, "failed", 20)]
    row = results_table(runs, plan)["rows"][1]
    lstm, tanh = (next(cell for cell in row["cells"] if cell["model"] == name) for name in ("lstm", "rnn-tanh"))
    assert (lstm["solved"], lstm["runs"], lstm["median_steps"], lstm["median_sequences"]) == (2, 3, 11.0, 22.0)
    assert lstm["success_rate"] == pytest.approx(2 / 3) and lstm["agrees"] is True  # HS97: solved; ours 2 of 3
    assert (tanh["runs"], tanh["failed"], tanh["diverged"], tanh["median_steps"], tanh["agrees"]) == (2, 1, 1, None, False)
    markdown = table_markdown(results_table(runs, plan))
    assert "2/3 · 11 (P ✓)" in markdown and "**0/2 of 3 failed (1 diverged)** (P ✓)" in markdown


@pytest.mark.parametrize("args, message", [
    (["--spec", "{missing}"], "Error: --spec: expected an existing JSON file, got "),
    (["--spec", "{bad}"], "Error: --spec: tasks[0]: criterion: expected 'hs97' for task 'adding' ("),
    (["--out", "{missing}"], "Error: --out: expected an existing folder, got "),
])
def test_results_refuses_a_bad_spec_or_out_folder_in_one_line(tmp_path, args, message):
    db = tmp_path / "results.db"
    assert invoke("sweep", "--spec", write_spec(tmp_path), "--db", db, "--workers", "1").exit_code == 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**TINY, "tasks": [{**TINY["tasks"][0], "criterion": "beats-baseline"}]}))
    paths = {"missing": str(tmp_path / "missing"), "bad": str(bad)}
    before = sorted(path.name for path in tmp_path.iterdir())
    result = invoke("results", "--db", db, *[arg.format(**paths) for arg in args])
    assert result.exit_code == 2 and result.output.startswith(message), result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert sorted(path.name for path in tmp_path.iterdir()) == before
