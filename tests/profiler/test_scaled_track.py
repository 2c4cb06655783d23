"""Log-scaled dL/dstate_t of recurrences marked with ``rnngrad.track`` (``_scaled_track``): where
float32 underflows, the recursion goes on through the pass's own graph; where it does not, the
recorded gradient stays as it is. Oracles: closed forms, and the same model in float64, whose
gradients at these lags are normal float64 numbers."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

import rnngrad
from rnngrad.profiler import profile
from rnngrad.profiler._scaled_track import TRUSTED_MARGIN


class DecayingScan(nn.Module):
    """h_t = a ⊙ h_{t−1} + W x_t by hand, a = 1/2: with the loss Σ h_T, dL/dh_t = 2^−(T−t) exactly."""

    def __init__(self, hidden=3):
        super().__init__()
        self.input = nn.Linear(2, hidden)
        self.hidden = hidden

    def forward(self, x):  # (T, B, 2)
        h = rnngrad.track("h", x.new_zeros(x.shape[1], self.hidden))
        for x_t in x:
            h = rnngrad.track("h", 0.5 * h + self.input(x_t))
        return h


class HandTanhRNN(nn.Module):
    """h_t = tanh(W_hh h_{t−1} + W_ih x_t), W_hh = 0.3 · orthogonal: the gradient shrinks ≥ 3.3× a step."""

    def __init__(self, hidden=4, inner_cell=None):
        super().__init__()
        self.w_ih = nn.Parameter(torch.randn(hidden, 2))
        self.w_hh = nn.Parameter(0.3 * torch.linalg.qr(torch.randn(hidden, hidden))[0])
        self.cell = inner_cell
        self.hidden = hidden

    def forward(self, x):
        h = rnngrad.track("h", x.new_zeros(x.shape[1], self.hidden))
        for x_t in x:
            pre = h @ self.w_hh.t() + x_t @ self.w_ih.t()
            if self.cell is not None:  # a profiled cell inside the tracked step
                pre = pre + self.cell(x_t, h)
            h = rnngrad.track("h", torch.tanh(pre))
        return h


def log10_norm(grad: torch.Tensor) -> torch.Tensor:
    """log10 ‖·‖₂ over the last axis without squaring tiny numbers (float64 squares 1e-180 to 0)."""
    peak = grad.abs().amax(-1, keepdim=True)
    return (grad / peak).norm(dim=-1).log10() + peak.squeeze(-1).log10()


def test_a_float32_tracked_chain_reports_the_closed_form_where_float32_reads_zero():
    torch.manual_seed(0)
    steps, hidden = 300, 3
    result = profile(DecayingScan(hidden), (torch.randn(steps, 2, 2),), lambda h: h.sum())
    recorded = result.hidden_grad("h")  # (T + 1, B, H): h_0 … h_T
    lags = torch.arange(steps, -1, -1, dtype=torch.float64)  # T − t
    assert float(recorded[0].abs().max()) == 0.0  # 2^-300 is far below float32's 1e-38
    expected = (-lags * math.log10(2.0) + 0.5 * math.log10(hidden)).unsqueeze(1).expand(-1, 2)
    torch.testing.assert_close(result.log10_hidden_grad_norm("h"), expected, rtol=0, atol=1e-12)
    scaled = result.scaled_hidden_grad("h")
    assert float(scaled.log2_scale[0, 0]) + math.log2(float(scaled.unit[0, 0].abs().max())) == -300.0


def test_where_float32_holds_the_recorded_gradient_is_kept_and_beyond_it_matches_float64():
    torch.manual_seed(1)
    model = HandTanhRNN()
    x = torch.randn(260, 2, 2)
    loss_fn = lambda h: h.square().sum()  # noqa: E731
    result = profile(model, (x,), loss_fn)
    oracle = profile(copy.deepcopy(model).double(), (x.double(),), loss_fn)
    recorded = result.hidden_grad("h").double()
    expected = oracle.hidden_grad("h")  # float64: at these lags normal numbers (down to ~1e-140)
    assert 0 < float(expected[0].abs().max()) < 1e-100 and float(recorded[0].abs().max()) == 0.0
    trusted = recorded.abs().amax(-1) >= TRUSTED_MARGIN * torch.finfo(torch.float32).tiny  # (T + 1, B)
    assert bool(trusted[-1].all()) and not bool(trusted[0].any())
    scaled = result.scaled_hidden_grad("h")
    assert torch.equal(scaled.values()[trusted], recorded[trusted])  # kept bit for bit
    # beyond: the same recursion in float32 arithmetic, ~1e-7 a step, against float64
    log10 = result.log10_hidden_grad_norm("h")
    torch.testing.assert_close(log10, log10_norm(expected), rtol=0, atol=1e-4)


def test_a_tracked_state_tuple_gets_a_log_scaled_cell_gradient():
    torch.manual_seed(2)
    cell = nn.LSTMCell(2, 3)
    with torch.no_grad():
        cell.weight_hh.mul_(0.1)
        cell.bias_hh[3:6].fill_(-3.0)  # f ≈ 0.05: the cell's gradient shrinks ~20× a step

    class Tracked(nn.Module):
        def __init__(self, core):
            super().__init__()
            self.weights = nn.ParameterList([nn.Parameter(p.detach().clone()) for p in core.parameters()])

        def forward(self, x):
            w_ih, w_hh, b_ih, b_hh = self.weights
            h = c = x.new_zeros(x.shape[1], 3)
            h, c = rnngrad.track("s", (h, c))
            for x_t in x:
                i, f, g, o = (x_t @ w_ih.t() + b_ih + h @ w_hh.t() + b_hh).chunk(4, 1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h, c = rnngrad.track("s", (torch.sigmoid(o) * torch.tanh(c), c))
            return h

    x = torch.randn(60, 2, 2)
    model = Tracked(cell)
    result = profile(model, (x,), lambda h: h.sum())
    oracle = profile(copy.deepcopy(model).double(), (x.double(),), lambda h: h.sum())
    assert float(result.cell_grad("s")[0].abs().max()) == 0.0
    expected = oracle.cell_grad("s")
    assert float(expected[0].abs().max()) > 0
    measured = result.scaled_cell_grad("s").log10_norm()
    torch.testing.assert_close(measured, log10_norm(expected), rtol=0, atol=1e-4)


def test_the_products_through_the_graph_leave_other_records_alone():
    """A profiled cell inside the tracked step: the products of the tracked recursion run its
    backward again, and its records must stay those of the pass (hooks removed, records closed)."""
    torch.manual_seed(3)
    cell = nn.RNNCell(2, 4)
    model = HandTanhRNN(inner_cell=cell)
    x = torch.randn(200, 1, 2)
    result = profile(model, (x,), lambda h: h.sum())
    oracle = profile(copy.deepcopy(model).double(), (x.double(),), lambda h: h.sum())
    assert float(result.hidden_grad("h")[0].abs().max()) == 0.0  # the tracked chain needed products
    assert result.calls("cell") == oracle.calls("cell") == 200
    for call in (0, 100, 199):
        recorded, expected = result.hidden_grad("cell", call=call).double(), oracle.hidden_grad("cell", call=call)
        torch.testing.assert_close(recorded, expected, rtol=1e-4, atol=1e-37)
