"""Figures of C11: training curves on both adding-problem variants, and the gradient profiles
‖dL/dh_{T−k}‖. One row per variant (Le/Arjovsky placement, HS97 placement), one column per T."""

from __future__ import annotations

from typing import Any, Mapping

from matplotlib.lines import Line2D

from rnngrad.report._plotting import cycle, finite_points, new_figure
from rnngrad.report.figure_text import FIGURE_TEXT

# one line style per model, thick drawn first and thin on top, so that curves lying on each other
# (all at the baseline) stay visible
STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 1)))
WIDTHS = (2.6, 2.0, 1.6, 1.6, 1.4, 1.4)

# the words of these two figures that the shared tables do not have: the variants' names and a
# baseline label with its value (the two variants have different baselines). Plain Unicode in
# Korean, as in the shared tables (mathtext has no Hangul).
C11_WORDS: dict[str, Mapping[str, Any]] = {
    "en": {"variants": {"adding-sum": "Le/Arjovsky placement (adding-sum)", "adding": "HS97 placement (adding)"},
           "baseline": "baseline {value} (predict the mean)", "panel": "{variant}, $T = {T}$",
           "profile_panel": "{variant}, $T = {T}$ (profile at update {step})",
           "learned": "learned: training stops there\n(the number: its update)"},
    "ko": {"variants": {"adding-sum": "Le/Arjovsky 배치 (adding-sum)", "adding": "HS97 배치 (adding)"},
           "baseline": "기준선 {value} (평균을 예측)", "panel": "{variant}, T = {T}",
           "profile_panel": "{variant}, T = {T} (업데이트 {step}의 profile)",
           "learned": "학습 완료: 그곳에서 멈춘다\n(숫자는 그 업데이트)"},
}


def c11_words(words: Mapping[str, str]) -> Mapping[str, Any]:
    """The C11 words in the language of ``words`` (one of the shared figure tables; English otherwise)."""
    lang = next((lang for lang, table in FIGURE_TEXT.items() if table == words), "en")
    return C11_WORDS[lang]


def _variants(series: Mapping[str, Any]) -> list[str]:
    return list(series.get("variants", ["adding"]))


def training_curves(series: Mapping[str, Any], words: Mapping[str, str]):
    """Mean training MSE against the update step: a row per variant, a panel per T, the baseline dashed.

    A run that has learned the task stops early: its end is starred and labelled with its update.
    """
    own = c11_words(words)
    lengths, variants = series["T"], _variants(series)
    learned = series.get("learned", {})
    figure, axes = new_figure(10.0, 3.0 * len(variants), len(variants), len(lengths), sharey="row")
    for row, task in zip(axes, variants):
        for axis, T in zip(row, lengths):
            ends, right = [], 1  # (step, mse, colour) of the runs that learned; the panel's last update
            for index, (model, color) in enumerate(cycle(series["models"])):
                key = f"{task}/{model}/T={T}"
                curve = series["curves"].get(key)
                if not curve:
                    continue
                steps, mse = finite_points(curve["step"], curve["mse"])
                right = max([right, *steps])
                axis.semilogy(steps, mse, linestyle=STYLES[index % len(STYLES)], linewidth=WIDTHS[index % len(WIDTHS)],
                              color=color, label=model, zorder=3 + index)  # thick first, thin on top
                if learned.get(key) and steps:
                    axis.plot([steps[-1]], [mse[-1]], "*", color=color, markersize=9, zorder=10)
                    ends.append((steps[-1], mse[-1], color))
            level, previous = 0, None
            for step, mse, color in sorted(ends):  # a label one line lower for each run ending close by
                close = previous is not None and step - previous < 0.12 * right
                level, previous = (level + 1 if close else 0), step
                axis.annotate(str(step), (step, mse), textcoords="offset points", xytext=(4, -11 - 9 * level),
                              ha="left", fontsize=7, color=color, zorder=11)
            baseline = series["baseline_mse"][task][str(T)]
            axis.axhline(baseline, color="black", linestyle="--", linewidth=0.8, zorder=2,
                         label=own["baseline"].format(value=f"{baseline:.3g}"))
            axis.set_title(own["panel"].format(variant=own["variants"][task], T=T))
            axis.set_xlabel(words["update"])
        lowest = [value for T in lengths for model in series["models"]
                  for value in series["curves"].get(f"{task}/{model}/T={T}", {}).get("mse", []) if value and value > 0]
        if lowest:
            row[0].set_ylim(bottom=min(lowest) / 6)  # room for the labels under the stars
        row[0].set_ylabel(words["mse"])
        handles, labels = row[-1].get_legend_handles_labels()
        handles.append(Line2D([], [], marker="*", color="grey", linestyle="none", markersize=9))
        labels.append(own["learned"])
        row[-1].legend(handles, labels, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))  # beside the row
    return figure


def gradient_profiles(series: Mapping[str, Any], words: Mapping[str, str]):
    """‖dL/dh_{T−k}‖ (mean over the batch, divided by its largest value) at each run's first
    profile: a row per variant, a panel per T."""
    own = c11_words(words)
    lengths, variants = series["T"], _variants(series)
    figure, axes = new_figure(9.0, 2.9 * len(variants), len(variants), len(lengths), sharey=True)
    several_steps = len({profile["step"] for profile in series["profiles"].values()}) > 1
    for row, task in zip(axes, variants):
        for axis, T in zip(row, lengths):
            steps = set()
            for model, color in cycle(series["models"]):
                profile = series["profiles"].get(f"{task}/{model}/T={T}")
                if not profile:
                    continue
                lags, norms = finite_points(range(len(profile["norm_by_lag"])), profile["norm_by_lag"])
                peak = max(norms) if norms else 1.0
                if peak > 0:
                    kept = [(lag, norm / peak) for lag, norm in zip(lags, norms) if norm > 0]
                    steps.add(profile["step"])
                    label = f"{model} ({words['update']} {profile['step']})" if several_steps else model
                    axis.semilogy([lag for lag, _ in kept], [value for _, value in kept], color=color, label=label)
            variant = own["variants"][task]
            step = ", ".join(str(s) for s in sorted(steps))
            axis.set_title(own["profile_panel"].format(variant=variant, T=T, step=step) if steps else
                           own["panel"].format(variant=variant, T=T), fontsize=8)
            axis.set_xlabel(words["lag"])
            if axis.get_legend_handles_labels()[0]:
                axis.legend(fontsize=7)
        row[0].set_ylabel(words["relative_to_max"])
    return figure
