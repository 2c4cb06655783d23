"""``rnngrad report``: the seed's claims, measured, as a self-contained HTML report.

Collect (:func:`build_report`) → render figures (:func:`render_figures`, bytes) → write
(:func:`write_report`: ``index.html``, ``report.json``, ``assets/``); :func:`run_report` does all
three into a checked folder.
"""

from rnngrad.report._build import FIGURE_PLAN, LANGUAGES, FigureData, ReportConfig, ReportData, build_report
from rnngrad.report.figures import render_figures
from rnngrad.report.run import run_report
from rnngrad.report.writer import check_out, is_previous_report, report_document, write_report

__all__ = [
    "FIGURE_PLAN",
    "LANGUAGES",
    "FigureData",
    "ReportConfig",
    "ReportData",
    "build_report",
    "check_out",
    "is_previous_report",
    "render_figures",
    "report_document",
    "run_report",
    "write_report",
]
