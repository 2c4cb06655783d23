"""The result of :func:`rnngrad.profiler.profile`: a plain data object with JSON save/load.

Conventions (the same for every module kind):

- t runs over the T padded time steps 0..T−1 of the module's input; tensors are time-major
  ``(T, B, ·)`` whatever ``batch_first`` is; an unbatched ``(T, I)`` input gives B = 1.
- h_t is the hidden state a layer outputs at step t: the state right after it read x_t. For
  direction 1 (the backward half of a bidirectional module), which reads t = T−1 down to 0, h_t
  depends on x_t … x_{T−1} (x_t … x_{L_b−1} for a sequence of length L_b in a PackedSequence),
  and its recurrence gradient flows from h_{t−1} to h_t.
- ``hidden_grad`` = dL/dh_t, the TOTAL gradient at h_t: through the recurrence, through the
  outputs to upper layers and to the loss, and through h_n. For an LSTM with proj_size > 0, h is
  the projected state (size proj_size); ``cell_grad`` = dL/dc_t (size hidden_size).
- Padded steps of a PackedSequence hold zeros; ``lengths(name)`` gives each sequence's length.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import Tensor

from rnngrad.errors import InputError
from rnngrad.profiler import _summaries
from rnngrad.profiler._serialization import (
    float_from_json,
    float_to_json,
    tensor_from_json,
    tensor_to_json,
)

FORMAT = "rnngrad.GradientProfile"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class NonFiniteMark:
    """Where an inf or NaN first appeared, in the order the passes computed things."""

    quantity: str  # "hidden_state", "cell_state" (forward), "loss", "hidden_grad", "cell_grad"
    module: str | None = None  # qualified module name; None for the loss
    layer: int | None = None
    direction: int | None = None
    step: int | None = None  # time index t of the first non-finite entry

    def to_dict(self) -> dict[str, Any]:
        return {"quantity": self.quantity, "module": self.module, "layer": self.layer,
                "direction": self.direction, "step": self.step}


@dataclass
class LayerRecord:
    """The recorded tensors of one layer and direction."""

    hidden_grad: Tensor  # dL/dh_t, (T, B, H_out)
    cell_grad: Tensor | None = None  # dL/dc_t, (T, B, H); LSTM only
    forget_gate_step_mean: Tensor | None = None  # (T,) mean f_t over valid sequences and units
    forget_gate_log_product: Tensor | None = None  # (B, H) Σ_t log f_t over valid steps


@dataclass
class ModuleRecord:
    """One recurrent submodule as the forward pass met it."""

    name: str  # qualified name, "" for the model itself
    kind: str  # torch's mode: "LSTM", "GRU", "RNN_TANH" or "RNN_RELU"; or "MinGRU", "MinLSTM", "LRU"
    num_layers: int
    num_directions: int
    lengths: Tensor  # (B,) int64 sequence lengths (T for unpadded input)
    layers: dict[tuple[int, int], LayerRecord] = field(default_factory=dict)  # (layer, direction)


class GradientProfile:
    """Per-step gradients dL/dh_t (and dL/dc_t) of every recurrent submodule, with summaries."""

    def __init__(self, modules: list[ModuleRecord], loss: float,
                 nonfinite: NonFiniteMark | None = None, unsupported_modules: list[str] | None = None):
        self._modules = {record.name: record for record in modules}
        self.loss = loss  # the loss value of the profiled pass
        self.nonfinite = nonfinite  # first inf/NaN, or None
        self.unsupported_modules = list(unsupported_modules or [])  # recurrent but not profiled

    @property
    def modules(self) -> list[str]:
        """Qualified names of the profiled recurrent submodules, in forward order."""
        return list(self._modules)

    def module(self, name: str) -> ModuleRecord:
        """The record of one module (kind, layers, directions, lengths)."""
        if name not in self._modules:
            raise InputError(f"name: expected one of {self.modules}, got {name!r}")
        return self._modules[name]

    def layer(self, name: str | None, layer: int = 0, direction: int = 0) -> LayerRecord:
        """The record of one layer and direction; name None means the first module."""
        record = self.module(self.modules[0] if name is None and self._modules else name)
        if (layer, direction) not in record.layers:
            raise InputError(
                f"layer, direction: expected layer in 0..{record.num_layers - 1} and direction in "
                f"0..{record.num_directions - 1} for {record.name!r}, got ({layer}, {direction})"
            )
        return record.layers[(layer, direction)]

    def hidden_grad(self, name: str, layer: int = 0, direction: int = 0) -> Tensor:
        """dL/dh_t, ``(T, B, H_out)``, time-major, zeros at padded steps."""
        return self.layer(name, layer, direction).hidden_grad

    def cell_grad(self, name: str, layer: int = 0, direction: int = 0) -> Tensor | None:
        """dL/dc_t, ``(T, B, H)`` for an LSTM; None for RNN and GRU."""
        return self.layer(name, layer, direction).cell_grad

    def lengths(self, name: str) -> Tensor:
        """``(B,)`` sequence lengths of the module's input."""
        return self.module(name).lengths

    # summaries ---------------------------------------------------------------------------

    def hidden_grad_norm(self, name: str | None = None, layer: int = 0, direction: int = 0) -> Tensor:
        """``(T, B)`` per-step norms ‖dL/dh_t‖ per sequence (``_summaries`` (1))."""
        return _summaries.step_norms(self.layer(name, layer, direction).hidden_grad)

    def mean_hidden_grad_norm(self, name: str | None = None, layer: int = 0, direction: int = 0) -> Tensor:
        """``(T,)`` per-step norm ‖dL/dh_t‖, mean over the sequences valid at t."""
        norms = self.hidden_grad_norm(name, layer, direction)
        return _summaries.mean_over_valid(norms, self._lengths_of(name).to(norms.device))

    def hidden_grad_norm_by_lag(self, name: str | None = None, layer: int = 0, direction: int = 0) -> Tensor:
        """``(T,)`` mean norm by lag k back through the recurrence (``_summaries`` (2)-(3))."""
        record = self.layer(name, layer, direction)
        return _summaries.norms_by_lag(record.hidden_grad, self._lengths_of(name), direction)

    def decay_rate(self, name: str | None = None, layer: int = 0, direction: int = 0) -> float:
        """Exponential decay rate per step of ‖dL/dh‖ back through time (> 0: vanishing)."""
        return _summaries.decay_rate(self.hidden_grad_norm_by_lag(name, layer, direction))

    def memory_horizon(self, name: str | None = None, layer: int = 0, direction: int = 0,
                       eps: float = 1e-2) -> int:
        """The largest lag over which the mean ‖dL/dh‖ stays ≥ eps × its peak."""
        if not eps > 0:
            raise InputError(f"eps: expected a positive number, got {eps!r}")
        return _summaries.memory_horizon(self.hidden_grad_norm_by_lag(name, layer, direction), eps)

    def mean_forget_gate(self, name: str | None = None, layer: int = 0, direction: int = 0) -> float:
        """Mean LSTM forget gate over valid steps, sequences and units."""
        record = self._lstm_layer(name, layer, direction)
        return _summaries.mean_forget_gate(record.forget_gate_step_mean, self._lengths_of(name))

    def carousel_product(self, name: str | None = None, layer: int = 0, direction: int = 0) -> Tensor:
        """``(B, H)`` float64 ∏_t f_t over each sequence's valid steps (the carousel path)."""
        return self._lstm_layer(name, layer, direction).forget_gate_log_product.exp()

    def _lengths_of(self, name: str | None) -> Tensor:
        return self.module(self.modules[0] if name is None else name).lengths

    def _lstm_layer(self, name: str | None, layer: int, direction: int) -> LayerRecord:
        record = self.layer(name, layer, direction)
        if record.forget_gate_step_mean is None:
            kind = self.module(self.modules[0] if name is None else name).kind
            raise InputError(f"name: expected an LSTM module for forget-gate summaries, got {kind}")
        return record

    # JSON --------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON-ready dict holding everything (tensors moved to the CPU)."""
        modules = []
        for record in self._modules.values():
            layers = [
                {"layer": layer, "direction": direction,
                 "hidden_grad": tensor_to_json(item.hidden_grad),
                 "cell_grad": tensor_to_json(item.cell_grad),
                 "forget_gate_step_mean": tensor_to_json(item.forget_gate_step_mean),
                 "forget_gate_log_product": tensor_to_json(item.forget_gate_log_product)}
                for (layer, direction), item in record.layers.items()
            ]
            modules.append({"name": record.name, "kind": record.kind,
                            "num_layers": record.num_layers, "num_directions": record.num_directions,
                            "lengths": tensor_to_json(record.lengths), "layers": layers})
        return {"format": FORMAT, "version": FORMAT_VERSION, "loss": float_to_json(self.loss),
                "nonfinite": None if self.nonfinite is None else self.nonfinite.to_dict(),
                "unsupported_modules": self.unsupported_modules, "modules": modules}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradientProfile:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InputError(
                f"profile JSON: expected a dict with format {FORMAT!r}, got {type(data).__name__}"
            )
        if data.get("version") != FORMAT_VERSION:
            raise InputError(f"profile JSON: expected version {FORMAT_VERSION}, got {data.get('version')!r}")
        modules = []
        for item in data["modules"]:
            record = ModuleRecord(item["name"], item["kind"], int(item["num_layers"]),
                                  int(item["num_directions"]), tensor_from_json(item["lengths"]))
            for layer in item["layers"]:
                record.layers[(int(layer["layer"]), int(layer["direction"]))] = LayerRecord(
                    tensor_from_json(layer["hidden_grad"]), tensor_from_json(layer["cell_grad"]),
                    tensor_from_json(layer["forget_gate_step_mean"]),
                    tensor_from_json(layer["forget_gate_log_product"]))
            modules.append(record)
        nonfinite = None if data.get("nonfinite") is None else NonFiniteMark(**data["nonfinite"])
        return cls(modules, float_from_json(data["loss"]), nonfinite, data.get("unsupported_modules"))

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_dict` as strict JSON (written to a temporary file, then renamed)."""
        path = Path(path)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(self.to_dict(), allow_nan=False))
        temporary.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> GradientProfile:
        """Read a profile written by :meth:`save`."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise InputError(f"path: expected a readable profile JSON file, got {path!s} ({error})") from None
        return cls.from_dict(data)

    def __repr__(self) -> str:
        return f"GradientProfile(modules={self.modules}, loss={self.loss:.6g}, nonfinite={self.nonfinite})"
