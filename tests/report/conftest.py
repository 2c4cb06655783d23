"""One quick report per test session: measured once, rendered once, written in both languages."""

from __future__ import annotations

import dataclasses

import pytest

from rnngrad.report import ReportConfig, build_report, render_figures, write_report


@pytest.fixture(scope="session")
def quick_report():
    return build_report(ReportConfig(quick=True))


@pytest.fixture(scope="session")
def quick_figures(quick_report):
    return render_figures(quick_report)


@pytest.fixture(scope="session")
def quick_report_ko(quick_report):
    """The same measurements, in Korean (the language changes only the words)."""
    return dataclasses.replace(quick_report, config=dataclasses.replace(quick_report.config, lang="ko"))


@pytest.fixture(scope="session")
def quick_figures_ko(quick_report_ko):
    return render_figures(quick_report_ko)


@pytest.fixture(scope="session")
def written_report(quick_report, quick_figures, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports") / "en"
    write_report(quick_report, quick_figures, out)
    return out


@pytest.fixture(scope="session")
def written_report_ko(quick_report_ko, quick_figures_ko, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports") / "ko"
    write_report(quick_report_ko, quick_figures_ko, out)
    return out


@pytest.fixture(scope="session")
def claims_by_id(quick_report):
    return {claim.id: claim for claim in quick_report.claims}
