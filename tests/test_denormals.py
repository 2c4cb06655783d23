"""One denormal-flush context for the library: on inside, and the caller's mode, on or off,
exactly as found afterwards (after jacobian_through_time and profile too, and after an error)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnngrad import RNNCell, jacobian_through_time, profile
from rnngrad._denormals import denormals_flushed, flushing_denormals

if not torch.set_flush_denormal(False):
    pytest.skip("this CPU cannot flush denormals", allow_module_level=True)


@pytest.fixture(params=[False, True], ids=["caller-off", "caller-on"])
def caller_mode(request):
    """The caller's flush mode before the call; this thread's mode is put back off afterwards."""
    torch.set_flush_denormal(request.param)
    assert denormals_flushed() is request.param
    yield request.param
    torch.set_flush_denormal(False)


def test_the_probe_tells_the_mode():
    try:
        torch.set_flush_denormal(True)
        assert denormals_flushed()
        assert float(torch.tensor([1e-310], dtype=torch.float64).mul(1.0)) == 0.0
    finally:
        torch.set_flush_denormal(False)
    assert not denormals_flushed()
    assert float(torch.tensor([1e-310], dtype=torch.float64).mul(1.0)) == 1e-310


def test_the_context_flushes_and_restores_what_it_found(caller_mode):
    with flushing_denormals():
        assert denormals_flushed()
    assert denormals_flushed() is caller_mode


def test_the_context_restores_after_an_error_and_after_the_body_changed_the_mode(caller_mode):
    with pytest.raises(ZeroDivisionError):
        with flushing_denormals():
            1 / 0
    assert denormals_flushed() is caller_mode
    with flushing_denormals():
        torch.set_flush_denormal(not caller_mode)
    assert denormals_flushed() is caller_mode


def test_jacobian_through_time_leaves_the_callers_mode(caller_mode):
    cell = RNNCell(2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    result = jacobian_through_time(cell, torch.randn(30, 2, dtype=torch.float64))
    assert result.log10_norm.shape == (31,)
    assert denormals_flushed() is caller_mode


def test_profile_leaves_the_callers_mode(caller_mode):
    model = nn.LSTM(2, 3)
    result = profile(model, (torch.randn(8, 1, 2),), lambda out: out[0].sum())
    assert result.hidden_grad("").shape == (8, 1, 3)
    assert denormals_flushed() is caller_mode
