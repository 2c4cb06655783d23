"""Typeset math, the Korean font and Korean figures, the glossary, and progress off a terminal."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from html import escape

import pytest
from fontTools.ttLib import TTFont
from typer.testing import CliRunner

import rnngrad.cli.claims_command  # noqa: F401  (registers the command)
from rnngrad.cli._app import app
from rnngrad.report import text_en, text_ko
from rnngrad.report.diagrams import lstm_diagram
from rnngrad.report.equations import CLAIM_FORMULAS, EQUATIONS, mathml
from rnngrad.report.figure_text import FIGURE_TEXT
from rnngrad.report.figures import DIAGRAMS
from rnngrad.report.korean_font import font_file

HANGUL = re.compile(r"[\uac00-\ud7a3]")
MATHML = "{http://www.w3.org/1998/Math/MathML}"
GLOSSARY = {"carousel", "chrono", "irnn", "horizon", "lyapunov", "decades"}


def page(folder) -> str:
    return (folder / "index.html").read_text(encoding="utf-8")


def document(folder) -> dict:
    return json.loads((folder / "report.json").read_text(encoding="utf-8"))


# --- math -------------------------------------------------------------------------------------------

def test_every_equation_is_valid_mathml_with_its_plain_text():
    for number, formula in EQUATIONS.items():
        root = ElementTree.fromstring(mathml(formula, "block"))
        assert root.tag == MATHML + "math" and root.get("display") == "block", number
        assert root.get("alttext") == formula.text
        assert "\\" not in "".join(root.itertext()), (number, formula.latex)  # no LaTeX left unconverted
        assert root.find(f".//{MATHML}mfrac") is not None or "/" in formula.text or number in (1, 6, 9, 12)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_page_typesets_every_equation_and_json_keeps_the_plain_text(language, written_report, written_report_ko):
    folder = written_report if language == "en" else written_report_ko
    html, stored = page(folder), document(folder)
    blocks = re.findall(r'<div class="eq" id="eq(\d+)"><span>(<math .*?</math>)</span>', html)
    assert [int(number) for number, _ in blocks] == sorted(EQUATIONS)
    for number, element in blocks:
        assert 'display="block"' in element and 'alttext="' in element
    assert [(e["number"], e["text"], e["latex"]) for e in stored["equations"]] == [
        (number, formula.text, formula.latex) for number, formula in EQUATIONS.items()]
    assert next(e for e in stored["equations"] if e["number"] == 4)["note"] == (
        text_en if language == "en" else text_ko).TEXT["equation_notes"][4]


@pytest.mark.parametrize("language", ["en", "ko"])
def test_claim_formulas_are_typeset_in_the_table_and_kept_as_text(language, written_report, written_report_ko):
    folder = written_report if language == "en" else written_report_ko
    html, stored = page(folder), document(folder)
    rows = dict(re.findall(r'<tr data-claim="(C\d+)">(.*?)</tr>', html))
    for claim in stored["claims"]:
        formulas = CLAIM_FORMULAS.get(claim["id"], ())
        assert [f["text"] for f in claim["formulas"]] == [f.text for f in formulas]
        for formula in formulas:
            assert formula.text in claim["statement"], (claim["id"], formula.text)  # plain text kept
            assert f'alttext="{escape(formula.text)}"' in rows[claim["id"]], (claim["id"], formula.text)
        statement_cell = re.search(r"</td><td>(.*?)</td>", rows[claim["id"]]).group(1)
        assert statement_cell.count("<math ") >= len(formulas)
    assert sum(len(formulas) for formulas in CLAIM_FORMULAS.values()) >= 13


def test_english_claim_statements_hold_their_formulas(quick_report):
    for claim in quick_report.claims:
        for formula in CLAIM_FORMULAS.get(claim.id, ()):
            assert formula.text in claim.claim, (claim.id, formula.text)


# --- Korean: font, verdicts, figures -----------------------------------------------------------------

def test_korean_font_files_are_small_licensed_and_cover_the_page(written_report_ko, quick_report_ko):
    otf, woff2 = font_file("otf"), font_file("woff2")
    assert otf.stat().st_size + woff2.stat().st_size < 1_500_000
    assert (otf.parent / "OFL.txt").read_text(encoding="utf-8").count("SIL OPEN FONT LICENSE") == 1
    html = re.sub(r"url\([^)]*\)", "", page(written_report_ko))
    needed = set(HANGUL.findall(html)) | set(HANGUL.findall(json.dumps(document(written_report_ko), ensure_ascii=False)))
    needed |= {char for text in FIGURE_TEXT["ko"].values() for char in HANGUL.findall(text)}
    assert len(needed) > 200
    for path in (otf, woff2):
        font = TTFont(str(path))
        assert font["name"].getDebugName(1) == "rnngrad Korean"
        missing = sorted(needed - {chr(code) for code in font.getBestCmap()})
        assert not missing, f"{path.name} lacks {''.join(missing)}: rerun tools/build_korean_font.py"


def test_verdicts_carry_a_label_in_the_report_language(written_report, written_report_ko):
    for folder, text in ((written_report, text_en), (written_report_ko, text_ko)):
        for claim in document(folder)["claims"]:
            assert claim["verdict_label"] == text.TEXT["verdicts"][claim["verdict"]]
    assert all(HANGUL.search(claim["verdict_label"]) for claim in document(written_report_ko)["claims"])


def test_korean_figures_have_korean_words(quick_figures, quick_figures_ko):
    assert quick_figures.keys() == quick_figures_ko.keys()
    for name, (png, svg) in quick_figures_ko.items():
        if name in DIAGRAMS:  # symbols only: the same in every language
            assert (png, svg) == quick_figures[name]
            assert not HANGUL.search(svg.decode())
        else:
            assert png != quick_figures[name][0] and svg != quick_figures[name][1], name
    symbols_only = {"carousel", "one_over_e", "function", "derivative", "grid_x", "grid_title", "tanh_rnn", "lstm",
                    "spectral_norm", "relative_grad"}
    for key, text in FIGURE_TEXT["ko"].items():
        assert (text == FIGURE_TEXT["en"][key]) if key in symbols_only else HANGUL.search(text), key
    assert FIGURE_TEXT["en"].keys() == FIGURE_TEXT["ko"].keys()


def test_korean_labels_mixing_words_and_symbols_avoid_mathtext():
    for key, text in FIGURE_TEXT["ko"].items():
        assert not (HANGUL.search(text) and "$" in text), key  # mathtext has no Hangul glyphs


def test_lstm_diagram_multiplies_i_and_candidate_before_the_sum():
    items = lstm_diagram().items
    nodes = {(item.x, item.y): item.label for item in items if type(item).__name__ == "Node"}
    assert list(nodes.values()).count("×") == 3 and list(nodes.values()).count("+") == 1  # f⊙C, i⊙C̃, o⊙tanh
    labels = [item for item in items if type(item).__name__ == "Label"]
    dotted = next(item for item in items if type(item).__name__ == "Arrow" and item.style == "dotted")
    for label in labels:  # the dotted path passes no label (labels are ~12 px tall, above their y)
        for (x0, y0), (x1, y1) in zip(dotted.points, dotted.points[1:]):
            if y0 == y1 and min(x0, x1) <= label.x <= max(x0, x1) and label.color != dotted.color:
                assert not (label.y - 14 <= y0 <= label.y + 3), label.text


# --- glossary ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["en", "ko"])
def test_glossary_explains_the_words_the_report_uses(language, written_report, written_report_ko):
    html = page(written_report if language == "en" else written_report_ko)
    assert set(re.findall(r'<dt id="term-([a-z]+)">', html)) == GLOSSARY
    text = text_en if language == "en" else text_ko
    assert {term_id for term_id, _, _ in text.TEXT["glossary"]} == GLOSSARY
    assert html.index('id="glossary"') > html.index('id="method"')


# --- progress off a terminal ------------------------------------------------------------------------

def test_claims_print_a_line_per_stage_on_stderr_when_not_a_terminal(monkeypatch):
    import rnngrad.cli.claims_command as command
    from rnngrad.claims import ClaimResult, Progress

    def fake_run_claims(config, on_progress):
        for index, label in enumerate(("C1 RNN chain rule", "C1 RNN chain rule", "C2 closed form")):
            on_progress(Progress(index, 3, label))
        return [ClaimResult("C1", "claim", "holds", {"headline": "h"}, None, {})]

    monkeypatch.setattr(command, "run_claims", fake_run_claims)
    result = CliRunner().invoke(app, ["claims", "--quick"])
    assert result.exit_code == 0, result.output
    lines = result.stderr.strip().splitlines()
    assert [line.split("% ", 1)[1].rsplit(" (", 1)[0] for line in lines[:-1]] == ["C1 RNN chain rule", "C2 closed form"]
    assert lines[0].startswith("claims:   0% ") and lines[-1].startswith("claims: done")
    assert "claims:" not in result.stdout
