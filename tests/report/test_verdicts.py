"""Verdicts follow from the numbers: every rule on fixed evidence, on both sides of its thresholds."""

from __future__ import annotations

import pytest

from rnngrad.claims import CLAIM_IDS, VERDICTS, ClaimsConfig, Progress, run_claims
from rnngrad.claims._result import EXACT
from rnngrad.claims.activation_claims import ARGMAX_TOLERANCE, VANISHED, decide_decay, decide_maximum
from rnngrad.claims.adding_problem import decide_adding
from rnngrad.claims.lstm_carousel import GAP, decide_carousel, decide_no_explosion
from rnngrad.claims.lstm_memory import SHORT, decide_memory
from rnngrad.claims.rnn_bounds import decide_exploding, decide_vanishing
from rnngrad.claims.rnn_chain import decide_chain_rule, decide_closed_form
from rnngrad.errors import InputError

DECIDE = {"C1": decide_chain_rule, "C2": decide_closed_form, "C3": decide_vanishing, "C4": decide_exploding,
          "C5": decide_carousel, "C6": decide_no_explosion, "C7": decide_memory, "C8": decide_maximum,
          "C9": decide_maximum, "C10": decide_decay, "C11": decide_adding}
HOLDS, CAVEAT, FAILS = VERDICTS


def test_every_claim_is_measured_with_a_valid_verdict_and_json_shape(quick_report):
    assert [claim.id for claim in quick_report.claims] == list(CLAIM_IDS) == [f"C{i}" for i in range(1, 15)]
    for claim in quick_report.claims:
        assert set(claim.to_json()) == {"id", "claim", "verdict", "evidence", "figure"}
        assert claim.verdict in VERDICTS and claim.evidence["headline"]


# --- the verdict rules on fixed evidence, a case on each side of every threshold ------------
#
# Each decide_* reads only the fields below; "below" and "above" sit at half and twice the
# threshold, so the cases test the rule, not the numbers one seed happens to measure.


def test_chain_rule_holds_only_while_every_error_is_below_exact():
    exact = {"one_step_max_relative_error": 2e-15, "product_max_relative_error": 3e-15,
             "library_product_max_relative_error": 1e-15}
    assert decide_chain_rule(exact) == HOLDS
    assert decide_chain_rule(dict(exact, one_step_max_relative_error=EXACT / 2)) == HOLDS
    for field in exact:
        assert decide_chain_rule(dict(exact, **{field: 2 * EXACT})) == FAILS, field


def test_closed_form_holds_exact_caveat_for_h1_only_fails_otherwise():
    exact = {"scalar_max_relative_error": 3e-15, "matrix_max_relative_error": EXACT / 2, "bound_violations": 0}
    assert decide_closed_form(exact) == HOLDS
    assert decide_closed_form(dict(exact, matrix_max_relative_error=2.35)) == CAVEAT  # H > 1 off: H = 1 only
    assert decide_closed_form(dict(exact, matrix_max_relative_error=2 * EXACT)) == CAVEAT
    assert decide_closed_form(dict(exact, matrix_max_relative_error=2.35, bound_violations=1)) == FAILS
    assert decide_closed_form(dict(exact, bound_violations=1)) == FAILS
    assert decide_closed_form(dict(exact, scalar_max_relative_error=2 * EXACT)) == FAILS


def test_vanishing_fails_on_a_violated_bound_and_has_a_caveat_when_entries_do_not_vanish():
    assert decide_vanishing({"bound_violations": 0, "entrywise_not_vanishing": 0}) == HOLDS
    assert decide_vanishing({"bound_violations": 0, "entrywise_not_vanishing": 1}) == CAVEAT
    assert decide_vanishing({"bound_violations": 1, "entrywise_not_vanishing": 0}) == FAILS
    assert decide_vanishing({"bound_violations": 1, "entrywise_not_vanishing": 25}) == FAILS


def test_exploding_needs_an_exploding_cell_and_no_violation_of_the_necessary_condition():
    clean = {"exploding_cells": 1, "necessary_condition_violations": 0, "large_gain_vanishing_cells": 0}
    assert decide_exploding(clean) == HOLDS
    assert decide_exploding(dict(clean, large_gain_vanishing_cells=1)) == CAVEAT
    assert decide_exploding(dict(clean, exploding_cells=0)) == FAILS
    assert decide_exploding(dict(clean, necessary_condition_violations=1)) == FAILS
    assert decide_exploding(dict(clean, necessary_condition_violations=1, large_gain_vanishing_cells=1)) == FAILS


def test_carousel_is_exact_on_the_cut_graph_and_has_a_caveat_when_the_full_derivative_differs():
    def evidence(carousel=2e-14, full=3e-15, block=(0.0, GAP / 2), total=(GAP / 2,)):
        return {"carousel_max_relative_error": carousel, "full_jacobian_max_relative_error": full,
                "median_gap_to_full_cell_block": {f"b{k}": v for k, v in enumerate(block)},
                "median_gap_to_total_dL_dc": {f"b{k}": v for k, v in enumerate(total)}}

    assert decide_carousel(evidence()) == HOLDS
    assert decide_carousel(evidence(block=(GAP / 2, 2 * GAP))) == CAVEAT
    assert decide_carousel(evidence(total=(0.95,))) == CAVEAT
    assert decide_carousel(evidence(carousel=2 * EXACT)) == FAILS
    assert decide_carousel(evidence(full=2 * EXACT, block=(0.99,))) == FAILS
    assert decide_carousel(evidence(carousel=EXACT / 2, full=EXACT / 2)) == HOLDS


def test_no_explosion_fails_when_the_carousel_exceeds_one_and_has_a_caveat_for_the_full_norm():
    assert decide_no_explosion({"carousel_max_log10": -2.6e-6, "draws_with_full_norm_above_1": 0}) == HOLDS
    assert decide_no_explosion({"carousel_max_log10": 0.5e-12, "draws_with_full_norm_above_1": 0}) == HOLDS  # rounding
    assert decide_no_explosion({"carousel_max_log10": -0.1, "draws_with_full_norm_above_1": 42}) == CAVEAT
    assert decide_no_explosion({"carousel_max_log10": 2e-12, "draws_with_full_norm_above_1": 0}) == FAILS
    assert decide_no_explosion({"carousel_max_log10": 0.01, "draws_with_full_norm_above_1": 3}) == FAILS


def test_memory_holds_when_the_horizon_grows_with_the_bias_with_a_caveat_for_a_short_default():
    def evidence(*horizons, chrono=46.0):
        biases = ["0", "1", "2", "log 99"][: len(horizons)]
        return {"settings": [*({"forget_bias": b, "measured_horizon": h} for b, h in zip(biases, horizons)),
                             {"forget_bias": "chrono", "measured_horizon": chrono}]}

    assert decide_memory(evidence(SHORT, 8, 20, 94)) == HOLDS
    assert decide_memory(evidence(SHORT - 1, 4, 8, 94)) == CAVEAT
    assert decide_memory(evidence(2, 4, 8, 94, chrono=1.0)) == CAVEAT  # chrono is not in the ordering
    assert decide_memory(evidence(2, 8, 4, 94)) == FAILS  # not monotone
    assert decide_memory(evidence(10, 10, 10, 10)) == FAILS  # no growth
    assert decide_memory(evidence(94, 8, 4, 2)) == FAILS


def test_activation_maximum_needs_the_closed_form_at_zero():
    assert decide_maximum({"abs_error": 6e-17, "argmax": 0.0}) == HOLDS
    assert decide_maximum({"abs_error": 0.5e-12, "argmax": ARGMAX_TOLERANCE / 2}) == HOLDS
    assert decide_maximum({"abs_error": 2e-12, "argmax": 0.0}) == FAILS
    assert decide_maximum({"abs_error": 0.0, "argmax": -2 * ARGMAX_TOLERANCE}) == FAILS


def test_decay_fails_unless_tanh_decays_slower_at_every_scale_with_a_caveat_when_it_vanishes():
    def evidence(tanh, sigmoid, at_T=-0.5):
        labels = [f"gain {k}" for k in range(len(tanh))]
        return {"tanh_decay_rate_nats_per_step": dict(zip(labels, tanh)),
                "sigmoid_decay_rate_nats_per_step": dict(zip(labels, sigmoid)),
                "tanh_log10_norm_at_lag_T": at_T}

    assert decide_decay(evidence([0.28, -0.06], [0.87, 0.40])) == HOLDS
    assert decide_decay(evidence([0.28, -0.06], [0.87, 0.40], at_T=VANISHED / 2)) == HOLDS
    assert decide_decay(evidence([0.28, -0.06], [0.87, 0.40], at_T=2 * VANISHED)) == CAVEAT
    assert decide_decay(evidence([0.28, -0.06], [0.87, 0.40], at_T=None)) == CAVEAT  # exactly 0
    assert decide_decay(evidence([0.28, 0.50], [0.87, 0.40])) == FAILS
    assert decide_decay(evidence([0.40, 0.1], [0.40, 0.3])) == FAILS  # equal is not slower
    assert decide_decay(evidence([0.28, 0.1], [None, None])) == HOLDS  # sigmoid hit 0: rate ∞
    assert decide_decay(evidence([None], [0.87])) == FAILS


def test_the_measured_claims_carry_the_fields_their_rules_read(claims_by_id):
    """The fixed cases above use the evidence's real field names: each rule, fed a measured
    claim's evidence, reads it without a KeyError and gives a verdict."""
    for claim_id, decide in DECIDE.items():
        assert decide(claims_by_id[claim_id].evidence) in VERDICTS, claim_id


def test_adding_problem_decision_on_both_variants():
    """C11's rule on fixed runs: each case flips one run's "learned" flag across the line."""
    models, variants, lengths = ("rnn-tanh", "lstm", "lstm-chrono", "gru"), ("adding-sum", "adding"), (50, 100)

    def evidence(learners=(), flip=()):
        """Runs where (task, model) in ``learners`` learned every T; (task, model, T) in ``flip`` toggled."""
        return {"runs": [{"task": task, "model": model, "T": T,
                          "learned": ((task, model) in learners) != ((task, model, T) in flip)}
                         for task in variants for model in models for T in lengths]}

    everywhere = [(task, "lstm") for task in variants]
    assert decide_adding(evidence(everywhere)) == HOLDS
    assert decide_adding(evidence(everywhere + [(task, "gru") for task in variants])) == HOLDS  # GRU is context
    for task, T in [(task, T) for task in variants for T in lengths]:
        # the tanh RNN learning a single run breaks the claim, whatever the LSTMs do
        assert decide_adding(evidence(everywhere, flip=[(task, "rnn-tanh", T)])) == FAILS, (task, T)
        # the torch-init LSTM missing one T of one variant: only a caveat while it learns the other variant
        assert decide_adding(evidence(everywhere, flip=[(task, "lstm", T)])) == CAVEAT, (task, T)
    # the observed pattern: torch init learns Le/Arjovsky, only chrono learns HS97's placement
    observed = [("adding-sum", "lstm"), ("adding-sum", "lstm-chrono"), ("adding-sum", "gru"), ("adding", "lstm-chrono")]
    assert decide_adding(evidence(observed)) == CAVEAT
    assert decide_adding(evidence(observed, flip=[("adding", "rnn-tanh", 100)])) == FAILS
    # an opened LSTM alone, on one variant, is enough for a caveat; one T short of it is not
    assert decide_adding(evidence([("adding", "lstm-chrono")])) == CAVEAT
    assert decide_adding(evidence([("adding", "lstm-chrono")], flip=[("adding", "lstm-chrono", 50)])) == FAILS
    forget_bias_1 = evidence()
    forget_bias_1["runs"] += [{"task": "adding-sum", "model": "lstm-fb1", "T": T, "learned": True} for T in lengths]
    assert decide_adding(forget_bias_1) == CAVEAT
    # no LSTM learns every T of any variant: the claim fails even if a GRU does
    assert decide_adding(evidence([(task, "gru") for task in variants])) == FAILS
    assert decide_adding(evidence()) == FAILS


def test_adding_problem_decision_reads_one_variant_without_task_keys():
    """Evidence from before the two variants (no "task" key) reads as one variant."""
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
    with pytest.raises(InputError, match="C99"):
        run_claims(ClaimsConfig.quick(), only=("C99",))
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
