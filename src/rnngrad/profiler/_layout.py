"""Where each sequence of a padded, time-major batch has its steps, and how to scan it.

Every layer runs on a padded time-major tensor ``(T, B, F)`` in the ORIGINAL batch order, as
``pad_packed_sequence`` returns it: sequence b occupies steps ``0 .. L_b − 1`` and the rest is
padding. A layer's scan always runs forward over "scan steps" s:

.. math::

    (1)  direction 0:  s = t
    (2)  direction 1:  s = L_b − 1 − t   for t < L_b   (each sequence reversed on its own)
                       s = t             for t ≥ L_b   (padding stays where it is)

so in scan order every sequence is again left-aligned, its first state reads ``h_0`` and its
last valid scan step ``L_b − 1`` gives ``h_n``. (2) is an involution: the same index maps
scan order back to time order. Without lengths (plain tensors) (2) is a flip in time.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence


class SequenceLayout:
    """Lengths, padding mask and the scan-order maps (1)-(2) of one padded batch.

    Args:
        steps: T, the padded length.
        batch: B.
        lengths: ``(B,)`` int64 lengths (any device), or None when every sequence has T steps.
        device: where the index tensors live (the data's device).
    """

    def __init__(self, steps: int, batch: int, lengths: Tensor | None, device: torch.device):
        self.steps = steps
        self.batch = batch
        self.device = device
        if lengths is not None and bool((lengths == steps).all()):
            lengths = None  # packed but all full: the fast path is exact
        self.lengths_cpu = None if lengths is None else lengths.to("cpu", torch.int64)
        self._reverse_index: Tensor | None = None  # (T*B,) flat index of (2)
        self._final_index: Tensor | None = None  # (B,) flat index of step L_b − 1
        self._padding: Tensor | None = None  # (T, B, 1) bool, True at padded steps
        if self.lengths_cpu is not None:
            lengths_dev = self.lengths_cpu.to(device)
            time = torch.arange(steps, device=device).unsqueeze(1)  # (T, 1)
            rows = torch.arange(batch, device=device)  # (B,)
            scan_step = torch.where(time < lengths_dev, lengths_dev - 1 - time, time)  # (T, B) (2)
            self._reverse_index = (scan_step * batch + rows).reshape(-1)  # (T*B,)
            self._final_index = (lengths_dev - 1) * batch + rows  # (B,)

    @property
    def full(self) -> bool:
        """True when every sequence has all T steps (no padding)."""
        return self.lengths_cpu is None

    def lengths(self) -> Tensor:
        """``(B,)`` int64 lengths on the CPU (T for every sequence when unpadded)."""
        if self.lengths_cpu is None:
            return torch.full((self.batch,), self.steps, dtype=torch.int64)
        return self.lengths_cpu.clone()

    def valid_steps(self) -> Tensor:
        """``(T, B)`` bool on the CPU, True where step t < L_b."""
        time = torch.arange(self.steps).unsqueeze(1)  # (T, 1)
        return time < self.lengths().unsqueeze(0)

    def padding(self) -> Tensor | None:
        """``(T, B, 1)`` bool, True at padded steps (the same in time and scan order)."""
        if self.lengths_cpu is None:
            return None
        if self._padding is None:
            time = torch.arange(self.steps, device=self.device).unsqueeze(1)  # (T, 1)
            self._padding = (time >= self.lengths_cpu.to(self.device)).unsqueeze(2)  # (T, B, 1)
        return self._padding

    def scan_order(self, sequence: Tensor, reverse: bool) -> Tensor:
        """Map ``(T, B, F)`` between time order and scan order (1)-(2); copies when reversing."""
        if not reverse:
            return sequence
        if self._reverse_index is None:
            return sequence.flip(0)  # (T, B, F)
        flat = sequence.reshape(self.steps * self.batch, -1)  # (T*B, F)
        return flat.index_select(0, self._reverse_index).view(sequence.shape)  # (T, B, F)

    def final_states(self, scan_sequence: Tensor) -> Tensor:
        """``(B, F)``: the state at each sequence's last valid scan step, from ``(T, B, F)``."""
        if self._final_index is None:
            return scan_sequence[-1].clone()
        flat = scan_sequence.reshape(self.steps * self.batch, -1)  # (T*B, F)
        return flat.index_select(0, self._final_index)

    def add_at_final_states(self, scan_sequence: Tensor, values: Tensor) -> None:
        """In place: add ``values`` (B, F) at each sequence's last valid scan step."""
        self._at_final_states(scan_sequence, values, accumulate=True)

    def put_at_final_states(self, scan_sequence: Tensor, values: Tensor) -> None:
        """In place: set each sequence's last valid scan step of ``(T, B, F)`` to ``values`` (B, F)."""
        self._at_final_states(scan_sequence, values, accumulate=False)

    def _at_final_states(self, scan_sequence: Tensor, values: Tensor, accumulate: bool) -> None:
        if self._final_index is None:
            last = scan_sequence[-1]
            if accumulate:
                last.add_(values)
            else:
                last.copy_(values)
        else:
            flat = scan_sequence.view(self.steps * self.batch, -1)  # (T*B, F)
            (flat.index_add_ if accumulate else flat.index_copy_)(0, self._final_index, values)

    def first_bad_step(self, scan_sequence: Tensor, reverse: bool, backward: bool) -> int:
        """Time index of the first non-finite entry, in the order the scan computed it."""
        bad = ~torch.isfinite(scan_sequence).flatten(2).all(2)  # (T, B) in scan order
        scan_steps = bad.any(1).nonzero().flatten()
        step = int(scan_steps[-1] if backward else scan_steps[0])
        row = int(bad[step].nonzero()[0])
        if not reverse:
            return step
        length = self.steps if self.lengths_cpu is None else int(self.lengths_cpu[row])
        return length - 1 - step if step < length else step


class PackedOrder:
    """Gather/scatter between a PackedSequence's ``data`` and the padded ``(T, B, F)`` tensor.

    ``data`` row n is step t of sorted sequence j (t-major), i.e. padded row ``t*B +
    sorted_indices[j]`` with j < batch_sizes[t]; this keeps torch's ``PackedSequence`` layout so
    outputs and inter-layer dropout see exactly the rows the fused kernel would.
    """

    def __init__(self, packed: PackedSequence, steps: int, batch: int, device: torch.device):
        self.packed = packed
        self.steps = steps
        self.batch = batch
        batch_sizes = packed.batch_sizes.to(device)  # (T,)
        sorted_indices = packed.sorted_indices
        if sorted_indices is None:
            sorted_indices = torch.arange(batch, device=device)
        slots = torch.arange(batch, device=device)  # (B,)
        active = slots.unsqueeze(0) < batch_sizes.unsqueeze(1)  # (T, B): slot j active at t
        time, slot = active.nonzero(as_tuple=True)  # (N,), t-major like packed data
        self.flat_index = time * batch + sorted_indices.to(device)[slot]  # (N,)

    def pack(self, padded: Tensor) -> Tensor:
        """``(T, B, F)`` → ``(N, F)`` packed data rows (differentiable)."""
        return padded.reshape(self.steps * self.batch, -1).index_select(0, self.flat_index)

    def unpack(self, data: Tensor) -> Tensor:
        """``(N, F)`` → ``(T, B, F)`` with zeros at padding (differentiable)."""
        padded = data.new_zeros(self.steps * self.batch, data.shape[1])  # (T*B, F)
        return padded.index_copy(0, self.flat_index, data).view(self.steps, self.batch, -1)

    def as_packed_sequence(self, padded: Tensor) -> PackedSequence:
        """A PackedSequence with the input's batch_sizes and index maps and ``pack(padded)``."""
        return PackedSequence(
            self.pack(padded),
            self.packed.batch_sizes,
            self.packed.sorted_indices,
            self.packed.unsorted_indices,
        )
