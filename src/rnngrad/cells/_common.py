"""What every cell shares: torch.nn's parameter layout and initialisation, and input checks."""

from __future__ import annotations

import math

import torch
from torch import nn

from rnngrad.cells.step_jacobians import StepJacobians
from rnngrad.errors import InputError, require_bool, require_parameter_dtype, require_positive_int


class RecurrentCell(nn.Module):
    """Base of the cells: one step ``(x_t, s_{t-1}) -> s_t`` plus its exact Jacobian.

    Parameters are named and shaped as in ``torch.nn`` (``weight_ih`` (G·H, I), ``weight_hh``
    (G·H, H), ``bias_ih`` and ``bias_hh`` (G·H,), with G gates stacked in torch's order), so a
    ``state_dict`` moves between a cell and ``torch.nn`` unchanged.

    The public API is ``forward`` (one step, torch's signature), ``step_jacobian`` (its exact
    Jacobian) and ``run`` (a whole sequence, on the flat state). The analyses
    (:mod:`rnngrad.jacobians`, :mod:`rnngrad.spectra`) also use a private protocol on the flat
    state s_t: ``state_size``, ``state_to_vector``, ``vector_to_state``, ``_forward_and_jacobian``
    (one step and, if asked, its Jacobian) and ``_step_jacobians`` (a run of step Jacobians as
    a structured operator). Subclasses define ``forward`` and ``_forward_and_jacobian``.
    """

    arch: str = ""
    num_gates: int = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.input_size = require_positive_int("input_size", input_size)
        self.hidden_size = require_positive_int("hidden_size", hidden_size)
        require_bool("bias", bias)
        require_parameter_dtype("dtype", dtype)
        gate_rows = self.num_gates * hidden_size
        options = {"dtype": dtype, "device": device}
        self.weight_ih = nn.Parameter(torch.empty(gate_rows, input_size, **options))
        self.weight_hh = nn.Parameter(torch.empty(gate_rows, hidden_size, **options))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(gate_rows, **options))
            self.bias_hh = nn.Parameter(torch.empty(gate_rows, **options))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """torch.nn's initialisation: every parameter ~ U(−1/√H, 1/√H)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        with torch.no_grad():
            for parameter in self.parameters():
                parameter.uniform_(-bound, bound, generator=generator)

    @property
    def output_size(self) -> int:
        """Size of h_t, the state the cell outputs (H; P for an LSTM with a projection)."""
        return self.hidden_size

    @property
    def state_size(self) -> int:
        """Size S of the flat state vector s_t (H, or 2H for the LSTM's (h, c))."""
        return self.hidden_size

    def run(self, inputs: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """The flat states s_0..s_T, (T+1, B, S), for inputs (T, B, I) from s_0 = ``state`` (B, S)."""
        T, B, _ = inputs.shape
        states = inputs.new_empty(T + 1, B, self.state_size)
        states[0] = state
        for t in range(T):
            states[t + 1] = state = self._forward_and_jacobian(inputs[t], state, False)[0]
        return states

    def _step_jacobians(self, x: torch.Tensor, state: torch.Tensor, steps: int) -> StepJacobians:
        """J_1..J_N of a run of N steps, for products through time without forming them.

        ``x`` (N·B, I) and ``state`` (N·B, S) hold the N steps one after another (s_{t-1} with
        x_t for J_t). Dense here; cells with structure return a cheaper operator
        (:mod:`rnngrad.cells.step_jacobians`).
        """
        jacobians = self._forward_and_jacobian(x, state)[1]  # (N·B, S, S)
        return StepJacobians(jacobians.view(steps, -1, *jacobians.shape[1:]))

    def pre_activations(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The input and recurrent parts of the gate pre-activations, each (B, G·H)."""
        if self.bias_ih is None:
            return x @ self.weight_ih.T, h @ self.weight_hh.T  # (..., G·H) each
        if x.dim() == 2 and h.dim() == 2:  # one fused op each for the common (B, ·) case
            return torch.addmm(self.bias_ih, x, self.weight_ih.T), torch.addmm(self.bias_hh, h, self.weight_hh.T)
        return x @ self.weight_ih.T + self.bias_ih, h @ self.weight_hh.T + self.bias_hh

    def batched_input(self, x: torch.Tensor) -> tuple[torch.Tensor, bool]:
        """Return ``x`` as (B, I) and whether it came unbatched (I,), checking its size."""
        if not isinstance(x, torch.Tensor):
            raise InputError(f"input: expected a tensor, got {type(x).__name__}")
        if x.dim() not in (1, 2):
            raise InputError(f"input: expected a 1D (I,) or 2D (B, I) tensor, got {x.dim()}D")
        if x.dtype != self.weight_hh.dtype:
            raise InputError(f"input: expected a tensor of dtype {self.weight_hh.dtype} (the cell's), got {x.dtype}")
        if x.shape[-1] != self.input_size:
            raise InputError(
                f"input: expected last dimension input_size={self.input_size}, got {x.shape[-1]}"
            )
        return (x.unsqueeze(0), True) if x.dim() == 1 else (x, False)

    def batched_hidden(self, h: torch.Tensor | None, x: torch.Tensor, name: str = "hx") -> torch.Tensor:
        """Return a (B, H) hidden tensor: zeros when ``h`` is None, else ``h`` checked."""
        batch = x.shape[0]
        if h is None:
            return x.new_zeros(batch, self.hidden_size)
        h = h.unsqueeze(0) if h.dim() == 1 else h
        if tuple(h.shape) != (batch, self.hidden_size):
            raise InputError(
                f"{name}: expected shape {(batch, self.hidden_size)}, got {tuple(h.shape)}"
            )
        return h

    def step_jacobian(self, x: torch.Tensor, hx: torch.Tensor | None = None) -> torch.Tensor:
        """∂h_t/∂h_{t-1}, (B, H, H), for inputs x (B, I) or (I,) and h_{t-1} (zeros if None);
        the cell's docstring gives the equation. The LSTM overrides it for its state (h, c)."""
        x, _ = self.batched_input(x)
        return self._forward_and_jacobian(x, self.batched_hidden(hx, x))[1]

    def state_to_vector(self, hx: torch.Tensor) -> torch.Tensor:
        """The flat state s_t (B, S) of a cell's state: h itself here, (h, c) concatenated for the LSTM."""
        return hx

    def vector_to_state(self, vector: torch.Tensor) -> torch.Tensor:
        """The inverse of :meth:`state_to_vector`."""
        return vector

    def initial_state_vector(self, batch: int, like: torch.Tensor) -> torch.Tensor:
        """The zero state s_0 as a flat (B, S) vector."""
        return like.new_zeros(batch, self.state_size)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}"


def diagonal_times(diagonal: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """diag(d) · M for a batch: d (B, H), M (H, K) -> (B, H, K)."""
    return diagonal.unsqueeze(-1) * matrix  # (B, H, 1) * (H, K)
