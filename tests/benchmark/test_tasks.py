"""The tasks against their papers' definitions: structure, targets, baselines, criteria, seeding."""

from __future__ import annotations

import math

import pytest
import torch

from rnngrad.errors import InputError
from rnngrad.tasks.adding import hs97_baseline_mse
from rnngrad.tasks import (
    AddingProblem,
    AddingSumProblem,
    CopyMemory,
    TemporalOrder,
    make_task,
    published_summary,
    task_names,
)


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", ["adding", "adding-sum", "copy", "temporal-order"])
def test_same_generator_seed_gives_the_same_batch(name):
    task = make_task(name, 20)
    first, second = task.sample(5, generator(3)), task.sample(5, generator(3))
    assert torch.equal(first.inputs, second.inputs) and torch.equal(first.targets, second.targets)
    assert not torch.equal(first.inputs, task.sample(5, generator(4)).inputs)
    assert first.inputs.shape[0] == 5 and first.inputs.shape[2] == task.input_size
    assert first.inputs.shape[1] <= task.max_length


def test_adding_follows_hochreiter_schmidhuber_exp_4():
    T = 100
    batch = AddingProblem(T).sample(4000, generator())
    values, markers = batch.inputs[..., 0], batch.inputs[..., 1]  # (B, L)
    L = batch.inputs.shape[1]
    assert T <= L <= T + T // 10
    assert bool((values.abs() <= 1).all())
    marked = markers == 1
    assert bool((marked.sum(1) == 2).all())
    positions = marked.float().argsort(dim=1, descending=True, stable=True)[:, :2].sort(1).values  # (B, 2)
    assert int(positions[:, 0].max()) <= 9  # one mark in the first ten pairs
    assert int(positions[:, 1].max()) <= T // 2 - 1  # the other among the first T/2 − 1 unmarked
    first_unmarked = ~marked[:, 0]
    assert bool((markers[first_unmarked, 0] == -1).all()) and bool((markers[:, -1] == -1).all())
    # X₁ = 0 when the first pair holds X₁ (p = 1/10); it may instead hold X₂ (p = 9/10 · 1/49)
    zero_at_start = values[marked[:, 0], 0] == 0
    assert 0.7 < float(zero_at_start.float().mean()) < 0.95
    x = (values * marked).sum(1)  # X₁ + X₂
    torch.testing.assert_close(batch.targets, 0.5 + x / 4.0)


@pytest.mark.parametrize("T, first_pairs", [(100, 10), (50, 10), (22, 10), (20, 9), (10, 4)])
def test_hs97_baseline_is_the_variance_of_the_target_with_x1_zeroed_one_time_in_m(T, first_pairs):
    """Eq. (4) against the task's own batches: predicting E[y] = 1/2 scores (2 − 1/m)/48, not 1/24.

    Oracle: X₁ is 0 with probability 1/m, else U[−1, 1] (variance 1/3); X₂ is U[−1, 1], never zeroed
    and independent; y − 1/2 = (X₁ + X₂)/4."""
    closed_form = ((1 - 1 / first_pairs) / 3 + 1 / 3) / 16
    assert hs97_baseline_mse(T) == pytest.approx(closed_form, rel=1e-15) == AddingProblem(T).baseline
    task, g = AddingProblem(T), generator(7)
    targets = torch.cat([task.sample(5000, g).targets for _ in range(40)]).double()  # 200,000 sequences, ~40 lengths
    squared = (targets - 0.5) ** 2
    standard_error = float(squared.std()) / len(squared) ** 0.5
    assert abs(float(targets.mean()) - 0.5) < 4 * float(targets.std()) / len(targets) ** 0.5
    assert abs(float(squared.mean()) - closed_form) < 4 * standard_error  # the Monte-Carlo estimate
    predict_half = task.score(torch.full((len(targets), 1), 0.5), targets.float()).loss.mean()
    assert abs(float(predict_half) - closed_form) < 4 * standard_error  # through the task's own score


def test_hs97_baseline_is_0_0396_and_1_24_is_far_outside_the_monte_carlo_error():
    assert hs97_baseline_mse(100) == pytest.approx(19 / 480) and round(hs97_baseline_mse(100), 4) == 0.0396
    targets = torch.cat([AddingProblem(100).sample(5000, generator(8)).targets for _ in range(40)]).double()
    squared = (targets - 0.5) ** 2
    standard_error = float(squared.std()) / len(squared) ** 0.5
    assert float(squared.mean()) < 1 / 24 - 10 * standard_error  # the old 1/24 is rejected by the data


def test_adding_scores_correct_below_0_04_and_solves_only_when_every_sequence_is_correct():
    task = AddingProblem(10)
    scores = task.score(torch.tensor([[0.57], [0.59], [0.50]]), torch.tensor([0.54, 0.54, 0.54]))
    assert scores.correct.tolist() == [True, False, False]
    torch.testing.assert_close(scores.loss, torch.tensor([0.03, 0.05, 0.04]) ** 2)
    assert task.solved(0.001, 1.0) and not task.solved(0.001, 0.9995) and not task.solved(0.02, 1.0)


def test_adding_sum_has_one_marker_per_half_and_baseline_mse_one_sixth():
    T = 50
    batch = AddingSumProblem(T).sample(20000, generator(1))
    markers = batch.inputs[..., 1]
    assert bool((markers[:, : T // 2].sum(1) == 1).all()) and bool((markers[:, T // 2 :].sum(1) == 1).all())
    torch.testing.assert_close(batch.targets, (batch.inputs[..., 0] * markers).sum(1))
    predict_one = AddingSumProblem(T).score(torch.ones(20000, 1), batch.targets).loss.mean()
    assert abs(float(predict_one) - 0.167) < 0.005
    assert AddingSumProblem(T).solved(0.016, 0.0) and not AddingSumProblem(T).solved(0.16, 1.0)


def test_copy_memory_structure_and_memoryless_baseline():
    T = 30
    task = CopyMemory(T)
    batch = task.sample(64, generator(2))
    symbols = batch.inputs.argmax(-1)  # (B, T + 20)
    assert batch.inputs.shape == (64, T + 20, 10)
    assert bool((symbols[:, :10] < 8).all())
    assert bool((symbols[:, 10 : 10 + T - 1] == 8).all()) and bool((symbols[:, 9 + T] == 9).all())
    assert bool((symbols[:, 10 + T :] == 8).all())
    assert bool((batch.targets[:, : T + 10] == 8).all()) and torch.equal(batch.targets[:, -10:], symbols[:, :10])
    # the best memoryless model: certain blanks, then uniform over the 8 data symbols
    logits = torch.full((64, T + 20, 9), -1e4)
    logits[:, : T + 10, 8] = 0.0
    logits[:, T + 10 :, :8] = 0.0
    baseline = float(task.score(logits, batch.targets).loss.mean())
    assert math.isclose(baseline, task.baseline, rel_tol=1e-5)
    assert math.isclose(CopyMemory(100).baseline, 0.173, abs_tol=5e-4)
    assert math.isclose(CopyMemory(500).baseline, 0.040, abs_tol=5e-4)
    perfect = torch.nn.functional.one_hot(batch.targets, 9).float() * 100
    assert bool(task.score(perfect, batch.targets).correct.all())


def test_temporal_order_follows_exp_6a_at_T_100():
    batch = TemporalOrder(100).sample(2000, generator(3))
    symbols = batch.inputs.argmax(-1)  # (B, L)
    assert 100 <= symbols.shape[1] <= 110
    assert bool((symbols[:, 0] == 6).all()) and bool((symbols[:, -1] == 7).all())
    relevant = (symbols == 4) | (symbols == 5)
    assert bool((relevant.sum(1) == 2).all())
    t = relevant.float().argsort(dim=1, descending=True, stable=True)[:, :2].sort(1).values
    assert 10 <= int(t[:, 0].min()) and int(t[:, 0].max()) <= 20
    assert 50 <= int(t[:, 1].min()) and int(t[:, 1].max()) <= 60
    first, second = symbols.gather(1, t[:, :1]).squeeze(1), symbols.gather(1, t[:, 1:]).squeeze(1)
    assert torch.equal(batch.targets, 2 * (first == 5).long() + (second == 5).long())  # XX→Q ... YY→U


def test_temporal_order_criterion_is_every_output_within_0_3():
    task = TemporalOrder(10)
    probabilities = torch.tensor([[0.05, 0.1, 0.8, 0.05], [0.05, 0.1, 0.65, 0.2]])
    scores = task.score(probabilities.log(), torch.tensor([2, 2]))
    assert scores.correct.tolist() == [True, False]


def test_digits_are_pixel_sequences_with_a_fixed_split():
    pytest.importorskip("sklearn", reason="scikit-learn (the optional extra rnngrad[tasks]) is not installed")
    plain, permuted = make_task("digits", 64), make_task("digits-permuted", 64)
    batch = plain.sample(8, generator())
    assert batch.inputs.shape == (8, 64, 1) and float(batch.inputs.max()) <= 1.0
    assert plain.held_out().inputs.shape == (359, 64, 1)
    assert torch.equal(plain.held_out().targets, permuted.held_out().targets)
    sorted_plain = plain.held_out().inputs.squeeze(-1).sort(1).values
    sorted_permuted = permuted.held_out().inputs.squeeze(-1).sort(1).values
    assert torch.equal(sorted_plain, sorted_permuted)  # the same pixels, in another order
    assert not torch.equal(plain.held_out().inputs, permuted.held_out().inputs)
    assert torch.equal(make_task("digits", 64).held_out().inputs, plain.held_out().inputs)
    with pytest.raises(InputError, match="T: expected 64"):
        make_task("digits", 100)


@pytest.mark.parametrize("name, T", [("adding", 1), ("adding", 3), ("copy", 1), ("temporal-order", 9), ("adding-sum", 2.5)])
def test_bad_T_names_the_argument(name, T):
    with pytest.raises(InputError, match=r"^T: expected an integer ≥"):
        make_task(name, T)


def test_unknown_task_lists_the_valid_names():
    with pytest.raises(InputError) as error:
        make_task("adder", 10)
    assert all(name in str(error.value) for name in task_names()) and "'adder'" in str(error.value)


def test_published_cells():
    hs97 = published_summary("adding", 100, "lstm")
    assert hs97["sequences"] == 74_000 and hs97["solved"] is True
    assert hs97["updates"] == 74_000 and "one sequence each" in hs97["result"]  # on-line: an update per sequence
    assert published_summary("temporal-order", 100, "lstm-nofg")["sequences"] == 31_390
    assert published_summary("copy", 200, "lstm")["solved"] is False
    assert published_summary("adding", 100, "gru") is None
    both = published_summary("adding-sum", 200, "rnn-tanh")
    assert "Le et al. 2015" in both["source"] and "Arjovsky" in both["source"] and both["solved"] is False


def baseline_outputs(task, batch) -> torch.Tensor:
    """What a model that ignores the input can do best (each task's baseline predictor)."""
    B = batch.targets.shape[0]
    if task.name == "adding":
        return torch.full((B, 1), float(batch.targets.mean()))  # the mean target
    if task.name == "adding-sum":
        return torch.ones(B, 1)  # E[X₁ + X₂]
    if task.name == "copy":
        steps = batch.targets.shape[1]
        logits = torch.full((B, steps, 9), -30.0)
        logits[:, :-10, 8] = 30.0  # blanks while nothing is recalled
        logits[:, -10:, :8] = 0.0  # then uniform over the 8 data symbols
        return logits
    return torch.zeros(B, task.output_size)  # uniform over the classes


@pytest.mark.parametrize("name", task_names())
def test_a_model_at_the_baseline_is_never_solved(name):
    """Issue 16: over many windows of fresh data, the input-blind predictor is never "solved"
    (adding-sum used to be, by noise, with a bare "below the baseline")."""
    if name.startswith("digits"):
        pytest.importorskip("sklearn", reason="scikit-learn (the optional extra rnngrad[tasks]) is not installed")
    task = make_task(name, 64 if name.startswith("digits") else 50)
    held_out = task.held_out()
    for seed in range(1 if held_out is not None else 20):
        batch = held_out if held_out is not None else task.sample(task.window, generator(100 + seed))
        scores = task.score(baseline_outputs(task, batch), batch.targets)
        mean_loss, accuracy = float(scores.loss.mean()), float(scores.correct.float().mean())
        assert not task.solved(mean_loss, accuracy), (name, seed, mean_loss, accuracy)
        baseline = getattr(task, "baseline", None)
        if baseline is not None:  # it is the baseline, to 4 standard errors of a 2000-sequence mean
            assert abs(mean_loss - baseline) < 0.1 * baseline, (name, mean_loss)
