"""Build the explorer's Korean font: Noto Sans CJK KR cut to the characters of the explorer's Korean page.

    apt-get download fonts-noto-cjk && dpkg-deb -x fonts-noto-cjk_*.deb /tmp/noto
    python tools/build_explore_font.py /tmp/noto/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

Writes ``src/rnngrad/explore/assets/explore-korean.woff2``, which the Korean page embeds through
``@font-face`` (a ``data:`` URL). The same source, renaming and licence as the report's font
(``tools/build_korean_font.py``, whose helpers this reuses; licence ``src/rnngrad/report/fonts/OFL.txt``),
but its own characters: every Korean one in ``src/rnngrad/explore/texts.py``. Rerun it after
changing the Korean words there; the explorer's browser test fails when a Hangul glyph is missing.
Needs fonttools and brotli (``pip install fonttools brotli``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_korean_font import KOREAN, ROOT, korean_face, rename, subset_options  # noqa: E402

TEXTS = ROOT / "src" / "rnngrad" / "explore" / "texts.py"
OUT = ROOT / "src" / "rnngrad" / "explore" / "assets" / "explore-korean.woff2"


def explorer_characters() -> str:
    return "".join(sorted(set(KOREAN.findall(TEXTS.read_text(encoding="utf-8")))))


def build(collection_path: Path) -> Path:
    options = subset_options()
    font = korean_face(collection_path)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=explorer_characters())
    subsetter.subset(font)
    rename(font)
    font.flavor = "woff2"
    font.save(str(OUT))
    return OUT


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    path = build(Path(sys.argv[1]))
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size} bytes, {len(explorer_characters())} characters")
