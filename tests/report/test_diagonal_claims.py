"""C12 and C13 (the diagonal recurrences): verdict rules on fixed evidence, the quick measurement,
the autograd oracle's power, the figures and the report section."""

from __future__ import annotations

import json
import math
import re

import torch

from rnngrad.claims import VERDICTS, ClaimsConfig, run_claims
from rnngrad.claims._result import EXACT
from rnngrad.claims._tools import relative_error
from rnngrad.claims.diagonal_claims import (CELLS, INPUT_SIZE, LOOSE, TOLERANCE, autograd_jacobians,
                                            decide_exact_product, decide_horizon, real_view)
from rnngrad.report.figures import render_figure
from rnngrad.report.html import math_html

HOLDS, CAVEAT, FAILS = VERDICTS


# --- the verdict rules on fixed evidence, at half and twice every threshold -------------------

def exact_evidence(**errors):
    cells = {name: {"product_max_relative_error": 3e-16, "library_max_relative_error": 2e-14,
                    "log10_norm_at_lag_T": -20.0} for name in ("minGRU", "minLSTM", "LRU")}
    for key, value in errors.items():
        name, field = key.split("__")
        cells[name][field] = value
    return {"cells": cells}


def test_exact_product_holds_only_while_every_error_is_below_exact():
    assert decide_exact_product(exact_evidence()) == HOLDS
    assert decide_exact_product(exact_evidence(LRU__product_max_relative_error=EXACT / 2)) == HOLDS
    for name in ("minGRU", "minLSTM", "LRU"):
        for field in ("product_max_relative_error", "library_max_relative_error"):
            assert decide_exact_product(exact_evidence(**{f"{name}__{field}": 2 * EXACT})) == FAILS, (name, field)
    assert decide_exact_product(exact_evidence(minGRU__library_max_relative_error=None)) == FAILS  # non-finite
    assert decide_exact_product({"cells": {}}) == FAILS  # nothing measured


def horizon_evidence(lru=(3e-16, 7e-16), gated=(0.003, 0.05)):
    def row(input_dependent, gaps):
        return {"input_dependent": input_dependent, "slope_gap": gaps[0], "profiler_gap": gaps[1]}

    return {"cells": {"minGRU": row(True, gated), "minLSTM": row(True, (gated[1], gated[0])), "LRU": row(False, lru)}}


def test_horizon_needs_the_constant_cell_exact_and_grades_the_gated_cells_by_their_gaps():
    assert decide_horizon(horizon_evidence()) == HOLDS
    assert decide_horizon(horizon_evidence(gated=(TOLERANCE / 2, TOLERANCE / 2))) == HOLDS
    assert decide_horizon(horizon_evidence(gated=(0.0, 2 * TOLERANCE))) == CAVEAT
    assert decide_horizon(horizon_evidence(gated=(LOOSE / 2, 0.0))) == CAVEAT
    assert decide_horizon(horizon_evidence(gated=(0.0, 2 * LOOSE))) == FAILS
    assert decide_horizon(horizon_evidence(lru=(2 * EXACT, 0.0))) == FAILS
    assert decide_horizon(horizon_evidence(lru=(EXACT / 2, EXACT / 2))) == HOLDS
    assert decide_horizon(horizon_evidence(lru=(0.0, 2 * EXACT), gated=(0.0, 0.0))) == FAILS
    assert decide_horizon(horizon_evidence(gated=(None, 0.0))) == FAILS  # non-finite


# --- the quick measurement ----------------------------------------------------------------------

def test_quick_c12_holds_with_every_error_below_1e_12(claims_by_id):
    claim = claims_by_id["C12"]
    assert claim.verdict == HOLDS and decide_exact_product(claim.evidence) == HOLDS
    assert set(claim.evidence["cells"]) == {"minGRU", "minLSTM", "LRU"}
    for row in claim.evidence["cells"].values():
        assert row["product_max_relative_error"] < 1e-12 and row["library_max_relative_error"] < 1e-12


def test_quick_c13_numbers_are_finite_and_its_series_draw_every_family(claims_by_id):
    claim = claims_by_id["C13"]
    assert claim.verdict in VERDICTS and decide_horizon(claim.evidence) == claim.verdict
    for name, row in claim.evidence["cells"].items():
        for key, value in row.items():
            if key != "input_dependent":
                assert value is not None and math.isfinite(value), (name, key)
        assert row["top_exponent_nats_per_step"] < 0 and 0 < row["shortest_horizon"] <= row["median_horizon"] <= row["longest_horizon"]
    assert claim.evidence["cells"]["LRU"]["slope_gap"] < EXACT and claim.evidence["cells"]["LRU"]["profiler_gap"] < EXACT
    assert math.isfinite(claim.evidence["lstm_profiler_decay_rate_nats_per_step"])
    series = claim.series
    assert series["families"] == ["LSTM", "minGRU", "minLSTM", "LRU"]
    T = series["T"]
    for family in series["families"]:
        curve = series["log10_norm_by_lag"][family]
        assert len(curve) == T and curve[0] == 0.0 and all(v is not None and math.isfinite(v) for v in curve)
    for name in series["cells"]:
        assert len(series["horizons"][name]) == claim.evidence["H"]
        assert series["horizons"][name] == sorted(series["horizons"][name])


def test_same_seed_same_numbers(claims_by_id):
    for claim in run_claims(ClaimsConfig.quick(), only=("C12", "C13")):
        assert claim.to_json() == claims_by_id[claim.id].to_json()
        assert claim.series == claims_by_id[claim.id].series


# --- the oracle can tell a wrong formula from the right one --------------------------------------

def test_oracle_sees_a_missing_factor_and_a_wrong_phase():
    g = torch.Generator().manual_seed(3)
    T, H = 12, 3
    for name, (cell_type, options) in CELLS.items():
        cell = cell_type(INPUT_SIZE, H, dtype=torch.float64, generator=g, **options)
        inputs = torch.randn(T, INPUT_SIZE, generator=g, dtype=torch.float64)
        start = torch.zeros(H, dtype=cell.state_dtype)
        oracle = autograd_jacobians(cell, inputs, start)  # (T+1, S, S)
        with torch.no_grad():
            a = cell.coefficients(inputs)[0]  # (T, H)
        right = torch.cat([a.flip(0).cumprod(0).flip(0), a.new_ones(1, H)])
        assert float(relative_error(real_view(torch.diag_embed(right)), oracle).max()) < 1e-13, name
        dropped = torch.cat([a[:-1].flip(0).cumprod(0).flip(0), a.new_ones(2, H)])  # a_T left out
        assert float(relative_error(real_view(torch.diag_embed(dropped)), oracle)[:-1].min()) > 1e-4, name
        if cell.complex_state:
            conjugated = real_view(torch.diag_embed(right.conj()))  # the right modulus, the wrong rotation
            assert float(relative_error(conjugated, oracle)[:-1].max()) > 1e-3


# --- figures and the section ------------------------------------------------------------------------

def test_diagonal_figures_render_png_and_svg(quick_report, quick_figures):
    by_name = {figure.name: figure for figure in quick_report.figures}
    for name in ("diagonal_horizons", "diagonal_profiles"):
        assert by_name[name].section == "diagonal" and by_name[name].claim == "C13"
        png, svg = quick_figures[name]
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and b"<svg" in svg
        assert render_figure(name, by_name[name].data) == (png, svg)  # deterministic


def test_section_sits_after_the_lstm_in_both_languages(written_report, written_report_ko):
    for folder, heading in ((written_report, "Beyond the LSTM: diagonal recurrences"),
                            (written_report_ko, "LSTM 너머: 대각 순환 (diagonal recurrence)")):
        html = (folder / "index.html").read_text(encoding="utf-8")
        sections = re.findall(r'<h2 id="([a-z]+)">', html)
        assert sections.index("diagonal") == sections.index("lstm") + 1, sections
        assert heading in html
        assert html.index('id="C7"') < html.index('id="C12"') < html.index('id="C13"') < html.index('id="C11"')
        for name in ("diagonal_horizons", "diagonal_profiles"):
            assert html.index('id="C13"') < html.index(f'id="fig-{name}"') < html.index('id="C11"')
        equations = [int(number) for number in re.findall(r'<div class="eq" id="eq(\d+)">', html)]
        assert equations == list(range(1, len(equations) + 1))  # numbered in page order
        document = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        headlines = {claim["id"]: claim["headline"] for claim in document["claims"]}
        assert headlines["C12"] and headlines["C13"] and math_html(headlines["C13"]) in html
