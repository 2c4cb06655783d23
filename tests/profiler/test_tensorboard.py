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

    events = EventAccumulator(str(tmp_path), size_guidance={"histograms": 0, "images": 0})  # keep all
    events.Reload()
    tag = "gradient_flow/model/layer1/decay_rate_nats_per_step"
    assert tag in events.Tags()["scalars"]
    assert [event.step for event in events.Scalars(tag)] == [0, 2]
    expected = profile(model, (batches[2],), loss_fn).decay_rate("", 1)
    assert events.Scalars(tag)[1].value == pytest.approx(expected, rel=1e-5)
    assert "gradient_flow/model/layer0/mean_forget_gate" in events.Tags()["scalars"]

    # per profiled step: a histogram of log10 ‖dL/dh_t‖ over t, and the heatmap drawn so far
    histograms = events.Histograms("gradient_flow/model/layer1/log10_grad_norm")
    assert [event.step for event in histograms] == [0, 2]
    expected_norms = profile(model, (batches[2],), loss_fn).mean_hidden_grad_norm("", 1)
    last = histograms[1].histogram_value
    assert last.num == expected_norms.shape[0]
    assert last.min == pytest.approx(float(expected_norms.log10().min()), rel=1e-6)
    assert last.max == pytest.approx(float(expected_norms.log10().max()), rel=1e-6)
    images = events.Images("gradient_flow/model/layer1/heatmap")
    assert [event.step for event in images] == [0, 2]
    assert images[1].width > 100 and images[1].height > 100
    assert images[1].encoded_image_string.startswith(b"\x89PNG")


def test_heatmap_rows_are_training_steps_and_columns_time_steps():
    from rnngrad.integrations.tensorboard import heatmap_figure

    figure = heatmap_figure([(0, [1e-3, 1e-1, 1.0]), (100, [1e-5, None, 1.0, 2.0])])
    image = figure.axes[0].images[0].get_array()
    assert image.shape == (2, 4)
    assert list(image[0, :3]) == pytest.approx([-3, -1, 0]) and image.mask[0, 3] and image.mask[1, 1]
    assert [label.get_text() for label in figure.axes[0].get_yticklabels()] == ["0", "100"]


def test_chains_get_their_own_tags(tmp_path):
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(2, 3)

        def forward(self, a, b):
            return self.gru(a)[0][-1] + self.gru(b)[0][-1]

    writer = SummaryWriter(tmp_path)
    GradientFlowLogger(writer).backward(0, Twice(), (torch.randn(4, 1, 2), torch.randn(6, 1, 2)), lambda y: y.sum())
    writer.close()
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert {"gradient_flow/gru/layer0/decay_rate_nats_per_step",
            "gradient_flow/gru/call1/layer0/decay_rate_nats_per_step"} <= set(
        events.Tags()["scalars"])


def test_bad_writer_and_interval():
    with pytest.raises(InputError, match="writer: expected an object with add_scalar"):
        GradientFlowLogger(object())
    with pytest.raises(InputError, match="every: expected a positive integer, got 0"):
        GradientFlowLogger(SummaryWriter.__new__(SummaryWriter), every=0)
