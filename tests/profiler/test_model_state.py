"""profile leaves the user's model exactly as found, or accumulates gradients when asked."""

from __future__ import annotations

import torch
from torch import nn

from rnngrad.profiler import profile

from .zoo import CASES, LanguageModel


def test_grads_requires_grad_modes_hooks_and_forward_are_restored():
    torch.manual_seed(0)
    model = LanguageModel().double()
    model.train()
    model.decoder.eval()  # a mixed mode must survive
    model.embed.weight.requires_grad_(False)
    model.rnn.weight_hh_l0.grad = torch.ones_like(model.rnn.weight_hh_l0)
    grad_object = model.rnn.weight_hh_l0.grad
    calls = []
    handle = model.rnn.register_forward_hook(lambda *args: calls.append("hook"))
    tokens = torch.randint(0, 11, (6, 3))

    result = profile(model, (tokens,), lambda logits: logits.square().mean())

    assert calls == ["hook"], "user hooks still run around the profiled forward"
    assert model.training and model.rnn.training and not model.decoder.training
    assert not model.embed.weight.requires_grad
    assert model.rnn.weight_hh_l0.grad is grad_object and bool((grad_object == 1).all())
    assert all(p.grad is None for n, p in model.named_parameters() if n != "rnn.weight_hh_l0")
    assert "forward" not in vars(model.rnn)
    assert list(model.rnn._forward_hooks) == [handle.id]
    assert result.modules == ["rnn"]


def test_buffers_are_restored_without_accumulate_grad():
    model = nn.Sequential(nn.LSTM(3, 4), ).double()
    norm = nn.BatchNorm1d(4).double()

    class WithNorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn, self.norm = model[0], norm

        def forward(self, x):
            output, _ = self.rnn(x)
            return self.norm(output[-1])

    wrapper = WithNorm().train()
    before = norm.running_mean.clone()
    profile(wrapper, (torch.randn(5, 3, 3, dtype=torch.float64),), lambda out: out.square().sum())
    assert torch.equal(norm.running_mean, before)


def test_accumulate_grad_adds_to_existing_grads_like_backward():
    model, inputs, loss_fn = CASES["two_blocks"]()
    for parameter in model.parameters():
        parameter.grad = torch.full_like(parameter, 0.5)
    loss_fn(model(*inputs)).backward()
    expected = [p.grad.clone() for p in model.parameters()]
    for parameter in model.parameters():
        parameter.grad = torch.full_like(parameter, 0.5)
    profile(model, inputs, loss_fn, accumulate_grad=True)
    for parameter, want in zip(model.parameters(), expected):
        torch.testing.assert_close(parameter.grad, want, rtol=1e-12, atol=1e-14)


def test_frozen_model_still_gets_per_step_gradients():
    model, inputs, loss_fn = CASES["projected_lstm"]()
    model.requires_grad_(False)
    result = profile(model, inputs, loss_fn)
    assert float(result.hidden_grad("", 0, 1).abs().max()) > 0
    assert all(p.grad is None and not p.requires_grad for p in model.parameters())


def test_module_the_loss_ignores_gets_zero_gradients():
    model, inputs, _ = CASES["two_blocks"]()
    result = profile(model, inputs, lambda out: model.encoder.rnn.weight_hh_l0.sum() + 0 * out.sum())
    for name in result.modules:
        assert float(result.hidden_grad(name).abs().max()) == 0.0


def test_subclass_that_only_changes_init_is_profiled():
    class ForgetBiasLSTM(nn.LSTM):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            with torch.no_grad():
                self.bias_hh_l0[self.hidden_size : 2 * self.hidden_size].fill_(1.0)

    model = ForgetBiasLSTM(2, 3)
    result = profile(model, (torch.randn(4, 1, 2),), lambda out: out[0].sum())
    assert result.modules == [""]
    assert result.mean_forget_gate() > 0.6


def test_denormals_are_flushed_during_the_pass_and_the_mode_is_restored():
    from rnngrad._denormals import denormals_flushed

    model = nn.RNN(2, 3, bias=False)
    with torch.no_grad():
        model.weight_hh_l0.copy_(0.05 * torch.eye(3))  # the gradient shrinks 20× per step
    x = torch.randn(60, 1, 2)
    assert not denormals_flushed()
    result = profile(model, (x,), lambda out: out[0][-1].sum())
    assert not denormals_flushed()
    grad = result.hidden_grad("").abs()
    assert float(grad[-1].max()) > 0 and float(grad[0].max()) == 0.0  # 20^-59 is below 1.2e-38
    assert bool(((grad == 0) | (grad >= torch.finfo(torch.float32).tiny)).all()), "no denormals"
    threads = torch.get_num_threads()
    profile(model, (x,), lambda out: out[0][-1].sum())
    assert torch.get_num_threads() == threads
