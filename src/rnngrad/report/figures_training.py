"""Figures of C11: training curves on the adding problem, and the gradient profiles ‖dL/dh_{T−k}‖."""

from __future__ import annotations

from typing import Any, Mapping

from rnngrad.report._plotting import cycle, finite_points, new_figure


def training_curves(series: Mapping[str, Any]):
    """Mean training MSE against the update step, one panel per T, the baseline dashed."""
    lengths = series["T"]
    figure, axes = new_figure(9.0, 3.2, 1, len(lengths), sharey=True)
    for axis, T in zip(axes[0], lengths):
        for model, color in cycle(series["models"]):
            curve = series["curves"].get(f"{model}/T={T}")
            if curve:
                axis.semilogy(*finite_points(curve["step"], curve["mse"]), color=color, label=model)
        axis.axhline(series["baseline_mse"], color="black", linestyle="--", linewidth=0.8)
        axis.set_title(f"$T = {T}$")
        axis.set_xlabel("update")
    axes[0][0].set_ylabel("MSE")
    axes[0][0].legend()
    return figure


def gradient_profiles(series: Mapping[str, Any]):
    """‖dL/dh_{T−k}‖ (mean over the batch, divided by its largest value) at the first profile."""
    lengths = series["T"]
    figure, axes = new_figure(9.0, 3.2, 1, len(lengths), sharey=True)
    for axis, T in zip(axes[0], lengths):
        for model, color in cycle(series["models"]):
            profile = series["profiles"].get(f"{model}/T={T}")
            if not profile:
                continue
            lags, norms = finite_points(range(len(profile["norm_by_lag"])), profile["norm_by_lag"])
            peak = max(norms) if norms else 1.0
            if peak > 0:
                kept = [(lag, norm / peak) for lag, norm in zip(lags, norms) if norm > 0]
                axis.semilogy([lag for lag, _ in kept], [value for _, value in kept], color=color,
                              label=f"{model} (update {profile['step']})")
        axis.set_title(f"$T = {T}$")
        axis.set_xlabel("$k$")
    axes[0][0].set_ylabel(r"$\|dL/dh_{T-k}\|$ / max")
    axes[0][0].legend(fontsize=7)
    return figure
