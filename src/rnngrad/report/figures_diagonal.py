"""Figures of the diagonal-recurrence section (C13): the per-channel memory horizons against the
task's lag, and the profiled gradient norm against the lag for the LSTM and the diagonal cells."""

from __future__ import annotations

from typing import Any, Mapping

from rnngrad.report._plotting import COLORS, finite_points, new_figure, power_of_ten_axis


def diagonal_horizons(series: Mapping[str, Any], words: Mapping[str, str]):
    """τ_i = −1 / mean log|a_i| per channel, sorted, for each cell; the dashed line is the lag T."""
    figure, axes = new_figure(6.5, 3.4)
    axis = axes[0][0]
    for name, color in zip(series["cells"], COLORS[1:]):
        values = series["horizons"][name]
        axis.semilogy(*finite_points(range(1, len(values) + 1), values), "o-", markersize=3, color=color, label=name)
    axis.axhline(series["T"], color="black", linestyle="--", linewidth=0.8, label=f"$T = {series['T']}$")
    axis.set_xlabel(words["diagonal_channel"])
    axis.set_ylabel(words["horizon_steps"])
    axis.legend(fontsize=7)
    return figure


def diagonal_profiles(series: Mapping[str, Any], words: Mapping[str, str]):
    """‖dL/dh_{T−k}‖ / ‖dL/dh_T‖ from rnngrad.profile for the four families; dashed: the horizons'
    prediction for each diagonal cell."""
    figure, axes = new_figure(6.5, 3.4)
    axis = axes[0][0]
    lags = series["lag"]
    for family, color in zip(series["families"], COLORS):
        axis.plot(*finite_points(lags, series["log10_norm_by_lag"][family]), color=color, label=family)
        predicted = series["predicted_log10_norm_by_lag"].get(family)
        if predicted:
            axis.plot(*finite_points(lags, predicted), "--", color=color, linewidth=1.0)
    axis.plot([], [], "--", color="gray", linewidth=1.0, label=words["predicted_from_tau"])
    axis.set_xlabel(words["lag_back"])
    axis.set_ylabel(words["relative_grad"])
    power_of_ten_axis(axis)
    axis.legend(fontsize=7)
    return figure
