"""profile on rnngrad's diagonal modules (MinGRU, MinLSTM, LRU): dL/dh_t of every layer equals an
unrolled float64 oracle (the layer's cell stepped in Python, each h_t retaining its gradient),
inside a user's model, and the model's gradients follow the accumulate_grad contract."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import rnngrad
from rnngrad import profile

KINDS = {"mingru": (rnngrad.MinGRU, {}), "minlstm": (rnngrad.MinLSTM, {}),
         "lru": (rnngrad.LRU, {"r_min": 0.9, "r_max": 0.99})}


class Head(nn.Module):
    """A user's model: the recurrence under the name "rnn", a linear read-out of the last step."""

    def __init__(self, kind: str, layers: int, batch_first: bool):
        super().__init__()
        module, options = KINDS[kind]
        self.rnn = module(3, 5, num_layers=layers, batch_first=batch_first, dtype=torch.float64,
                          generator=torch.Generator().manual_seed(layers), **options)
        self.readout = nn.Linear(5, 1, dtype=torch.float64)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.readout(output[:, -1] if self.rnn.batch_first else output[-1])


def loss_fn(output):
    return output.pow(2).sum()


def unrolled_hidden_grads(model: Head, x: torch.Tensor) -> list[torch.Tensor]:
    """The oracle: each layer stepped with its cell, total ∂L/∂h_t by autograd, (T, B, H) each."""
    rnn = model.rnn
    inputs = x.transpose(0, 1) if rnn.batch_first else x  # (T, B, I)
    per_layer = []
    for layer in range(rnn.num_layers):
        cell, h, states = rnn.layer_cell(layer), None, []
        for x_t in inputs:
            h = cell(x_t, h)
            h.retain_grad()
            states.append(h)
        per_layer.append(states)
        inputs = torch.stack([rnn.layer_output(h) for h in states])
    last = inputs[-1]  # (B, H)
    loss_fn(model.readout(last)).backward()
    model.zero_grad(set_to_none=True)
    return [torch.stack([h.grad for h in states]) for states in per_layer]


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("layers, batch_first", [(1, False), (2, True)])
def test_hidden_grads_equal_the_unrolled_oracle(kind, layers, batch_first):
    model = Head(kind, layers, batch_first)
    x = torch.randn(2, 30, 3, dtype=torch.float64) if batch_first else torch.randn(30, 2, 3, dtype=torch.float64)
    expected = unrolled_hidden_grads(model, x)
    result = profile(model, (x,), loss_fn)
    assert result.modules == ["rnn"] and result.module("rnn").kind == type(model.rnn).__name__
    for layer in range(layers):
        actual = result.hidden_grad("rnn", layer=layer)
        assert actual.shape == (30, 2, 5) and actual.dtype == model.rnn.state_dtype
        scale = expected[layer].abs().max()
        assert float((actual - expected[layer]).abs().max() / scale) <= 1e-12, (kind, layer)
    assert all(parameter.grad is None for parameter in model.parameters())  # left as found
    assert 0 < result.memory_horizon("rnn", eps=1e-2) <= 30


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_accumulate_grad_fills_the_same_grads_as_a_plain_backward(kind):
    model = Head(kind, 2, False)
    x = torch.randn(25, 3, 3, dtype=torch.float64)
    loss_fn(model(x)).backward()
    plain = {name: parameter.grad.clone() for name, parameter in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    profile(model, (x,), loss_fn, accumulate_grad=True)
    for name, parameter in model.named_parameters():
        torch.testing.assert_close(parameter.grad, plain[name], rtol=1e-12, atol=1e-14, msg=name)


VIEWS = {"aten::detach", "aten::alias", "aten::view", "aten::view_as", "aten::as_strided", "aten::t", "aten::transpose",
         "aten::unsqueeze", "aten::squeeze", "aten::select", "aten::slice", "aten::expand", "aten::narrow",
         "aten::unbind", "aten::split", "aten::chunk", "aten::_reshape_alias", "aten::reshape"}  # no data moved


def sequence_sized_ops(run, min_elements: int) -> list[tuple[str, str]]:
    """The aten and compiled-scan operations one call of ``run`` executes on tensors of at least
    ``min_elements`` elements, as (name, input shapes), sorted: the work that grows with T·B·H
    (views, which move no data, left out)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU], record_shapes=True) as trace:
        run()
    big = []
    for event in trace.events():
        shapes = [shape for shape in event.input_shapes if isinstance(shape, list) and shape]
        if (any(torch.Size(shape).numel() >= min_elements for shape in shapes) and "::" in event.name
                and event.name not in VIEWS):
            big.append((event.name, repr(shapes)))
    return sorted(big)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_profiled_pass_runs_the_modules_own_sequence_sized_work(kind):
    """Issue 14's cost contract (profile ≤ 1.0× the module's own forward + backward), checked by
    work rather than by a clock: every operation on a sequence-sized tensor is the plain pass's,
    one for one, so the profiler adds only per-call bookkeeping (bench/profile_diagonal.py times it)."""
    module_class, options = KINDS[kind]
    steps, batch, hidden = 64, 8, 16
    module = module_class(4, hidden, num_layers=2, generator=torch.Generator().manual_seed(0), **options)
    x = torch.randn(steps, batch, 4, generator=torch.Generator().manual_seed(1))

    def loss(output):
        return output[0][-1].pow(2).mean()

    def plain():
        loss(module(x)).backward()

    def profiled():
        profile(module, (x,), loss, accumulate_grad=True)

    plain(), profiled()  # warm-up: the compiled scan's build and first-call allocations
    module.zero_grad(set_to_none=True)
    plain_ops = sequence_sized_ops(plain, steps * batch * hidden // 2)
    module.zero_grad(set_to_none=True)
    profiled_ops = sequence_sized_ops(profiled, steps * batch * hidden // 2)
    assert any("linear_scan" in name for name, _ in plain_ops)  # the trace sees the scans
    assert profiled_ops == plain_ops
