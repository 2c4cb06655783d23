"""A profile's memory goes when its result goes, by reference counting alone.

A training loop that calls ``profile`` every step must not grow. Each profile's recorder holds
tensors of the autograd graph, and the graph (a layer function's ctx, a hook, a scan's closure)
used to hold the recorder: a cycle through torch's C++ graph, which Python's collector cannot
see, so every profiled pass kept its gradients (16 MB at B = 32, T = 256, H = 128) until the
process ended. Here each kind of chain is profiled with the collector off; once the result is
deleted, no recorder and no tensor of the pass may be left.
"""

from __future__ import annotations

import gc

import pytest
import torch
from torch import nn

import rnngrad
from rnngrad.profiler import profile
from rnngrad.profiler._recorder import Recorder

from .test_chains import AttentionSeq2Seq, CellLoop, GRUCellDecoder, HandWrittenMinGRU
from .zoo import CASES


def _live_counts() -> tuple[int, int]:
    kinds = [type(o) for o in gc.get_objects()]  # type(), not isinstance: no object's __class__ runs
    return kinds.count(Recorder), sum(issubclass(kind, torch.Tensor) for kind in kinds)


class NamedScan(nn.Module):
    def __init__(self):
        super().__init__()
        self.to_gates = nn.Linear(3, 8)

    def forward(self, x):
        a, b = self.to_gates(x).chunk(2, dim=-1)
        return rnngrad.linear_scan(torch.sigmoid(a), b, name="scan")


def _chain_cases():
    x = torch.randn(7, 2, 3, dtype=torch.float64)
    last_squared = lambda out: (out[-1] ** 2).sum()  # noqa: E731
    first_output = lambda out: out[0].square().sum()  # noqa: E731
    return {
        "seq2seq": (AttentionSeq2Seq().double(), (x,), lambda out: out.square().sum()),
        "lstm_cell_loop": (CellLoop(nn.LSTMCell(3, 4)).double(), (x,), last_squared),
        "gru_cell_decoder": (GRUCellDecoder().double(), (x,), last_squared),
        "track": (HandWrittenMinGRU().double(), (x,), last_squared),
        "named_linear_scan": (NamedScan().double(), (x,), last_squared),
        "min_gru": (rnngrad.MinGRU(3, 4, num_layers=2), (x.float(),), first_output),
        "min_lstm": (rnngrad.MinLSTM(3, 4), (x.float(),), first_output),
        "lru": (rnngrad.LRU(3, 4), (x.float(),), first_output),
        "fused_lstm_float32": (nn.LSTM(3, 4, num_layers=2), (x.float(),), first_output),
        "gru_float32": (nn.GRU(3, 4), (x.float(),), first_output),
        "rnn_float32": (nn.RNN(3, 4), (x.float(),), first_output),
    }


def _all_cases():
    torch.manual_seed(0)
    return {**{name: case() for name, case in CASES.items()}, **_chain_cases()}


@pytest.mark.parametrize("accumulate_grad", [False, True])
@pytest.mark.parametrize("name", list(_all_cases()))
def test_a_profile_is_freed_with_its_result_without_the_cycle_collector(name, accumulate_grad):
    model, inputs, loss_fn = _all_cases()[name]
    result = profile(model, inputs, loss_fn, accumulate_grad=accumulate_grad)  # warm: lazy caches filled
    result.hidden_grad(result.modules[0])
    del result
    model.zero_grad(set_to_none=True)
    gc.collect()
    gc.disable()
    try:
        recorders, tensors = _live_counts()
        result = profile(model, inputs, loss_fn, accumulate_grad=accumulate_grad)
        assert _live_counts()[1] > tensors  # the result holds the gradients
        for module in result.modules:  # the lazy parts too: cell gradients, log-scaled recursions
            result.cell_grad(module)
            result.log10_hidden_grad_norm_by_lag(module)
        result.to_dict()
        del result
        model.zero_grad(set_to_none=True)
        assert _live_counts() == (recorders, tensors)
    finally:
        gc.enable()


def _failing_loss(output):
    raise ValueError("the user's loss fails")


def test_a_failing_loss_leaves_nothing_behind():
    model, inputs, _ = CASES["language_model"]()
    gc.collect()
    gc.disable()
    try:
        before = _live_counts()
        with pytest.raises(ValueError, match="the user's loss fails"):
            profile(model, inputs, _failing_loss)
        assert _live_counts() == before
    finally:
        gc.enable()
