r"""C11: the title's promise, on the adding problem (Hochreiter & Schmidhuber 1997, exp. 4).

Each model trains with the same update budget, batch, learning rate, clipping and seed
(:func:`rnngrad.training.train`). A run *learns* the task when it meets HS97's criterion: the
2000 most recent sequences all within 0.04 of the target. Predicting the mean scores

.. math::

    \operatorname{MSE}_{\text{baseline}} = \operatorname{Var}\Big(\frac{X_1 + X_2}{4}\Big)
    = \frac{2}{16} \cdot \frac{1}{3} = \frac{1}{24} \approx 0.042                       \tag{1}

The verdict: "holds" if the LSTM with torch's init learns every length and the tanh RNN none;
"holds with caveat" if only an LSTM with its forget gate opened at init (chrono, or b_f = 1)
does; "does not hold" otherwise.
"""

from __future__ import annotations

from rnngrad._json import number, numbers
from rnngrad.claims._result import CAVEAT, FAILS, HOLDS, Advance, ClaimResult, ClaimsConfig

C11_CLAIM = ("The title's promise: the LSTM is strong against gradient vanishing — on the adding problem "
             "at T = 50 and T = 100, with the same budget and seed, an LSTM learns it and a tanh RNN does not")
BASELINE_MSE = 1.0 / 24.0  # (1)
OPENED_LSTMS = ("lstm-chrono", "lstm-fb1")


def measure_adding_problem(config: ClaimsConfig, advance: Advance) -> ClaimResult:
    """C11: one training run per (model, T) with one budget, and who learns."""
    from rnngrad.training import TrainConfig, train_all  # heavy import, only when training runs

    jobs = [(model, T) for T in config.train_T for model in config.train_models]
    configs = [TrainConfig(
        task="adding", T=T, model=model, steps=config.train_steps, seed=config.seed,
        batch_size=config.train_batch, hidden_size=config.train_hidden, lr=config.train_lr, clip=1.0,
        log_every=max(1, config.train_steps // 40), profile_every=max(1, config.train_steps // 4),
    ) for model, T in jobs]
    done = [0.0] * len(jobs)

    def on_progress(index: int, fraction: float) -> None:
        done[index] = fraction
        advance(sum(done) / len(jobs))

    results: list[dict] = [{}] * len(jobs)

    def store(index: int, result) -> None:
        results[index] = result.to_dict()

    # one intra-op thread per run, inline or in workers: the numbers do not depend on train_workers
    train_all(configs, config.train_workers, store, threads=1, on_progress=on_progress)
    runs, curves, profiles = [], {}, {}
    for (model, T), result in zip(jobs, results):
        key = f"{model}/T={T}"
        runs.append({"model": model, "T": T, "status": result["status"], "learned": result["status"] == "solved",
                     "steps": result["steps"], "sequences": result["sequences"],
                     "final_mse": number(result["final_loss"], 4), "final_accuracy": number(result["final_accuracy"], 4)})
        curves[key] = {"step": [step for step, _ in result["loss_curve"]],
                       "mse": numbers([loss for _, loss in result["loss_curve"]], 5)}
        profile = next((item for item in result["profiles"] if "norm_by_lag" in item), None)
        if profile is not None:
            profiles[key] = {"step": profile["step"], "norm_by_lag": numbers(profile["norm_by_lag"], 5)}

    lengths = ", ".join(f"{T}" for T in config.train_T)

    def summary(model: str) -> str:
        done = [run for run in runs if run["model"] == model]
        return "/".join("learned" if run["learned"] else f"MSE {run['final_mse']:.3g}" for run in done)

    evidence = {
        "task": "adding (HS97 exp. 4)", "T": list(config.train_T), "steps_budget": config.train_steps,
        "batch_size": config.train_batch, "hidden_size": config.train_hidden, "lr": config.train_lr,
        "seed": config.seed, "baseline_mse": number(BASELINE_MSE, 4), "runs": runs,
        "headline": (f"T = {lengths}, {config.train_steps} updates × {config.train_batch} sequences: "
                     + "; ".join(f"{model} {summary(model)}" for model in config.train_models)
                     + f" (baseline MSE {BASELINE_MSE:.3f})"),
    }
    series = {"curves": curves, "profiles": profiles, "baseline_mse": BASELINE_MSE,
              "learned": {f"{run['model']}/T={run['T']}": run["learned"] for run in runs},
              "models": list(config.train_models), "T": list(config.train_T)}
    return ClaimResult("C11", C11_CLAIM, decide_adding(evidence), evidence, "training_curves", series)


def decide_adding(evidence) -> str:
    """C11: torch-init LSTM learns every T and the tanh RNN none → holds; only an opened LSTM → caveat."""
    runs = evidence["runs"]

    def learned_all(model: str) -> bool:
        mine = [run for run in runs if run["model"] == model]
        return bool(mine) and all(run["learned"] for run in mine)

    if any(run["learned"] for run in runs if run["model"] == "rnn-tanh"):
        return FAILS
    if learned_all("lstm"):
        return HOLDS
    return CAVEAT if any(learned_all(model) for model in OPENED_LSTMS) else FAILS
