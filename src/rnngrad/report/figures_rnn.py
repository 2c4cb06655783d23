"""Figures of the RNN section: the closed form (C2), norms against lag (C3), the regime map (C4)."""

from __future__ import annotations

import math
from typing import Any, Mapping

from matplotlib.colors import TwoSlopeNorm

from rnngrad.report._plotting import COLORS, cycle, finite_points, new_figure, power_of_ten_axis

LAG = "$k = T - t$"
NORM = r"$\|\partial h_T / \partial h_{T-k}\|_2$"


def rnn_closed_form(series: Mapping[str, Any]):
    """C2: the true ‖∂h_T/∂h_t‖ against the seed's closed form, and their relative error."""
    figure, axes = new_figure(8.0, 3.0, 1, 2)
    left, right = axes[0]
    for key, label, color, style in (("log10_true_norm", "(3): " + r"$\prod\, \mathrm{diag}(\tanh')\, W_{hh}$", COLORS[0], "-"),
                                     ("log10_closed_form_norm", "(4): " + r"$W_{hh}^{T-t}\, \prod \tanh'$", COLORS[1], "--")):
        left.plot(*finite_points(series["lag"], series[key]), style, color=color, label=label)
    left.set_xlabel(LAG)
    left.set_ylabel(NORM)
    power_of_ten_axis(left)
    left.legend()
    right.semilogy(*finite_points(series["lag"], series["relative_error"]), color=COLORS[1])
    right.set_xlabel(LAG)
    right.set_ylabel(r"$\|(4) - (3)\|_F \,/\, \|(3)\|_F$")
    return figure


def rnn_gradient_norms(series: Mapping[str, Any]):
    """C3: log10 ‖∂h_T/∂h_{T−k}‖₂ against k for several ‖W_hh‖₂, with the bound ‖W_hh‖₂^k below 1."""
    figure, axes = new_figure(6.0, 3.6)
    axis = axes[0][0]
    lags = series["lag"]
    for gain, color in cycle(series["gains"]):
        axis.plot(*finite_points(lags, series["log10_norm"][gain]), color=color,
                  label=rf"$\|W_{{hh}}\|_2 = {gain}$")
        if float(gain) < 1:
            axis.plot(lags, [lag * math.log10(float(gain)) for lag in lags], ":", color=color, linewidth=1)
    axis.set_xlabel(LAG)
    axis.set_ylabel(NORM)
    power_of_ten_axis(axis)
    axis.legend(ncol=2)
    return figure


def regime_map(series: Mapping[str, Any]):
    """C4: log10 ‖∂h_T/∂h_0‖₂ and mean tanh' over ‖W_hh‖₂ × input scale."""
    figure, axes = new_figure(9.0, 3.8, 1, 2)
    gains, scales = series["gains"], series["input_scales"]
    values = [[math.nan if v is None else v for v in row] for row in series["log10_norm_lag_T"]]
    finite = [abs(v) for row in values for v in row if math.isfinite(v)] or [1.0]
    bound = max(max(finite), 1.0)
    left, right = axes[0]
    image = left.imshow(values, cmap="RdBu_r", norm=TwoSlopeNorm(0.0, -bound, bound), aspect="auto", origin="lower")
    for row, line in enumerate(values):
        for column, value in enumerate(line):
            label = "–" if not math.isfinite(value) else f"{value:.1f}" if abs(value) < 9.95 else f"{value:.0f}"
            left.text(column, row, label, ha="center",
                      va="center", fontsize=7)
    figure.colorbar(image, ax=left, label=r"$\log_{10} \|\partial h_T / \partial h_0\|_2$")
    derivative = right.imshow(series["mean_tanh_derivative"], cmap="viridis", vmin=0, vmax=1, aspect="auto",
                              origin="lower")
    figure.colorbar(derivative, ax=right, label=r"mean $\tanh'(a_t)$")
    boundary = max((i for i, gain in enumerate(gains) if gain <= 1), default=-1) + 0.5
    for axis in (left, right):
        axis.set_xticks(range(len(scales)), [f"{s:g}" for s in scales])
        axis.set_yticks(range(len(gains)), [f"{g:g}" for g in gains])
        axis.set_xlabel(r"std of $x_t$")
        axis.set_ylabel(r"$\lambda_1 = \|W_{hh}\|_2$")
        axis.axhline(boundary, color="black", linewidth=1.2, linestyle="--")
        axis.grid(False)
    return figure
