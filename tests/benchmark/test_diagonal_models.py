"""The diagonal benchmark models ``mingru``, ``minlstm``, ``lru``: built on every task's sizes,
seeded by the generator alone, trained a few steps, profiled; the LRU on the paper's ring."""

from __future__ import annotations

import math

import pytest
import torch

from rnngrad import LRU, MinGRU, MinLSTM
from rnngrad.models import SequenceModel, build_model, model_spec
from rnngrad.profiler import profile
from rnngrad.tasks import make_task
from rnngrad.training import TrainConfig, train

DIAGONAL = {"mingru": MinGRU, "minlstm": MinLSTM, "lru": LRU}
TASKS = [("adding", 8), ("adding-sum", 8), ("copy", 5), ("temporal-order", 10), ("digits", 64),
         ("digits-permuted", 64)]
TINY = dict(task="adding", T=8, steps=12, batch_size=4, hidden_size=4, log_every=4)


def build(name, seed, input_size=2, hidden_size=6, output_size=3, every_step=False):
    return build_model(name, input_size, hidden_size, output_size, every_step, t_max=20,
                       generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", DIAGONAL)
@pytest.mark.parametrize("task_name, T", TASKS)
def test_each_model_builds_and_scores_on_each_tasks_sizes(name, task_name, T):
    if task_name.startswith("digits"):
        pytest.importorskip("sklearn", reason="scikit-learn (the optional extra rnngrad[tasks]) is not installed")
    task = make_task(task_name, T)
    model = build_model(name, task.input_size, 5, task.output_size, task.every_step, task.max_length,
                        torch.Generator().manual_seed(0))
    core = model.recurrent
    assert isinstance(model, SequenceModel) and type(core) is DIAGONAL[name]
    assert (core.input_size, core.hidden_size, core.num_layers, core.batch_first) == (task.input_size, 5, 1, True)
    batch = task.sample(3, torch.Generator().manual_seed(1))
    outputs = model(batch.inputs)
    expected = (3, batch.inputs.shape[1], task.output_size) if task.every_step else (3, task.output_size)
    assert outputs.shape == expected and outputs.dtype == torch.float32
    assert bool(torch.isfinite(task.score(outputs, batch.targets).loss).all())


@pytest.mark.parametrize("name", DIAGONAL)
def test_a_model_is_a_function_of_its_generator_alone(name):
    torch.manual_seed(1)
    model = build(name, seed=0)
    torch.manual_seed(2)  # another global state: the same generator seed must give the same model
    same, other = build(name, seed=0), build(name, seed=1)
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in other.named_parameters()]
    for (parameter_name, a), b in zip(model.named_parameters(), same.parameters()):
        assert torch.equal(a, b), parameter_name
    assert all(not torch.equal(a, c) for a, c in zip(model.parameters(), other.parameters()))


@pytest.mark.parametrize("name", DIAGONAL)
def test_building_leaves_the_global_random_state_alone(name):
    state = torch.get_rng_state()
    build(name, seed=0)
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("name", DIAGONAL)
def test_the_profiler_takes_each_model(name):
    assert model_spec(name).fused
    task = make_task("adding", 8)
    model = build(name, 0, task.input_size, 4, task.output_size)
    batch = task.sample(2, torch.Generator().manual_seed(0))
    result = profile(model, (batch.inputs,), lambda outputs: task.score(outputs, batch.targets).loss.mean())
    assert result.modules == ["recurrent"]
    norm_by_lag = result.hidden_grad_norm_by_lag("recurrent")
    assert norm_by_lag.shape == (batch.inputs.shape[1],) and bool(torch.isfinite(norm_by_lag).all())
    assert all(parameter.grad is None for parameter in model.parameters())  # left as found


@pytest.mark.parametrize("name", DIAGONAL)
def test_a_short_run_has_finite_losses_and_is_a_function_of_its_config(name):
    config = TrainConfig(model=name, **TINY)
    first, second = train(config), train(config)
    assert first.status == "failed" and first.steps == 12
    assert [step for step, _ in first.loss_curve] == [4, 8, 12]
    assert all(math.isfinite(loss) for _, loss in first.loss_curve)
    assert first.loss_curve == second.loss_curve


@pytest.mark.parametrize("name", DIAGONAL)
def test_training_stores_gradient_profiles(name):
    result = train(TrainConfig(model=name, profile_every=6, profile_batch=2, **TINY))
    assert [profile["step"] for profile in result.profiles] == [6, 12]
    assert all("error" not in profile for profile in result.profiles), result.profiles
    assert len(result.profiles[0]["norm_by_lag"]) >= 8 and isinstance(result.profiles[0]["memory_horizon"], int)


def test_the_lru_starts_on_the_papers_ring():
    r_min, r_max, max_phase = 0.9, 0.999, 2 * math.pi  # Orvieto et al. 2023, Table 8 (sCIFAR, Pathfinder)
    cell = build("lru", 0, hidden_size=512).recurrent.layer_cell(0)
    assert (cell.r_min, cell.r_max, cell.max_phase) == (r_min, r_max, max_phase)
    with torch.no_grad():
        eigenvalues = cell.eigenvalues().to(torch.complex128)  # (H,)
    modulus, phase = eigenvalues.abs(), torch.exp(cell.theta_log.detach().double())  # arg λ before wrapping
    tolerance = 1e-6  # the parameters are float32
    assert float(modulus.min()) >= r_min - tolerance and float(modulus.max()) <= r_max + tolerance
    assert float(modulus.min()) < 0.91 and float(modulus.max()) > 0.995  # spread over the ring
    assert float(phase.min()) > 0 and float(phase.max()) <= max_phase + tolerance
