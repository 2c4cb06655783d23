"""Success rate against T, one line per model: the report's figure (matplotlib, Agg)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rnngrad.errors import InputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plot_success_rate(summary: list[dict[str, Any]], task: str | None = None) -> Figure:
    """One panel per task: success rate (y) against T (x, log scale), a line per model.

    Args:
        summary: rows from :func:`rnngrad.sweep.summarize`.
        task: draw only this task (default: every task in ``summary``).

    Returns:
        A :class:`matplotlib.figure.Figure` on an Agg canvas (no pyplot state, nothing shown or
        saved; call ``figure.savefig(path)``).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # imported here: sweeps start faster
    from matplotlib.figure import Figure

    rows = [row for row in summary if task is None or row["task"] == task]
    if not rows:
        wanted = "any task" if task is None else f"task {task!r}"
        raise InputError(f"summary: expected rows for {wanted}, got none")
    tasks = list(dict.fromkeys(row["task"] for row in rows))
    figure = Figure(figsize=(5.0 * len(tasks), 3.6), layout="constrained")
    FigureCanvasAgg(figure)
    axes_list = figure.subplots(1, len(tasks), squeeze=False)[0]
    for axes, name in zip(axes_list, tasks):
        task_rows = [row for row in rows if row["task"] == name]
        for model in dict.fromkeys(row["model"] for row in task_rows):
            points = sorted((row["T"], row["success_rate"]) for row in task_rows if row["model"] == model)
            axes.plot([T for T, _ in points], [rate for _, rate in points], marker="o", label=model)
        axes.set_xscale("log")
        axes.set_ylim(-0.05, 1.05)
        axes.set_xlabel("T")
        axes.set_ylabel("success rate")
        axes.set_title(name)
        axes.legend(fontsize="small")
    return figure
