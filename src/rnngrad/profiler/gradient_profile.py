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
- A module called several times in one forward pass (a decoder loop, a cell loop, a module
  applied to two sequences) has one record per CHAIN (``_chains``): calls that pass on the state
  the previous one returned share one time axis, concatenated in call order; ``calls(name)``
  counts the chains and every accessor takes ``call`` (default 0). A cell's call is one step;
  ``rnngrad.track`` appends one step per call. ``hidden_grad`` is then the total gradient at the
  state that call returned (at the tracked state, for ``track``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from torch import Tensor

from rnngrad.errors import InputError
from rnngrad.profiler import _summaries
from rnngrad.profiler._profile_summaries import ProfileSummaries
from rnngrad.profiler._serialization import (
    float_from_json,
    float_to_json,
    tensor_from_json,
    tensor_to_json,
)

FORMAT = "rnngrad.GradientProfile"
FORMAT_VERSION = 2  # 2: chains (call, num_calls, valid); 1 is still read


@dataclass(frozen=True)
class NonFiniteMark:
    """Where an inf or NaN first appeared, in the order the passes computed things."""

    quantity: str  # "hidden_state", "cell_state" (forward), "loss", "hidden_grad", "cell_grad"
    module: str | None = None  # qualified module name; None for the loss
    layer: int | None = None
    direction: int | None = None
    step: int | None = None  # time index t of the first non-finite entry, within its chain
    call: int | None = None  # which chain of the module

    def to_dict(self) -> dict[str, Any]:
        return {"quantity": self.quantity, "module": self.module, "layer": self.layer,
                "direction": self.direction, "step": self.step, "call": self.call}


class LayerRecord:
    """The recorded tensors of one layer and direction.

    ``hidden_grad`` dL/dh_t ``(T, B, H_out)``; ``cell_grad`` dL/dc_t ``(T, B, H)`` (LSTM only);
    ``forget_gate_step_mean`` ``(T,)`` mean f_t over valid sequences and units;
    ``forget_gate_log_product`` ``(B, H)`` Σ_t log f_t over valid steps. The last three may come
    from ``resolve``, computed on first use (a fused LSTM's, from what the pass kept).
    """

    def __init__(self, hidden_grad: Tensor, cell_grad: Tensor | None = None,
                 forget_gate_step_mean: Tensor | None = None, forget_gate_log_product: Tensor | None = None,
                 resolve: Callable[[], tuple[Tensor | None, Tensor | None, Tensor | None]] | None = None):
        self.hidden_grad = hidden_grad
        self._parts = (cell_grad, forget_gate_step_mean, forget_gate_log_product)
        self._resolve = resolve
        self.scaled_source: Callable | None = None  # the log-scaled (δh, δc) (``_profile_summaries``)
        self.log10_norm: Tensor | None = None  # (T, B) log10 ‖δh_t‖ of the log-scaled δh, as saved

    def _part(self, index: int) -> Tensor | None:
        if self._resolve is not None:
            self._parts, self._resolve = self._resolve(), None
        return self._parts[index]

    @property
    def cell_grad(self) -> Tensor | None:
        return self._part(0)

    @property
    def forget_gate_step_mean(self) -> Tensor | None:
        return self._part(1)

    @property
    def forget_gate_log_product(self) -> Tensor | None:
        return self._part(2)


@dataclass
class ModuleRecord:
    """One chain of one recurrent submodule as the forward pass met it."""

    name: str  # qualified name, "" for the model itself; the name given to track
    kind: str  # torch's mode: "LSTM", "GRU", "RNN_TANH" or "RNN_RELU"; "MinGRU", "MinLSTM", "LRU";
    #            a cell's class name ("LSTMCell", ...); "track"
    num_layers: int
    num_directions: int
    lengths: Tensor  # (B,) int64 valid steps per sequence (T for unpadded input)
    layers: dict[tuple[int, int], LayerRecord] = field(default_factory=dict)  # (layer, direction)
    call: int = 0  # index of this chain among the module's chains
    num_calls: int = 1  # module calls (cell or track steps) in the chain
    valid: Tensor | None = None  # (T, B) bool valid steps when not t < L_b (packed calls chained)

    def valid_steps(self) -> Tensor:
        """``(T, B)`` bool, True at the steps each sequence has."""
        if self.valid is not None:
            return self.valid
        steps = next(iter(self.layers.values())).hidden_grad.shape[0] if self.layers else 0
        return _summaries.valid_steps(steps, self.lengths)


class GradientProfile(ProfileSummaries):
    """Per-step gradients dL/dh_t (and dL/dc_t) of every recurrent submodule, with summaries."""

    def __init__(self, modules: list[ModuleRecord], loss: float,
                 nonfinite: NonFiniteMark | None = None, unsupported_modules: list[str] | None = None):
        self._modules: dict[str, list[ModuleRecord]] = {}
        for record in modules:
            self._modules.setdefault(record.name, []).append(record)
        self.loss = loss  # the loss value of the profiled pass
        self.nonfinite = nonfinite  # first inf/NaN, or None
        self.unsupported_modules = list(unsupported_modules or [])  # recurrent but not profiled

    @property
    def modules(self) -> list[str]:
        """Qualified names of the profiled recurrent submodules, in forward order."""
        return list(self._modules)

    def calls(self, name: str) -> int:
        """The number of chains of module ``name`` (1 for a module called once)."""
        return len(self._chains_of(name))

    def module(self, name: str, call: int = 0) -> ModuleRecord:
        """The record of one chain of a module (kind, layers, directions, lengths)."""
        chains = self._chains_of(name)
        if not isinstance(call, int) or isinstance(call, bool) or not 0 <= call < len(chains):
            raise InputError(f"call: expected a chain index in 0..{len(chains) - 1} for {name!r}, got {call!r}")
        return chains[call]

    def _chains_of(self, name: str) -> list[ModuleRecord]:
        if name not in self._modules:
            raise InputError(f"name: expected one of {self.modules}, got {name!r}")
        return self._modules[name]

    def records(self) -> list[ModuleRecord]:
        """Every chain's record: modules in forward order, each module's chains in order."""
        return [record for chains in self._modules.values() for record in chains]

    def layer(self, name: str | None, layer: int = 0, direction: int = 0, call: int = 0) -> LayerRecord:
        """The record of one layer and direction of one chain; name None means the first module."""
        record = self.module(self.modules[0] if name is None and self._modules else name, call)
        if (layer, direction) not in record.layers:
            raise InputError(
                f"layer, direction: expected layer in 0..{record.num_layers - 1} and direction in "
                f"0..{record.num_directions - 1} for {record.name!r}, got ({layer}, {direction})"
            )
        return record.layers[(layer, direction)]

    def hidden_grad(self, name: str, layer: int = 0, direction: int = 0, call: int = 0) -> Tensor:
        """dL/dh_t, ``(T, B, H_out)``, time-major, zeros at padded steps."""
        return self.layer(name, layer, direction, call).hidden_grad

    def cell_grad(self, name: str, layer: int = 0, direction: int = 0, call: int = 0) -> Tensor | None:
        """dL/dc_t, ``(T, B, H)`` for an LSTM (and an LSTM cell, a tracked ``(h, c)``); else None."""
        return self.layer(name, layer, direction, call).cell_grad

    def lengths(self, name: str, call: int = 0) -> Tensor:
        """``(B,)`` valid steps per sequence of the chain's input."""
        return self.module(name, call).lengths

    def mean_forget_gate(self, name: str | None = None, layer: int = 0, direction: int = 0, call: int = 0) -> float:
        """Mean LSTM forget gate over valid steps, sequences and units."""
        record = self._lstm_layer(name, layer, direction, call)
        return _summaries.mean_forget_gate(record.forget_gate_step_mean, self._valid(name, call))

    def carousel_product(self, name: str | None = None, layer: int = 0, direction: int = 0, call: int = 0) -> Tensor:
        """``(B, H)`` float64 ∏_t f_t over each sequence's valid steps (the carousel path)."""
        return self._lstm_layer(name, layer, direction, call).forget_gate_log_product.exp()

    def _valid(self, name: str | None, call: int) -> Tensor:
        return self.module(self.modules[0] if name is None else name, call).valid_steps()

    def _lstm_layer(self, name: str | None, layer: int, direction: int, call: int) -> LayerRecord:
        record = self.layer(name, layer, direction, call)
        if record.forget_gate_step_mean is None:
            kind = self.module(self.modules[0] if name is None else name, call).kind
            raise InputError(
                f"name: expected a fused LSTM module for forget-gate summaries (torch.nn.LSTM), got {kind}"
            )
        return record

    # JSON --------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON-ready dict holding everything (tensors moved to the CPU)."""
        modules = []
        for record in self.records():
            layers = [
                {"layer": layer, "direction": direction,
                 "hidden_grad": tensor_to_json(item.hidden_grad),
                 "cell_grad": tensor_to_json(item.cell_grad),
                 "forget_gate_step_mean": tensor_to_json(item.forget_gate_step_mean),
                 "forget_gate_log_product": tensor_to_json(item.forget_gate_log_product),
                 "log10_hidden_grad_norm": tensor_to_json(self._stored_log10_norm(record, layer, direction))}
                for (layer, direction), item in record.layers.items()
            ]
            modules.append({"name": record.name, "kind": record.kind,
                            "num_layers": record.num_layers, "num_directions": record.num_directions,
                            "lengths": tensor_to_json(record.lengths), "layers": layers,
                            "call": record.call, "num_calls": record.num_calls,
                            "valid": tensor_to_json(record.valid)})
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
        if data.get("version") not in (1, FORMAT_VERSION):  # version 1: one call per module
            raise InputError(
                f"profile JSON: expected version 1 or {FORMAT_VERSION}, got {data.get('version')!r}"
            )
        modules = []
        for item in data["modules"]:
            record = ModuleRecord(item["name"], item["kind"], int(item["num_layers"]),
                                  int(item["num_directions"]), tensor_from_json(item["lengths"]),
                                  call=int(item.get("call", 0)), num_calls=int(item.get("num_calls", 1)),
                                  valid=tensor_from_json(item.get("valid")))
            for layer in item["layers"]:
                layer_record = LayerRecord(
                    tensor_from_json(layer["hidden_grad"]), tensor_from_json(layer["cell_grad"]),
                    tensor_from_json(layer["forget_gate_step_mean"]),
                    tensor_from_json(layer["forget_gate_log_product"]))
                layer_record.log10_norm = tensor_from_json(layer.get("log10_hidden_grad_norm"))
                record.layers[(int(layer["layer"]), int(layer["direction"]))] = layer_record
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

    def _repr_html_(self) -> str:
        """How a notebook shows a profile: per layer a curve of log10 ‖dL/dh_t‖ and the summary."""
        from rnngrad.profiler.render_html import profile_html  # the renderer imports this module

        return profile_html(self)

    def __repr__(self) -> str:
        return f"GradientProfile(modules={self.modules}, loss={self.loss:.6g}, nonfinite={self.nonfinite})"
