"""Collect → plain data: run every claim and gather the data of every figure (no files, no printing).

:func:`build_report` returns a :class:`ReportData`; :mod:`rnngrad.report.figures` turns its
figure data into PNG and SVG bytes, :mod:`rnngrad.report.html` into the page, and
:mod:`rnngrad.report.writer` writes the folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from rnngrad._version import __version__
from rnngrad.claims import ClaimResult, ClaimsConfig, Progress, ProgressCallback, run_claims
from rnngrad.errors import InputError, require_positive_int
from rnngrad.report.figures_activations import activation_grid_data
from rnngrad.report.figures_spectrum import spectrum_data

LANGUAGES = ("en", "ko")
FORMAT = "rnngrad.report"
FORMAT_VERSION = 1

# (figure name, report section, claim whose series it draws, or None)
FIGURE_PLAN = (
    ("rnn_diagram", "rnn", None),
    ("rnn_closed_form", "rnn", "C2"),
    ("rnn_gradient_norms", "rnn", "C3"),
    ("regime_map", "rnn", "C4"),
    ("lstm_diagram", "lstm", None),
    ("lstm_carousel", "lstm", "C5"),
    ("lstm_explosion", "lstm", "C6"),
    ("memory_horizon", "lstm", "C7"),
    ("spectrum", "lstm", None),
    ("diagonal_horizons", "diagonal", "C13"),
    ("diagonal_profiles", "diagonal", "C13"),
    ("training_curves", "practice", "C11"),
    ("gradient_profiles", "practice", "C11"),
    ("sigmoid", "appendix", "C8"),
    ("tanh", "appendix", "C9"),
    ("activation_grid", "appendix", None),
    ("decay_rates", "appendix", "C10"),
)


@dataclass(frozen=True)
class ReportConfig:
    """What ``rnngrad report`` measures. The language only changes the words, never the numbers."""

    seed: int = 0  # every experiment derives its random streams from it
    quick: bool = False  # small sizes (tests); the verdicts of a quick report are not the real ones
    lang: str = "en"  # "en" or "ko"
    workers: int = 1  # processes for the training runs (>1 needs a __main__ guard in scripts); same numbers

    def __post_init__(self) -> None:
        if self.lang not in LANGUAGES:
            raise InputError(f"lang: expected one of {', '.join(LANGUAGES)}, got {self.lang!r}")
        require_positive_int("workers", self.workers)
        self.claims_config()  # validates the seed

    def claims_config(self) -> ClaimsConfig:
        return ClaimsConfig.quick(self.seed, train_workers=self.workers) if self.quick else \
            ClaimsConfig(seed=self.seed, train_workers=self.workers)


@dataclass(frozen=True)
class FigureData:
    """One figure: where it goes and the JSON-ready numbers it draws."""

    name: str
    section: str  # "rnn", "lstm", "diagonal", "practice" or "appendix"
    claim: str | None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, as plain data."""

    config: ReportConfig
    claims: tuple[ClaimResult, ...]
    figures: tuple[FigureData, ...]
    notes: tuple[str, ...] = ()  # keys of the text tables' "notes": what was left out, and why

    def to_json(self) -> dict[str, Any]:
        """The language-independent part of ``report.json`` (every number shown)."""
        return {
            "format": FORMAT, "version": FORMAT_VERSION, "rnngrad_version": __version__,
            "seed": self.config.seed, "quick": self.config.quick,
            "claims": [claim.to_json() for claim in self.claims],
            "figures": [{"name": f.name, "section": f.section, "claim": f.claim, "data": dict(f.data)}
                        for f in self.figures],
            "notes": list(self.notes),
        }


FIGURE_WORK = 6.0  # progress units the figures take after the claims (one bar covers both)


def build_report(config: ReportConfig, on_progress: ProgressCallback | None = None) -> ReportData:
    """Run every claim experiment and gather the figure data of the report.

    Args:
        config: seed, quick, language and training processes.
        on_progress: called with :class:`~rnngrad.claims.Progress`; the figure work that follows
            (:func:`rnngrad.report.figures.render_figures`) is counted in the same total.
    """
    claims = tuple(run_claims(config.claims_config(), on_progress, work_after=FIGURE_WORK))
    by_id = {claim.id: claim for claim in claims}
    figures, notes = [], []
    for name, section, claim in FIGURE_PLAN:
        if name == "activation_grid":
            data: Mapping[str, Any] = activation_grid_data()
        elif name == "spectrum":
            data = spectrum_data(config.seed, config.quick)
        elif name == "gradient_profiles":
            data = by_id["C11"].series
            if not data.get("profiles"):
                continue
        else:
            data = by_id[claim].series if claim else {}
        figures.append(FigureData(name, section, claim, data))
    return ReportData(config, claims, tuple(figures), tuple(notes))


__all__ = ["FIGURE_PLAN", "FORMAT", "LANGUAGES", "FigureData", "Progress", "ReportConfig", "ReportData",
           "build_report"]
