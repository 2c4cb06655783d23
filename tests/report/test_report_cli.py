"""``rnngrad claims`` and ``rnngrad report`` through the CLI: JSON contract, files, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import rnngrad.cli.claims_command  # noqa: F401  (registers the commands until cli/__init__ does)
import rnngrad.cli.report_command  # noqa: F401
import rnngrad.report.run as report_run
from rnngrad.cli._app import app
from rnngrad.claims import VERDICTS


def invoke(*args):
    return CliRunner().invoke(app, [*map(str, args)], env={"COLUMNS": "160"})


@pytest.fixture
def no_recompute(monkeypatch, quick_report, quick_figures):
    """Let ``rnngrad report`` reuse the session's measurements (the CLI wiring is what is tested)."""
    monkeypatch.setattr(report_run, "build_report", lambda config, on_progress: quick_report)
    monkeypatch.setattr(report_run, "render_figures", lambda report, on_progress: quick_figures)


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.output
    return lines[0]


def test_claims_json_is_the_contract_and_the_same_numbers(quick_report):
    result = invoke("claims", "--quick", "--json", "--workers", 1)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [item["id"] for item in data] == [f"C{i}" for i in range(1, 15)]
    for item, measured in zip(data, quick_report.claims):
        assert set(item) == {"id", "claim", "verdict", "evidence", "figure"}
        assert item["verdict"] in VERDICTS and item["claim"] == measured.claim
        assert item == json.loads(json.dumps(measured.to_json()))  # same seed ⇒ same numbers


def test_report_writes_a_folder(tmp_path, no_recompute):
    result = invoke("report", "--quick", "--out", tmp_path / "r", "--workers", 1)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r" / "index.html").exists() and (tmp_path / "r" / "report.json").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["r"]  # no staging folder left behind


def test_previous_report_is_replaced_but_a_foreign_folder_is_refused(tmp_path, no_recompute):
    out = tmp_path / "r"
    assert invoke("report", "--out", out, "--quick").exit_code == 0
    (out / "assets" / "stale.png").write_bytes(b"old")
    assert invoke("report", "--out", out, "--quick").exit_code == 0  # a previous report: replaced
    assert not (out / "assets" / "stale.png").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    line = one_error_line(invoke("report", "--out", mine, "--quick"))
    assert "--out" in line and "--force" in line
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    assert invoke("report", "--out", mine, "--quick", "--force").exit_code == 0
    assert (mine / "notes.txt").read_text() == "keep me" and (mine / "index.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "r"]


@pytest.mark.parametrize("args, expected", [
    (("--lang", "fr"), "--lang"),
    (("--workers", 0), "--workers"),
    (("--out", "/proc/rnngrad-report"), "--out"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, args, expected):
    if "--out" not in args:
        args = (*args, "--out", tmp_path / "r")
    assert expected in one_error_line(invoke("report", "--quick", *args))
    assert not (tmp_path / "r").exists()


def test_out_inside_a_file_or_being_a_file(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    assert "--out" in one_error_line(invoke("report", "--quick", "--out", blocker / "r"))
    assert "--out" in one_error_line(invoke("report", "--quick", "--out", blocker))
    assert blocker.read_text() == "x"


def test_failure_while_writing_leaves_nothing(tmp_path, no_recompute, monkeypatch):
    import rnngrad.report.writer as writer

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "_install", broken)  # the disk fills up after the files are staged
    line = one_error_line(invoke("report", "--quick", "--out", tmp_path / "r"))
    assert "No space left" in line
    assert list(Path(tmp_path).iterdir()) == []


def test_claims_table_lists_every_claim_and_verdict(monkeypatch, quick_report):
    import rnngrad.cli.claims_command as command

    monkeypatch.setattr(command, "run_claims", lambda config, on_progress: list(quick_report.claims))
    result = invoke("claims", "--quick")
    assert result.exit_code == 0, result.output
    for claim in quick_report.claims:
        assert claim.id in result.output and claim.verdict in result.output
