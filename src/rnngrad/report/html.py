"""The report page: one self-contained HTML document built from ``report.json``'s content.

No script, no remote anything: styles are inline, figures are files under ``assets/`` next to the
page, equations are MathML (:mod:`rnngrad.report.equations`), and a page with Korean text embeds
the shipped Korean font as a ``data:`` URL (:mod:`rnngrad.report.korean_font`). The structure follows the seed post —
RNN, LSTM, appendix "why tanh?" — with the diagonal recurrences that followed the LSTM right after
it, and the adding problem (the title's promise) before the appendix; only the words change with
the language.
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any, Callable, Mapping

from rnngrad.report.equations import CLAIM_FORMULAS, EQUATIONS, mathml, with_formulas
from rnngrad.report.korean_font import FAMILY, font_face_css

_SCRIPT = re.compile(r"([_^])\{([^}]*)\}")

HANGUL = re.compile(r"[\uac00-\ud7a3]")
STYLE = """
body{margin:0;background:#fafafa;color:#222;font:16px/1.6 "%(korean)s",system-ui,-apple-system,"Segoe UI",
"DejaVu Sans",sans-serif}
main{max-width:1000px;margin:0 auto;padding:24px 28px 64px;background:#fff}
h1{font-size:1.7em;line-height:1.25}h2{margin-top:2.2em;border-bottom:2px solid #ddd;padding-bottom:.2em}
h3{font-size:1.05em;margin:.2em 0 .4em}
.lead{font-size:1.05em;color:#444}.note{color:#8a5a00;background:#fff6e0;padding:6px 10px;border-radius:4px}
.meta{color:#666;font-size:.9em}
table.claims{border-collapse:collapse;width:100%;font-size:.9em}
table.claims th,table.claims td{border-bottom:1px solid #e3e3e3;padding:6px 8px;text-align:left;vertical-align:top}
table.claims th{background:#f3f5f7}
.verdict{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.85em;font-weight:600;white-space:nowrap}
.v-holds{background:#e3f4e5;color:#1e6b2c}.v-caveat{background:#fff1d6;color:#8a5a00}
.v-fails{background:#fbe3e3;color:#9b1c1c}
.eq{display:flex;justify-content:space-between;align-items:center;margin:.8em 0;padding:.5em 1em;background:#f6f8fa;
border-left:3px solid #9db4c8;overflow-x:auto}
.eq math{font-size:1.15em}.eqnote{color:#555;font-size:.9em;margin-left:1em}
math{font-family:"DejaVu Math TeX Gyre","STIX Two Math","Latin Modern Math",math}
.eqno{color:#666;margin-left:1em;white-space:nowrap}
dl.glossary dt{font-weight:600;margin-top:.6em}dl.glossary dd{margin-left:1.2em}
section.claim{border:1px solid #e3e3e3;border-radius:6px;padding:10px 14px;margin:1.2em 0;background:#fcfcfd}
figure{margin:1em 0;text-align:center}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.88em;color:#444;text-align:left;margin-top:.3em}
details pre{font-size:.75em;max-height:320px;overflow:auto;background:#f6f8fa;padding:8px}
"""

VERDICT_CLASS = {"holds": "v-holds", "holds with caveat": "v-caveat", "does not hold": "v-fails"}
SECTIONS = (
    ("rnn", "rnn_heading", ("p:rnn_intro", "eq:1", "fig:rnn_diagram", "p:rnn_chain", "eq:2", "eq:3", "claim:C1",
                            "p:rnn_closed", "eq:4", "eq:5", "claim:C2", "p:rnn_regimes", "claim:C3", "claim:C4")),
    ("lstm", "lstm_heading", ("p:lstm_intro", "eq:6", "fig:lstm_diagram", "p:lstm_carousel", "eq:7", "claim:C5",
                              "p:lstm_full", "claim:C6", "p:lstm_memory", "eq:8", "claim:C7",
                              "p:spectrum_text", "fig:spectrum")),
    ("diagonal", "diagonal_heading", ("p:diagonal_intro", "eq:9", "p:diagonal_exact", "eq:10", "claim:C12",
                                      "p:diagonal_horizon", "eq:11", "claim:C13", "p:diagonal_numbers",
                                      "p:diagonal_training", "claim:C14")),
    ("practice", "practice_heading", ("p:practice_intro", "claim:C11")),
    ("appendix", "appendix_heading", ("p:appendix_intro", "eq:12", "claim:C8", "claim:C9", "p:appendix_all",
                                      "fig:activation_grid", "claim:C10")),
    ("method", "method_heading", ("p:method",)),
    ("glossary", "glossary_heading", ("glossary",)),
)


def math_html(text: str) -> str:
    """``_{...}`` and ``^{...}`` markup to <sub>/<sup>, everything else escaped."""
    out, position = [], 0
    for match in _SCRIPT.finditer(text):
        out.append(escape(text[position : match.start()]))
        tag = "sub" if match.group(1) == "_" else "sup"
        out.append(f"<{tag}>{escape(match.group(2))}</{tag}>")
        position = match.end()
    out.append(escape(text[position:]))
    return "".join(out)


class _Page:
    """Builds the page top to bottom, numbering figures as they appear."""

    def __init__(self, document: Mapping[str, Any], text: Mapping[str, Any], headline: Callable[[Mapping], str]):
        self.document, self.text, self.headline = document, text, headline
        self.claims = {claim["id"]: claim for claim in document["claims"]}
        self.figures = {figure["name"]: figure for figure in document["figures"]}
        self.by_claim: dict[str, list[str]] = {}
        for figure in document["figures"]:
            if figure["claim"]:
                self.by_claim.setdefault(figure["claim"], []).append(figure["name"])
        self.number = 0
        self.parts: list[str] = []

    def statement(self, claim: Mapping[str, Any]) -> str:
        """The claim's statement as HTML, its formulas typeset."""
        text = self.text.get("claims", {}).get(claim["id"], claim["claim"])
        return with_formulas(text, CLAIM_FORMULAS.get(claim["id"], ()), math_html)

    def verdict(self, claim: Mapping[str, Any]) -> str:
        word = self.text["verdicts"][claim["verdict"]]
        return f'<span class="verdict {VERDICT_CLASS[claim["verdict"]]}" data-verdict="{escape(claim["verdict"])}">{escape(word)}</span>'

    def figure(self, name: str) -> str:
        figure = self.figures.get(name)
        if figure is None:
            return ""
        self.number += 1
        caption = figure["caption"]
        files = figure["files"]
        alt = _SCRIPT.sub(lambda match: match.group(1) + match.group(2), caption)
        return (f'<figure id="fig-{name}"><img src="{files["svg"]}" alt="{escape(alt)}" loading="eager">'
                f'<figcaption><b>{escape(self.text["figure"])} {self.number}.</b> {math_html(caption)} '
                f'<a href="{files["png"]}">PNG</a> · <a href="{files["svg"]}">SVG</a></figcaption></figure>')

    def claim(self, claim_id: str) -> str:
        claim = self.claims.get(claim_id)
        if claim is None:
            return ""
        figures = "".join(self.figure(name) for name in self.by_claim.get(claim_id, []))
        raw = escape(json.dumps(claim["evidence"], ensure_ascii=False, indent=1))
        return (f'<section class="claim" id="{claim_id}" data-claim="{claim_id}">'
                f"<h3>{claim_id} · {self.statement(claim)}</h3>"
                f"<p>{self.verdict(claim)} {math_html(self.headline(claim))}</p>{figures}"
                f"<details><summary>{escape(self.text['raw'])}</summary><pre>{raw}</pre></details></section>")

    def table(self) -> str:
        t = self.text
        rows = "".join(
            f'<tr data-claim="{c["id"]}"><td><a href="#{c["id"]}">{c["id"]}</a></td><td>{self.statement(c)}</td>'
            f"<td>{self.verdict(c)}</td><td>{math_html(self.headline(c))}</td></tr>"
            for c in self.document["claims"])
        return (f'<table class="claims" id="claims-table"><thead><tr><th>{t["col_id"]}</th><th>{escape(t["col_claim"])}'
                f'</th><th>{escape(t["col_verdict"])}</th><th>{escape(t["col_evidence"])}</th></tr></thead>'
                f"<tbody>{rows}</tbody></table>")

    def block(self, item: str) -> str:
        kind, _, key = item.partition(":")
        if kind == "p":
            return f"<p>{math_html(self.text[key])}</p>"
        if kind == "eq":
            note = self.text.get("equation_notes", {}).get(int(key))
            note_html = f'<span class="eqnote">{math_html(note)}</span>' if note else ""
            return (f'<div class="eq" id="eq{key}"><span>{mathml(EQUATIONS[int(key)], "block")}'
                    f'</span>{note_html}<span class="eqno">({key})</span></div>')
        if kind == "glossary":
            entries = "".join(f'<dt id="term-{escape(term_id)}">{escape(term)}</dt><dd>{math_html(meaning)}</dd>'
                              for term_id, term, meaning in self.text["glossary"])
            return f'<dl class="glossary">{entries}</dl>'
        if kind == "fig":
            return self.figure(key)
        return self.claim(key)

    def render(self) -> str:
        t, d = self.text, self.document
        notes = [f'<p class="note">{escape(t["quick_note"])}</p>'] if d["quick"] else []
        notes += [f'<p class="note">{escape(t["notes"].get(note, note))}</p>' for note in d.get("notes", [])]
        body = [f"<h1>{escape(t['title'])}</h1>", f'<p class="lead">{escape(t["subtitle"])}</p>', *notes,
                f'<p class="meta">{escape(t["seed_note"].format(seed=d["seed"]))} {escape(t["equation_note"])}</p>',
                f'<h2 id="claims">{escape(t["claims_heading"])}</h2>', self.table()]
        for section, heading, blocks in SECTIONS:
            body.append(f'<h2 id="{section}">{escape(t[heading])}</h2>')
            body.extend(self.block(item) for item in blocks)
        page = "".join(body)
        fonts = font_face_css() if HANGUL.search(page) else ""  # only a page with Hangul carries the font
        return (f'<!DOCTYPE html>\n<html lang="{t["lang"]}"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{escape(t['title'])}</title><style>{fonts}{STYLE.replace('%(korean)s', FAMILY)}</style></head>"
                f"<body><main>{page}</main></body></html>\n")


def render_html(document: Mapping[str, Any], text: Mapping[str, Any], headline: Callable[[Mapping], str]) -> str:
    """The page for a ``report.json`` document (with captions and file names filled in)."""
    return _Page(document, text, headline).render()
