"""Verdicts follow from the numbers: each claim's decision re-read from its evidence, and flipped."""

from __future__ import annotations

import copy

import pytest

from rnngrad.claims import CLAIM_IDS, VERDICTS, ClaimsConfig, Progress, run_claims
from rnngrad.claims.activation_claims import decide_decay, decide_maximum
from rnngrad.claims.adding_problem import decide_adding
from rnngrad.claims.lstm_carousel import decide_carousel, decide_no_explosion
from rnngrad.claims.lstm_memory import decide_memory
from rnngrad.claims.rnn_bounds import decide_exploding, decide_vanishing
from rnngrad.claims.rnn_chain import decide_chain_rule, decide_closed_form
from rnngrad.errors import InputError

DECIDE = {"C1": decide_chain_rule, "C2": decide_closed_form, "C3": decide_vanishing, "C4": decide_exploding,
          "C5": decide_carousel, "C6": decide_no_explosion, "C7": decide_memory, "C8": decide_maximum,
          "C9": decide_maximum, "C10": decide_decay, "C11": decide_adding}
HOLDS, CAVEAT, FAILS = VERDICTS


def test_every_claim_is_measured_with_a_valid_verdict_and_json_shape(quick_report):
    assert [claim.id for claim in quick_report.claims] == list(CLAIM_IDS) == [f"C{i}" for i in range(1, 12)]
    for claim in quick_report.claims:
        assert set(claim.to_json()) == {"id", "claim", "verdict", "evidence", "figure"}
        assert claim.verdict in VERDICTS and claim.evidence["headline"]


@pytest.mark.parametrize("claim_id", list(DECIDE))
def test_verdict_is_the_decision_on_the_reported_evidence(claims_by_id, claim_id):
    claim = claims_by_id[claim_id]
    assert DECIDE[claim_id](claim.evidence) == claim.verdict


def changed(evidence, **values):
    evidence = copy.deepcopy(dict(evidence))
    evidence.update(values)
    return evidence


def test_decisions_flip_with_the_numbers(claims_by_id):
    c2 = claims_by_id["C2"].evidence
    assert decide_closed_form(changed(c2, matrix_max_relative_error=1e-14, bound_violations=0,
                                      scalar_max_relative_error=1e-15)) == HOLDS
    assert decide_closed_form(changed(c2, scalar_max_relative_error=1e-3)) == FAILS
    c3 = claims_by_id["C3"].evidence
    assert decide_vanishing(changed(c3, bound_violations=0, entrywise_not_vanishing=0)) == HOLDS
    assert decide_vanishing(changed(c3, bound_violations=0, entrywise_not_vanishing=2)) == CAVEAT
    assert decide_vanishing(changed(c3, bound_violations=1)) == FAILS
    c4 = claims_by_id["C4"].evidence
    assert decide_exploding(changed(c4, exploding_cells=3, necessary_condition_violations=0,
                                    large_gain_vanishing_cells=0)) == HOLDS
    assert decide_exploding(changed(c4, exploding_cells=0)) == FAILS
    c6 = claims_by_id["C6"].evidence
    assert decide_no_explosion(changed(c6, carousel_max_log10=-0.1, draws_with_full_norm_above_1=0)) == HOLDS
    assert decide_no_explosion(changed(c6, carousel_max_log10=0.01)) == FAILS
    c10 = claims_by_id["C10"].evidence
    assert decide_decay(changed(c10, sigmoid_rate={k: -1.0 for k in c10["sigmoid_rate"]})) == FAILS
    c8 = claims_by_id["C8"].evidence
    assert decide_maximum(changed(c8, abs_error=1e-3)) == FAILS


def test_adding_problem_decision_on_synthetic_runs():
    def runs(**learned):
        return {"runs": [{"model": model.replace("_", "-"), "T": T, "learned": flag}
                         for model, flags in learned.items() for T, flag in zip((50, 100), flags)]}

    assert decide_adding(runs(rnn_tanh=(False, False), lstm=(True, True))) == HOLDS
    assert decide_adding(runs(rnn_tanh=(False, False), lstm=(False, True), lstm_chrono=(True, True))) == CAVEAT
    assert decide_adding(runs(rnn_tanh=(True, False), lstm=(True, True))) == FAILS
    assert decide_adding(runs(rnn_tanh=(False, False), lstm=(False, False), gru=(True, True))) == FAILS


def test_progress_is_monotone_and_complete():
    seen: list[Progress] = []
    run_claims(ClaimsConfig.quick(), seen.append, only=("C9", "C8"))
    assert seen and seen[-1].done == pytest.approx(seen[-1].total)
    assert all(a.done <= b.done + 1e-12 for a, b in zip(seen, seen[1:]))
    assert {p.label.split()[0] for p in seen} == {"C8", "C9"}


def test_unknown_claim_id_and_bad_config_are_input_errors():
    with pytest.raises(InputError, match="C12"):
        run_claims(ClaimsConfig.quick(), only=("C12",))
    with pytest.raises(InputError, match="seed"):
        ClaimsConfig(seed=-1)


def test_same_seed_same_numbers_other_seed_other_numbers(claims_by_id):
    ids = ("C2", "C6", "C7", "C11")
    again = run_claims(ClaimsConfig.quick(), only=ids)
    for claim in again:
        assert claim.to_json() == claims_by_id[claim.id].to_json()
        assert claim.series == claims_by_id[claim.id].series
    other = run_claims(ClaimsConfig.quick(seed=1), only=("C6",))[0]
    assert other.evidence != claims_by_id["C6"].evidence
