"""Figures of the RNN section: the closed form (C2), norms against lag (C3), the regime map (C4)."""

from __future__ import annotations

import math
from typing import Any, Mapping

from matplotlib.colors import TwoSlopeNorm
from matplotlib.lines import Line2D

from rnngrad.report._plotting import COLORS, cycle, finite_points, new_figure, power_of_ten_axis

NORM = r"$\|\partial h_T / \partial h_{T-k}\|_2$"


def rnn_closed_form(series: Mapping[str, Any], words: Mapping[str, str]):
    """C2: the true ‖∂h_T/∂h_t‖ against the seed's closed form, and their relative error."""
    figure, axes = new_figure(8.0, 3.0, 1, 2)
    left, right = axes[0]
    for key, label, color, style in (("log10_true_norm", "(3): " + r"$\prod\, \mathrm{diag}(\tanh')\, W_{hh}$", COLORS[0], "-"),
                                     ("log10_closed_form_norm", "(4): " + r"$W_{hh}^{T-t}\, \prod \tanh'$", COLORS[1], "--")):
        left.plot(*finite_points(series["lag"], series[key]), style, color=color, label=label)
    left.set_xlabel(words["lag"])
    left.set_ylabel(NORM)
    power_of_ten_axis(left)
    left.legend()
    right.semilogy(*finite_points(series["lag"], series["relative_error"]), color=COLORS[1])
    right.set_xlabel(words["lag"])
    right.set_ylabel(words["relative_difference"])
    return figure


def rnn_gradient_norms(series: Mapping[str, Any], words: Mapping[str, str]):
    """C3: log10 ‖∂h_T/∂h_{T−k}‖₂ against k for several ‖W_hh‖₂, with the bound ‖W_hh‖₂^k below 1."""
    figure, axes = new_figure(6.0, 3.6)
    axis = axes[0][0]
    lags = series["lag"]
    for gain, color in cycle(series["gains"]):
        axis.plot(*finite_points(lags, series["log10_norm"][gain]), color=color,
                  label=words["spectral_norm"].format(gain=gain))
        if float(gain) < 1:
            axis.plot(lags, [lag * math.log10(float(gain)) for lag in lags], ":", color=color, linewidth=1.2)
    axis.set_xlabel(words["lag"])
    axis.set_ylabel(NORM)
    power_of_ten_axis(axis)
    handles, labels = axis.get_legend_handles_labels()
    handles.append(Line2D([], [], linestyle=":", color="gray", linewidth=1.2))
    labels.append(words["bound"])
    axis.legend(handles, labels, ncol=2, fontsize=7.5)
    return figure


def regime_map(series: Mapping[str, Any], words: Mapping[str, str]):
    """C4: log10 ‖∂h_T/∂h_0‖₂ and mean tanh' over ‖W_hh‖₂ × input scale.

    Rows are the gains, one per row (not to scale), so λ₁ = 1 is a row, not a line: the dashed line
    separates the rows with λ₁ ≤ 1 (none can explode) from those above. The colour scale has its
    own range on each side of 0, so the few exploding cells are as saturated as the vanishing ones.
    """
    figure, axes = new_figure(9.0, 3.9, 1, 2)
    gains, scales = series["gains"], series["input_scales"]
    values = [[math.nan if v is None else v for v in row] for row in series["log10_norm_lag_T"]]
    finite = [v for row in values for v in row if math.isfinite(v)] or [0.0]
    left, right = axes[0]
    norm = TwoSlopeNorm(0.0, min(min(finite), -1.0), max(max(finite), 1.0))
    image = left.imshow(values, cmap="RdBu_r", norm=norm, aspect="auto", origin="lower")
    for row, line in enumerate(values):
        for column, value in enumerate(line):
            label = "–" if not math.isfinite(value) else f"{value:.1f}" if abs(value) < 9.95 else f"{value:.0f}"
            dark = math.isfinite(value) and abs(norm(value) - 0.5) > 0.35
            left.text(column, row, label, ha="center", va="center", fontsize=7, color="white" if dark else "black")
    colorbar = figure.colorbar(image, ax=left, label=r"$\log_{10} \|\partial h_T / \partial h_0\|_2$")
    colorbar.ax.axhline(0.0, color="black", linewidth=0.8)
    derivative = right.imshow(series["mean_tanh_derivative"], cmap="viridis", vmin=0, vmax=1, aspect="auto",
                              origin="lower")
    figure.colorbar(derivative, ax=right, label=words["mean_tanh"])
    boundary = max((i for i, gain in enumerate(gains) if gain <= 1), default=-1) + 0.5
    left.set_title(words["regime_left"])
    right.set_title(words["regime_right"])
    for axis in (left, right):
        axis.set_xticks(range(len(scales)), [f"{s:g}" for s in scales])
        axis.set_yticks(range(len(gains)), [f"{g:g}" for g in gains])
        axis.set_xlabel(words["input_std"])
        axis.set_ylabel(r"$\lambda_1 = \|W_{hh}\|_2$")
        axis.axhline(boundary, color="black", linewidth=1.2, linestyle="--")
        axis.text(len(scales) - 0.55, boundary, words["at_most_one"], ha="right", va="center", fontsize=7,
                  bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
        axis.grid(False)
    return figure
