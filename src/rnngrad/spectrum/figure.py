"""Lyapunov spectra of RNN, GRU and LSTM side by side, at several gains or forget-gate biases.

``gain_sweep`` computes the data (plain tensors); ``spectrum_figure`` draws it on a matplotlib
``Figure`` with the Agg canvas (no pyplot, no global backend state, nothing shown or saved).
Exponents are plotted against i/S so the LSTM's 2H directions line up with the H of the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import nn

from rnngrad.spectrum._spectrum import spectrum

PANELS = (("rnn", "tanh RNN, gain ‖W_hh‖₂"), ("gru", "GRU, gain ‖W_hn‖₂"), ("lstm", "LSTM (h, c), forget bias b_f"))


@dataclass(frozen=True)
class SpectrumCurve:
    """One model's spectrum for the figure."""

    arch: str  # "rnn", "gru" or "lstm": the panel
    label: str  # the legend entry, e.g. "gain 1" or "b_f = 2"
    exponents: torch.Tensor  # (S,) float64, descending, natural log per step


def gain_sweep(
    T: int = 500,
    hidden_size: int = 32,
    gains: Sequence[float] = (0.5, 1.0, 2.0, 4.0),
    forget_biases: Sequence[float] = (0.0, 1.0, 2.0, math.log(99.0)),
    input_size: int = 4,
    seed: int = 0,
) -> list[SpectrumCurve]:
    """Full spectra on N(0, 1) inputs, float64, weights from torch's default draw (``seed``).

    RNN: W_hh rescaled to spectral norm ``gain``. GRU: all of W_hh rescaled by one factor so that
    its candidate block W_hn has spectral norm ``gain``. LSTM: the forget-gate bias set to b_f in
    ``bias_ih`` (``bias_hh``'s forget rows zeroed, so the bias is b_f, not 2·b_f).
    """
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(T, input_size, dtype=torch.float64, generator=generator)  # (T, I)
    curves = []
    for arch, kind in (("rnn", nn.RNN), ("gru", nn.GRU)):
        for gain in gains:
            module = _seeded(kind, input_size, hidden_size, seed)
            with torch.no_grad():
                block = module.weight_hh_l0[-hidden_size:]  # RNN: all of W_hh; GRU: W_hn
                module.weight_hh_l0.mul_(gain / torch.linalg.matrix_norm(block, ord=2))
            curves.append(SpectrumCurve(arch, f"gain {gain:g}", _exponents(module, inputs)))
    for forget_bias in forget_biases:
        module = _seeded(nn.LSTM, input_size, hidden_size, seed)
        with torch.no_grad():
            module.bias_ih_l0[hidden_size : 2 * hidden_size] = forget_bias
            module.bias_hh_l0[hidden_size : 2 * hidden_size] = 0.0
        label = f"b_f = {forget_bias:.3g}, σ(b_f) = {1 / (1 + math.exp(-forget_bias)):.2f}"
        curves.append(SpectrumCurve("lstm", label, _exponents(module, inputs)))
    return curves


def spectrum_figure(curves: Sequence[SpectrumCurve] | None = None, **sweep_options) -> Figure:
    """Three panels (RNN, GRU, LSTM) of λ_i against i/S; ``gain_sweep(**sweep_options)`` by default."""
    curves = gain_sweep(**sweep_options) if curves is None else list(curves)
    figure = Figure(figsize=(12.0, 4.0), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(PANELS), sharey=True)
    for axis, (arch, title) in zip(axes, PANELS):
        mine = [curve for curve in curves if curve.arch == arch]
        for curve in mine:
            S = curve.exponents.shape[0]
            fraction = (torch.arange(1, S + 1, dtype=torch.float64) / S).tolist()  # i/S
            finite = torch.isfinite(curve.exponents)
            values = torch.where(finite, curve.exponents, math.nan).tolist()  # −inf: a gap
            axis.plot(fraction, values, marker="." if S <= 64 else None, label=curve.label)
        axis.axhline(0.0, color="black", linewidth=0.8)
        axis.set_title(title)
        axis.set_xlabel("i / S")
        if mine:
            axis.legend(fontsize="small")
    axes[0].set_ylabel("λ_i (log growth per step)")
    figure.suptitle("Lyapunov spectra of the state Jacobians: λ_i > 0 grows, λ_i < 0 forgets")
    return figure


def _seeded(kind: type[nn.RNNBase], input_size: int, hidden_size: int, seed: int) -> nn.RNNBase:
    """torch's default draw, U(−1/√H, 1/√H) for every parameter, from ``seed`` (global RNG untouched)."""
    module = kind(input_size, hidden_size, dtype=torch.float64, device="meta").to_empty(device="cpu")
    generator = torch.Generator().manual_seed(seed)
    bound = 1.0 / math.sqrt(hidden_size)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.uniform_(-bound, bound, generator=generator)
    return module


def _exponents(module: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    return spectrum(module, inputs, measure=False).exponents
