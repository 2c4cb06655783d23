"""The profiler on CUDA (cuDNN modules): the same oracle, compared on the CPU. Skipped without a GPU."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence

from rnngrad.profiler import profile

from .reference import reference_gradients
from .test_against_reference import assert_close
from .zoo import CASES, DROPOUT_CASES

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def moved(value, device):
    """Tensors, PackedSequences and tuples of them on ``device`` (autograd follows the copy)."""
    if isinstance(value, (torch.Tensor, PackedSequence)):
        return value.to(device)
    if isinstance(value, (tuple, list)):
        return type(value)(moved(item, device) for item in value)
    return value


def on_cuda(case):
    """The case's model and inputs on the GPU; its loss (whose closures hold CPU tensors) on the CPU."""
    model, inputs, loss_fn = CASES[case]()
    return model.cuda(), moved(inputs, "cuda"), lambda output: loss_fn(moved(output, "cpu"))


@pytest.mark.parametrize("case", [case for case in CASES if case not in DROPOUT_CASES])
def test_per_step_gradients_on_cuda_match_the_cpu_oracle(case):
    model, inputs, loss_fn = CASES[case]()
    expected = reference_gradients(model, inputs, loss_fn)
    result = profile(*on_cuda(case))
    for (name, layer, direction), (hidden, cell) in expected.items():
        got = result.hidden_grad(name, layer, direction)
        assert got.device.type == "cuda"
        assert_close(got.cpu(), hidden, f"{case} {name} h l{layer} d{direction}")
        if cell is not None:
            assert_close(result.cell_grad(name, layer, direction).cpu(), cell, f"{case} {name} c l{layer} d{direction}")


@pytest.mark.parametrize("case", [case for case in CASES if case not in DROPOUT_CASES])
def test_accumulate_grad_on_cuda_gives_what_cudnn_gives(case):
    model, inputs, loss_fn = on_cuda(case)
    loss_fn(model(*inputs)).backward()
    expected = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    profile(model, inputs, loss_fn, accumulate_grad=True)
    for name, parameter in model.named_parameters():
        assert_close(parameter.grad, expected[name], f"{case} {name}.grad")


def test_float32_lstm_on_cuda_agrees_with_the_float64_oracle():
    model, inputs, loss_fn = CASES["projected_lstm"]()
    expected = reference_gradients(model, inputs, loss_fn)
    result = profile(model.float().cuda(), moved(tuple(x.float() for x in inputs), "cuda"),
                     lambda output: loss_fn(moved(output, "cpu")))
    for (name, layer, direction), (hidden, cell) in expected.items():
        torch.testing.assert_close(result.hidden_grad(name, layer, direction).cpu().double(), hidden,
                                   rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(result.cell_grad(name, layer, direction).cpu().double(), cell,
                                   rtol=1e-4, atol=1e-5)
