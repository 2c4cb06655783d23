"""Success rate against T, one line per model: the report's figure (matplotlib, Agg)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rnngrad.errors import InputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plot_success_rate(summary: list[dict[str, Any]], task: str | None = None) -> Figure:
    """One panel per task: success rate (y) against T (x, log scale), a line per model.

    Panels go three to a row; one legend serves them all. Lines that coincide (several models at
    0 or at 1) are offset by up to ±0.03, a model apart each, so that every one stays visible.

    Args:
        summary: rows from :func:`rnngrad.sweep.summarize` (each needs ``task``, ``T``,
            ``model``, ``success_rate``); a row whose ``success_rate`` is None (not run yet) draws
            no point but keeps its T on the axis, and a panel with no point says so.
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
    models = list(dict.fromkeys(row["model"] for row in rows))
    columns = min(3, len(tasks))
    panel_rows = -(-len(tasks) // columns)
    figure = Figure(figsize=(4.2 * columns + 1.8, 3.3 * panel_rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes_grid = figure.subplots(panel_rows, columns, squeeze=False)
    for index, axes in enumerate(axes_grid.flat):
        if index >= len(tasks):
            axes.set_visible(False)
            continue
        name = tasks[index]
        task_rows = [row for row in rows if row["task"] == name]
        for number, model in enumerate(models):
            points = sorted((row["T"], row["success_rate"]) for row in task_rows
                            if row["model"] == model and row["success_rate"] is not None)
            if not points:
                continue
            offset = 0.06 * (number / max(1, len(models) - 1) - 0.5)  # keeps coinciding lines apart
            axes.plot([T for T, _ in points], [rate + offset for _, rate in points], label=model,
                      marker=_MARKERS[number % len(_MARKERS)], linewidth=1.2, markersize=4,
                      color=f"C{number % 10}", linestyle="-" if number < 10 else "--")
        lengths = sorted({row["T"] for row in task_rows})
        if not axes.get_lines():
            axes.text(0.5, 0.5, "not run yet", transform=axes.transAxes, ha="center", va="center", color="0.4")
        axes.set_xscale("log")
        axes.set_xlim(lengths[0] / 1.2, lengths[-1] * 1.2)
        axes.set_xticks(lengths, [str(T) for T in lengths])
        axes.minorticks_off()
        axes.set_ylim(-0.08, 1.08)
        axes.set_xlabel("T")
        axes.set_ylabel("success rate over seeds")
        axes.set_title(name)
    handles, labels = [], []
    for axes in list(axes_grid.flat)[:len(tasks)]:
        for handle, label in zip(*axes.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    figure.legend(handles, labels, loc="outside right upper", fontsize="small")
    return figure


_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "<", ">", "*", "h")
