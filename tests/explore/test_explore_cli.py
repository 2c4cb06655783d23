"""``rnngrad explore`` writes index.html and weights.json with the contract's shapes and meaning,
and refuses bad input (exit 2, one line, nothing written)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import rnngrad.cli.explore_command  # noqa: F401  (registers the command until cli/__init__ does)
from rnngrad.cli._app import app
from rnngrad.errors import InputError
from rnngrad.explore import explorer_html, explorer_weights


def invoke(*args):
    return CliRunner().invoke(app, [*map(str, args)], env={"COLUMNS": "160"})


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.output
    return lines[0]


def embedded_weights(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="explore-weights">(.*?)</script>', page, re.S)
    return json.loads(match.group(1))


def test_weights_have_the_contract_shapes_and_unit_gain():
    weights = explorer_weights(seed=3, hidden_size=16, input_size=4, max_steps=50)
    H, I, T = 16, 4, 50
    shapes = {name: tuple(torch.tensor(value).shape) for name, value in weights["rnn"].items()}
    assert shapes == {"weight_hh": (H, H), "weight_ih": (H, I), "bias": (H,), "inputs": (T, I)}
    shapes = {name: tuple(torch.tensor(value).shape) for name, value in weights["lstm"].items()}
    assert shapes == {"weight_ih": (4 * H, I), "weight_hh": (4 * H, H), "bias": (4 * H,),
                      "chrono_forget_bias": (H,), "inputs": (T, I)}
    spectral = torch.linalg.matrix_norm(torch.tensor(weights["rnn"]["weight_hh"], dtype=torch.float64), ord=2)
    assert abs(float(spectral) - 1.0) < 1e-12  # the gain slider is ‖W_hh‖₂ itself
    chrono = torch.tensor(weights["lstm"]["chrono_forget_bias"])
    assert bool((chrono >= 0).all()) and bool((chrono <= torch.log(torch.tensor(T - 1.0))).all())
    assert explorer_weights(seed=3, hidden_size=16, input_size=4, max_steps=50) == weights  # seeded
    assert explorer_weights(seed=4, hidden_size=16, input_size=4, max_steps=50) != weights


def test_explore_writes_the_page_and_its_weights(tmp_path):
    out = tmp_path / "explore"
    result = invoke("explore", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "weights.json"]
    weights = json.loads((out / "weights.json").read_text(encoding="utf-8"))
    page = (out / "index.html").read_text(encoding="utf-8")
    assert weights == explorer_weights(seed=0) and embedded_weights(page) == weights
    assert '<html lang="en">' in page and '<pre id="explore-data">' in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page) and "@@" not in page.split("<script")[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["explore"]  # no temporary folder left


def test_korean_page_and_a_previous_explorer_is_replaced(tmp_path):
    out = tmp_path / "explore"
    assert invoke("explore", "--out", out).exit_code == 0
    assert invoke("explore", "--out", out, "--lang", "ko", "--seed", "1").exit_code == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    assert '<html lang="ko">' in page and "슬라이더" in page
    assert embedded_weights(page)["seed"] == 1 == json.loads((out / "weights.json").read_text())["seed"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["explore"]


def test_a_foreign_folder_is_refused_unless_forced(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    line = one_error_line(invoke("explore", "--out", mine))
    assert "--out" in line and "--force" in line
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    assert invoke("explore", "--out", mine, "--force").exit_code == 0
    assert sorted(p.name for p in mine.iterdir()) == ["index.html", "notes.txt", "weights.json"]
    assert (mine / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


@pytest.mark.parametrize("args, expected", [
    (("--lang", "fr"), "--lang: expected one of en, ko, got 'fr'"),
    (("--out", "/proc/rnngrad-explore"), "--out"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, args, expected):
    if "--out" not in args:
        args = (*args, "--out", tmp_path / "e")
    assert expected in one_error_line(invoke("explore", *args))
    assert list(tmp_path.iterdir()) == []


def test_out_inside_a_file_or_being_a_file(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    assert "--out" in one_error_line(invoke("explore", "--out", blocker / "e"))
    assert "--out" in one_error_line(invoke("explore", "--out", blocker))
    assert blocker.read_text() == "x" and [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_failure_while_writing_leaves_nothing(tmp_path, monkeypatch):
    import rnngrad.explore.writer as writer

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "_install", broken)  # the disk fills up after the files are staged
    assert "No space left" in one_error_line(invoke("explore", "--out", tmp_path / "e"))
    assert list(tmp_path.iterdir()) == []


def test_library_refuses_a_bad_language():
    with pytest.raises(InputError, match="lang: expected one of en, ko, got 'de'"):
        explorer_html(explorer_weights(max_steps=5, hidden_size=2), "de")
