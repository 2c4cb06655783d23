"""train_all: the one pool behind sweeps and the claims' training runs — the same results inline
and in spawned workers, each result under its config's index, progress from the workers, and an
error in the caller's callback cancelling the rest."""

from __future__ import annotations

import pytest

from rnngrad.training import TrainConfig, train_all

CONFIGS = [TrainConfig(task="adding", T=5, model=model, seed=seed, steps=4, batch_size=2, hidden_size=2, log_every=1)
           for model in ("rnn-tanh", "gru") for seed in (0, 1)]


def collect(workers: int, **options) -> tuple[dict, list]:
    results, progress = {}, []
    train_all(CONFIGS, workers, lambda index, result: results.__setitem__(index, result),
              on_progress=lambda index, fraction: progress.append((index, fraction)), **options)
    return results, progress


def test_workers_give_the_inline_results_under_each_index_with_progress():
    inline, inline_progress = collect(1, threads=1)
    spawned, spawned_progress = collect(2, threads=1)
    assert sorted(inline) == sorted(spawned) == list(range(len(CONFIGS)))
    for index, config in enumerate(CONFIGS):
        assert inline[index].config == spawned[index].config == config
        assert inline[index].loss_curve == spawned[index].loss_curve  # one thread each: the same numbers
    for progress in (inline_progress, spawned_progress):
        assert {index for index, fraction in progress if fraction == 1.0} == set(range(len(CONFIGS)))
        assert all(0.0 <= fraction <= 1.0 for _, fraction in progress)


def test_an_error_in_the_callback_propagates_and_nothing_else_is_reported():
    seen = []

    def fail_on_first(index, result):
        seen.append(index)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        train_all(CONFIGS, 2, fail_on_first)
    assert len(seen) == 1
    train_all([], 2, fail_on_first)  # nothing to do: no pool, no call
    assert len(seen) == 1
