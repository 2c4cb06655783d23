"""GradientFlowCallback in a real Lightning Trainer on the CPU: the profiled steps train exactly as plain
ones, and the logged scalars and heatmap read back from the TensorBoard events equal the profile's."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rnngrad import profile
from rnngrad.errors import InputError

pl = pytest.importorskip("lightning.pytorch", reason="Lightning is not installed (pip install 'rnngrad[lightning]')")
pytest.importorskip("tensorboard", reason="tensorboard is not installed (pip install 'rnngrad[tensorboard]')")
from lightning.pytorch.loggers import TensorBoardLogger  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from rnngrad.integrations.lightning import GradientFlowCallback, heatmap  # noqa: E402

pytestmark = [
    # Lightning's advice for a tiny CPU run, not a fault of the code under test:
    pytest.mark.filterwarnings("ignore:.*does not have many workers.*"),
    pytest.mark.filterwarnings("ignore:.*number of training batches.*is smaller than the logging interval.*"),
    # Lightning 2.6.6 builds torch's deprecated pytree LeafSpec (torch 2.13 warns), inside Lightning:
    pytest.mark.filterwarnings(r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning"),
]
T, B, I, H, STEPS = 20, 8, 3, 6, 5


class Regressor(pl.LightningModule):
    """A user's module: a torch.nn.LSTM (2 layers, bidirectional) and a linear read-out of the last step."""

    def __init__(self, manual: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lstm = nn.LSTM(I, H, num_layers=2, bidirectional=True, batch_first=True)
        self.head = nn.Linear(2 * H, 1)
        self.automatic_optimization = not manual

    def forward(self, x):
        out, _ = self.lstm(x)  # (B, T, 2H)
        return self.head(out[:, -1])  # (B, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss)
        return {"loss": loss} if batch_idx % 2 else loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.5)


def batches():
    generator = torch.Generator().manual_seed(1)
    x, y = torch.randn(STEPS * B, T, I, generator=generator), torch.randn(STEPS * B, 1, generator=generator)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=B)


def fit(tmp_path, callbacks, accumulate=1, **module_options):
    model = Regressor(**module_options)
    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=1, logger=TensorBoardLogger(tmp_path, name="run"),
                         callbacks=callbacks, accumulate_grad_batches=accumulate, log_every_n_steps=1,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, batches())
    return model, trainer


def events(trainer) -> EventAccumulator:
    accumulator = EventAccumulator(trainer.logger.log_dir, size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    return accumulator


@pytest.mark.parametrize("accumulate", [1, 2])
def test_profiled_steps_train_exactly_as_plain_ones(tmp_path, accumulate):
    plain, _ = fit(tmp_path / "plain", [], accumulate)
    profiled, trainer = fit(tmp_path / "profiled", [GradientFlowCallback(every=2)], accumulate)
    for (name, a), (_, b) in zip(plain.named_parameters(), profiled.named_parameters()):
        assert torch.allclose(a, b, rtol=0, atol=1e-6), name
    assert not any(name in profiled.__dict__ for name in ("training_step", "backward"))  # left as found
    assert trainer.global_step == math.ceil(STEPS / accumulate)  # the last, short accumulation steps too
    assert not torch.equal(profiled.head.weight, Regressor().head.weight)  # it did train


def test_scalars_and_heatmap_read_back_equal_the_profile(tmp_path):
    callback = GradientFlowCallback(every=2)
    _, trainer = fit(tmp_path, [callback])
    accumulator = events(trainer)
    tags = accumulator.Tags()
    layers = [f"gradient_flow/lstm/layer{layer}{suffix}" for layer in (0, 1) for suffix in ("", "_reverse")]
    for layer in layers:
        for name in ("memory_horizon", "decay_rate_nats_per_step", "mean_forget_gate"):
            assert [event.step for event in accumulator.Scalars(f"{layer}/{name}")] == [0, 2, 4]
        assert [event.step for event in accumulator.Images(f"{layer}/hidden_grad_heatmap")] == [0, 2, 4]
    assert "train_loss" in tags["scalars"]

    # step 0 ran on the initial weights and the first batch: the same profile, computed here
    x, y = next(iter(batches()))
    model = Regressor()
    expected = profile(model, (x,), lambda out: nn.functional.mse_loss(out, y))
    first = {tag: accumulator.Scalars(tag)[0].value for tag in tags["scalars"] if tag.startswith("gradient_flow/")}
    assert math.isclose(first["gradient_flow/loss"], expected.loss, rel_tol=1e-6)
    for layer, (index, direction) in zip(layers, [(0, 0), (0, 1), (1, 0), (1, 1)]):
        assert first[f"{layer}/memory_horizon"] == expected.memory_horizon("lstm", index, direction)
        rate = expected.decay_rate("lstm", index, direction)  # NaN for the top reverse layer: one lag only
        assert math.isclose(first[f"{layer}/decay_rate_nats_per_step"], rate, rel_tol=1e-5, abs_tol=1e-6) or (
            math.isnan(rate) and math.isnan(first[f"{layer}/decay_rate_nats_per_step"]))
        assert math.isclose(first[f"{layer}/mean_forget_gate"], expected.mean_forget_gate("lstm", index, direction),
                            rel_tol=1e-6)
    assert math.isfinite(first["gradient_flow/lstm/layer0/decay_rate_nats_per_step"])
    image = accumulator.Images("gradient_flow/lstm/layer0/hidden_grad_heatmap")[0]
    assert (image.height, image.width) == (H * 4, T * 4)
    with open(tmp_path / "heatmap.png", "wb") as file:  # kept beside the run, to look at
        file.write(image.encoded_image_string)
    assert callback.last_profile is not None and callback.last_profile.modules == ["module.lstm"]


def test_heatmap_runs_from_the_smallest_to_the_largest_gradient():
    grad = torch.zeros(4, 2, 3)  # (T, B, H)
    grad[:, :, 0] = torch.tensor([1e-8, 1e-6, 1e-4, 1e-2]).unsqueeze(1)  # unit 0 grows along time
    grad[:, :, 1] = 1e-8
    image = heatmap(grad, scale=1)
    assert image.shape == (3, 4, 3) and image.dtype.name == "uint8"
    brightness = image.astype(float).sum(axis=2)
    assert list(brightness[0]) == sorted(brightness[0]) and brightness[0, 0] == brightness[1, 0]
    assert (image[2] == image[1, 0]).all()  # a zero gradient (log −∞) takes the lowest colour


def test_manual_optimization_is_refused(tmp_path):
    with pytest.raises(InputError, match="automatic optimization"):
        fit(tmp_path, [GradientFlowCallback(every=1)], manual=True)


@pytest.mark.parametrize("options, message", [({"every": 0}, "every"), ({"eps": 2.0}, "eps"), ({"prefix": ""}, "prefix")])
def test_bad_arguments(options, message):
    with pytest.raises(InputError, match=message):
        GradientFlowCallback(**options)
