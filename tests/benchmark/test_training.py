"""Training: clipping (Pascanu Alg. 1), determinism, early stop, divergence, profiles, config checks."""

from __future__ import annotations

import json
import sys

import pytest
import torch
from torch import nn

from rnngrad.errors import InputError
from rnngrad.tasks import AddingProblem
from rnngrad.training import TrainConfig, TrainResult, clip_gradient_norm_, train

TINY = dict(task="adding", T=8, steps=12, batch_size=4, hidden_size=4, log_every=4)


def gradients(*values):
    parameters = [nn.Parameter(torch.zeros(len(v))) for v in values]
    for parameter, value in zip(parameters, values):
        parameter.grad = torch.tensor(value, dtype=torch.float32)
    return parameters


def test_clipping_rescales_to_exactly_the_threshold_when_the_norm_reaches_it():
    parameters = gradients([3.0, 0.0], [4.0])  # ‖g‖ = 5
    assert clip_gradient_norm_(parameters, 2.0) == 5.0
    total = torch.cat([p.grad for p in parameters]).norm()
    torch.testing.assert_close(total, torch.tensor(2.0))
    torch.testing.assert_close(parameters[0].grad, torch.tensor([1.2, 0.0]))  # direction kept


def test_clipping_leaves_small_gradients_and_agrees_with_torch():
    parameters = gradients([0.3, 0.4])
    clip_gradient_norm_(parameters, 1.0)
    torch.testing.assert_close(parameters[0].grad, torch.tensor([0.3, 0.4]))
    ours, theirs = gradients([30.0, 40.0], [1.0]), gradients([30.0, 40.0], [1.0])
    clip_gradient_norm_(ours, 1.0)
    torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=0)
    with pytest.raises(InputError, match="threshold: expected a positive finite number, got 0"):
        clip_gradient_norm_(parameters, 0)


@pytest.mark.parametrize("model", ["lstm", "rnn-sigmoid", "gru"])
def test_a_run_is_a_function_of_its_config(model):
    config = TrainConfig(model=model, **TINY)
    first, second = train(config), train(config)
    assert first.loss_curve == second.loss_curve and first.accuracy_curve == second.accuracy_curve
    other = train(TrainConfig(model=model, seed=1, **TINY))
    assert other.loss_curve != first.loss_curve


def test_result_fields_and_json_round_trip():
    result = train(TrainConfig(model="lstm", optimizer="rmsprop", clip=None, **TINY))
    assert result.status == "failed" and result.steps == 12 and result.sequences == 48
    assert [step for step, _ in result.loss_curve] == [4, 8, 12]
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert TrainResult.from_dict(data).to_dict() == result.to_dict()


def test_training_stops_early_when_the_task_is_solved():
    config = TrainConfig(task="adding-sum", T=4, model="gru", steps=2000, batch_size=64, hidden_size=16, lr=3e-3)
    result = train(config)
    assert result.status == "solved" and result.steps < 2000
    assert result.steps * 64 >= 2000  # the criterion waits for a full window of sequences
    assert result.final_loss < 1 / 6


def test_a_nan_loss_ends_the_run_as_diverged_at_that_step(monkeypatch):
    calls = {"n": 0}
    sample = AddingProblem.sample

    def sample_with_nan(self, batch_size, generator):
        batch = sample(self, batch_size, generator)
        calls["n"] += 1
        if calls["n"] == 5:
            batch.inputs[0, 0, 0] = float("nan")
        return batch

    monkeypatch.setattr(AddingProblem, "sample", sample_with_nan)
    result = train(TrainConfig(model="lstm", **TINY))
    assert result.status == "diverged" and result.steps == 5
    json.dumps(result.to_dict(), allow_nan=False)


def test_gradient_profiles_are_stored_for_fused_and_unrolled_models():
    result = train(TrainConfig(model="lstm", profile_every=6, profile_batch=2, **TINY))
    assert [profile["step"] for profile in result.profiles] == [6, 12]
    profile = result.profiles[0]
    assert "error" not in profile, profile
    assert len(profile["norm_by_lag"]) >= 8 and profile["mean_forget_gate"] is not None
    assert isinstance(profile["memory_horizon"], int)
    unrolled = train(TrainConfig(model="lstm-nofg", profile_every=6, **TINY)).profiles  # a cell loop
    assert [profile["step"] for profile in unrolled] == [6, 12] and "error" not in unrolled[0]
    assert unrolled[0]["mean_forget_gate"] is None and len(unrolled[0]["norm_by_lag"]) >= 8


def test_profiles_do_not_change_the_run():
    with_profiles = train(TrainConfig(model="gru", profile_every=3, **TINY))
    without = train(TrainConfig(model="gru", profile_every=0, **TINY))
    assert with_profiles.loss_curve == without.loss_curve


def test_a_task_with_a_test_split_is_judged_on_it():
    pytest.importorskip("sklearn", reason="scikit-learn (the optional extra rnngrad[tasks]) is not installed")
    result = train(TrainConfig(task="digits", T=64, model="gru", steps=5, batch_size=4, hidden_size=4, eval_every=2))
    assert result.status == "failed" and [step for step, _ in result.accuracy_curve] == [5]
    assert 0.0 <= result.final_accuracy <= 1.0


@pytest.mark.parametrize("field, value, message", [
    ("task", "adder", "task: expected one of adding,"),
    ("model", "rnn", "model: expected one of rnn-tanh,"),
    ("T", 1, "T: expected an integer ≥ 2, got 1"),
    ("steps", 0, "steps: expected a positive integer, got 0"),
    ("seed", -1, "seed: expected an integer ≥ 0, got -1"),
    ("lr", float("nan"), "lr: expected a positive finite number, got nan"),
    ("clip", -1.0, "clip: expected a positive finite number"),
    ("optimizer", "sgd", "optimizer: expected one of adam, rmsprop, got 'sgd'"),
    ("schedule", "step", "schedule: expected one of constant, cosine"),
])
def test_bad_configs_are_refused_with_the_field_named(field, value, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        TrainConfig(**{field: value})


def test_lr_as_int_or_float_is_one_config():
    assert TrainConfig(lr=1) == TrainConfig(lr=1.0)
