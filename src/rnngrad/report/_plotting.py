"""What every report figure shares: a pyplot-free matplotlib figure, log10 axes, and file bytes.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot, no global state;
Agg renders them). The words inside figures come from :mod:`rnngrad.report.figure_text` in the
report's language; :func:`figure_style` gives Korean figures the shipped Korean font.
"""

from __future__ import annotations

import io
import math
from typing import Iterable, Sequence

import matplotlib
from matplotlib.figure import Figure  # renders through Agg by itself: no backend is chosen for the caller
from matplotlib.ticker import FuncFormatter, Locator, MaxNLocator

# blue, red, green, orange, purple, brown, pink, grey: no two alike (the old teal was next to blue)
COLORS = ("#1b6ca8", "#d1495b", "#2e933c", "#edae49", "#6c4f9c", "#8d6a3f", "#e377c2", "#555555")
STYLE = {
    "font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "legend.fontsize": 8,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
    "svg.hashsalt": "rnngrad-report", "svg.fonttype": "path", "lines.linewidth": 1.5,
}


def figure_style(lang: str = "en") -> dict:
    """The rc settings of every figure; Korean figures fall back to the shipped Korean font."""
    if lang == "ko":
        from rnngrad.report.korean_font import matplotlib_family

        return {**STYLE, "font.family": matplotlib_family()}
    return dict(STYLE)


def new_figure(width: float, height: float, rows: int = 1, columns: int = 1, layout: str | None = "constrained",
               **options):
    """A figure and its axes array (always 2-D: rows × columns)."""
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(width, height), layout=layout)
        axes = figure.subplots(rows, columns, squeeze=False, **options)
    return figure, axes


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_of_ten(exponent: float) -> str:
    """10ⁿ as plain text with Unicode superscripts (much cheaper to draw than mathtext); a tick
    between integer exponents is written as its plain value."""
    if abs(exponent - round(exponent)) > 1e-9:
        return f"{10 ** exponent:.3g}"
    return "10" + str(int(round(exponent))).translate(_SUPERSCRIPT)


class DecadeLocator(Locator):
    """Ticks of a log10-valued axis: whole decades, or 1-2-5 steps when it spans under 3 decades."""

    def __init__(self) -> None:
        self.decades = MaxNLocator(nbins=6, integer=True)

    def set_axis(self, axis) -> None:
        super().set_axis(axis)
        self.decades.set_axis(axis)

    def __call__(self):
        low, high = sorted(self.axis.get_view_interval())
        if high - low >= 3:
            return self.decades()
        for mantissas in ((1, 2, 5), (1, 2, 3, 4, 5, 6, 7, 8, 9)):
            ticks = [math.log10(m) + n for n in range(math.floor(low) - 1, math.ceil(high) + 1) for m in mantissas]
            ticks = [tick for tick in ticks if low - 1e-9 <= tick <= high + 1e-9]
            if len(ticks) >= 3:
                return ticks
        return ticks


def power_of_ten_axis(axis, which: str = "y") -> None:
    """Label a log10-valued axis with 10ⁿ ticks (the data stay finite and plottable)."""
    target = axis.yaxis if which == "y" else axis.xaxis
    target.set_major_locator(DecadeLocator())

    def label(value: float, _) -> str:  # 1-2-5 ticks (under 3 decades) as plain numbers: 0.5, 1, 2, 5, 10
        low, high = sorted(target.get_view_interval())
        return f"{10 ** value:.3g}" if high - low < 3 else power_of_ten(value)

    target.set_major_formatter(FuncFormatter(label))


def finite_points(xs: Sequence, ys: Sequence) -> tuple[list, list]:
    """Drop points whose y is None or not finite (an exact zero has log10 = −inf)."""
    kept = [(x, y) for x, y in zip(xs, ys) if y is not None and math.isfinite(y)]
    return [x for x, _ in kept], [y for _, y in kept]


def figure_bytes(figure: Figure, lang: str = "en") -> tuple[bytes, bytes]:
    """(PNG, SVG) of a figure; metadata without dates so the same data give the same files."""
    with matplotlib.rc_context(figure_style(lang)):
        png, svg = io.BytesIO(), io.BytesIO()
        figure.savefig(png, format="png", dpi=110, metadata={"Software": None})
        figure.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return png.getvalue(), svg.getvalue()


def cycle(items: Iterable) -> list[tuple[object, str]]:
    """Pair each item with a colour of the palette."""
    return [(item, COLORS[index % len(COLORS)]) for index, item in enumerate(items)]
