"""``rnngrad spectrum``: the JSON contract, the table, and bad input (exit 2, one line, no traceback)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import rnngrad.cli.spectrum_command  # noqa: F401  (registers the command, as cli/__init__ will)
from rnngrad.cli import app
from checkpoint_files import save_module
from checkpoint_files import save_inputs as _save_inputs
from rnngrad.spectra import spectrum

def save_inputs(tmp_path, T: int = 40, **options):
    return _save_inputs(tmp_path, T=T, **options)


def invoke(*args) -> "CliRunner.Result":
    return CliRunner().invoke(app, ["spectrum", *map(str, args)], env={"COLUMNS": "120"})


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_json_contract(tmp_path, kind):
    module, checkpoint = save_module(tmp_path, kind)
    inputs, inputs_path = save_inputs(tmp_path)
    result = invoke("--checkpoint", checkpoint, "--inputs", inputs_path, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"arch", "exponents", "log_rate_measured"} and data["arch"] == kind
    assert len(data["exponents"]) == (10 if kind == "lstm" else 5)  # the LSTM's full (h, c): 2H
    assert data["exponents"] == sorted(data["exponents"], reverse=True)
    expected = spectrum(module, inputs)
    assert data["exponents"] == pytest.approx(expected.exponents.tolist(), abs=1e-12)
    assert data["log_rate_measured"] == pytest.approx(expected.log_rate_measured, abs=1e-12)


def test_k_warmup_relu_npy_and_layer(tmp_path):
    module, checkpoint = save_module(tmp_path, "rnn", nonlinearity="relu", num_layers=2)
    inputs, inputs_path = save_inputs(tmp_path, suffix=".npy")
    result = invoke("--checkpoint", checkpoint, "--inputs", inputs_path, "--nonlinearity", "relu",
                    "--layer", "1", "--k", "3", "--warmup", "10", "--json")
    assert result.exit_code == 0, result.output
    exponents = json.loads(result.stdout)["exponents"]
    expected = spectrum(module, inputs, k=3, warmup=10, layer=1, measure=False).exponents.tolist()
    assert len(exponents) == 3
    assert [e for e in exponents if e is not None] == pytest.approx([e for e, f in zip(expected, exponents) if f is not None], abs=1e-12)


def test_max_log_condition_trades_bottom_accuracy_for_fewer_factorisations(tmp_path):
    module, checkpoint = save_module(tmp_path, "lstm")
    inputs, inputs_path = save_inputs(tmp_path, T=200)
    result = invoke("--checkpoint", checkpoint, "--inputs", inputs_path, "--max-log-condition", "30", "--json")
    assert result.exit_code == 0, result.output
    exponents = json.loads(result.stdout)["exponents"]
    fast = spectrum(module, inputs, max_log_condition=30.0, measure=False)
    exact = spectrum(module, inputs, max_interval=1, measure=False)  # a QR at every step
    assert exponents == pytest.approx(fast.exponents.tolist(), abs=1e-12)
    assert fast.factorizations < exact.factorizations
    assert exponents[:3] == pytest.approx(exact.exponents[:3].tolist(), abs=1e-12)  # the top stay exact


def test_readable_table(tmp_path):
    _, checkpoint = save_module(tmp_path, "lstm")
    _, inputs_path = save_inputs(tmp_path)
    result = invoke("--checkpoint", checkpoint, "--inputs", inputs_path)
    assert result.exit_code == 0, result.output
    for text in ("LSTM, s = (h, c), S = 10, T = 40", "λ_i", "sum of exponents", "predicted: λ1 = ",
                 "measured by the profiler"):
        assert text in result.stdout


# --- bad input: one line on stderr, exit 2, no traceback ----------------------------------------


def bad_cases(tmp_path: Path) -> dict[str, tuple[list, str]]:
    _, gru = save_module(tmp_path, "gru")
    _, good = save_inputs(tmp_path)
    short = tmp_path / "short.pt"
    torch.save(torch.zeros(3, 3, dtype=torch.float64), short)
    nan = tmp_path / "nan.npy"
    np.save(nan, np.array([[0.0, np.nan, 1.0]] * 8))
    inf_weights = tmp_path / "infw.pt"
    state = nn.LSTM(3, 4).state_dict()
    state["weight_hh_l0"][1, 2] = float("inf")
    torch.save(state, inf_weights)
    return {
        "k larger than the state size": ([gru, good, "--k", "6"], r"k: expected an integer in 1\.\.5 \(the state size\), got 6"),
        "T shorter than k": ([gru, short, "--k", "4"], r"expected at least k = 4 time steps after a warmup of 0, got T = 3"),
        "T shorter than all exponents": ([gru, short], r"expected at least k = 5 time steps"),
        "warmup too long": ([gru, good, "--warmup", "40"], r"after a warmup of 40, got T = 40"),
        "NaN inputs": ([gru, nan], r"inputs: expected finite values, got nan"),
        "inf weights": ([inf_weights, good], r"weight_hh_l0.*expected finite values, got inf"),
        "missing file": ([gru, tmp_path / "nope.pt"], r"inputs: expected an existing file"),
        "bad nonlinearity": ([gru, good, "--nonlinearity", "sigmoid"], r"nonlinearity: expected one of tanh, relu"),
        "bad layer": ([gru, good, "--layer", "2"], r"layer: expected 0\.\.0, got 2"),
        "bad budget": ([gru, good, "--max-log-condition", "-1"], r"max_log_condition: expected a positive number, got -1"),
    }


CASES = ["k larger than the state size", "T shorter than k", "T shorter than all exponents", "warmup too long",
         "NaN inputs", "inf weights", "missing file", "bad nonlinearity", "bad layer", "bad budget"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_exits_2_with_one_clear_line(tmp_path, case):
    (checkpoint, inputs, *options), message = bad_cases(tmp_path)[case]
    result = invoke("--checkpoint", checkpoint, "--inputs", inputs, *options, "--json")
    assert result.exit_code == 2, result.output
    assert re.search(message, result.stderr), result.stderr
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_missing_option_exits_2(tmp_path):
    _, checkpoint = save_module(tmp_path, "rnn")
    result = invoke("--checkpoint", checkpoint)
    assert result.exit_code == 2 and "--checkpoint and --inputs: expected both files, got only one" in result.stderr
