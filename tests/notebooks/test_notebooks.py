"""The notebooks in docs/notebooks run from top to bottom (nbclient, a fresh kernel each), and the
numbers their last cell prints equal rnngrad's, computed here afresh."""

from __future__ import annotations

import ast
import json
import math
import re
from pathlib import Path

import pytest
import torch

from rnngrad import LSTMCell, RNNCell, jacobian_through_time
from rnngrad.claims import ClaimsConfig, run_claims
from rnngrad.init import forget_bias

nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install -e '.[test]')")
nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install -e '.[test]')")

NOTEBOOKS = sorted((Path(__file__).parents[2] / "docs" / "notebooks").glob("*.ipynb"))
TIMEOUT_S = 300  # per cell: only how long a stuck kernel may hang before the test fails


@pytest.fixture(scope="module")
def expected():
    inputs = torch.randn(200, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    rnn = RNNCell(4, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        rnn.weight_hh /= torch.linalg.matrix_norm(rnn.weight_hh, ord=2)  # ‖W_hh‖₂ = 1
    lstm = forget_bias(LSTMCell(4, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(0)), math.log(99))
    rnn_result, lstm_result = jacobian_through_time(rnn, inputs), jacobian_through_time(lstm, inputs)
    claim = run_claims(ClaimsConfig(), only=("C7",))[0]
    return {"rnn_gain_1_lag_100": float(rnn_result.log10_norm[200 - 100]),
            "lstm_099_lag_200": float(lstm_result.log10_norm[0]),
            "lstm_099_carousel_lag_200": float(lstm_result.log10_carousel[0]),
            "claim": [claim.id, claim.verdict]}


def test_both_languages_are_there():
    assert [path.name for path in NOTEBOOKS] == ["why-lstm-resists-vanishing-gradients-en.ipynb",
                                                  "why-lstm-resists-vanishing-gradients-ko.ipynb"]


def words_cell(notebook):
    """The one code cell tagged "words": the figure's words in the notebook's language."""
    (cell,) = [cell for cell in notebook.cells if "words" in cell.metadata.get("tags", [])]
    return cell


def words_of(source: str) -> dict[str, str]:
    """The literal ``WORDS = {...}`` of a words cell (the cell may hold IPython magics)."""
    start = source.index("WORDS = {")
    return ast.literal_eval(source[start + len("WORDS = "):source.index("\n}", start) + 2])


def test_the_languages_run_the_same_code():
    english, korean = (nbformat.read(path, as_version=4) for path in NOTEBOOKS)

    def shared_code(notebook):
        return [cell.source for cell in notebook.cells if cell.cell_type == "code" and cell is not words_cell(notebook)]

    assert shared_code(english) == shared_code(korean)
    assert [cell.cell_type for cell in english.cells] == [cell.cell_type for cell in korean.cells]
    assert english.cells.index(words_cell(english)) == korean.cells.index(words_cell(korean))


def test_the_korean_figure_has_korean_words_that_the_bundled_font_draws():
    """Hangul in matplotlib needs a font that has it: the Korean notebook registers rnngrad's
    bundled subset, so every Hangul letter of its code must be in that subset (no tofu boxes)."""
    from fontTools.ttLib import TTFont

    from rnngrad.report.korean_font import font_file

    english, korean = (nbformat.read(path, as_version=4) for path in NOTEBOOKS)
    assert 'plt.rcParams["font.family"] = matplotlib_family()' in words_cell(korean).source
    words_en, words_ko = (words_of(words_cell(notebook).source) for notebook in (english, korean))
    assert words_en.keys() == words_ko.keys()
    hangul = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
    assert all(hangul.search(words_ko[key]) for key in ("title", "lag", "full", "carousel"))
    covered = {chr(code) for code in TTFont(str(font_file("otf"))).getBestCmap()}
    letters = set(hangul.findall("".join(cell.source for cell in korean.cells if cell.cell_type == "code")))
    assert letters and not letters - covered, f"not in the bundled font: {''.join(sorted(letters - covered))}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_and_its_numbers_are_rnngrads(path, expected, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core's path migration warning, not ours
    notebook = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")  # stored clean
    nbclient.NotebookClient(notebook, timeout=TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert [o for o in outputs if o.output_type == "error" or o.get("name") == "stderr"] == []  # no error, no warning
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the figure was drawn
    numbers_cell = next(cell for cell in notebook.cells if "numbers" in cell.metadata.get("tags", []))
    numbers = json.loads("".join(o.text for o in numbers_cell.outputs if o.output_type == "stream"))
    for key in ("rnn_gain_1_lag_100", "lstm_099_lag_200", "lstm_099_carousel_lag_200"):
        assert abs(numbers[key] - expected[key]) < 1e-9, key
    assert numbers["claim"] == expected["claim"]
    assert numbers["rnn_gain_1_lag_100"] < -10 < numbers["lstm_099_carousel_lag_200"] < 0 < numbers["lstm_099_lag_200"]
    assert numbers["horizon_099"] > numbers["horizon_default"]  # f ≈ 0.99 remembers longer in a real torch.nn.LSTM
