"""Sweeps: grids of training runs, stored crash-safely in SQLite, run locally or on Ray.

``SweepSpec`` expands to ``TrainConfig`` runs keyed by :func:`config_key`; ``ResultsStore``
holds one row per finished run; runs execute locally (:func:`rnngrad.training.train_all`) or on Ray (``ray_backend``); ``summarize`` and
``plot_success_rate`` read results side by side with the published numbers; ``run_sweep``
runs a :class:`SweepConfig` into its database, ``run_plan`` a spec file's :class:`SweepPlan`
(``load_sweep_plan``), and ``load_results`` reads one back; ``results_table`` is the table per
(task, T) that ``rnngrad results`` renders.
"""

from rnngrad.sweep.plot import plot_success_rate
from rnngrad.sweep.spec import SweepSpec, config_key
from rnngrad.sweep.store import ResultsStore, check_results_db
from rnngrad.sweep.summary import summarize
from rnngrad.sweep.spec_file import SweepPlan, load_sweep_plan
from rnngrad.sweep.table import results_table
from rnngrad.sweep.run import SweepConfig, SweepEvent, SweepOutcome, load_results, run_configs, run_plan, run_sweep

__all__ = ["ResultsStore", "SweepConfig", "SweepEvent", "SweepOutcome", "SweepPlan", "SweepSpec", "check_results_db",
           "config_key", "load_results", "load_sweep_plan", "plot_success_rate", "results_table", "run_configs",
           "run_plan", "run_sweep", "summarize"]
