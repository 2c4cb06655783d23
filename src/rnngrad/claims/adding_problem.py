r"""C11: the title's promise, on the adding problem in both its published placements.

The adding problem has two published forms (:mod:`rnngrad.tasks.adding`), and they differ in
what a model must bridge:

- **Le/Arjovsky** (``adding-sum``; Le et al. 2015, Arjovsky et al. 2016): one mark in each half of
  the sequence, so the second lag is short for some sequences; target X₁ + X₂.
- **HS97** (``adding``; Hochreiter & Schmidhuber 1997, exp. 4): both marks in the first half, every
  lag at least T/2; target 0.5 + (X₁ + X₂)/4.

Each model trains on each variant with the same update budget, batch, learning rate, clipping and
seed (:func:`rnngrad.training.train`); each run is one ``rnngrad train`` command
(:func:`train_command`). A run *learns* the variant when it meets that variant's criterion:
HS97's, the 2000 most recent sequences all within 0.04 of the target; Le/Arjovsky's, "beats the
baseline", read as a window MSE at most a tenth of it. Predicting the mean scores

.. math::

    \operatorname{MSE}_{\text{baseline}} = \operatorname{Var}(X_1 + X_2) = \tfrac16 \approx 0.167
    \ \text{(Le/Arjovsky)},\qquad
    \operatorname{Var}\Big(0.5 + \frac{X_1 + X_2}{4}\Big) = \frac{2 - 1/m}{48} \approx 0.0396
    \ \text{(HS97)}                                                                      \tag{1}

(HS97 set X₁ = 0 when the first pair, one of m = 10, is marked; eq. (4) of the task module).

The verdict, from who learned every T of a variant: "does not hold" if the tanh RNN learns any
run; "holds" if the LSTM with torch's init learns every T of every variant; "holds with caveat"
if on some variant an LSTM — torch's init, or one with its forget gate opened at init (chrono,
b_f = 1) — learns every T; "does not hold" if on no variant any LSTM does.
"""

from __future__ import annotations

from typing import Any

from rnngrad._json import number, numbers
from rnngrad.claims._result import CAVEAT, FAILS, HOLDS, Advance, ClaimResult, ClaimsConfig
from rnngrad.tasks import task_class
from rnngrad.tasks.adding import SUM_BASELINE_MSE, hs97_baseline_mse

C11_CLAIM = ("The title's promise: the LSTM is strong against gradient vanishing — on the adding problem "
             "at T = 50 and T = 100, with the same budget and seed, an LSTM learns it and a tanh RNN does not "
             "(measured on both published placements: Le et al. 2015 / Arjovsky et al. 2016, and HS97 exp. 4)")
VARIANTS = {"adding-sum": "Le/Arjovsky placement", "adding": "HS97 placement"}  # the tasks C11 may train on
TORCH_LSTM, TANH_RNN = "lstm", "rnn-tanh"
OPENED_LSTMS = ("lstm-chrono", "lstm-fb1")
# the TrainConfig fields C11 sets, each with its `rnngrad train` flag (M and T are placeholders)
FLAGS = (("task", "--task"), ("model", "--model"), ("T", "--T"), ("seed", "--seed"), ("steps", "--steps"),
         ("batch_size", "--batch-size"), ("hidden_size", "--hidden-size"), ("lr", "--lr"), ("clip", "--clip"),
         ("log_every", "--log-every"), ("profile_every", "--profile-every"))
PLACEHOLDERS = {"model": "M", "T": "T"}


def baseline_mse(task: str, T: int) -> float:
    """Eq. (1): the MSE of predicting the mean on one variant."""
    return SUM_BASELINE_MSE if task == "adding-sum" else hs97_baseline_mse(T)


def adding_train_configs(config: ClaimsConfig) -> list:
    """One :class:`~rnngrad.training.TrainConfig` per (variant, T, model), in that order."""
    from rnngrad.training import TrainConfig  # heavy import, only when training is asked for

    steps = config.train_steps
    return [TrainConfig(task=task, T=T, model=model, steps=steps, seed=config.seed, batch_size=config.train_batch,
                        hidden_size=config.train_hidden, lr=config.train_lr, clip=1.0,
                        log_every=max(1, steps // 40), profile_every=max(1, steps // 4))
            for task in config.train_tasks for T in config.train_T for model in config.train_models]


def train_command(train_config, placeholders: bool = False) -> str:
    """The ``rnngrad train`` command line that runs ``train_config`` (``--model M --T T`` with
    ``placeholders``). Floats are written with ``repr``, so the flags give back the same numbers."""
    parts = ["rnngrad", "train"]
    for name, flag in FLAGS:
        value = getattr(train_config, name)
        if name == "clip" and value is None:
            parts.append("--no-clip")
            continue
        parts += [flag, PLACEHOLDERS[name] if placeholders and name in PLACEHOLDERS else
                  repr(value) if isinstance(value, float) else str(value)]
    return " ".join(parts)


def _cost(train_config) -> float:
    """A run's rough cost on the CPU, to start the longest first (GRU steps cost about 2.5 others')."""
    return train_config.steps * train_config.T * (2.5 if train_config.model == "gru" else 1.0)


def measure_adding_problem(config: ClaimsConfig, advance: Advance) -> ClaimResult:
    """C11: one training run per (variant, model, T) with one budget, and who learns."""
    from rnngrad.training import train_all  # heavy import, only when training runs

    configs = adding_train_configs(config)
    order = sorted(range(len(configs)), key=lambda index: -_cost(configs[index]))  # the long runs first
    done = [0.0] * len(configs)

    def on_progress(position: int, fraction: float) -> None:
        done[position] = fraction
        advance(sum(done) / len(configs))

    results: list[dict] = [{}] * len(configs)

    def store(position: int, result) -> None:
        results[order[position]] = result.to_dict()

    # one intra-op thread per run, inline or in workers: the numbers depend neither on train_workers
    # nor on the order the runs start in
    train_all([configs[index] for index in order], config.train_workers, store, threads=1, on_progress=on_progress)
    runs, curves, profiles = [], {}, {}
    for train_config, result in zip(configs, results):
        task, model, T = train_config.task, train_config.model, train_config.T
        learned = result["status"] == "solved"
        runs.append({"task": task, "model": model, "T": T, "status": result["status"], "learned": learned,
                     "learned_at": result["steps"] if learned else None, "steps": result["steps"],
                     "sequences": result["sequences"], "final_mse": number(result["final_loss"], 4),
                     "final_accuracy": number(result["final_accuracy"], 4), "command": train_command(train_config)})
        key = f"{task}/{model}/T={T}"
        curves[key] = {"step": [step for step, _ in result["loss_curve"]],
                       "mse": numbers([loss for _, loss in result["loss_curve"]], 5)}
        profile = next((item for item in result["profiles"] if "norm_by_lag" in item), None)
        if profile is not None:
            profiles[key] = {"step": profile["step"], "norm_by_lag": numbers(profile["norm_by_lag"], 5)}

    tasks, lengths = list(config.train_tasks), list(config.train_T)
    baselines = {task: {str(T): number(baseline_mse(task, T), 4) for T in lengths} for task in tasks}
    evidence = {
        "task": "adding problem, " + " and ".join(f"{task} ({VARIANTS[task]})" for task in tasks),
        "variants": tasks, "T": lengths, "models": list(config.train_models), "steps_budget": config.train_steps,
        "batch_size": config.train_batch, "hidden_size": config.train_hidden, "lr": config.train_lr,
        "seed": config.seed, "baseline_mse": baselines,
        "criteria": {task: task_class(task).criterion for task in tasks},
        "commands": {task: train_command(next(c for c in configs if c.task == task), placeholders=True)
                     for task in tasks},
        "learned_every_T": {task: [model for model in config.train_models if _learned_every_T(runs, task, model)]
                            for task in tasks},
        "runs": runs,
    }
    evidence["headline"] = headline_en(evidence)
    series = {"curves": curves, "profiles": profiles, "baseline_mse": baselines, "variants": tasks,
              "learned": {f"{run['task']}/{run['model']}/T={run['T']}": run["learned"] for run in runs},
              "models": list(config.train_models), "T": lengths}
    return ClaimResult("C11", C11_CLAIM, decide_adding(evidence), evidence, "training_curves", series)


def _runs_of(runs: list[dict], task: str, model: str) -> list[dict]:
    return [run for run in runs if run.get("task", "adding") == task and run["model"] == model]


def _learned_every_T(runs: list[dict], task: str, model: str) -> bool:
    mine = _runs_of(runs, task, model)
    return bool(mine) and all(run["learned"] for run in mine)


def decide_adding(evidence: dict[str, Any]) -> str:
    """C11's rule (module docstring) on the runs' ``learned`` flags, per variant (``task``)."""
    runs = evidence["runs"]
    if any(run["learned"] for run in runs if run["model"] == TANH_RNN):
        return FAILS
    variants = list(dict.fromkeys(run.get("task", "adding") for run in runs))
    if variants and all(_learned_every_T(runs, task, TORCH_LSTM) for task in variants):
        return HOLDS
    some_lstm = any(_learned_every_T(runs, task, model) for task in variants for model in (TORCH_LSTM, *OPENED_LSTMS))
    return CAVEAT if some_lstm else FAILS


def learning_groups(evidence: dict[str, Any], task: str) -> dict[str, list[tuple[str, list[dict]]]]:
    """Per variant, the models that learned every T, some T, or none: ``{"learned", "partly",
    "not": [(model, its runs)]}`` in the evidence's model order (the headlines' grouping)."""
    groups: dict[str, list[tuple[str, list[dict]]]] = {"learned": [], "partly": [], "not": []}
    for model in evidence["models"]:
        mine = _runs_of(evidence["runs"], task, model)
        kind = ("learned" if mine and all(run["learned"] for run in mine)
                else "partly" if any(run["learned"] for run in mine) else "not")
        groups[kind].append((model, mine))
    return groups


def mse_text(run: dict) -> str:
    return "–" if run["final_mse"] is None else f"{run['final_mse']:.3g}"


def headline_en(evidence: dict[str, Any]) -> str:
    """The key evidence in English: per variant, who learned every T (at which update) and who not."""
    lengths = ", ".join(str(T) for T in evidence["T"])
    parts = []
    for task in evidence["variants"]:
        groups = learning_groups(evidence, task)
        learned = [f"{model} ({', '.join(str(run['learned_at']) for run in runs)})" for model, runs in groups["learned"]]
        partly = [model + " " + ", ".join(f"T = {run['T']} at {run['learned_at']}" if run["learned"]
                                          else f"not T = {run['T']}" for run in runs)
                  for model, runs in groups["partly"]]
        not_learned = [f"{model} (MSE {', '.join(mse_text(run) for run in runs)})" for model, runs in groups["not"]]
        baseline = "/".join(f"{value:.3g}" for value in dict.fromkeys(evidence["baseline_mse"][task].values()))
        words = [f"learned by {', '.join(learned)}" if learned else "learned by none",
                 *(f"partly by {item}" for item in partly),
                 f"not by {', '.join(not_learned)}" if not_learned else ""]
        parts.append(f"{VARIANTS[task]} ({task}, baseline MSE {baseline}): " + "; ".join(w for w in words if w))
    return (f"T = {lengths}, {evidence['steps_budget']} updates × {evidence['batch_size']} sequences (in brackets: "
            f"the update at which each T was learned). " + ". ".join(parts))
