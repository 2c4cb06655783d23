"""The spectrum figure: Lyapunov exponents of RNN and LSTM state Jacobians, via rnngrad.spectra.

The data come from :func:`rnngrad.spectra.lyapunov_exponents`. Exponents are shown in nats per step
(natural log of the growth of the k-th direction, as ``rnngrad spectrum`` prints them and as the
profiler's decay rate, with the opposite sign), so 0 is the line between memory and forgetting.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import torch

from rnngrad._json import numbers
from rnngrad.cells import LSTMCell
from rnngrad.claims import generator, rnn_cell, unit_spectral_direction
from rnngrad.init import forget_bias
from rnngrad.report._plotting import cycle, new_figure
from rnngrad.spectra import lyapunov_exponents

INPUT_SIZE = 4


def spectrum_data(seed: int, quick: bool) -> dict[str, Any]:
    """Exponents (nats per step, descending) per model."""
    g = generator(seed, "spectrum")
    H, T, warmup = (8, 60, 10) if quick else (16, 300, 50)
    inputs = torch.randn(T, 2, INPUT_SIZE, generator=g, dtype=torch.float64)
    direction = unit_spectral_direction(H, g)
    W_ih = torch.randn(H, INPUT_SIZE, generator=g, dtype=torch.float64) / 2
    models = {f"tanh RNN, ‖W_hh‖₂ = {gain:g}": rnn_cell("tanh", gain * direction, W_ih) for gain in (0.5, 1.0, 2.0, 4.0)}
    for label, bias in (("0", 0.0), ("log 99", math.log(99.0))):
        models[f"LSTM, b_f = {label}"] = forget_bias(LSTMCell(INPUT_SIZE, H, dtype=torch.float64, generator=g), bias)
    curves = {}
    for label, cell in models.items():
        result = lyapunov_exponents(cell, inputs, k=cell.state_size, warmup=warmup)
        curves[label] = numbers(result.exponents.mean(dim=0), 5)
    return {"models": list(curves), "exponents_nats_per_step": curves, "T": T, "warmup": warmup}


def spectrum(data: Mapping[str, Any], words: Mapping[str, str]):
    """Lyapunov exponents against their index, one line per model."""
    figure, axes = new_figure(6.5, 3.4)
    axis = axes[0][0]
    for label, color in cycle(data["models"]):
        values = data["exponents_nats_per_step"][label]
        style = "-" if label.startswith("tanh") else "--"
        axis.plot(range(1, len(values) + 1), values, style, marker=".", color=color, label=_model_label(label, words))
    axis.axhline(0.0, color="black", linewidth=0.8)
    axis.set_xlabel(words["spectrum_index"])
    axis.set_ylabel(words["spectrum_axis"])
    axis.legend(fontsize=7)
    return figure


def _model_label(label: str, words: Mapping[str, str]) -> str:
    """The stored model name ("tanh RNN, ‖W_hh‖₂ = 2", "LSTM, b_f = log 99") as a typeset legend entry."""
    value = label.rsplit("= ", 1)[1]
    if label.startswith("tanh"):
        return words["tanh_rnn"].format(gain=value)
    return words["lstm"].format(bias=value.replace("log 99", r"\log 99"))
