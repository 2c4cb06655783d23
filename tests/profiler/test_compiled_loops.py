"""The compiled LSTM loops (``_lstm_scan.cpp``): built where a compiler is, the same values as
the Python loops and the oracle whatever the row split, and a clean fallback where they fail."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from rnngrad import _compiled
from rnngrad.profiler import profile
from rnngrad._compiled import NO_COMPILE_VARIABLE, lstm_scans

from .reference import reference_gradients
from .test_against_reference import assert_close

CPU = torch.device("cpu")


def test_the_compiled_loops_build_where_a_compiler_is():
    if shutil.which("c++") is None or shutil.which("ninja") is None:
        pytest.skip("no C++ compiler or ninja here: the Python loops serve")
    assert lstm_scans(CPU) is not None


def test_the_environment_variable_and_other_devices_choose_the_python_loops(monkeypatch):
    monkeypatch.setenv(NO_COMPILE_VARIABLE, "1")
    assert lstm_scans(CPU) is None
    monkeypatch.setenv(NO_COMPILE_VARIABLE, "0")
    assert lstm_scans(torch.device("meta")) is None


def test_a_failed_build_logs_one_line_and_profile_still_runs(monkeypatch, caplog):
    import torch.utils.cpp_extension

    def broken_build(**_):
        raise RuntimeError("Error building extension 'rnngrad_lstm_scan'\nc++: not found")

    monkeypatch.delenv(NO_COMPILE_VARIABLE, raising=False)
    monkeypatch.setattr(torch.utils.cpp_extension, "load", broken_build)
    _compiled._build.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger=_compiled.__name__):
            assert lstm_scans(CPU) is None
            model = nn.LSTM(2, 3).double()
            result = profile(model, (torch.randn(4, 2, 2, dtype=torch.float64),), lambda out: out[0].sum())
    finally:
        _compiled._build.cache_clear()
    assert [record.getMessage() for record in caplog.records] == [
        "rnngrad: could not build the compiled LSTM scan, using the Python loops: "
        "Error building extension 'rnngrad_lstm_scan'"
    ]
    assert result.hidden_grad("").shape == (4, 2, 3)


def test_a_lock_file_left_by_a_killed_build_does_not_block_the_next(monkeypatch, tmp_path):
    """Torch waits forever while its lock file exists; a build killed midway leaves one."""
    import torch.utils.cpp_extension

    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    monkeypatch.delenv(NO_COMPILE_VARIABLE, raising=False)
    directory = _compiled._build_directory()
    directory.mkdir(parents=True)
    (directory / "lock").touch()
    seen = []

    def build_that_would_wait(*, build_directory, **_):
        seen.append((build_directory, (Path(build_directory) / "lock").exists()))
        raise RuntimeError("stop before compiling")

    monkeypatch.setattr(torch.utils.cpp_extension, "load", build_that_would_wait)
    _compiled._build.cache_clear()
    try:
        assert lstm_scans(CPU) is None
    finally:
        _compiled._build.cache_clear()
    assert seen == [(str(directory), False)]
    assert str(directory).startswith(str(tmp_path))


def _bidirectional_packed_lstm(batch: int, projected: bool):
    torch.manual_seed(batch)
    model = nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2 if projected else 0).double()
    lengths = torch.randint(1, 7, (batch,))
    lengths[0] = 6
    x = torch.randn(6, batch, 3, dtype=torch.float64)
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)

    def loss_fn(out):
        return out[0].data.sin().sum() + out[1][0].square().sum() + out[1][1].cos().sum()

    return model, (packed,), loss_fn


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("batch", [1, 3, 8])
@pytest.mark.parametrize("projected", [False, True])
def test_row_blocks_of_any_size_give_the_oracles_gradients(lstm_loops, threads, batch, projected):
    """Rows split over 1 to 3 threads (one block for one row), uneven blocks, the reverse scan's
    rows over 2 threads beside the parameter gradients (3 threads), sequences ending at
    different steps in both directions: the oracle's gradients, per step and for every
    parameter."""
    model, inputs, loss_fn = _bidirectional_packed_lstm(batch, projected)
    loss_fn(model(*inputs)).backward()
    plain = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        result = profile(model, inputs, loss_fn, accumulate_grad=True)
    finally:
        torch.set_num_threads(previous)
    for name, parameter in model.named_parameters():
        assert_close(parameter.grad, plain[name], f"{name}.grad")
    for (name, layer, direction), (hidden, cell) in reference_gradients(model, inputs, loss_fn).items():
        assert_close(result.hidden_grad(name, layer, direction), hidden, f"h l{layer} d{direction}")
        assert_close(result.cell_grad(name, layer, direction), cell, f"c l{layer} d{direction}")


def test_every_row_block_flushes_denormals_as_the_caller_does(lstm_loops):
    """A float32 gradient that vanishes through the denormal range: flushed to zero in every row
    of the batch, the rows the second thread ran included (no value below 2^-126 but 0)."""
    torch.manual_seed(0)
    model = nn.LSTM(4, 8)
    with torch.no_grad():
        model.weight_hh_l0.mul_(0.05)
        model.bias_hh_l0.zero_()
        model.bias_ih_l0.zero_()
        model.bias_ih_l0[8:16] = -6.0  # forget gates near 0.0025: the cell gradient shrinks fast
    x = torch.randn(120, 6, 4)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        result = profile(model, (x,), lambda out: out[0][-1].sum())
    finally:
        torch.set_num_threads(previous)
    for grad in (result.hidden_grad(""), result.cell_grad("")):
        magnitude = grad.abs()
        assert float(magnitude[-1].min()) > 0 and float(magnitude[0].max()) == 0.0, "passes through the range"
        denormal = (magnitude > 0) & (magnitude < torch.finfo(torch.float32).tiny)
        assert not bool(denormal.any()), f"{int(denormal.sum())} denormal values"


LONG_LENGTHS = [40, 17, 16, 33, 1]  # sequences ending inside, at the edge of and across 16-step chunks


def test_long_sequences_give_the_oracles_gradients(lstm_loops):
    torch.manual_seed(5)
    model = nn.LSTM(3, 4, bidirectional=True).double()
    x = torch.randn(40, len(LONG_LENGTHS), 3, dtype=torch.float64)
    packed = pack_padded_sequence(x, torch.tensor(LONG_LENGTHS), enforce_sorted=False)

    def loss_fn(out):
        return out[0].data.sin().sum() + out[1][1].square().sum()

    result = profile(model, (packed,), loss_fn)
    for (name, layer, direction), (hidden, cell) in reference_gradients(model, (packed,), loss_fn).items():
        assert_close(result.hidden_grad(name, layer, direction), hidden, f"h d{direction}")
        assert_close(result.cell_grad(name, layer, direction), cell, f"c d{direction}")


def test_long_sequences_give_the_exact_forget_gate_statistics(lstm_loops):
    """With W_hh = 0 the forget gates depend on x_t alone: the mean gate and the carousel product
    ∏ f over each sequence's valid steps follow in closed form, in both directions."""
    torch.manual_seed(6)
    model = nn.LSTM(2, 3, bidirectional=True).double()
    suffixes = ("", "_reverse")
    with torch.no_grad():
        for suffix in suffixes:
            getattr(model, "weight_hh_l0" + suffix).zero_()
            getattr(model, "bias_hh_l0" + suffix)[3:6].fill_(2.0)
    lengths = torch.tensor(LONG_LENGTHS)
    x = torch.randn(40, len(LONG_LENGTHS), 2, dtype=torch.float64)
    result = profile(model, (pack_padded_sequence(x, lengths, enforce_sorted=False),), lambda out: out[1][1].sum())

    valid = (torch.arange(40).unsqueeze(1) < lengths).unsqueeze(2)  # (T, B, 1)
    for direction, suffix in enumerate(suffixes):
        weight, bias_ih, bias_hh = (getattr(model, name + "_l0" + suffix) for name in ("weight_ih", "bias_ih", "bias_hh"))
        with torch.no_grad():
            forget = torch.sigmoid(x @ weight[3:6].t() + bias_ih[3:6] + bias_hh[3:6])  # (T, B, H)
        expected_product = torch.where(valid, forget, torch.ones_like(forget)).prod(0)  # (B, H)
        expected_mean = float(forget[valid.expand_as(forget)].mean())
        torch.testing.assert_close(result.carousel_product("", 0, direction), expected_product, rtol=1e-12, atol=0)
        assert result.mean_forget_gate("", 0, direction) == pytest.approx(expected_mean, rel=1e-12)
