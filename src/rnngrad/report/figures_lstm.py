"""Figures of the LSTM section: carousel against the full derivative (C5), the largest full product
found (C6), and the memory horizon against the forget-gate bias (C7)."""

from __future__ import annotations

import math
from typing import Any, Mapping

from rnngrad.report._plotting import COLORS, cycle, finite_points, new_figure, power_of_ten_axis

CURVES = (("log10_carousel", "carousel", "-"), ("log10_cell_block", "all_paths", "--"),
          ("log10_full_state", "full_state", "-."), ("log10_total_cell_grad", "total_grad", ":"))
ONE_OVER_E = -1 / math.log(10)  # log10(1/e)


def lstm_carousel(series: Mapping[str, Any], words: Mapping[str, str]):
    """C5: one panel per forget bias b_f; the carousel product against the full derivatives."""
    biases = series["forget_biases"]
    figure, axes = new_figure(9.0, 5.4, 2, (len(biases) + 1) // 2, sharex=True)
    lags = series["lag"]
    for index, bias in enumerate(biases):
        axis = axes[index // axes.shape[1]][index % axes.shape[1]]
        curves = series["curves"][bias]
        for (key, label, style), color in zip(CURVES, COLORS):
            xs = lags if key != "log10_total_cell_grad" else lags[1:]
            axis.plot(*finite_points(xs, curves[key]), style, color=color, label=words[label])
        axis.set_title("$b_f = " + bias.replace("log 99", r"\log 99") + "$")
        axis.set_xlabel(words["lag"])
        axis.tick_params(labelbottom=True)  # sharex hides the top row's numbers otherwise
        if index % axes.shape[1] == 0:
            axis.set_ylabel(words["derivative_size"])
        power_of_ten_axis(axis)
    axes[0][0].legend(loc="lower left", fontsize=7)
    return figure


def lstm_explosion(series: Mapping[str, Any], words: Mapping[str, str]):
    """C6: the largest full product found by the search, against its carousel product."""
    figure, axes = new_figure(6.0, 3.2)
    axis = axes[0][0]
    axis.plot(*finite_points(series["lag"], series["log10_full_state"]), color=COLORS[1], label=words["full_state"])
    axis.plot(*finite_points(series["lag"], series["log10_carousel"]), color=COLORS[0], label=words["carousel"])
    axis.axhline(0.0, color="black", linewidth=0.8)
    axis.set_xlabel(words["lag"])
    axis.set_ylabel(words["derivative_size"])
    power_of_ten_axis(axis)
    axis.legend()
    return figure


def memory_horizon(series: Mapping[str, Any], words: Mapping[str, str]):
    """C7: median log10 ∏ f against lag per setting (log lag, near 1/e), and measured against
    predicted horizon. The left panel shows only the decades around 1/e, where the horizon is read:
    the curves that fall below it have already crossed."""
    figure, axes = new_figure(9.0, 3.5, 1, 2)
    left, right = axes[0]
    lags = series["lag"]
    for (setting, color), measured in zip(cycle(series["settings"]), series["measured"]):
        xs, ys = finite_points(lags, series["median_log10_prod_f"][setting])
        kept = [(x, y) for x, y in zip(xs, ys) if x >= 1]
        left.plot([x for x, _ in kept], [y for _, y in kept], color=color, label=setting)
        crossing = next(((x, y) for x, y in kept if y <= ONE_OVER_E), None)
        if crossing is not None:
            left.plot([crossing[0]], [crossing[1]], "o", color=color, markersize=4)
    left.plot([], [], "o", color="gray", markersize=4, label=words["horizon_mark"])
    left.axhline(ONE_OVER_E, color="black", linewidth=0.8, linestyle="--")
    left.text(1.05, ONE_OVER_E + 0.04, words["one_over_e"], fontsize=8)
    left.set_xscale("log")
    left.set_ylim(-2.0, 0.1)
    left.set_xlabel(words["lag"])
    left.set_ylabel(words["median_product"])
    power_of_ten_axis(left)
    left.legend(title=words["setting"], fontsize=7, title_fontsize=7, loc="lower left")
    top = max([value for value in series["predicted"] + series["measured"] if value] + [2.0])
    right.plot([1, top * 1.5], [1, top * 1.5], color="gray", linewidth=0.8)
    for (setting, color), predicted, measured in zip(cycle(series["settings"]), series["predicted"], series["measured"]):
        right.loglog([predicted], [measured], "o", color=color, label=setting)
    right.set_xlabel(words["predicted"])
    right.set_ylabel(words["measured"])
    right.legend(title=words["setting"], fontsize=7, title_fontsize=7)
    return figure
