"""Collects what one profiled forward and backward pass produce, then builds the profile.

The forward registers each call of a recurrent module (fused module, cell or ``track`` step)
as it happens; :class:`~rnngrad.profiler._chains.Chains` decides which chain it continues.
The layer scans and the state hooks hand in δh_t and δc_t per call; any check may mark the
first inf/NaN. At :meth:`Recorder.build` each chain's calls are concatenated along time. Calls
the backward never reached (the loss does not depend on them) get zero gradients.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from rnngrad.profiler._chains import Chains
from rnngrad.profiler._layer_io import LayerKey, LayerSpec
from rnngrad.profiler._layout import SequenceLayout
from rnngrad.profiler._scaled import CallRecipe, ChainRecipe
from rnngrad.profiler._scaled_diagonal import DiagonalRecipe
from rnngrad.profiler._scaled_steps import StepChainRecipe, StepParts
from rnngrad.profiler._scaled_track import TrackChainRecipe
from rnngrad.profiler.gradient_profile import (
    GradientProfile,
    LayerRecord,
    ModuleRecord,
    NonFiniteMark,
)


@dataclass
class _Call:
    """One call of a recurrent module: its sizes and where it sits in its chain."""

    kind: str
    num_layers: int
    num_directions: int
    layout: SequenceLayout
    hidden_shape: tuple[int, int, int]  # (T, B, H_out)
    cell_shape: tuple[int, int, int] | None  # (T, B, H) when the state has a cell part
    dtype: torch.dtype
    device: torch.device
    chain: int  # index of its chain among the module's chains
    offset: int  # its first time step within the chain


@dataclass
class _Mark:
    quantity: str
    key: LayerKey | None
    step: int | None


class Recorder:
    """Receives the records of one profiled pass; :meth:`build` turns them into a profile."""

    def __init__(self) -> None:
        self.chains = Chains()
        self._calls: dict[str, list[_Call]] = {}
        self._grads: dict[LayerKey, list[Tensor | None]] = {}  # [δh, δc]
        self._deferred: dict[LayerKey, Callable[[], tuple[Tensor, Tensor, Tensor]]] = {}
        self._nonfinite: _Mark | None = None
        self._recipes: dict[tuple[str, int], CallRecipe | DiagonalRecipe] = {}  # (module, call) → log-scaled recursion
        self.cell_copies: dict = {}  # id(module) → a copy with this pass's weights, for the recipes
        self.hooked_states: list[Tensor] = []  # every state tensor whose gradient a hook records
        self.float64_cells: dict = {}  # id(cell) → a float64 copy of it, for the steps' recipes
        self._views: dict[int, tuple[Tensor, Tensor, str]] = {}  # id(view) → (view, its state, the module's name)
        self._steps: dict[tuple[str, int], StepParts] = {}  # (module, call) → one step's parts
        self._tracked: dict[tuple[str, int], tuple[Tensor, ...]] = {}  # (name, call) → a track step's state
        self._hooks: list = []  # the handles of every hook the pass registered
        self.recording = True  # False once the pass's backward is over

    def hook(self, tensor: Tensor, function: Callable[[Tensor], None]) -> None:
        """``tensor.register_hook(function)`` for the pass's backward only (see :meth:`stop_recording`)."""
        self._hooks.append(tensor.register_hook(function))

    def stop_recording(self) -> None:
        """The backward is over: remove the hooks and ignore later records, so that the products
        the tracked chains take through the retained graph (``_scaled_track``) change nothing."""
        for handle in self._hooks:
            handle.remove()
        self._hooks.clear()
        self.recording = False

    @property
    def needs_graph(self) -> bool:
        """True when a tracked chain may need the graph after the backward (``_scaled_track``)."""
        return bool(self._tracked)

    def keep_tracked(self, name: str, call: int, states: tuple[Tensor, ...]) -> None:
        """The state tensors of one ``track`` step, for the products of ``_scaled_track``."""
        self._tracked[(name, call)] = states

    @property
    def empty(self) -> bool:
        """True while no recurrent call has been recorded."""
        return not self._calls

    def begin_call(self, name: str, kind: str, num_layers: int, num_directions: int,
                   layout: SequenceLayout, hidden_out: int, cell_size: int | None,
                   dtype: torch.dtype, device: torch.device, initial: tuple[Tensor | None, ...]) -> int:
        """Register one call of module ``name``; returns its call index (for :class:`LayerKey`).

        ``initial`` is the state the call received (``()`` for none): the call continues the
        chain whose last call returned exactly these tensors, else starts a new chain.
        """
        calls = self._calls.setdefault(name, [])
        steps, batch = layout.steps, layout.batch
        chain, offset = self.chains.place(name, initial, len(calls), steps, (batch, hidden_out, cell_size))
        calls.append(_Call(kind, num_layers, num_directions, layout, (steps, batch, hidden_out),
                           None if cell_size is None else (steps, batch, cell_size), dtype, device,
                           chain, offset))
        return len(calls) - 1

    def end_call(self, name: str, call: int, final: tuple[Tensor, ...]) -> None:
        """The state the call returned: a later call that receives it continues the chain."""
        self.chains.close(name, self._calls[name][call].chain, final)

    def keep_recipe(self, name: str, call: int, recipe: CallRecipe) -> None:
        """What the log-scaled gradients of one call need (``_scaled``)."""
        self._recipes[(name, call)] = recipe

    def keep_views(self, name: str, views: tuple[Tensor, ...], states: tuple[Tensor, ...]) -> None:
        """The views of module ``name``'s final states that its caller got: passed back to the
        same module to continue its chain, they mean the states themselves."""
        for view, state in zip(views, states):
            self._views[id(view)] = (view, state, name)

    def states_behind(self, name: str, given: tuple[Tensor, ...]) -> tuple[Tensor, ...] | None:
        """For the state a call of ``name`` receives: the states behind the views it is, when the
        call continues one of ``name``'s chains (so its use bypasses the caller's views); else
        None (a new chain, or another module's state: the use stays the caller's)."""
        if not given or id(given[0]) not in self._views or not self.chains.continues(name, given):
            return None
        kept = [self._views.get(id(part)) for part in given]
        if any(entry is None or entry[0] is not part or entry[2] != name for entry, part in zip(kept, given)):
            return None
        return tuple(entry[1] for entry in kept)

    def keep_step(self, name: str, call: int, parts: StepParts) -> None:
        """What one step of a cell loop gives the log-scaled recursion (``_scaled_steps``)."""
        self._steps[(name, call)] = parts

    def defer(self, key: LayerKey, resolve: Callable[[], tuple[Tensor, Tensor, Tensor]]) -> None:
        """δc_t ``(T, B, H)`` time order, the mean forget gate per step ``(T,)`` and the log
        carousel product ``(B, H)`` of one call, computed by ``resolve`` when first asked for."""
        self._deferred[key] = resolve

    def record_backward(self, key: LayerKey, hidden_grad: Tensor | None, cell_grad: Tensor | None) -> None:
        """δh_t ``(T, B, H_out)`` and δc_t ``(T, B, H)`` of one call, in time order; a None
        leaves what an earlier record gave (state hooks hand in h and c separately)."""
        if not self.recording:
            return
        slots = self._grads.setdefault(key, [None, None])
        for index, grad in enumerate((hidden_grad, cell_grad)):
            if grad is not None:
                slots[index] = grad

    def mark_nonfinite(self, quantity: str, key: LayerKey | None = None, step: int | None = None) -> None:
        """Keep the first inf/NaN seen (``step`` within the call); later ones are consequences."""
        if self._nonfinite is None and self.recording:
            self._nonfinite = _Mark(quantity, key, step)

    def build(self, loss: float, unsupported_modules: list[str]) -> GradientProfile:
        """The profile of everything recorded: per module, one record per chain."""
        modules = []
        for name, calls in self._calls.items():
            for chain, members in enumerate(self.chains.members(name)):
                modules.append(self._chain_record(name, chain, [(index, calls[index]) for index in members]))
        self._tracked.clear()  # the graph can go
        return GradientProfile(modules, loss, self._built_mark(), unsupported_modules)

    def _chain_record(self, name: str, chain: int, calls: list[tuple[int, _Call]]) -> ModuleRecord:
        first = calls[0][1]
        valid = None
        if len(calls) == 1:
            lengths = first.layout.lengths()
        else:  # a step is valid where its call's sequence had it
            valid = torch.cat([call.layout.valid_steps() for _, call in calls])  # (T, B)
            lengths = valid.sum(0)
        record = ModuleRecord(name, first.kind, first.num_layers, first.num_directions, lengths,
                              call=chain, num_calls=len(calls), valid=valid)
        recipe = self._recipes.get((name, calls[0][0])) if len(calls) == 1 else None
        chained = [self._recipes.get((name, index)) for index, _ in calls]
        if (recipe is None and len(calls) > 1 and isinstance(chained[0], (CallRecipe, DiagonalRecipe))
                and all(type(part) is type(chained[0]) for part in chained)):
            recipe = ChainRecipe(chained)
        widths = (first.hidden_shape[2],) + (() if first.cell_shape is None else (first.cell_shape[2],))
        if recipe is None and all((name, index) in self._steps for index, _ in calls):
            recipe = StepChainRecipe([self._steps[(name, index)] for index, _ in calls], widths)
        if recipe is None and all((name, index) in self._tracked for index, _ in calls):
            recorded = [self._grads.get(LayerKey(name, 0, 0, index), [None, None]) for index, _ in calls]
            scaled = TrackChainRecipe([self._tracked[(name, index)] for index, _ in calls], recorded, widths).run()
            recipe = _Done(scaled)
        for layer in range(first.num_layers):
            for direction in range(first.num_directions):
                keys = [(LayerKey(name, layer, direction, index), call) for index, call in calls]
                hidden = [_or_zeros(self._grads.get(key, (None, None))[0], call.hidden_shape, call)
                          for key, call in keys]
                if any(key in self._deferred for key, _ in keys):
                    layer_record = LayerRecord(_cat(hidden), resolve=functools.partial(self._chain_parts, keys))
                else:
                    layer_record = LayerRecord(_cat(hidden), *self._chain_parts(keys))
                if recipe is not None:
                    layer_record.scaled_source = functools.partial(_scaled_of, recipe, layer, direction)
                record.layers[(layer, direction)] = layer_record
        return record

    def _chain_parts(self, keys: list[tuple[LayerKey, _Call]]) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
        """(δc, mean forget gate per step, log carousel product) of a chain, over its calls."""
        cell, means, logs = [], [], []
        for key, call in keys:
            if key in self._deferred:  # a fused LSTM's: computed now
                cell_grad, step_mean, log_product = self._deferred[key]()
            else:  # a cell's or a tracked state's, from the hooks; no forget-gate statistics
                cell_grad, step_mean, log_product = self._grads.get(key, (None, None))[1], None, None
            if call.cell_shape is not None:
                cell.append(_or_zeros(cell_grad, call.cell_shape, call))
            if step_mean is not None:
                means.append(step_mean)
                logs.append(log_product)
        return (_cat(cell) if cell else None, _cat(means) if len(means) == len(keys) else None,
                torch.stack(logs).sum(0) if len(logs) == len(keys) else None)

    def _built_mark(self) -> NonFiniteMark | None:
        mark = self._nonfinite
        if mark is None:
            return None
        if mark.key is None:
            return NonFiniteMark(mark.quantity)
        call = self._calls[mark.key.module][mark.key.call]
        step = None if mark.step is None else call.offset + mark.step
        return NonFiniteMark(mark.quantity, mark.key.module, mark.key.layer, mark.key.direction, step,
                             call.chain)


def forget_step_means(spec: LayerSpec, unit_mean: Tensor) -> Tensor:
    """``(T,)`` mean forget gate per time step over the sequences valid there, from the scan-order
    means over units ``(T, B)``."""
    layout = spec.layout
    unit_mean = layout.scan_order(unit_mean.unsqueeze(2), spec.reverse).squeeze(2)  # (T, B)
    valid_rows = layout.batch if layout.full else (~layout.padding().squeeze(2)).sum(1).clamp_min(1)
    return unit_mean.sum(1) / valid_rows


@dataclass
class _Done:
    """A recipe computed already (a tracked chain's, while the graph was there)."""

    result: dict[tuple[int, int], tuple]

    def scaled(self) -> dict[tuple[int, int], tuple]:
        return self.result


def _scaled_of(recipe: CallRecipe, layer: int, direction: int):
    return recipe.scaled()[(layer, direction)]


def _or_zeros(grad: Tensor | None, shape: tuple[int, int, int], call: _Call) -> Tensor:
    return torch.zeros(shape, dtype=call.dtype, device=call.device) if grad is None else grad


def _cat(parts: list[Tensor]) -> Tensor:
    return parts[0] if len(parts) == 1 else torch.cat(parts)
