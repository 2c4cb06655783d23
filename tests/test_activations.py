"""The activation registry against torch: values, float64 autograd derivatives, sups, CLI."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from rnngrad.activations import ACTIVATIONS, Activation, activation_names, get_activation
from rnngrad.cli import app
from rnngrad.errors import InputError

# The matching torch.nn layer of each registry entry, with torch's defaults.
TORCH_LAYERS: dict[str, nn.Module] = {
    "identity": nn.Identity(),
    "sigmoid": nn.Sigmoid(),
    "tanh": nn.Tanh(),
    "hardtanh": nn.Hardtanh(),
    "softsign": nn.Softsign(),
    "logsigmoid": nn.LogSigmoid(),
    "softplus": nn.Softplus(),
    "relu": nn.ReLU(),
    "relu6": nn.ReLU6(),
    "leakyrelu": nn.LeakyReLU(),
    "prelu": nn.PReLU().double(),  # default init 0.25
    "rrelu": nn.RReLU().eval(),
    "elu": nn.ELU(),
    "gelu": nn.GELU(),
    "silu": nn.SiLU(),
    "hardshrink": nn.Hardshrink(),
    "softshrink": nn.Softshrink(),
}
# Points where φ' jumps; the derivative test stays 1e-6 away from them.
KINKS: dict[str, list[float]] = {
    "hardtanh": [-1.0, 1.0],
    "relu": [0.0],
    "relu6": [0.0, 6.0],
    "leakyrelu": [0.0],
    "prelu": [0.0],
    "rrelu": [0.0],
    "elu": [0.0],
    "hardshrink": [-0.5, 0.5],
    "softshrink": [-0.5, 0.5],
}
# Points where φ is smooth but its stable formula switches branch (clamp and |x| at 0): autograd
# through the formula there gives a one-sided derivative that depends on the CPU's clamp kernel
# (1 on ATEN_CPU_CAPABILITY=default, other values on the vectorised paths), so the autograd
# oracle skips them and the closed form is checked there instead.
BRANCH_POINTS: dict[str, list[float]] = {"logsigmoid": [0.0], "softplus": [0.0]}
NAMES = activation_names()
GRID = torch.linspace(-40.0, 40.0, 1_600_001, dtype=torch.float64)  # step 5e-5
EPS = torch.finfo(torch.float64).eps


def away_from_kinks(name: str, x: torch.Tensor) -> torch.Tensor:
    keep = torch.ones_like(x, dtype=torch.bool)
    for kink in KINKS.get(name, []) + BRANCH_POINTS.get(name, []):
        keep &= (x - kink).abs() > 1e-6
    return x[keep]


def autograd_derivative(function, x: torch.Tensor) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(function(x).sum(), x)
    return gradient


def test_registry_shape() -> None:
    assert len(ACTIVATIONS) >= 15
    assert set(TORCH_LAYERS) <= set(NAMES)
    assert {"tanh", "sigmoid", "relu", "identity"} <= set(NAMES)
    assert NAMES == list(ACTIVATIONS) and all(name == name.lower() for name in NAMES)
    assert all(isinstance(a, Activation) and a.name == key for key, a in ACTIVATIONS.items())
    with pytest.raises(TypeError):
        ACTIVATIONS["mine"] = ACTIVATIONS["tanh"]  # type: ignore[index]


def test_seed_claim_tanh_passes_four_times_what_sigmoid_does() -> None:
    assert get_activation("sigmoid").sup_derivative == 0.25
    assert get_activation("tanh").sup_derivative == 1.0
    assert get_activation("sigmoid").argmax == 0.0 and get_activation("tanh").argmax == 0.0


@pytest.mark.parametrize("name", sorted(TORCH_LAYERS))
def test_function_matches_torch_layer(name: str) -> None:
    x = GRID
    if name == "softplus":
        x = x[x.abs() <= 20.0]  # torch's softplus returns x itself above its threshold 20
    expected = TORCH_LAYERS[name](x).detach()
    torch.testing.assert_close(ACTIVATIONS[name].function(x), expected, rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_derivative_matches_autograd(name: str) -> None:
    activation = ACTIVATIONS[name]
    x = away_from_kinks(name, GRID)
    expected = autograd_derivative(activation.function, x)
    torch.testing.assert_close(activation.derivative(x), expected, rtol=0.0, atol=1e-12)


def test_derivative_at_branch_points_is_the_closed_form() -> None:
    zero = torch.zeros(1, dtype=torch.float64)
    assert float(ACTIVATIONS["softplus"].derivative(zero)) == 0.5  # σ(0)
    assert float(ACTIVATIONS["logsigmoid"].derivative(zero)) == 0.5  # 1 − σ(0)


@pytest.mark.parametrize("name", sorted(KINKS))
def test_derivative_at_kinks_follows_torch_autograd(name: str) -> None:
    x = torch.tensor(KINKS[name], dtype=torch.float64)
    expected = autograd_derivative(TORCH_LAYERS[name], x)
    torch.testing.assert_close(ACTIVATIONS[name].derivative(x), expected, rtol=0.0, atol=0.0)


@pytest.mark.parametrize("name", NAMES)
def test_sup_derivative_is_the_grid_max_and_never_exceeded(name: str) -> None:
    activation = ACTIVATIONS[name]
    grid_max = float(activation.derivative(GRID).abs().max())
    assert abs(grid_max - activation.sup_derivative) <= 1e-9
    assert grid_max <= activation.sup_derivative * (1 + 4 * EPS)
    if activation.argmax is not None:
        at_argmax = activation.derivative(torch.tensor(activation.argmax, dtype=torch.float64))
        assert abs(float(at_argmax)) == activation.sup_derivative
    else:
        assert activation.sup_derivative == 1.0 and "∞" in activation.attained_at


def test_gelu_and_silu_sups_are_exact() -> None:
    gelu = get_activation("gelu")
    root2 = math.sqrt(2.0)
    cdf, density = 0.5 * (1 + math.erf(1.0)), math.exp(-1.0) / math.sqrt(2 * math.pi)
    assert gelu.argmax == root2
    assert gelu.sup_derivative == pytest.approx(cdf + root2 * density, rel=4 * EPS)
    silu = get_activation("silu")
    assert silu.argmax == pytest.approx(2.3993572805154676, rel=4 * EPS)  # x·tanh(x/2) = 2
    assert silu.argmax * math.tanh(silu.argmax / 2) == pytest.approx(2.0, rel=4 * EPS)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_function_and_derivative_keep_shape_and_dtype(dtype: torch.dtype) -> None:
    x = torch.linspace(-3.0, 3.0, 12, dtype=dtype).reshape(3, 4)  # (3, 4)
    for activation in ACTIVATIONS.values():
        for output in (activation.function(x), activation.derivative(x)):
            assert output.shape == x.shape and output.dtype == dtype, activation.name


def test_unknown_name_raises_input_error_naming_argument_and_choices() -> None:
    with pytest.raises(InputError) as error:
        get_activation("swish2")
    message = str(error.value)
    assert "activation" in message and "'swish2'" in message and "tanh" in message


# --- CLI --------------------------------------------------------------------------------------


def invoke(*args: str):
    """Run ``rnngrad activations ARGS`` through typer's test runner."""
    return CliRunner().invoke(app, ["activations", *args], env={"COLUMNS": "160"})


def test_cli_json_lists_every_activation() -> None:
    result = invoke("--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["name"] for row in rows] == NAMES
    assert all(
        set(row) == {"name", "formula", "sup_derivative", "argmax", "attained_at"} for row in rows
    )
    by_name = {row["name"]: row for row in rows}
    assert by_name["sigmoid"]["sup_derivative"] == 0.25 and by_name["sigmoid"]["argmax"] == 0.0
    assert by_name["softplus"]["argmax"] is None
    assert by_name["gelu"]["sup_derivative"] == ACTIVATIONS["gelu"].sup_derivative


def test_cli_table() -> None:
    result = invoke()
    assert result.exit_code == 0, result.output
    for text in ("tanh", "sigmoid", "0.25", "softshrink", "x = √2"):
        assert text in result.stdout
