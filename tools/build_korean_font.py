"""Build the report's Korean font: a subset of Noto Sans CJK KR to the characters the report uses.

    apt-get download fonts-noto-cjk && dpkg-deb -x fonts-noto-cjk_*.deb /tmp/noto
    python tools/build_korean_font.py /tmp/noto/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

Writes ``src/rnngrad/report/fonts/rnngrad-korean.otf`` (matplotlib reads it for the Korean figures)
and ``rnngrad-korean.woff2`` (embedded in the Korean page by ``@font-face``). The source is Debian's
``fonts-noto-cjk`` (Noto Sans CJK KR, © 2014-2021 Adobe, SIL Open Font License 1.1, no reserved font
name); the subset is renamed "rnngrad Korean" and keeps the copyright and licence records. The
licence is ``src/rnngrad/report/fonts/OFL.txt``.

The characters are every Hangul letter and CJK punctuation mark in ``src/rnngrad/report/*.py``
(the Korean text and figure labels). Rerun this script after adding Korean words there:
``tests/report/test_math_and_korean.py`` fails when a Korean character of the report is missing.
Needs fonttools and brotli (``pip install fonttools brotli``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "src" / "rnngrad" / "report"
OUT = SOURCES / "fonts"
FAMILY = "rnngrad Korean"
KOREAN = re.compile(r"[\u1100-\u11ff\u3000-\u303f\u3130-\u318f\uac00-\ud7a3\uff00-\uffef]")


def report_characters() -> str:
    """Every Korean character written in the report's modules, sorted."""
    found = set()
    for path in sorted(SOURCES.glob("*.py")):
        found.update(KOREAN.findall(path.read_text(encoding="utf-8")))
    return "".join(sorted(found))


def korean_face(collection_path: Path):
    """The KR face of Noto Sans CJK's collection."""
    for font in TTCollection(str(collection_path)).fonts:
        if font["name"].getDebugName(4) == "Noto Sans CJK KR":
            return font
    raise SystemExit(f"{collection_path}: expected a Noto Sans CJK collection with a KR face")


def rename(font) -> None:
    """Give the subset its own family name (a modified version), keeping copyright and licence."""
    names = font["name"]
    postscript = FAMILY.replace(" ", "")
    for record in list(names.names):
        if record.nameID in (1, 4, 16):
            names.setName(FAMILY, record.nameID, record.platformID, record.platEncID, record.langID)
        elif record.nameID in (3, 6):
            names.setName(postscript, record.nameID, record.platformID, record.platEncID, record.langID)
        elif record.nameID in (17, 2):
            names.setName("Regular", record.nameID, record.platformID, record.platEncID, record.langID)
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [postscript]
        top = cff.topDictIndex[0]
        for key in ("FullName", "FamilyName"):
            if hasattr(top, key):
                setattr(top, key, FAMILY)


def subset_options() -> subset.Options:
    """fontTools' subsetting options for both fonts: every layout feature and name, CFF flattened."""
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.desubroutinize = True
    return options


def build(collection_path: Path) -> list[Path]:
    characters = report_characters()
    options = subset_options()
    written = []
    for flavor, suffix in ((None, "otf"), ("woff2", "woff2")):
        font = korean_face(collection_path)
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=characters)
        subsetter.subset(font)
        rename(font)
        font.flavor = flavor
        path = OUT / f"rnngrad-korean.{suffix}"
        font.save(str(path))
        written.append(path)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    for path in build(Path(sys.argv[1])):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size} bytes")
    print(f"{len(report_characters())} characters")
