"""``rnngrad spectrum``'s measured rate against ``rnngrad profile``'s decay rate (issue 15).

Both are the profiler's least-squares fit of ln mean ‖dL/dh_t‖ over every lag, in nats per step;
spectrum prints it as a decay rate and keeps the growth sign of λ_1 in ``log_rate_measured``.
What differs is the loss: spectrum puts L = Σ_j h_T,j on the analysed layer itself, profile's
default ``--loss last`` on the top layer. So they agree (up to the sign of the JSON key) for the
top layer, and a lower layer's numbers differ by the gradient that comes down from the layers
above — which an oracle that steps torch's own one-layer modules by hand reproduces.
"""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import rnngrad.cli.profile_command  # noqa: F401  (registers the command)
import rnngrad.cli.spectrum_command  # noqa: F401
from checkpoint_files import save_inputs, save_module
from rnngrad.cli import app

T = 40


def invoke(*args) -> CliRunner:
    result = CliRunner().invoke(app, [*map(str, args)], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    return result


def text(*args) -> str:
    """The command's stdout with rich's line wrapping undone."""
    return " ".join(invoke(*args).stdout.split())


def spectrum_rate(checkpoint, inputs, layer: int = 0) -> float:
    data = json.loads(invoke("spectrum", "--checkpoint", checkpoint, "--inputs", inputs, "--layer", layer,
                             "--k", "1", "--json").stdout)
    return data["log_rate_measured"]


def profile_rates(checkpoint, inputs) -> list[float]:
    data = json.loads(invoke("profile", "--checkpoint", checkpoint, "--inputs", inputs, "--json").stdout)
    return [entry["decay_rate_nats_per_step"] for entry in data["layers"]]


def layer_module(lstm: nn.LSTM, layer: int) -> nn.LSTM:
    """Layer ``layer`` of a stacked nn.LSTM as a one-layer nn.LSTM with the same parameters."""
    single = nn.LSTM(lstm.input_size if layer == 0 else lstm.hidden_size, lstm.hidden_size, dtype=torch.float64)
    single.load_state_dict({key.replace(f"_l{layer}", "_l0"): value
                            for key, value in lstm.state_dict().items() if key.endswith(f"_l{layer}")})
    return single


def stepped_decay_rates(lstm: nn.LSTM, inputs: torch.Tensor) -> tuple[float, float]:
    """Oracle, two layers stepped by hand: the decay rate of ‖dL/dh⁰_t‖ (nats per step, > 0
    vanishing) for L = Σ_j h¹_T,j (on the top layer) and for L = Σ_j h⁰_T,j (on layer 0)."""
    bottom, top = layer_module(lstm, 0), layer_module(lstm, 1)
    H = lstm.hidden_size

    def rate(loss_on_top: bool) -> float:
        zero = torch.zeros(1, H, dtype=torch.float64)
        state0, state1, hidden = (zero, zero), (zero, zero), []
        for x in inputs:  # (I,)
            _, state0 = bottom(x.view(1, -1), state0)
            state0[0].retain_grad()  # h⁰_t: feeds the recurrence and layer 1
            hidden.append(state0[0])
            _, state1 = top(state0[0], state1)
        (state1[0] if loss_on_top else state0[0]).sum().backward()
        log_norms = torch.stack([h.grad.norm().log() for h in reversed(hidden)])  # by lag 0..T−1
        lags = torch.arange(len(hidden), dtype=torch.float64)
        centred = lags - lags.mean()
        return -float((centred * (log_norms - log_norms.mean())).sum() / centred.square().sum())

    return rate(True), rate(False)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_one_layer_spectrum_and_profile_give_the_same_rate(tmp_path, kind):
    _, checkpoint = save_module(tmp_path, kind)
    _, inputs = save_inputs(tmp_path, T=T)
    (decay,) = profile_rates(checkpoint, inputs)
    assert decay > 0 and spectrum_rate(checkpoint, inputs) == pytest.approx(-decay, abs=1e-12)


def test_a_lower_layer_differs_by_where_the_loss_sits(tmp_path):
    module, checkpoint = save_module(tmp_path, "lstm", num_layers=2)
    inputs, inputs_path = save_inputs(tmp_path, T=T)
    profile_layers = profile_rates(checkpoint, inputs_path)
    assert spectrum_rate(checkpoint, inputs_path, layer=1) == pytest.approx(-profile_layers[1], abs=1e-12)

    loss_on_top, loss_on_layer_0 = stepped_decay_rates(module, inputs)
    assert profile_layers[0] == pytest.approx(loss_on_top, abs=1e-9)
    assert spectrum_rate(checkpoint, inputs_path, layer=0) == pytest.approx(-loss_on_layer_0, abs=1e-9)
    assert abs(loss_on_top - loss_on_layer_0) > 1e-3  # a real difference, not rounding


def test_both_texts_say_what_they_measure(tmp_path):
    _, checkpoint = save_module(tmp_path, "lstm", num_layers=2)
    _, inputs = save_inputs(tmp_path, T=T)
    rates = profile_rates(checkpoint, inputs)
    lower = text("spectrum", "--checkpoint", checkpoint, "--inputs", inputs, "--k", "1")
    measured = -spectrum_rate(checkpoint, inputs)
    assert f"decay rate {measured:.6f} nats per step of ‖dL/dh_t‖ with L = Σ_j h_T,j of layer 0" in lower
    assert "`rnngrad profile` shows another rate for this layer: its L sits on the top layer" in lower
    top = text("spectrum", "--checkpoint", checkpoint, "--inputs", inputs, "--k", "1", "--layer", "1")
    assert f"decay rate {rates[1]:.6f} nats per step" in top
    assert "the decay rate `rnngrad profile --loss last` shows for this layer" in top
    table = text("profile", "--checkpoint", checkpoint, "--inputs", inputs)
    assert "decay (nats/step)" in table and f"{rates[0]:.3g}" in table and f"{rates[1]:.3g}" in table
    assert "L = Σ_j h_T,j of the top layer" in table
    assert "`rnngrad spectrum --layer l` measures it with L = Σ_j h_T,j of layer l itself" in table
