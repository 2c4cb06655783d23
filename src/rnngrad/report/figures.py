"""Every report figure, rendered to PNG and SVG bytes in the report's language (nothing is written here)."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import matplotlib

from rnngrad.claims import CLAIMS_WORK, Progress, ProgressCallback
from rnngrad.report import (diagrams, figures_activations, figures_diagonal, figures_lstm, figures_rnn, figures_spectrum,
                            figures_training)
from rnngrad.report._build import FIGURE_WORK, ReportData
from rnngrad.report._plotting import figure_bytes, figure_style
from rnngrad.report.figure_text import figure_words

# each takes the figure's data and the figure words of the report's language
DRAW: dict[str, Callable[[Mapping[str, Any], Mapping[str, str]], Any]] = {
    "rnn_closed_form": figures_rnn.rnn_closed_form,
    "rnn_gradient_norms": figures_rnn.rnn_gradient_norms,
    "regime_map": figures_rnn.regime_map,
    "lstm_carousel": figures_lstm.lstm_carousel,
    "lstm_explosion": figures_lstm.lstm_explosion,
    "memory_horizon": figures_lstm.memory_horizon,
    "diagonal_horizons": figures_diagonal.diagonal_horizons,
    "diagonal_profiles": figures_diagonal.diagonal_profiles,
    "training_curves": figures_training.training_curves,
    "gradient_profiles": figures_training.gradient_profiles,
    "sigmoid": figures_activations.sigmoid,
    "tanh": figures_activations.tanh,
    "activation_grid": figures_activations.activation_grid,
    "decay_rates": figures_activations.decay_rates,
    "spectrum": figures_spectrum.spectrum,
}
DIAGRAMS = {"rnn_diagram": diagrams.rnn_diagram, "lstm_diagram": diagrams.lstm_diagram}


def render_figure(name: str, data: Mapping[str, Any], lang: str = "en") -> tuple[bytes, bytes]:
    """(PNG, SVG) bytes of one figure in ``lang``. Diagrams are symbols only (the same in every
    language) and keep their hand-written SVG."""
    if name in DIAGRAMS:
        diagram = DIAGRAMS[name]()
        png, _ = figure_bytes(diagrams.to_figure(diagram))
        return png, diagrams.to_svg(diagram).encode()
    with matplotlib.rc_context(figure_style(lang)):  # every text made while drawing gets the language's fonts
        figure = DRAW[name](data, figure_words(lang))
    return figure_bytes(figure, lang)


def render_figures(report: ReportData, on_progress: ProgressCallback | None = None) -> dict[str, tuple[bytes, bytes]]:
    """(PNG, SVG) of every figure of ``report``, by name; progress continues the claims' count."""
    rendered = {}
    total = CLAIMS_WORK + FIGURE_WORK
    for index, figure in enumerate(report.figures):
        if on_progress is not None:
            on_progress(Progress(CLAIMS_WORK + FIGURE_WORK * index / len(report.figures), total,
                                 f"figure {figure.name}"))
        rendered[figure.name] = render_figure(figure.name, figure.data, report.config.lang)
    if on_progress is not None:
        on_progress(Progress(total, total, "figures done"))
    return rendered
