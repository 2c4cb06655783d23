"""Renderers of a GradientProfile: a JSON-ready summary and a plot of ‖dL/dh_t‖ over time.

The profile holds the data; these turn it into things for people. Only :func:`save_plot` touches
the file system (it writes a temporary file and renames it, so a failure leaves nothing behind).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from rnngrad._json import finite_list, finite_or_none
from rnngrad.errors import InputError
from rnngrad.profiler.gradient_profile import GradientProfile

HORIZON_EPS = 1e-2  # memory horizon threshold used by the summary


def summary(profile: GradientProfile, eps: float = HORIZON_EPS) -> dict[str, Any]:
    """Per module, layer and direction: mean ‖dL/dh_t‖ by time and by lag, decay rate, horizon.

    The decay rate is ``decay_rate_nats_per_step`` (:meth:`GradientProfile.decay_rate`: natural
    log, > 0 vanishing). LSTM layers also get the mean forget gate and log10 of the carousel product ∏ f averaged
    over sequences and units. Non-finite numbers become None.
    """
    layers = []
    for record in profile.records():
        name, call = record.name, record.call
        for (layer, direction), item in record.layers.items():
            by_time = profile.mean_hidden_grad_norm(name, layer, direction, call).double().cpu()
            by_lag = profile.hidden_grad_norm_by_lag(name, layer, direction, call).cpu()
            entry: dict[str, Any] = {
                "module": name,
                "kind": record.kind,
                "call": call,
                "calls_in_chain": record.num_calls,
                "layer": layer,
                "direction": direction,
                "steps": int(item.hidden_grad.shape[0]),
                "batch": int(item.hidden_grad.shape[1]),
                "mean_grad_norm_by_time": finite_list(by_time),
                "mean_grad_norm_by_lag": finite_list(by_lag),
                "decay_rate_nats_per_step": finite_or_none(profile.decay_rate(name, layer, direction, call)),
                "memory_horizon": profile.memory_horizon(name, layer, direction, eps=eps, call=call),
            }
            if item.forget_gate_step_mean is not None:
                log10_product = item.forget_gate_log_product.mean().item() / math.log(10)
                entry["mean_forget_gate"] = finite_or_none(profile.mean_forget_gate(name, layer, direction, call))
                entry["log10_carousel_product"] = finite_or_none(log10_product)
            layers.append(entry)
    nonfinite = None if profile.nonfinite is None else profile.nonfinite.to_dict()
    return {
        "loss": finite_or_none(profile.loss),
        "nonfinite": nonfinite,
        "memory_horizon_eps": eps,
        "layers": layers,
    }


def save_plot(profile: GradientProfile, path: str | Path) -> None:
    """Write a PNG of mean ‖dL/dh_t‖ against t (log scale), one line per module/layer/direction."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise InputError(f"plot: expected a .png file name, got {str(path)!r}")
    if not path.parent.is_dir():
        raise InputError(f"plot: expected an existing directory for {str(path)!r}, got none")
    figure = Figure(figsize=(7, 4), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for record in profile.records():
        name, call = record.name, record.call
        for layer, direction in record.layers:
            norms = profile.mean_hidden_grad_norm(name, layer, direction, call).double().cpu()
            label = f"{name or record.kind} layer {layer}"
            label += " backward" if direction else ""
            label += f" call {call}" if profile.calls(name) > 1 else ""
            axes.plot(range(len(norms)), norms.numpy(), label=label, marker=".", markersize=3)
    axes.set_yscale("log", nonpositive="mask")
    axes.set_xlabel("time step t")
    axes.set_ylabel("mean ‖dL/dh_t‖")
    axes.set_title("Gradient flowing back through time")
    axes.legend(fontsize="small")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        figure.savefig(temporary, format="png", dpi=100)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
