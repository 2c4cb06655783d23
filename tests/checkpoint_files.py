"""Files that the ``--checkpoint FILE --inputs FILE`` commands read, written for tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def save_module(tmp_path: Path, kind: str, **options) -> tuple[nn.Module, Path]:
    """A seeded float64 torch.nn module (I = 3, H = 5) and the path of its saved state_dict."""
    torch.manual_seed(0)
    module = MODULES[kind](3, 5, **options).double()
    path = tmp_path / f"{kind}.pt"
    torch.save(module.state_dict(), path)
    return module, path


def save_inputs(
    tmp_path: Path, T: int = 12, I: int = 3, suffix: str = ".pt", inputs: torch.Tensor | None = None
) -> tuple[torch.Tensor, Path]:
    """A seeded (T, I) float64 sequence (or ``inputs``) saved with torch.save or as .npy."""
    if inputs is None:
        inputs = torch.randn(T, I, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    path = tmp_path / f"inputs{suffix}"
    if suffix == ".npy":
        np.save(path, inputs.numpy())
    else:
        torch.save(inputs, path)
    return inputs, path
