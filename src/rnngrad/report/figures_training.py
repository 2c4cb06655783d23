"""Figures of C11: training curves on the adding problem, and the gradient profiles ‖dL/dh_{T−k}‖."""

from __future__ import annotations

from typing import Any, Mapping

from rnngrad.report._plotting import cycle, finite_points, new_figure

# one line style per model, thick drawn first and thin on top, so that curves lying on each other
# (all at the baseline) stay visible
STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 1)))
WIDTHS = (2.6, 2.0, 1.6, 1.6, 1.4, 1.4)


def training_curves(series: Mapping[str, Any], words: Mapping[str, str]):
    """Mean training MSE against the update step, one panel per T, the baseline dashed.

    A run that has learned the task stops early: its end is marked and labelled.
    """
    lengths = series["T"]
    learned = series.get("learned", {})
    figure, axes = new_figure(9.0, 3.4, 1, len(lengths), sharey=True)
    for axis, T in zip(axes[0], lengths):
        for index, (model, color) in enumerate(cycle(series["models"])):
            key = f"{model}/T={T}"
            curve = series["curves"].get(key)
            if not curve:
                continue
            steps, mse = finite_points(curve["step"], curve["mse"])
            axis.semilogy(steps, mse, linestyle=STYLES[index % len(STYLES)], linewidth=WIDTHS[index % len(WIDTHS)],
                          color=color, label=model, zorder=3 + index)  # thick first, thin on top
            if learned.get(key) and steps:
                axis.plot([steps[-1]], [mse[-1]], "*", color=color, markersize=9, zorder=10)
                axis.annotate(words["learned_at"].format(step=steps[-1]), (steps[-1], mse[-1]),
                              textcoords="offset points", xytext=(0, -14), ha="right", fontsize=7, color=color)
        axis.axhline(series["baseline_mse"], color="black", linestyle="--", linewidth=0.8, label=words["baseline"],
                     zorder=2)
        axis.set_title(f"$T = {T}$")
        axis.set_xlabel(words["update"])
    lowest = [value for curve in series["curves"].values() for value in curve["mse"] if value and value > 0]
    if lowest:
        axes[0][0].set_ylim(bottom=min(lowest) / 4)  # room for the "learned" labels under the curves
    axes[0][0].set_ylabel(words["mse"])
    axes[0][-1].legend(fontsize=7, loc="center right")
    return figure


def gradient_profiles(series: Mapping[str, Any], words: Mapping[str, str]):
    """‖dL/dh_{T−k}‖ (mean over the batch, divided by its largest value) at the first profile."""
    lengths = series["T"]
    figure, axes = new_figure(9.0, 3.2, 1, len(lengths), sharey=True)
    for axis, T in zip(axes[0], lengths):
        steps = set()
        for model, color in cycle(series["models"]):
            profile = series["profiles"].get(f"{model}/T={T}")
            if not profile:
                continue
            lags, norms = finite_points(range(len(profile["norm_by_lag"])), profile["norm_by_lag"])
            peak = max(norms) if norms else 1.0
            if peak > 0:
                kept = [(lag, norm / peak) for lag, norm in zip(lags, norms) if norm > 0]
                steps.add(profile["step"])
                label = model if len(set(p["step"] for p in series["profiles"].values())) == 1 else \
                    f"{model} ({words['update']} {profile['step']})"
                axis.semilogy([lag for lag, _ in kept], [value for _, value in kept], color=color, label=label)
        step = ", ".join(str(s) for s in sorted(steps))
        axis.set_title(words["panel_update"].format(T=T, step=step) if steps else f"$T = {T}$")
        axis.set_xlabel(words["lag"])
    axes[0][0].set_ylabel(words["relative_to_max"])
    axes[0][0].legend(fontsize=7)
    return figure
