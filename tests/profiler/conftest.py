"""The LSTM layer's two loop implementations, compiled and Python, as a test parameter."""

from __future__ import annotations

import pytest
import torch

from rnngrad._compiled import NO_COMPILE_VARIABLE, lstm_scans


@pytest.fixture(params=["compiled", "python"])
def lstm_loops(request, monkeypatch) -> str:
    """Run the test with the compiled LSTM loops, then with the Python ones."""
    if request.param == "python":
        monkeypatch.setenv(NO_COMPILE_VARIABLE, "1")
    else:
        monkeypatch.delenv(NO_COMPILE_VARIABLE, raising=False)
        if lstm_scans(torch.device("cpu")) is None:
            pytest.skip("the compiled LSTM loops could not be built here (no C++ compiler?)")
    return request.param
