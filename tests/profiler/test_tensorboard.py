"""GradientFlowLogger writes a run that TensorBoard reads back, and trains like plain backward."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnngrad.errors import InputError
from rnngrad.integrations.tensorboard import GradientFlowLogger
from rnngrad.profiler import profile

tensorboard = pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from torch.utils.tensorboard import SummaryWriter  # noqa: E402


def test_logged_run_reads_back_and_gradients_equal_a_plain_backward(tmp_path):
    torch.manual_seed(0)
    model = nn.LSTM(2, 3, num_layers=2).double()
    batches = [torch.randn(5, 2, 2, dtype=torch.float64) for _ in range(3)]
    loss_fn = lambda out: out[0][-1].square().sum()  # noqa: E731
    writer = SummaryWriter(tmp_path)
    logger = GradientFlowLogger(writer, every=2)
    for step, x in enumerate(batches):
        model.zero_grad()
        logger.backward(step, model, (x,), loss_fn)
        plain = [p.grad.clone() for p in model.parameters()]
        model.zero_grad()
        loss_fn(model(x)).backward()
        for got, want in zip(plain, model.parameters()):
            torch.testing.assert_close(got, want.grad, rtol=1e-12, atol=1e-14)
    writer.close()

    events = EventAccumulator(str(tmp_path))
    events.Reload()
    tag = "gradient_flow/model/layer1/decay_rate"
    assert tag in events.Tags()["scalars"]
    assert [event.step for event in events.Scalars(tag)] == [0, 2]
    expected = profile(model, (batches[2],), loss_fn).decay_rate("", 1)
    assert events.Scalars(tag)[1].value == pytest.approx(expected, rel=1e-5)
    assert "gradient_flow/model/layer0/mean_forget_gate" in events.Tags()["scalars"]


def test_bad_writer_and_interval():
    with pytest.raises(InputError, match="writer: expected an object with add_scalar"):
        GradientFlowLogger(object())
    with pytest.raises(InputError, match="every: expected a positive integer, got 0"):
        GradientFlowLogger(SummaryWriter.__new__(SummaryWriter), every=0)
