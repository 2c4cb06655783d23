"""``rnngrad train``, ``sweep`` and ``results`` through typer's CliRunner: contracts and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from typer.testing import CliRunner

import rnngrad.cli.results_command  # noqa: F401  (registers the commands until cli/__init__ imports them)
import rnngrad.cli.sweep_command  # noqa: F401
import rnngrad.cli.train_command  # noqa: F401
from rnngrad.cli import app
from rnngrad.sweep import plot_success_rate

TINY_TRAIN = ["--steps", "4", "--batch-size", "2", "--hidden-size", "2"]
TINY_SWEEP = ["--task", "adding", "--T", "4,100", "--model", "rnn-tanh,lstm", "--seeds", "1", "--steps", "2",
              "--batch-size", "2", "--hidden-size", "2", "--workers", "1"]
RUN_KEYS = {"task", "T", "model", "seed", "status", "steps"}
SUMMARY_KEYS = {"task", "T", "model", "success_rate", "median_steps", "published"}


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "160"})


def test_train_json_contract():
    result = invoke("train", "--task", "adding", "--T", "100", "--model", "lstm", "--seed", "3", "--lr", "0.01",
                    "--clip", "0.5", "--json", *TINY_TRAIN)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "failed" and data["steps"] == 4 and data["sequences"] == 8
    assert data["config"]["seed"] == 3 and data["config"]["lr"] == 0.01 and data["config"]["clip"] == 0.5
    assert data["published"]["sequences"] == 74_000
    assert {"loss_curve", "accuracy_curve", "final_loss", "wall_time_s", "profiles"} <= set(data)


def test_train_prints_a_summary():
    result = invoke("train", "--task", "copy", "--T", "5", "--model", "gru", "--optimizer", "rmsprop", "--no-clip", *TINY_TRAIN)
    assert result.exit_code == 0, result.output
    assert "gru on copy, T = 5" in result.stdout and "failed" in result.stdout
    # the word stays (the JSON contract), and the text says what it means
    assert "failed: the update budget (--steps) ran out before the task's criterion was met." in result.stdout


@pytest.mark.parametrize("sizes", ["default", "quick"])
def test_every_c11_run_is_one_train_command_with_the_same_config(monkeypatch, sizes):
    """The command lines C11 reports (one per run, and one per variant with M and T) rebuild,
    through the CLI's own flags, exactly the TrainConfig that C11 trains."""
    import shlex

    from rnngrad.claims import ClaimsConfig
    from rnngrad.claims.adding_problem import adding_train_configs, train_command
    from rnngrad.training import TrainConfig, TrainResult

    built: list[TrainConfig] = []

    def record(config, on_progress=None):  # stands in for training: only the config matters here
        built.append(config)
        return TrainResult(config, "failed", config.steps, config.steps * config.batch_size, (), (), None, None, 0.0)

    monkeypatch.setattr(rnngrad.cli.train_command, "train", record)
    claims_config = ClaimsConfig() if sizes == "default" else ClaimsConfig.quick(seed=3)
    configs = adding_train_configs(claims_config)
    assert {c.task for c in configs} == {"adding-sum", "adding"} and len(configs) == 16
    for config in configs:
        exact = train_command(config)
        template = train_command(config, placeholders=True).replace("--model M", f"--model {config.model}")
        for line in (exact, template.replace("--T T", f"--T {config.T}")):
            words = shlex.split(line)
            assert words[:2] == ["rnngrad", "train"], line
            result = invoke(*words[1:])
            assert result.exit_code == 0, (line, result.output)
            assert built[-1] == config, line


@pytest.mark.parametrize("args, message", [
    (["train", "--task", "adder"],
     "Error: task: expected one of adding, adding-sum, copy, temporal-order, digits, digits-permuted, got 'adder'"),
    (["train", "--model", "transformer"],
     "Error: model: expected one of rnn-tanh, rnn-sigmoid, irnn, lstm, lstm-fb1, lstm-chrono, lstm-nofg, gru"),
    (["train", "--T", "1"], "Error: T: expected an integer ≥ 2, got 1"),
    (["train", "--T", "3"], "Error: T: expected an integer ≥ 4 for task 'adding', got 3"),
    (["train", "--task", "digits", "--T", "50"], "Error: T: expected 64 for task 'digits' (8×8 pixels), got 50"),
    (["train", "--lr", "-1"], "Error: lr: expected a positive finite number, got -1.0"),
    (["train", "--clip", "1", "--no-clip"], "Error: --no-clip: expected no --clip with it"),
    (["sweep", "--T", "50,1"], "Error: --T: expected comma-separated integers ≥ 2, got '50,1'"),
    (["sweep", "--T", "fifty"], "Error: --T: expected comma-separated integers ≥ 2, got 'fifty'"),
    (["sweep", "--seeds", "0"], "Error: seeds: expected a positive integer, got 0"),
    (["sweep", "--seeds", "-2"], "Error: seeds: expected a positive integer, got -2"),
    (["sweep", "--task", "temporal-order", "--T", "100,5"], "Error: T: expected an integer ≥ 10 for task 'temporal-order', got 5"),
    (["sweep", "--model", "lstm,rnn"], "Error: model: expected one of rnn-tanh,"),
    (["sweep", "--task", "copy", "--T", "50", "--model", "lstm", "--workers", "2", "--ray", "auto"],
     "Error: --workers: expected no --workers with --ray"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, args, message):
    result = invoke(*args, "--db", str(tmp_path / "results.db")) if args[0] == "sweep" else invoke(*args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith(message), result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not (tmp_path / "results.db").exists()


@pytest.mark.parametrize("command", ["sweep", "results"])
def test_a_db_that_is_not_a_results_db_is_refused_untouched(tmp_path, command):
    db = tmp_path / "mine.db"
    db.write_bytes(b"SQLite format 3\x00 but really my notes\n" * 10)
    before = db.read_bytes()
    args = ["sweep", *TINY_SWEEP] if command == "sweep" else ["results"]
    result = invoke(*args, "--db", str(db))
    assert result.exit_code == 2 and result.output.startswith("Error: db: expected an rnngrad results database")
    assert db.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["mine.db"]


def test_results_of_a_missing_db():
    result = invoke("results", "--db", "/nonexistent/results.db")
    assert result.exit_code == 2 and result.output.startswith("Error: db: expected an existing results database")


def test_sweep_then_results_side_by_side_with_the_papers(tmp_path):
    db = tmp_path / "results.db"
    swept = invoke("sweep", *TINY_SWEEP, "--db", str(db))
    assert swept.exit_code == 0, swept.output
    assert "74,000" in swept.stdout  # the HS97 cell sits beside ours
    listing = invoke("results", "--db", str(db), "--json", "--plot", str(tmp_path / "success.png"))
    assert listing.exit_code == 0, listing.output
    data = json.loads(listing.stdout)
    assert set(data) == {"runs", "summary"} and len(data["runs"]) == 4 and len(data["summary"]) == 4
    assert all(RUN_KEYS <= set(run) and run["status"] in ("solved", "failed", "diverged") for run in data["runs"])
    assert all(SUMMARY_KEYS <= set(row) for row in data["summary"])
    cell = next(row for row in data["summary"] if (row["T"], row["model"]) == (100, "lstm"))
    assert cell["success_rate"] == 0.0 and cell["median_steps"] is None
    assert cell["published"]["source"] == "Hochreiter & Schmidhuber 1997"
    assert next(row for row in data["summary"] if row["T"] == 4)["published"] is None
    assert (tmp_path / "success.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = invoke("results", "--db", str(db))
    assert table.exit_code == 0 and "solved after 74,000 training sequences" in table.stdout


def test_plot_success_rate_returns_a_figure():
    summary = [{"task": "adding", "T": T, "model": model, "success_rate": rate}
               for T, model, rate in [(50, "lstm", 1.0), (100, "lstm", 0.5), (50, "rnn-tanh", 0.0), (100, "rnn-tanh", 0.0)]]
    figure = plot_success_rate(summary)
    assert isinstance(figure, Figure) and len(figure.axes) == 1
    assert {line.get_label() for line in figure.axes[0].get_lines()} == {"lstm", "rnn-tanh"}


def test_results_plot_to_a_missing_folder_is_bad_input(tmp_path):
    db = tmp_path / "results.db"
    assert invoke("sweep", *TINY_SWEEP, "--db", str(db)).exit_code == 0
    result = invoke("results", "--db", str(db), "--plot", str(Path(tmp_path, "no", "plot.png")))
    assert result.exit_code == 2 and result.output.startswith("Error: --plot:")


def test_version_and_the_option_defaults_in_help():
    import dataclasses

    from typer.testing import CliRunner

    from rnngrad._version import __version__
    from rnngrad.cli import app
    from rnngrad.training import TrainConfig

    runner = CliRunner()
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output == f"rnngrad {__version__}\n"
    defaults = {field.name: field.default for field in dataclasses.fields(TrainConfig)}
    shown = " ".join(runner.invoke(app, ["train", "--help"], terminal_width=200).output.split())
    for text in (f"Update budget (default {defaults['steps']})", f"Learning rate (default {defaults['lr']:g})",
                 f"(default {defaults['clip']:g})", f"Sequences per update (default {defaults['batch_size']})",
                 f"H (default {defaults['hidden_size']})"):
        assert text in shown, text
