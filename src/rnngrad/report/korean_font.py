"""The report's Korean font: a subset of Noto Sans CJK KR shipped in ``rnngrad/report/fonts/``.

Machines with only DejaVu or Liberation fonts draw Hangul as empty boxes, so the Korean report
brings its own: the page embeds the WOFF2 through ``@font-face`` (a ``data:`` URL, nothing loaded
from the network), and the Korean figures register the OTF with matplotlib, which cannot read
WOFF2. Only Hangul and CJK punctuation come from it (``unicode-range``; matplotlib falls back to it
after DejaVu Sans), so Latin letters, digits and symbols look the same in both languages.
``tools/build_korean_font.py`` builds both files; the licence is ``fonts/OFL.txt``.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from importlib import resources
from pathlib import Path

FAMILY = "rnngrad Korean"
FONT_FOLDER = "fonts"
UNICODE_RANGE = "U+1100-11FF, U+3000-303F, U+3130-318F, U+AC00-D7A3, U+FF00-FFEF"


def font_file(suffix: str) -> Path:
    """The shipped font file, ``otf`` or ``woff2``."""
    return Path(str(resources.files("rnngrad.report").joinpath(FONT_FOLDER, f"rnngrad-korean.{suffix}")))


@lru_cache(maxsize=1)
def font_face_css() -> str:
    """An ``@font-face`` rule with the WOFF2 inlined, for Hangul only."""
    data = base64.b64encode(font_file("woff2").read_bytes()).decode("ascii")
    return (f'@font-face{{font-family:"{FAMILY}";src:url(data:font/woff2;base64,{data}) format("woff2");'
            f"unicode-range:{UNICODE_RANGE};font-display:block}}")


@lru_cache(maxsize=1)
def matplotlib_family() -> list[str]:
    """The ``font.family`` for Korean figures: DejaVu Sans, then the Korean subset (registered once)."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(font_file("otf")))
    return ["DejaVu Sans", FAMILY]
