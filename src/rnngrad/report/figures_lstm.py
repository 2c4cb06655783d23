"""Figures of the LSTM section: carousel against the full derivative (C5), the largest full product
found (C6), and the memory horizon against the forget-gate bias (C7)."""

from __future__ import annotations

import math
from typing import Any, Mapping

from rnngrad.report._plotting import COLORS, cycle, finite_points, new_figure, power_of_ten_axis

LAG = "$k = T - t$"
CURVES = (
    ("log10_carousel", r"$\max_i \prod f_i$ (carousel)", "-"),
    ("log10_cell_block", r"$\|\partial c_T / \partial c_{T-k}\|_2$ (all paths)", "--"),
    ("log10_full_state", r"$\|\partial (h,c)_T / \partial (h,c)_{T-k}\|_2$", "-."),
    ("log10_total_cell_grad", r"$\|dL/dc_{T-k}\| \,/\, \|dL/dc_T\|$", ":"),
)


def lstm_carousel(series: Mapping[str, Any]):
    """C5: one panel per forget bias b_f; the carousel product against the full derivatives."""
    biases = series["forget_biases"]
    figure, axes = new_figure(9.0, 5.2, 2, (len(biases) + 1) // 2, sharex=True)
    lags = series["lag"]
    for index, bias in enumerate(biases):
        axis = axes[index // axes.shape[1]][index % axes.shape[1]]
        curves = series["curves"][bias]
        for (key, label, style), color in zip(CURVES, COLORS):
            xs = lags if key != "log10_total_cell_grad" else lags[1:]
            axis.plot(*finite_points(xs, curves[key]), style, color=color, label=label)
        axis.set_title("$b_f = " + bias.replace("log 99", r"\log 99") + "$")
        axis.set_xlabel(LAG)
        power_of_ten_axis(axis)
    axes[0][0].legend(loc="lower left", fontsize=7)
    return figure


def lstm_explosion(series: Mapping[str, Any]):
    """C6: the largest full product found by the search, against its carousel product."""
    figure, axes = new_figure(6.0, 3.2)
    axis = axes[0][0]
    axis.plot(*finite_points(series["lag"], series["log10_full_state"]), color=COLORS[1],
              label=r"$\|\partial (h,c)_T / \partial (h,c)_{T-k}\|_2$")
    axis.plot(*finite_points(series["lag"], series["log10_carousel"]), color=COLORS[0],
              label=r"$\max_i \prod f_i$")
    axis.axhline(0.0, color="black", linewidth=0.8)
    axis.set_xlabel(LAG)
    power_of_ten_axis(axis)
    axis.legend()
    return figure


def memory_horizon(series: Mapping[str, Any]):
    """C7: median log10 ∏ f against lag per setting, and measured against predicted horizon."""
    figure, axes = new_figure(9.0, 3.4, 1, 2)
    left, right = axes[0]
    lags = series["lag"]
    for setting, color in cycle(series["settings"]):
        left.plot(*finite_points(lags, series["median_log10_prod_f"][setting]), color=color, label=f"$b_f$: {setting}")
    left.axhline(-1 / math.log(10), color="black", linewidth=0.8, linestyle="--")
    left.set_xlabel(LAG)
    left.set_ylabel(r"median $\prod_{j > T-k} f_j$")
    power_of_ten_axis(left)
    left.legend()
    top = max([value for value in series["predicted"] + series["measured"] if value] + [2.0])
    right.plot([1, top * 1.5], [1, top * 1.5], color="gray", linewidth=0.8)
    for (setting, color), predicted, measured in zip(cycle(series["settings"]), series["predicted"], series["measured"]):
        right.loglog([predicted], [measured], "o", color=color, label=setting)
    right.set_xlabel(r"predicted $1 / (1 - \sigma(b_f))$")
    right.set_ylabel("measured (median, steps)")
    right.legend()
    return figure
