"""Figures of the appendix: sigmoid and tanh with their derivatives (the seed's two figures, C8,
C9), every registered activation (a grid), and the decay rate per activation (C10)."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from rnngrad._json import numbers
from rnngrad.activations import ACTIVATIONS
from matplotlib.lines import Line2D

from rnngrad.report._plotting import COLORS, new_figure

GRID_X = (-4.0, 4.0, 161)  # the grid figure's x range and points


def _function_and_derivative(axis, x, value, derivative, name: str, words: Mapping[str, str]) -> None:
    axis.plot(x, value, color=COLORS[0], label=words["function"].format(name=name))
    axis.plot(x, derivative, color=COLORS[1], label=words["derivative"].format(name=name))
    peak = max(range(len(derivative)), key=lambda i: derivative[i])
    axis.plot([x[peak]], [derivative[peak]], "o", color=COLORS[1])
    axis.annotate(words["max"].format(value=f"{derivative[peak]:g}"), (x[peak], derivative[peak]),
                  textcoords="offset points", xytext=(8, 6))
    axis.set_xlabel(words["grid_x"])
    axis.legend(loc="upper left")


def sigmoid(series: Mapping[str, Any], words: Mapping[str, str]):
    """C8: σ(x) and σ'(x) = σ(1 − σ), maximum 1/4 at 0."""
    figure, axes = new_figure(5.0, 3.0)
    _function_and_derivative(axes[0][0], series["x"], series["value"], series["derivative"], "σ", words)
    return figure


def tanh(series: Mapping[str, Any], words: Mapping[str, str]):
    """C9: tanh(x) and tanh'(x) = 1 − tanh², maximum 1 at 0."""
    figure, axes = new_figure(5.0, 3.0)
    _function_and_derivative(axes[0][0], series["x"], series["value"], series["derivative"], "tanh", words)
    return figure


def activation_grid_data() -> dict[str, Any]:
    """φ and φ' (the registry's analytic derivative) of every activation on one grid."""
    x = torch.linspace(*GRID_X, dtype=torch.float64)
    return {
        "x": numbers(x, 5),
        "activations": {name: {"value": numbers(a.function(x), 5), "derivative": numbers(a.derivative(x), 5),
                               "sup_derivative": a.sup_derivative} for name, a in ACTIVATIONS.items()},
    }


def activation_grid(data: Mapping[str, Any], words: Mapping[str, str]):
    """Every registered activation: φ (blue) and φ' (red), with sup |φ'| in the title."""
    names = list(data["activations"])
    columns = 6
    rows = (len(names) + columns - 1) // columns
    figure, axes = new_figure(11.0, 1.9 * rows, rows, columns, layout=None, sharex=True, sharey=True)
    figure.subplots_adjust(left=0.06, right=0.99, top=0.93, bottom=0.11, wspace=0.12, hspace=0.45)
    figure.supxlabel(words["grid_x"], fontsize=9, y=0.02)
    figure.supylabel(words["grid_y"], fontsize=9, x=0.01)
    for index, axis in enumerate(axes.flat):
        if index >= len(names):
            axis.set_visible(False)
            continue
        entry = data["activations"][names[index]]
        axis.plot(data["x"], entry["value"], color=COLORS[0])
        axis.plot(data["x"], entry["derivative"], color=COLORS[1])
        axis.set_title(words["grid_title"].format(name=names[index], sup=f"{entry['sup_derivative']:.4g}"),
                       fontsize=7.5)
        axis.set_ylim(-2.2, 2.2)
        axis.set_xticks([-4, 0, 4])
        axis.set_yticks([-2, 0, 2])
        axis.tick_params(labelsize=7)
    return figure


def decay_rates(series: Mapping[str, Any], words: Mapping[str, str]):
    """C10: decay rate in nats per step of every activation at three weight scales.

    An activation whose Jacobian becomes exactly 0 (hardshrink, softshrink: every unit in the dead
    zone) has no rate: a × at 0 in the bar's colour marks it, with the lag from which it is 0.
    """
    names = series["activations"]
    settings = series["settings"]
    figure, axes = new_figure(7.5, 0.32 * len(names) + 1.4)
    axis = axes[0][0]
    height = 0.8 / len(settings)
    for row, setting in enumerate(settings):
        color = COLORS[row]
        positions = [index + (row - (len(settings) - 1) / 2) * height for index in range(len(names))]
        values = [0.0 if value is None else value for value in series["decay_rates_nats_per_step"][setting]]
        axis.barh(positions, values, height=height, color=color, label=_setting_label(setting, words))
        for position, value, zero in zip(positions, series["decay_rates_nats_per_step"][setting], series["exact_zero_from_lag"][setting]):
            if value is None and zero is not None:
                axis.plot([0.0], [position], "x", color=color, markersize=5, markeredgewidth=1.5)
                axis.text(0.012, position, words["exact_zero"].format(lag=zero), va="center", fontsize=6.5,
                          color=color)
    axis.set_yticks(range(len(names)), names)
    axis.invert_yaxis()
    axis.axvline(0.0, color="black", linewidth=0.8)
    axis.set_xlabel(words["decay_axis"])
    handles, labels = axis.get_legend_handles_labels()
    handles.append(Line2D([], [], marker="x", linestyle="none", color="black", markersize=5, markeredgewidth=1.5))
    labels.append(words["exact_zero_legend"])
    axis.legend(handles, labels, loc="lower right", fontsize=7.5)
    return figure


def _setting_label(setting: str, words: Mapping[str, str]) -> str:
    """The stored setting ("torch init", "‖W_hh‖₂ = 2") as a legend entry."""
    if setting.startswith("‖W_hh‖₂"):
        return words["spectral_norm"].format(gain=setting.rsplit("= ", 1)[1])
    return words["torch_init"] if setting == "torch init" else setting
