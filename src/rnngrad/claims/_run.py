"""Every claim of the seed, in the seed's order (C1–C11), then the same formulas put to the diagonal
recurrences that followed the LSTM (C12–C14), and the one function that measures them all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from rnngrad.claims._result import Advance, ClaimResult, ClaimsConfig, Progress, ProgressCallback
from rnngrad.claims.activation_claims import measure_decay_rates, measure_sigmoid_maximum, measure_tanh_maximum
from rnngrad.claims.adding_problem import measure_adding_problem
from rnngrad.claims.diagonal_claims import measure_exact_product, measure_horizon
from rnngrad.claims.diagonal_training import measure_long_range
from rnngrad.claims.lstm_carousel import measure_carousel, measure_no_explosion
from rnngrad.claims.lstm_memory import measure_memory
from rnngrad.claims.rnn_bounds import measure_exploding, measure_vanishing
from rnngrad.claims.rnn_chain import measure_chain_rule, measure_closed_form
from rnngrad.errors import InputError


@dataclass(frozen=True)
class ClaimExperiment:
    """One claim's experiment and its share of the run time (for the progress bar only)."""

    id: str
    label: str  # a few words for the progress bar
    measure: Callable[[ClaimsConfig, Advance], ClaimResult]
    weight: float  # rough relative cost at the default sizes


EXPERIMENTS = (
    ClaimExperiment("C1", "RNN chain rule", measure_chain_rule, 1.0),
    ClaimExperiment("C2", "closed form W^(T−t)·∏ tanh'", measure_closed_form, 3.0),
    ClaimExperiment("C3", "small W_hh ⇒ vanishing", measure_vanishing, 6.0),
    ClaimExperiment("C4", "large W_hh ⇒ exploding", measure_exploding, 3.0),
    ClaimExperiment("C5", "LSTM carousel ∏ f", measure_carousel, 3.0),
    ClaimExperiment("C6", "f < 1 ⇒ no explosion", measure_no_explosion, 2.0),
    ClaimExperiment("C7", "f near 1 ⇒ long memory", measure_memory, 0.5),
    ClaimExperiment("C8", "max sigmoid' = 1/4", measure_sigmoid_maximum, 0.1),
    ClaimExperiment("C9", "max tanh' = 1", measure_tanh_maximum, 0.1),
    ClaimExperiment("C10", "decay rate per activation", measure_decay_rates, 3.0),
    ClaimExperiment("C11", "adding problem: LSTM vs RNN", measure_adding_problem, 60.0),
    ClaimExperiment("C12", "diagonal: ∏ diag(a_k) exact", measure_exact_product, 1.0),
    ClaimExperiment("C13", "diagonal: horizon τ_i", measure_horizon, 1.0),
    ClaimExperiment("C14", "diagonal: long-lag tasks (sweep)", measure_long_range, 0.1),
)
CLAIM_IDS = tuple(experiment.id for experiment in EXPERIMENTS)
CLAIMS_WORK = sum(experiment.weight for experiment in EXPERIMENTS)  # progress units of a full run


def run_claims(
    config: ClaimsConfig | None = None,
    on_progress: ProgressCallback | None = None,
    only: tuple[str, ...] | None = None,
    work_after: float = 0.0,
) -> list[ClaimResult]:
    """Measure the seed's claims and decide each verdict from the numbers.

    Args:
        config: sizes and seed (:class:`ClaimsConfig`; ``ClaimsConfig.quick()`` for tests).
        on_progress: called with a :class:`Progress` as work is done; the library never prints.
        only: claim ids to run (all by default), in the seed's order whatever order is given.
        work_after: work units the caller will report after the claims (so one bar covers both).

    Returns:
        One :class:`ClaimResult` per claim run, in the seed's order.
    """
    config = config or ClaimsConfig()
    if only is not None:
        unknown = sorted(set(only) - set(CLAIM_IDS))
        if unknown:
            raise InputError(f"claims: expected ids among {', '.join(CLAIM_IDS)}, got {', '.join(unknown)}")
    chosen = [experiment for experiment in EXPERIMENTS if only is None or experiment.id in only]
    total = sum(experiment.weight for experiment in chosen) + work_after
    results, done = [], 0.0
    for experiment in chosen:
        def advance(fraction: float, start: float = done, experiment: ClaimExperiment = experiment) -> None:
            if on_progress is not None:
                share = start + experiment.weight * min(max(fraction, 0.0), 1.0)
                on_progress(Progress(share, total, f"{experiment.id} {experiment.label}"))

        advance(0.0)
        results.append(experiment.measure(config, advance))
        done += experiment.weight
        advance(1.0, start=done - experiment.weight)
    return results
