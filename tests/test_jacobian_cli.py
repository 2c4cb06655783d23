"""``rnngrad jacobian``: the JSON contract on all three torch modules, against autograd, and bad input."""

from __future__ import annotations

import json
import math
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from rnngrad.cli import app
from checkpoint_files import MODULES, save_module
from checkpoint_files import save_inputs as _save_inputs


def save_inputs(tmp_path, T: int = 12, **options):
    return _save_inputs(tmp_path, T=T, **options)


def invoke(*args) -> "CliRunner.Result":
    return CliRunner().invoke(app, ["jacobian", *map(str, args)], env={"COLUMNS": "120"})


def autograd_log10_norms(module: nn.Module, inputs: torch.Tensor) -> list[float]:
    """Oracle: log10 ‖∂s_T/∂s_t‖₂ by jacrev through torch's own module from state s_t."""
    T, H = inputs.shape[0], module.hidden_size
    is_lstm = isinstance(module, nn.LSTM)
    states = [torch.zeros(2 * H if is_lstm else H, dtype=torch.float64)]
    for t in range(T):  # s_t after reading x_1..x_t
        state = states[-1]
        hx = (state[:H].view(1, H), state[H:].view(1, H)) if is_lstm else state.view(1, H)
        _, out = module(inputs[t : t + 1], hx)
        states.append(torch.cat([out[0].flatten(), out[1].flatten()]) if is_lstm else out.flatten())

    def from_state(t):
        def run(state):
            hx = (state[:H].view(1, H), state[H:].view(1, H)) if is_lstm else state.view(1, H)
            _, out = module(inputs[t:], hx) if t < T else (None, hx)
            return torch.cat([out[0].flatten(), out[1].flatten()]) if is_lstm else out.flatten()

        return run

    norms = []
    for t in range(T + 1):
        jacobian = torch.func.jacrev(from_state(t))(states[t].detach()).detach()
        norms.append(math.log10(torch.linalg.matrix_norm(jacobian, ord=2)))
    return norms


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_json_contract_equals_autograd_through_torch_module(tmp_path, kind):
    module, checkpoint = save_module(tmp_path, kind)
    inputs, inputs_path = save_inputs(tmp_path)
    result = invoke("--checkpoint", checkpoint, "--inputs", inputs_path, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    expected_keys = {"arch", "T", "hidden_size", "log10_norm"} | ({"log10_norm_carousel"} if kind == "lstm" else set())
    assert set(data) == expected_keys
    assert (data["arch"], data["T"], data["hidden_size"]) == (kind, 12, 5)
    assert len(data["log10_norm"]) == 13 and data["log10_norm"][-1] == 0.0
    assert data["log10_norm"] == pytest.approx(autograd_log10_norms(module, inputs), abs=1e-10)
    if kind == "lstm":
        carousel = data["log10_norm_carousel"]
        assert len(carousel) == 13 and carousel[-1] == 0.0
        assert all(a <= b + 1e-15 for a, b in zip(carousel, carousel[1:]))  # ∏ f only shrinks with lag


def test_relu_rnn_and_npy_inputs(tmp_path):
    module, checkpoint = save_module(tmp_path, "rnn", nonlinearity="relu")
    inputs, inputs_path = save_inputs(tmp_path, suffix=".npy")
    result = invoke("--checkpoint", checkpoint, "--inputs", inputs_path, "--nonlinearity", "relu", "--json")
    assert result.exit_code == 0, result.output
    norms = json.loads(result.stdout)["log10_norm"]
    expected = autograd_log10_norms(module, inputs)
    assert [n for n in norms if n is not None] == pytest.approx([e for e, n in zip(expected, norms) if n is not None], abs=1e-10)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_upper_layer_of_bidirectional_module(tmp_path, kind):
    """--layer 1 differentiates layer 1 fed by layer 0's outputs (both directions)."""
    torch.manual_seed(0)
    module = MODULES[kind](3, 4, num_layers=2, bidirectional=True).double()
    checkpoint = tmp_path / "m.pt"
    torch.save(module.state_dict(), checkpoint)
    inputs, inputs_path = save_inputs(tmp_path, T=9)
    result = invoke("--checkpoint", checkpoint, "--inputs", inputs_path, "--layer", "1", "--json")
    assert result.exit_code == 0, result.output
    top = MODULES[kind](8, 4).double()
    top.load_state_dict({k.replace("_l1", "_l0"): v for k, v in module.state_dict().items() if "_l1" in k and "reverse" not in k})
    bottom = MODULES[kind](3, 4, bidirectional=True).double()
    bottom.load_state_dict({k: v for k, v in module.state_dict().items() if "_l0" in k})
    with torch.no_grad():
        layer_input = bottom(inputs)[0]
    assert json.loads(result.stdout)["log10_norm"] == pytest.approx(autograd_log10_norms(top, layer_input), abs=1e-10)


def test_readable_summary(tmp_path):
    _, checkpoint = save_module(tmp_path, "lstm")
    _, inputs_path = save_inputs(tmp_path, T=60)
    result = invoke("--checkpoint", checkpoint, "--inputs", inputs_path)
    assert result.exit_code == 0, result.output
    for text in ("LSTM", "lag k", "first lag with norm < 1e-3", "ever exceeds 1"):
        assert text in result.stdout


def test_demo_runs_without_files():
    result = invoke("--demo", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["arch"] for row in rows] == ["rnn", "rnn", "rnn", "lstm", "lstm"]
    # Larger gains keep more gradient; a forget gate near 1 keeps more than the default init.
    lag_200 = [row["log10_norm"][0] for row in rows]
    assert lag_200[0] < lag_200[1] < lag_200[2] and lag_200[3] < lag_200[4]


def test_long_sequence_stays_finite(tmp_path):
    """T = 20,000: norms far below float64's range come out as finite log10 values."""
    _, checkpoint = save_module(tmp_path, "gru")
    _, inputs_path = save_inputs(tmp_path, T=20_000)
    result = invoke("--checkpoint", checkpoint, "--inputs", inputs_path, "--json")
    assert result.exit_code == 0, result.output
    norms = json.loads(result.stdout)["log10_norm"]
    assert len(norms) == 20_001 and all(isinstance(n, float) for n in norms) and norms[0] < -400


# --- bad input: one line on stderr, exit 2, no traceback ----------------------------------------


class _Exploit:
    def __reduce__(self):
        return (Path.touch, (Path("/tmp/rnngrad-pickle-executed"),))


def bad_input_cases(tmp_path: Path) -> dict[str, tuple[list, str]]:
    _, lstm = save_module(tmp_path, "lstm")
    _, good_inputs = save_inputs(tmp_path)
    linear = tmp_path / "linear.pt"
    torch.save(nn.Linear(3, 4).state_dict(), linear)
    nested = tmp_path / "nested.pt"
    torch.save(nn.Sequential(nn.GRU(3, 4)).state_dict(), nested)
    exploit = tmp_path / "exploit.pt"
    exploit.write_bytes(pickle.dumps({"weight_ih_l0": _Exploit()}))
    wrong_size = tmp_path / "wrong.pt"
    torch.save(torch.randn(5, 7), wrong_size)
    empty = tmp_path / "empty.pt"
    torch.save(torch.zeros(0, 3), empty)
    nan_inputs = tmp_path / "nan.npy"
    np.save(nan_inputs, np.array([[0.0, np.nan, 1.0]]))
    nan_weights = tmp_path / "nanw.pt"
    state = nn.RNN(3, 4).state_dict()
    state["weight_hh_l0"][1, 2] = float("inf")
    torch.save(state, nan_weights)
    three_d = tmp_path / "x3.pt"
    torch.save(torch.zeros(4, 1, 3), three_d)
    return {
        "missing file": ([lstm, tmp_path / "nope.pt"], "inputs: expected an existing file"),
        "not a recurrent state_dict": ([linear, good_inputs], "unexpected key 'bias'"),
        "nested state_dict": ([nested, good_inputs], "nested under '0'"),
        "code-executing pickle": ([exploit, good_inputs], "refused to load"),
        "input size mismatch": ([lstm, wrong_size], r"expected input size I = 3 \(the checkpoint's\), got 7"),
        "T = 0": ([lstm, empty], "T = 0"),
        "NaN input": ([lstm, nan_inputs], "inputs: expected finite values, got nan"),
        "inf weight": ([nan_weights, good_inputs], "weight_hh_l0.*expected finite values, got inf"),
        "3D inputs": ([lstm, three_d], r"shape \(T, I\), got shape \(4, 1, 3\)"),
    }


@pytest.mark.parametrize(
    "case",
    ["missing file", "not a recurrent state_dict", "nested state_dict", "code-executing pickle",
     "input size mismatch", "T = 0", "NaN input", "inf weight", "3D inputs"],
)
def test_bad_input_exits_2_with_one_clear_line(tmp_path, case):
    marker = Path("/tmp/rnngrad-pickle-executed")
    marker.unlink(missing_ok=True)
    (checkpoint, inputs), message = bad_input_cases(tmp_path)[case]
    result = invoke("--checkpoint", checkpoint, "--inputs", inputs)
    assert result.exit_code == 2, result.output
    assert re.search(message, result.stderr), result.stderr
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1
    assert not marker.exists()


def test_bad_options_exit_2(tmp_path):
    _, checkpoint = save_module(tmp_path, "rnn")
    _, inputs = save_inputs(tmp_path)
    for args, message in [
        (["--nonlinearity", "sigmoid"], "nonlinearity: expected one of tanh, relu, got 'sigmoid'"),
        (["--layer", "3"], "layer: expected 0..0, got 3"),
        (["--layer", "-1"], "layer: expected 0..0, got -1"),
    ]:
        result = invoke("--checkpoint", checkpoint, "--inputs", inputs, *args)
        assert result.exit_code == 2 and message in result.stderr, result.output
    result = invoke("--checkpoint", checkpoint)
    assert result.exit_code == 2 and "--inputs: expected both files" in result.stderr
