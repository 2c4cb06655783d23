"""The written report: files, self-containment, numbers shown = numbers stored, both languages."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ElementTree

import pytest

from rnngrad.claims import CLAIM_IDS
from rnngrad.report import FIGURE_PLAN, text_en, text_ko
from rnngrad.report.figures import render_figure
from rnngrad.report.writer import write_report

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def read(folder, name):
    return (folder / name).read_text(encoding="utf-8")


def test_every_figure_is_written_as_png_and_svg(written_report):
    document = json.loads(read(written_report, "report.json"))
    names = [figure["name"] for figure in document["figures"]]
    assert names == [name for name, _, _ in FIGURE_PLAN]
    for name in names:
        assert (written_report / "assets" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        root = ElementTree.fromstring((written_report / "assets" / f"{name}.svg").read_bytes())
        assert root.tag.endswith("svg") and root.get("width") and root.get("height")
    assert sorted(p.name for p in (written_report / "assets").iterdir()) == sorted(
        f"{name}.{ext}" for name in names for ext in ("png", "svg"))


@pytest.mark.parametrize("language", ["en", "ko"])
def test_page_loads_nothing_from_the_network(language, written_report, written_report_ko):
    folder = written_report if language == "en" else written_report_ko
    html = read(folder, "index.html")
    links = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html)
    assert links and all(not re.match(r"^(?:[a-z]+:)?//", link) for link in links)
    assert all(link.startswith(("#", "assets/")) for link in links)
    for forbidden in ("<script", "<link", "@import", "<iframe"):
        assert forbidden not in html
    urls = re.findall(r"url\(([^)]*)\)", html)
    assert all(url.startswith("data:font/woff2;base64,") for url in urls)  # only the embedded font
    assert len(urls) == html.count("@font-face") == (1 if language == "ko" else 0)
    for svg in (folder / "assets").glob("*.svg"):
        assert not re.search(r'href="(?:https?:)?//', svg.read_text(encoding="utf-8"))


def test_table_and_sections_show_every_claim_with_the_stored_numbers(written_report, quick_report):
    html = read(written_report, "index.html")
    document = json.loads(read(written_report, "report.json"))
    rows = re.findall(r'<tr data-claim="(C\d+)">.*?data-verdict="([^"]+)"', html)
    assert [claim_id for claim_id, _ in rows] == list(CLAIM_IDS)
    for (claim_id, verdict), stored, measured in zip(rows, document["claims"], quick_report.claims):
        assert stored["id"] == claim_id and stored["verdict"] == verdict == measured.verdict
        assert stored["evidence"] == json.loads(json.dumps(dict(measured.evidence)))
        assert f'<section class="claim" id="{claim_id}"' in html
    for figure in document["figures"]:
        assert f'src="assets/{figure["name"]}.svg"' in html and figure["caption"]
    assert html.count("<figure") == len(document["figures"])
    assert [h for h in ("Recurrent Neural Network", "Long Short-Term Memory", "Appendix: why tanh?") if h in html] == [
        "Recurrent Neural Network", "Long Short-Term Memory", "Appendix: why tanh?"]
    assert document["quick"] is True and document["seed"] == 0 and document["lang"] == "en"


def test_korean_report_has_korean_text_and_the_same_numbers(written_report, written_report_ko):
    html = read(written_report_ko, "index.html")
    assert '<html lang="ko">' in html and "부록: 왜 tanh인가?" in html and "주장 한눈에 보기" in html
    for key, value in text_en.TEXT.items():
        if isinstance(value, str) and len(value) > 30:
            assert value not in html, key
    document = json.loads(read(written_report_ko, "report.json"))
    english = json.loads(read(written_report, "report.json"))
    for claim, same in zip(document["claims"], english["claims"]):
        assert claim["evidence"] == same["evidence"] and claim["verdict"] == same["verdict"]
        assert HANGUL.search(claim["headline"]) and HANGUL.search(claim["statement"])
        assert text_ko.TEXT["verdicts"][claim["verdict"]] in html
    assert all(HANGUL.search(figure["caption"]) for figure in document["figures"])
    assert [f["data"] for f in document["figures"]] == [f["data"] for f in english["figures"]]


def test_figures_are_deterministic(quick_report, quick_figures):
    figure = next(f for f in quick_report.figures if f.name == "lstm_carousel")
    assert render_figure(figure.name, figure.data) == quick_figures[figure.name]


def test_a_symlinked_out_is_followed_and_the_link_kept(quick_report, quick_figures, tmp_path):
    """write_report given a symlink to an empty folder writes into that folder; the user's link
    stays a link (issue 17: it was replaced by a real folder)."""
    target = tmp_path / "target"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target)
    index = write_report(quick_report, quick_figures, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert index.resolve() == (target / "index.html").resolve() and (target / "index.html").is_file()
