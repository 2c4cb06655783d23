"""A GradientProfile as a small HTML block (what a notebook shows): a curve per layer, a table.

The curve is an inline SVG polyline of log10 of the mean ‖dL/dh_t‖ against t, scaled to the
layer's own range (the range is printed beside it); the table holds the summary's numbers.
Nothing is loaded from elsewhere, so the block renders offline.
"""

from __future__ import annotations

import html
import math
from typing import Any

from rnngrad.profiler.render import summary

_WIDTH, _HEIGHT = 160, 36


def profile_html(profile: Any) -> str:
    """``<div>`` with one row per module chain, layer and direction."""
    data = summary(profile)
    rows = []
    for entry in data["layers"]:
        by_time = entry["mean_grad_norm_by_time"]
        logs = [math.log10(n) if n is not None and n > 0 else None for n in by_time]
        rows.append(
            "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in (
                entry["module"] or "(model)", entry["kind"], entry["call"], entry["layer"],
                "bwd" if entry["direction"] else "fwd", entry["steps"],
                _number(by_time[-1]), _number(by_time[0]), _number(entry["decay_rate_nats_per_step"]),
                entry["memory_horizon"]))
            + f"<td>{_curve(logs)}</td></tr>")
    header = "".join(f"<th>{name}</th>" for name in (
        "module", "kind", "call", "layer", "dir", "T", "‖dL/dh‖ t=T−1", "t=0", "decay (nats/step)",
        "horizon", "log10 ‖dL/dh_t‖ over t"))
    loss = "–" if data["loss"] is None else f"{data['loss']:.6g}"
    caption = f"GradientProfile: loss {loss}"
    if data["nonfinite"] is not None:
        caption += f"; first non-finite value: {html.escape(str(data['nonfinite']))}"
    return (f"<div><p>{caption}</p><table><thead><tr>{header}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def _curve(logs: list[float | None]) -> str:
    """An SVG polyline of the finite values, with their range as text; "–" when none."""
    points = [(t, value) for t, value in enumerate(logs) if value is not None]
    if not points:
        return "–"
    low, high = min(v for _, v in points), max(v for _, v in points)
    span, last = (high - low) or 1.0, max(len(logs) - 1, 1)
    coordinates = " ".join(f"{_WIDTH * t / last:.1f},{_HEIGHT - 2 - (_HEIGHT - 4) * (v - low) / span:.1f}"
                           for t, v in points)
    return (f'<svg width="{_WIDTH}" height="{_HEIGHT}" role="img"><polyline fill="none" stroke="#1f77b4" '
            f'stroke-width="1.5" points="{coordinates}"/></svg> {low:.1f} … {high:.1f}')
