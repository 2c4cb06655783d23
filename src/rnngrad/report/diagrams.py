"""The RNN and LSTM computation diagrams, with the backward path drawn, written by our code.

A diagram is a list of primitives (boxes, circles, arrows, labels) in pixel coordinates, y down.
Two renderers read it: :func:`to_svg` writes SVG markup directly; :func:`to_figure` draws the
same primitives with matplotlib (for the PNG). Labels take one piece of markup, ``_{...}`` for a
subscript. Black arrows are the forward pass; red dashed arrows the backward path the seed
follows; orange dotted arrows, in the LSTM, the paths through h that the seed's ∏ f leaves out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from matplotlib.patches import Circle as CirclePatch
from matplotlib.patches import FancyArrowPatch, Rectangle

from rnngrad.report._plotting import new_figure

FORWARD, BACKWARD, DROPPED = "#222222", "#c0392b", "#e67e22"
_SUBSCRIPT = re.compile(r"_\{([^}]*)\}")


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float
    label: str
    fill: str = "#eaf2fb"


@dataclass(frozen=True)
class Node:
    x: float
    y: float
    radius: float
    label: str
    fill: str = "#fdf2e9"


@dataclass(frozen=True)
class Arrow:
    points: tuple[tuple[float, float], ...]
    color: str = FORWARD
    style: str = "solid"  # "solid", "dashed" or "dotted"


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    color: str = FORWARD
    size: float = 14
    anchor: str = "middle"  # "start", "middle" or "end"


@dataclass(frozen=True)
class Diagram:
    width: int
    height: int
    items: tuple


def rnn_diagram() -> Diagram:
    """Three unrolled steps of h_t = tanh(W_hh h_{t−1} + W_xh x_t + b_h), the backward chain above."""
    items: list = [Arrow(((20, 170), (95, 170))), Label(55, 160, "h_{t−2}")]
    centres = (150, 380, 610)
    for index, centre in enumerate(centres):
        step = ("t−1", "t", "t+1")[index]
        items += [Box(centre - 55, 140, 110, 60, "tanh"),
                  Arrow(((centre, 270), (centre, 202))), Label(centre, 290, f"x_{{{step}}}"),
                  Arrow(((centre, 140), (centre, 60))), Label(centre, 50, f"h_{{{step}}}")]
        end = centres[index + 1] - 57 if index + 1 < len(centres) else 740
        items += [Arrow(((centre + 55, 170), (end, 170))), Label((centre + 55 + end) / 2, 190, f"h_{{{step}}}")]
    for right, left, step in ((610, 380, "t+1"), (380, 150, "t")):
        items += [Arrow(((right - 20, 118), (left + 20, 118)), BACKWARD, "dashed"),
                  Label((right + left) / 2, 108, f"diag(tanh′(a_{{{step}}}))·W_{{hh}}", BACKWARD, 12)]
    items.append(Arrow(((740, 118), (630, 118)), BACKWARD, "dashed"))
    items.append(Label(690, 108, "∂L/∂h_{T}", BACKWARD, 12))
    return Diagram(760, 310, tuple(items))


def lstm_diagram() -> Diagram:
    """One LSTM step: the carousel C_{t−1} → ×f_t → +(i_t ⊙ C̃_t) → C_t on top, gates below.

    The update is (6), C_t = f_t ⊙ C_{t−1} + i_t ⊙ C̃_t: a × node multiplies i_t and C̃_t before the
    +. The orange dotted path (what ∏ f leaves out) runs from the + down between the C̃_t and o_t
    gates and along the gates' inputs, below every label. Only symbols: the same in every language.
    """
    items: list = [
        Box(170, 80, 420, 270, "", "#f7f9fb"),
        Arrow(((40, 120), (272, 120))), Label(60, 108, "C_{t−1}"),
        Node(290, 120, 17, "×"), Arrow(((307, 120), (402, 120))),
        Node(420, 120, 17, "+"), Arrow(((437, 120), (720, 120))), Label(700, 108, "C_{t}"),
        Arrow(((40, 320), (520, 320)), FORWARD), Label(60, 340, "h_{t−1}"),
        Arrow(((300, 385), (300, 322))), Label(312, 385, "x_{t}", anchor="start"),
    ]
    gates = (("σ", 260, "f_{t}"), ("σ", 340, "i_{t}"), ("tanh", 420, "C̃_{t}"), ("σ", 520, "o_{t}"))
    for symbol, x, name in gates:
        items += [Box(x - 28, 250, 56, 32, symbol), Arrow(((x, 320), (x, 284))),
                  Label(x - 31, 244, name, size=12, anchor="end")]
    items += [Arrow(((260, 250), (285, 138))),                                   # f_t into C_{t−1} ⊙ f_t
              Node(380, 195, 14, "×"),                                            # i_t ⊙ C̃_t
              Arrow(((340, 250), (371, 206))), Arrow(((420, 250), (389, 206))),
              Arrow(((386, 182), (412, 136))),                                    # into the +
              Node(520, 175, 20, "tanh"),
              Arrow(((520, 120), (520, 153))), Node(520, 220, 14, "×"),
              Arrow(((520, 196), (520, 204))), Arrow(((520, 250), (520, 236))),
              Arrow(((534, 220), (720, 220))), Label(700, 210, "h_{t}")]
    items += [Arrow(((700, 52), (60, 52)), BACKWARD, "dashed"),
              Label(380, 42, "∂C_{t}/∂C_{t−1} = diag(f_{t})   (carousel: ∏ f)", BACKWARD, 12),
              Arrow(((433, 131), (470, 165), (470, 300), (40, 300)), DROPPED, "dotted"),
              Label(44, 292, "∂C_{t}/∂h_{t−1}: f_{t}, i_{t}, C̃_{t}", DROPPED, 11, "start")]
    return Diagram(760, 400, tuple(items))


def _svg_text(text: str) -> str:
    """Label markup to SVG: plain text, and ``_{...}`` as a lowered, smaller tspan."""
    out, position = [], 0
    for match in _SUBSCRIPT.finditer(text):
        out.append(escape(text[position : match.start()]))
        out.append(f'<tspan baseline-shift="sub" font-size="70%">{escape(match.group(1))}</tspan>')
        position = match.end()
    out.append(escape(text[position:]))
    return "".join(out)


def _dash(style: str) -> str:
    return {"solid": "", "dashed": ' stroke-dasharray="7 4"', "dotted": ' stroke-dasharray="2 3"'}[style]


def to_svg(diagram: Diagram) -> str:
    """The diagram as a standalone SVG document (no external resource)."""
    colors = sorted({item.color for item in diagram.items if isinstance(item, Arrow)})
    markers = "".join(
        f'<marker id="head{index}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>'
        for index, color in enumerate(colors))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{diagram.width}" height="{diagram.height}" '
             f'viewBox="0 0 {diagram.width} {diagram.height}" font-family="DejaVu Sans, Verdana, sans-serif">',
             f"<defs>{markers}</defs>", f'<rect width="{diagram.width}" height="{diagram.height}" fill="white"/>']
    for item in diagram.items:
        if isinstance(item, Box):
            parts.append(f'<rect x="{item.x}" y="{item.y}" width="{item.width}" height="{item.height}" rx="6" '
                         f'fill="{item.fill}" stroke="#333"/>')
            if item.label:
                parts.append(f'<text x="{item.x + item.width / 2}" y="{item.y + item.height / 2 + 5}" '
                             f'text-anchor="middle" font-size="15">{_svg_text(item.label)}</text>')
        elif isinstance(item, Node):
            parts.append(f'<circle cx="{item.x}" cy="{item.y}" r="{item.radius}" fill="{item.fill}" stroke="#333"/>')
            size = 15 if len(item.label) == 1 else 11
            parts.append(f'<text x="{item.x}" y="{item.y + size / 3}" text-anchor="middle" '
                         f'font-size="{size}">{_svg_text(item.label)}</text>')
        elif isinstance(item, Arrow):
            points = " ".join(f"{x},{y}" for x, y in item.points)
            parts.append(f'<polyline points="{points}" fill="none" stroke="{item.color}" stroke-width="2"'
                         f'{_dash(item.style)} marker-end="url(#head{colors.index(item.color)})"/>')
        elif isinstance(item, Label):
            parts.append(f'<text x="{item.x}" y="{item.y}" text-anchor="{item.anchor}" font-size="{item.size}" '
                         f'fill="{item.color}">{_svg_text(item.text)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _mathtext(text: str) -> str:
    """Label markup to matplotlib text: ``_{...}`` becomes an inline mathtext subscript."""
    return _SUBSCRIPT.sub(lambda m: "$_{" + m.group(1).replace("−", "-") + "}$", text)


def to_figure(diagram: Diagram):
    """The same primitives drawn with matplotlib, for the PNG."""
    scale = 100.0
    figure, axes = new_figure(diagram.width / scale, diagram.height / scale)
    axis = axes[0][0]
    axis.set_xlim(0, diagram.width)
    axis.set_ylim(diagram.height, 0)
    axis.set_axis_off()
    font = 0.75  # px in the SVG -> pt at 100 dpi
    for item in diagram.items:
        if isinstance(item, Box):
            axis.add_patch(Rectangle((item.x, item.y), item.width, item.height, facecolor=item.fill, edgecolor="#333"))
            if item.label:
                axis.text(item.x + item.width / 2, item.y + item.height / 2, _mathtext(item.label), ha="center",
                          va="center", fontsize=15 * font)
        elif isinstance(item, Node):
            axis.add_patch(CirclePatch((item.x, item.y), item.radius, facecolor=item.fill, edgecolor="#333"))
            axis.text(item.x, item.y, item.label, ha="center", va="center",
                      fontsize=(15 if len(item.label) == 1 else 11) * font)
        elif isinstance(item, Arrow):
            linestyle = {"solid": "-", "dashed": "--", "dotted": ":"}[item.style]
            xs, ys = zip(*item.points)
            axis.plot(xs[:-1] + (xs[-1],), ys[:-1] + (ys[-1],), linestyle, color=item.color, linewidth=1.6)
            axis.add_patch(FancyArrowPatch(item.points[-2], item.points[-1], arrowstyle="-|>", mutation_scale=12,
                                           color=item.color, linewidth=0))
        elif isinstance(item, Label):
            ha = {"start": "left", "middle": "center", "end": "right"}[item.anchor]
            axis.text(item.x, item.y, _mathtext(item.text), ha=ha, va="baseline", color=item.color,
                      fontsize=item.size * font)
    return figure
