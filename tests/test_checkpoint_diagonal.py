"""Checkpoints of rnngrad's MinGRU, MinLSTM and LRU: loaded to the same module, analysed by
``rnngrad jacobian`` as the library analyses the module itself, and bad ones refused in one line."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

import rnngrad
from rnngrad.checkpoint import load_recurrent_checkpoint
from rnngrad.cli import app
from rnngrad.errors import InputError
from rnngrad.layer_jacobians import jacobian_of_layer

MODULES = {"mingru": rnngrad.MinGRU, "minlstm": rnngrad.MinLSTM,
           "lru": lambda I, H, **k: rnngrad.LRU(I, H, r_min=0.9, r_max=0.99, **k)}


def _saved(tmp_path, arch, layers=2, I=3, H=5, seed=0):
    module = MODULES[arch](I, H, num_layers=layers, dtype=torch.float64,
                           generator=torch.Generator().manual_seed(seed))
    path = tmp_path / f"{arch}.pt"
    torch.save({key: value.float() for key, value in module.state_dict().items()}, path)  # float32 on disk
    return module, path


@pytest.mark.parametrize("arch", list(MODULES))
@pytest.mark.parametrize("layers", [1, 2])
def test_a_checkpoint_loads_to_the_same_module(tmp_path, arch, layers):
    H = 7  # 14 rows for a MinGRU, 21 for a MinLSTM: one fits only one of them
    original, path = _saved(tmp_path, arch, layers, H=H)
    loaded = load_recurrent_checkpoint(path)
    assert type(loaded) is type(original)
    assert (loaded.input_size, loaded.hidden_size, loaded.num_layers) == (3, H, layers)
    x = torch.randn(20, 2, 3, dtype=torch.float64)
    expected = {key: value.float().double() for key, value in original.state_dict().items()}
    original.load_state_dict(expected)
    assert torch.equal(loaded(x)[0], original(x)[0])


def test_jacobian_cli_on_the_checkpoint_equals_the_library_on_the_module(tmp_path):
    original, path = _saved(tmp_path, "mingru", layers=2, H=6)
    original.load_state_dict({key: value.float().double() for key, value in original.state_dict().items()})
    x = torch.randn(30, 3, dtype=torch.float64)
    torch.save(x, tmp_path / "x.pt")
    result = CliRunner().invoke(app, ["jacobian", "--checkpoint", str(path), "--inputs", str(tmp_path / "x.pt"),
                                      "--layer", "1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    expected = jacobian_of_layer(original, x, 1)  # the in-memory module (its exactness: test_diagonal_analysis)
    assert data["arch"] == "mingru"
    assert max(abs(a - float(b)) for a, b in zip(data["log10_norm"], expected.log10_norm)) < 1e-12


def test_a_one_layer_shape_both_cells_fit_needs_arch(tmp_path):
    _, path = _saved(tmp_path, "mingru", layers=1, H=6)  # 12 rows: MinGRU H = 6 or MinLSTM H = 4
    with pytest.raises(InputError, match=r"fits a MinGRU with H = 6 and a MinLSTM with H = 4; expected --arch"):
        load_recurrent_checkpoint(path)
    assert load_recurrent_checkpoint(path, arch="mingru").hidden_size == 6
    assert load_recurrent_checkpoint(path, arch="minlstm").hidden_size == 4


@pytest.mark.parametrize("change, arch, message", [
    (lambda sd: sd.pop("bias_ih_l1"), None, r"expected key 'bias_ih_l1' of the mingru .* which is missing"),
    (lambda sd: sd.update(extra_l0=torch.zeros(2)), None, r"unexpected key 'extra_l0'"),
    (lambda sd: sd.update(bias_ih_l0=torch.zeros(5)), None, r"expected bias_ih_l0 of shape \(12,\) .* got \(5,\)"),
    (lambda sd: sd.update(weight_ih_l0=torch.zeros(13, 3)), None, r"expected weight_ih_l0 of 2H rows"),
    (lambda sd: None, "lru", r"arch: expected mingru \(weight_ih_l0 has 2·H rows\), got 'lru'"),
    (lambda sd: None, "gru", r"arch: expected one of mingru, minlstm, lru"),
])
def test_bad_diagonal_checkpoints_are_refused(tmp_path, change, arch, message):
    module, _ = _saved(tmp_path, "mingru", layers=2, H=6)
    state = dict(module.state_dict())
    change(state)
    path = tmp_path / "bad.pt"
    torch.save(state, path)
    with pytest.raises(InputError, match=message):
        load_recurrent_checkpoint(path, arch=arch)


def test_arch_is_refused_for_a_torch_module(tmp_path):
    path = tmp_path / "gru.pt"
    torch.save(torch.nn.GRU(3, 4).state_dict(), path)
    with pytest.raises(InputError, match="arch: expected none for a torch.nn RNN, LSTM or GRU checkpoint"):
        load_recurrent_checkpoint(path, arch="mingru")


def test_the_cli_prints_one_line_and_exits_2(tmp_path):
    _, path = _saved(tmp_path, "minlstm", layers=1, H=4)  # 12 rows again
    torch.save(torch.randn(10, 3), tmp_path / "x.pt")
    result = CliRunner().invoke(app, ["jacobian", "--checkpoint", str(path), "--inputs", str(tmp_path / "x.pt")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "expected --arch mingru or --arch minlstm" in result.output


@pytest.mark.parametrize("arch", list(MODULES))
def test_profile_and_spectrum_clis_take_the_checkpoint_and_agree(tmp_path, arch):
    """One layer: ``profile --loss last`` and ``spectrum``'s measured rate have the same loss
    (Σ_j Re h_T,j), so their rates agree up to the sign; both equal the library's profile."""
    original, path = _saved(tmp_path, arch, layers=1, H=7)
    original.load_state_dict({key: value.float().double() for key, value in original.state_dict().items()})
    x = torch.randn(40, 3, dtype=torch.float64)
    torch.save(x, tmp_path / "x.pt")
    files = ["--checkpoint", str(path), "--inputs", str(tmp_path / "x.pt"), "--json"]
    profiled = CliRunner().invoke(app, ["profile", *files])
    assert profiled.exit_code == 0, profiled.output
    data = json.loads(profiled.output)
    assert data["arch"] == type(original).__name__
    expected = rnngrad.profile(original, (x,), lambda output: output[0][-1].sum()).decay_rate("")
    rate = data["layers"][0]["decay_rate_nats_per_step"]
    assert abs(rate - expected) <= 1e-9 * abs(expected)
    spectrum = CliRunner().invoke(app, ["spectrum", *files])
    assert spectrum.exit_code == 0, spectrum.output
    assert abs(json.loads(spectrum.output)["log_rate_measured"] + rate) <= 1e-9 * abs(rate)
