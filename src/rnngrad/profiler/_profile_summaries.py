"""The per-step norms, decay rate and horizon of a :class:`GradientProfile` (``_summaries``), and
the log-scaled dL/dh_t and dL/dc_t (``_scaled``) they are computed from.

``hidden_grad`` holds what the backward pass computed, in the module's dtype: exact as far as
that dtype reaches, 0 below it (float32: about 1e-38). ``scaled_hidden_grad`` holds the same
gradient as a unit tensor and a power of two per step and sequence, recomputed in float64 with
the scale carried through the reverse recursion (for ``track``: carried on below the dtype's
range through the pass's own graph), so it has no floor.
"""

from __future__ import annotations

from torch import Tensor

from rnngrad.errors import InputError
from rnngrad.profiler import _summaries
from rnngrad.profiler._scaled import Scaled


class ProfileSummaries:
    """Mixed into :class:`~rnngrad.profiler.GradientProfile`."""

    def hidden_grad_norm(self, name: str | None = None, layer: int = 0, direction: int = 0, call: int = 0) -> Tensor:
        """``(T, B)`` float64 per-step norms ‖dL/dh_t‖ per sequence (``_summaries`` (1)); from the
        log-scaled gradient where the chain has one (:meth:`scaled_hidden_grad`), so no float32 floor."""
        record = self.layer(name, layer, direction, call)
        if record.log10_norm is None and record.scaled_source is None:
            return _summaries.step_norms(record.hidden_grad)  # the recorded gradient's own norms
        return 10.0 ** self.log10_hidden_grad_norm(name, layer, direction, call)

    def mean_hidden_grad_norm(self, name: str | None = None, layer: int = 0, direction: int = 0, call: int = 0) -> Tensor:
        """``(T,)`` per-step norm ‖dL/dh_t‖, mean over the sequences valid at t."""
        log10_norms = self.log10_hidden_grad_norm(name, layer, direction, call)
        return 10.0 ** _summaries.log10_mean_over_valid(log10_norms, self._valid(name, call))

    def hidden_grad_norm_by_lag(self, name: str | None = None, layer: int = 0, direction: int = 0, call: int = 0) -> Tensor:
        """``(T,)`` mean norm by lag k back through the recurrence (``_summaries`` (2)-(3))."""
        return 10.0 ** self.log10_hidden_grad_norm_by_lag(name, layer, direction, call)

    def log10_hidden_grad_norm_by_lag(self, name: str | None = None, layer: int = 0, direction: int = 0,
                                      call: int = 0) -> Tensor:
        """``(T,)`` log10 of :meth:`hidden_grad_norm_by_lag`, computed in log space (no floor)."""
        log10_norms = self.log10_hidden_grad_norm(name, layer, direction, call)
        return _summaries.log10_norms_by_lag(log10_norms, self._valid(name, call), direction)

    def decay_rate(self, name: str | None = None, layer: int = 0, direction: int = 0, call: int = 0) -> float:
        """Decay rate ρ of ‖dL/dh‖ back through time in nats per step (``_summaries`` (4)): minus the
        least-squares slope of ln ν_k over the lags k; > 0: vanishing, the gradient shrinks by about
        e^{−ρ} per step back (ρ / ln 10 decades)."""
        return _summaries.decay_rate_of_log10(self.log10_hidden_grad_norm_by_lag(name, layer, direction, call))

    def memory_horizon(self, name: str | None = None, layer: int = 0, direction: int = 0,
                       eps: float = 1e-2, call: int = 0) -> int:
        """The largest lag over which the mean ‖dL/dh‖ stays ≥ eps × its peak."""
        if not eps > 0:
            raise InputError(f"eps: expected a positive number, got {eps!r}")
        by_lag = self.log10_hidden_grad_norm_by_lag(name, layer, direction, call)
        return _summaries.memory_horizon_of_log10(by_lag, eps)


    def scaled_hidden_grad(self, name: str | None = None, layer: int = 0, direction: int = 0,
                           call: int = 0) -> Scaled:
        """dL/dh_t as ``unit (T, B, H) · 2^log2_scale (T, B)``, float64, no underflow.

        Available for a chain of one call of a ``torch.nn.RNN``, ``LSTM`` (proj_size too)
        or ``GRU`` in any floating-point dtype (float16 and bfloat16 too: the recursion runs in
        float64 at the pass's states), or of an ``rnngrad.MinGRU``, ``MinLSTM`` or ``LRU``
        (complex128 for the LRU), for a chain of calls of any of these (packed or bidirectional
        too), for a loop over a cell (torch's or rnngrad's), for a named ``linear_scan`` and for
        a ``track`` chain (the recorded gradient where its dtype holds it, carried on through
        the pass's graph below that, ``_scaled_track``); else an
        :class:`~rnngrad.errors.InputError` says why.
        """
        return self._scaled_pair(name, layer, direction, call)[0]

    def scaled_cell_grad(self, name: str | None = None, layer: int = 0, direction: int = 0,
                         call: int = 0) -> Scaled:
        """dL/dc_t of an ``nn.LSTM`` as :class:`Scaled` ``(T, B, H)``; see :meth:`scaled_hidden_grad`."""
        cell = self._scaled_pair(name, layer, direction, call)[1]
        if cell is None:
            raise InputError(f"name: expected an LSTM for a cell gradient, got {self._kind(name, call)}")
        return cell

    def log10_hidden_grad_norm(self, name: str | None = None, layer: int = 0, direction: int = 0,
                               call: int = 0) -> Tensor:
        """``(T, B)`` float64 log10 ‖dL/dh_t‖ per sequence: from :meth:`scaled_hidden_grad` where the
        chain has it (no floor; a saved profile keeps these norms), else from ``hidden_grad``
        (−inf where it is 0)."""
        record = self.layer(name, layer, direction, call)
        if record.log10_norm is None and record.scaled_source is not None:
            record.log10_norm = self.scaled_hidden_grad(name, layer, direction, call).log10_norm()
        if record.log10_norm is not None:
            return record.log10_norm
        return _summaries.step_norms(record.hidden_grad).log10()

    def _stored_log10_norm(self, record, layer: int, direction: int) -> Tensor | None:
        """What :meth:`to_dict` saves: the log-scaled norms where the chain has them."""
        item = record.layers[(layer, direction)]
        if item.log10_norm is None and item.scaled_source is None:
            return None
        return self.log10_hidden_grad_norm(record.name, layer, direction, record.call)

    def _scaled_pair(self, name, layer, direction, call) -> tuple[Scaled, Scaled | None]:
        record = self.layer(name, layer, direction, call)
        source = record.scaled_source
        if source is None and record.log10_norm is not None:
            raise InputError("name: expected a profile in memory for log-scaled gradients, got one loaded from "
                             "JSON, which keeps only their norms (log10_hidden_grad_norm)")
        if source is None:
            raise InputError(
                "name: expected a chain of one call of a torch.nn RNN, LSTM or GRU, "
                "or of an rnngrad MinGRU, MinLSTM or LRU, a chain of "
                "their calls, a loop over a cell, a named linear_scan or a tracked recurrence, for "
                "log-scaled gradients; "
                f"got {self._kind(name, call)}"
            )
        return source()

    def _kind(self, name: str | None, call: int) -> str:
        record = self.module(self.modules[0] if name is None else name, call)
        calls = "call" if record.num_calls == 1 else "calls"
        return f"{record.kind} chain {record.call} of {record.name!r} ({record.num_calls} {calls})"
