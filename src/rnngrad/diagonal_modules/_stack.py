r"""A stack of diagonal recurrent layers run over whole sequences by :func:`rnngrad.scan.linear_scan`.

Layer k = 0..L−1 of a stack is one diagonal cell (:mod:`rnngrad.cells._diagonal`) run over time;
it reads x^{(0)}_t = x_t, the stack's input, or the output of the layer below it:

.. math::

    a^{(k)}_t,\ b^{(k)}_t &= \operatorname{coefficients}^{(k)}(x^{(k)}_t)                  \tag{1}

    h^{(k)}_t &= a^{(k)}_t \odot h^{(k)}_{t-1} + b^{(k)}_t,\qquad h^{(k)}_0 = h_0[k]      \tag{2}

    x^{(k+1)}_t &= \operatorname{Re} h^{(k)}_t                                           \tag{3}

with output x^{(L)}_1..x^{(L)}_T and h_n[k] = h^{(k)}_T. (1) is one batched product over the whole
sequence (T, B, I_k) and (2) one :func:`~rnngrad.scan.linear_scan`: no Python loop over time.
Re is the identity for the real minGRU and minLSTM; for the LRU, whose state is complex, (3) is
its output (see :class:`~rnngrad.diagonal_modules.LRU`).

The parameters live on the stack itself under torch.nn's per-layer names (``weight_ih_l0``,
``bias_ih_l1``, ...; for the LRU ``nu_log_l0``, ...), so ``state_dict`` is flat, as torch's is.
:meth:`DiagonalStack.layer_cell` builds layer k's cell on demand around the very same
``nn.Parameter`` objects: nothing is copied, and the cell's ``coefficients`` are differentiable with
respect to the stack's parameters. The cells are kept in a plain dict, not as submodules (so they
add nothing to ``state_dict``), and a cell is built anew whenever a parameter it holds is no longer
the stack's (after ``module.weight_ih_l0 = nn.Parameter(...)``, or a ``.to()`` that replaces
parameters): ``load_state_dict`` and the usual in-place ``.to()`` and ``.double()`` keep them.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from rnngrad.cells._diagonal import DiagonalCell
from rnngrad.errors import InputError, require_positive_int
from rnngrad.scan import linear_scan

Scan = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]  # (a, b, h0) -> h, eq. (2)


class DiagonalStack(nn.Module):
    """Base of :class:`MinGRU`, :class:`MinLSTM` and :class:`LRU`: layers of ``cell_type``,
    eqs. (1)–(3). A subclass sets ``cell_type`` and passes its cells' extra options."""

    cell_type: type[DiagonalCell] = DiagonalCell

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        batch_first: bool = False,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
        **cell_options: float,
    ) -> None:
        super().__init__()
        self.input_size = require_positive_int("input_size", input_size)
        self.hidden_size = require_positive_int("hidden_size", hidden_size)
        self.num_layers = require_positive_int("num_layers", num_layers)
        if not isinstance(batch_first, bool):
            raise InputError(f"batch_first: expected a bool, got {batch_first!r}")
        self.batch_first = batch_first
        self._cell_options = cell_options
        self._cells: dict[int, DiagonalCell] = {}  # layer -> its cell; a plain dict, not submodules
        for layer in range(num_layers):
            # Each layer's cell draws its own initial parameters, in turn from ``generator``; the
            # stack registers those very parameters under torch's names.
            cell = self.cell_type(self._layer_input_size(layer), hidden_size, dtype=dtype, device=device,
                                  generator=generator, **cell_options)
            for name, parameter in cell.named_parameters():
                self.register_parameter(f"{name}_l{layer}", parameter)
            self._cells[layer] = cell
        self._cell_parameter_names = tuple(name for name, _ in cell.named_parameters())

    # --- the layers' cells -----------------------------------------------------------------------

    def layer_cell(self, layer: int) -> DiagonalCell:
        """Layer ``layer``'s cell, whose parameters are this module's ``*_l{layer}`` parameters
        themselves (not copies): the same cell object while they stay the module's, else a new one
        around the current ones (its own initial draw, from a private generator, is replaced at
        once; torch's global generator is left alone)."""
        if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < self.num_layers:
            raise InputError(f"layer: expected 0..{self.num_layers - 1}, got {layer!r}")
        parameters = {name: getattr(self, f"{name}_l{layer}") for name in self._cell_parameter_names}
        cell = self._cells.get(layer)
        if cell is not None and all(getattr(cell, name) is value for name, value in parameters.items()):
            return cell
        first = next(iter(parameters.values()))
        cell = self.cell_type(self._layer_input_size(layer), self.hidden_size, dtype=first.dtype,
                              device=first.device, generator=torch.Generator(device=first.device),
                              **self._cell_options)
        for name, value in parameters.items():
            # The cell holds the module's Parameter itself. Inside torch.func.functional_call the
            # module's entries are plain tensors, which setattr refuses; they go in as
            # functional_call puts them into the module.
            cell._parameters[name] = value
        self._cells[layer] = cell
        return cell

    def layer_states(self, layer: int, inputs: torch.Tensor, h0: torch.Tensor | None = None,
                     scan: Scan = linear_scan) -> torch.Tensor:
        """h^{(k)}_1..h^{(k)}_T of layer k = ``layer``, (T, B, H), complex for the LRU, for its
        time-major inputs x^{(k)} (T, B, I_k) from h0 (B, H) (zeros by default): eqs. (1)–(2).
        ``scan(a, b, h0)`` runs (2); the profiler passes one that also records δ."""
        a, b = self.layer_cell(layer).coefficients(inputs)  # (T, B, H) each, (1)
        return scan(a, b, h0)  # (2), (T, B, H)

    @staticmethod
    def layer_output(states: torch.Tensor) -> torch.Tensor:
        """x^{(k+1)}, what layer k passes up, from its states h^{(k)} (T, B, H): eq. (3), Re h
        (h itself for a real state)."""
        return states.real if states.is_complex() else states  # (3), (T, B, H)

    # --- the whole stack ------------------------------------------------------------------------

    def forward(self, input: torch.Tensor, h0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(output, h_n) of eqs. (1)–(3), shaped as torch.nn.GRU's (see the class's Shape)."""
        return self.run_layers(input, h0, lambda layer: linear_scan)

    def run_layers(self, input: torch.Tensor, h0: torch.Tensor | None,
                   scan_of: Callable[[int], Scan]) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`forward` with layer k's (2) run by ``scan_of(k)`` (the profiler records there)."""
        x, unbatched = self._time_major_input(input)  # (T, B, I)
        starts = self._checked_h0(h0, x.shape[1], unbatched)  # (L, B, H) or None
        last_states = []
        for layer in range(self.num_layers):
            start = None if starts is None else starts[layer]
            states = self.layer_states(layer, x, start, scan_of(layer))  # (T, B, H)
            last_states.append(states[-1])  # h^{(k)}_T, (B, H)
            x = self.layer_output(states)  # (3), (T, B, H)
        h_n = torch.stack(last_states)  # (L, B, H)
        if unbatched:
            return x.squeeze(1), h_n.squeeze(1)  # (T, H), (L, H)
        return (x.transpose(0, 1) if self.batch_first else x), h_n  # (B, T, H) or (T, B, H); (L, B, H)

    # --- input checks -------------------------------------------------------------------------

    @property
    def parameter_dtype(self) -> torch.dtype:
        """The real dtype of the parameters (and of the input): layer 0's cell's."""
        return self.layer_cell(0).parameter_dtype

    @property
    def state_dtype(self) -> torch.dtype:
        """The dtype of h_t and h0 (complex for the LRU): layer 0's cell's."""
        return self.layer_cell(0).state_dtype

    def _layer_input_size(self, layer: int) -> int:
        return self.input_size if layer == 0 else self.hidden_size  # I_k

    def _time_major_input(self, input: torch.Tensor) -> tuple[torch.Tensor, bool]:
        """``input`` checked and as (T, B, I), and whether it came unbatched (T, I)."""
        batched = "(B, T, I)" if self.batch_first else "(T, B, I)"
        if not isinstance(input, torch.Tensor):
            raise InputError(f"input: expected a tensor, got {type(input).__name__}")
        if input.dim() not in (2, 3):
            raise InputError(f"input: expected a 2D (T, I) or 3D {batched} tensor, got {input.dim()}D")
        self.layer_cell(0)._checked_input(input, "input")  # dtype and input size, as the cell checks x
        unbatched = input.dim() == 2
        if unbatched:
            x = input.unsqueeze(1)  # (T, 1, I)
        else:
            x = input.transpose(0, 1) if self.batch_first else input  # (T, B, I)
        if x.shape[0] == 0:
            raise InputError("input: expected at least one time step, got T = 0")
        return x, unbatched

    def _checked_h0(self, h0: torch.Tensor | None, batch: int, unbatched: bool) -> torch.Tensor | None:
        """``h0`` checked, as (L, B, H); None stays None (zeros)."""
        if h0 is None:
            return None
        if not isinstance(h0, torch.Tensor):
            raise InputError(f"h0: expected a tensor or None, got {type(h0).__name__}")
        if h0.dtype != self.state_dtype:
            what = "a complex" if self.cell_type.complex_state else "a real"
            why = " (the LRU's state is complex)" if self.cell_type.complex_state else " (the parameters')"
            raise InputError(f"h0: expected {what} tensor of dtype {self.state_dtype}{why}, got {h0.dtype}")
        L, H = self.num_layers, self.hidden_size
        expected, layout = ((L, H), "(num_layers, H)") if unbatched else ((L, batch, H), "(num_layers, B, H)")
        if tuple(h0.shape) != expected:
            input_kind = "an unbatched" if unbatched else "this"
            raise InputError(f"h0: expected shape {expected} {layout} for {input_kind} input, got {tuple(h0.shape)}")
        return h0.unsqueeze(1) if unbatched else h0  # (L, B, H)

    def extra_repr(self) -> str:
        options = "".join(f", {name}={value:.4g}" for name, value in self._cell_options.items())
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"batch_first={self.batch_first}{options}")
