"""The explorer's one self-contained page: the HTML template with its weights, words and scripts inlined.

The Korean page embeds its own Hangul font (a subset of Noto Sans CJK KR, SIL OFL 1.1, as the
report's). The page reads its weights from an inline ``<script type="application/json">`` (a copy of
``weights.json``), because a page opened from ``file://`` may not fetch a file beside it. Nothing is
loaded from the network.
"""

from __future__ import annotations

import base64
import html
import json
import re
from importlib import resources
from typing import Any

from rnngrad.errors import InputError
from rnngrad.explore.texts import DYNAMIC, LANGUAGES, STATIC

_TRUSTED_HTML = ("intro", "notes")  # written in texts.py, inserted as they are
FONT_FAMILY = "rnngrad Explore Korean"  # Hangul only (unicode-range): Latin stays in DejaVu Sans
_HANGUL = "U+1100-11FF, U+3000-303F, U+3130-318F, U+AC00-D7A3, U+FF00-FFEF"


def _asset(name: str) -> str:
    return resources.files("rnngrad.explore").joinpath("assets", name).read_text(encoding="utf-8")


def _inline_json(data: Any) -> str:
    """JSON safe inside <script>: no "</script>" or "<!--" can appear."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False).replace("<", "\\u003c")


def korean_font_script() -> str:
    """A script for <head> that adds the shipped Hangul subset of Noto Sans CJK KR (built by
    ``tools/build_explore_font.py``) as a FontFace from bytes, which Chromium loads at once, before the
    first layout (through a CSS ``data:`` URL it arrives later, and bold text shaped before keeps its
    fallback boxes). Machines with only DejaVu or Liberation fonts draw Hangul as empty boxes."""
    data = resources.files("rnngrad.explore").joinpath("assets", "explore-korean.woff2").read_bytes()
    font = {"family": FONT_FAMILY, "unicodeRange": _HANGUL, "data": base64.b64encode(data).decode("ascii")}
    return (f'<script type="application/json" id="explore-font">{_inline_json(font)}</script>\n'
            "<script>(() => {\n"
            '  const font = JSON.parse(document.getElementById("explore-font").textContent);\n'
            "  const bytes = Uint8Array.from(atob(font.data), c => c.charCodeAt(0));\n"
            '  document.fonts.add(new FontFace(font.family, bytes, {unicodeRange: font.unicodeRange}));\n'
            "})();</script>")


def check_language(lang: str) -> str:
    """``lang`` if the page has words in it, else an :class:`InputError`."""
    if lang not in LANGUAGES:
        raise InputError(f"lang: expected one of {', '.join(LANGUAGES)}, got {lang!r}")
    return lang


def explorer_html(weights: dict[str, Any], lang: str = "en") -> str:
    """The page ``index.html`` for ``weights`` (from :func:`~rnngrad.explore.explorer_weights`) in ``lang``."""
    words = STATIC[check_language(lang)]
    page = _asset("explore.html")
    fills = {name: value if name in _TRUSTED_HTML else html.escape(value) for name, value in words.items()}
    fills["lang"] = lang
    for name, value in fills.items():
        page = page.replace(f"@@{name}@@", value)
    data = {"font": korean_font_script() if lang == "ko" else "", "weights": _inline_json(weights), "text": _inline_json(DYNAMIC[lang]),
            "math": _asset("explore_math.js"), "page": _asset("explore_page.js")}
    left = set(re.findall(r"@@(\w+)@@", page)) - set(data)
    if left:
        raise AssertionError(f"explore.html: no words for {sorted(left)}")  # the template and texts.py disagree
    for name, value in data.items():  # last: the scripts and data are not searched for placeholders
        page = page.replace(f"@@{name}@@", value, 1)
    return page
