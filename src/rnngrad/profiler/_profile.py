"""``profile``: one forward and one backward pass that record dL/dh_t inside recurrent models.

While profiling, each supported recurrent submodule's ``forward`` is replaced on the instance
(restored in ``finally``): a fused module's by
:func:`~rnngrad.profiler._recurrent_forward.profiled_forward`, which computes the same function
layer by layer through recording autograd functions; a cell's by
:func:`~rnngrad.profiler._steps.profiled_cell_forward`, its own step plus hooks on the state it
returns. ``rnngrad.track`` records while the pass runs. Everything else (embeddings, decoders,
the loss) stays plain autograd.
"""

from __future__ import annotations

import contextlib
import functools
import math
import weakref
from typing import Any, Callable, Iterator

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnngrad.errors import InputError
from rnngrad._denormals import flushing_denormals
from rnngrad.diagonal_modules import DiagonalStack
from rnngrad.profiler._diagonal_forward import profiled_diagonal_forward
from rnngrad.profiler._model_state import ModelSnapshot, find_recurrent_modules, is_cell, nothing_recorded
from rnngrad.profiler._recorder import Recorder
from rnngrad.profiler._recurrent_forward import profiled_forward
from rnngrad.profiler._steps import profiled_cell_forward
from rnngrad.profiler._tracking import tracking
from rnngrad.profiler.gradient_profile import GradientProfile


def profile(
    model: nn.Module,
    inputs: tuple[Any, ...],
    loss_fn: Callable[[Any], Tensor],
    accumulate_grad: bool = False,
) -> GradientProfile:
    """Record dL/dh_t (and dL/dc_t) of every recurrent submodule in one forward and backward.

    Args:
        model: an ``nn.Module`` that is or contains, at any depth, ``torch.nn.RNN`` (tanh or
            relu), ``torch.nn.LSTM`` (proj_size allowed), ``torch.nn.GRU``, rnngrad's
            ``MinGRU``, ``MinLSTM`` and ``LRU`` modules, or cells (``torch.nn.RNNCell``,
            ``LSTMCell``, ``GRUCell``, rnngrad's cells), called any number of times (each
            module's calls form chains, see :class:`GradientProfile`); or whose forward marks
            a custom recurrence with :func:`rnngrad.track`.
        inputs: the positional arguments, ``model(*inputs)``; a lone Tensor or PackedSequence
            is taken as ``(inputs,)``.
        loss_fn: ``loss_fn(output) -> scalar tensor``.
        accumulate_grad: False (default) leaves every parameter's ``.grad`` (and buffers) as
            found. True adds to ``.grad`` exactly what ``loss_fn(model(*inputs)).backward()``
            would, so a training loop can call ``profile`` in place of ``loss.backward()``.

    Returns:
        A :class:`GradientProfile`; see its module docstring for the time convention.

    Train mode applies each module's inter-layer dropout with fresh masks, and the recorded
    gradients are those of that pass. On the CPU the masks are the ones a plain forward would
    draw from the same RNG state. A non-finite loss or gradient does not raise: the profile's
    ``nonfinite`` marks where it first appeared. During the pass the calling thread flushes
    denormal floats to zero (values below 1.2e-38 in float32 become 0): vanishing gradients
    reach that range, where CPU arithmetic is up to hundreds of times slower. While a per-step
    loop runs on small steps, torch uses one intra-op thread; both settings are restored. With
    more than one thread, an LSTM's reverse scan hands the input and parameter gradients of its
    finished half to a short-lived second Python thread.

    Examples:
        >>> lstm = torch.nn.LSTM(3, 5, num_layers=2)
        >>> result = profile(lstm, (torch.randn(7, 2, 3),), lambda out: out[0][-1].sum())
        >>> result.hidden_grad("", layer=1).shape
        torch.Size([7, 2, 5])
    """
    if not isinstance(model, nn.Module):
        raise InputError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    if isinstance(inputs, (Tensor, PackedSequence)):
        inputs = (inputs,)
    if not isinstance(inputs, (tuple, list)):
        raise InputError(
            f"inputs: expected a tuple of arguments for model(*inputs), got {type(inputs).__name__}"
        )
    if not callable(loss_fn):
        raise InputError(
            f"loss_fn: expected a callable loss_fn(output) -> scalar tensor, got {type(loss_fn).__name__}"
        )
    supported, unsupported = find_recurrent_modules(model)
    forwards = {name: profiled_cell_forward if is_cell(module) else
                profiled_diagonal_forward if isinstance(module, DiagonalStack) else profiled_forward
                for name, module in supported}

    recorder = Recorder()
    # The autograd graph (a layer function's ctx, a hook, a scan's closure) holds the recorder only
    # weakly: the recorder holds graph tensors, and a cycle through torch's C++ graph is one
    # Python's collector cannot see, so each profile's tensors would live until the process ends.
    handle = weakref.proxy(recorder)
    anchor = torch.zeros((), requires_grad=True)  # makes every recording backward run
    snapshot = ModelSnapshot.take(model, keep_buffers=not accumulate_grad)
    completed = False
    try:
        for name, module in supported:
            module.forward = functools.partial(forwards[name], module, name, handle, anchor, accumulate_grad)
        with torch.enable_grad(), flushing_denormals():
            with tracking(handle, set(forwards), anchor), _noted("model(*inputs)"):
                output = model(*inputs)
            if recorder.empty:
                raise nothing_recorded(model, unsupported)
            with _noted("loss_fn(output)"):
                loss = _scalar_loss(loss_fn(output))
            loss_value = float(loss.detach())
            if not math.isfinite(loss_value):
                recorder.mark_nonfinite("loss")
            retain = recorder.needs_graph  # tracked chains take products through it (``_scaled_track``)
            if accumulate_grad:
                loss.backward(retain_graph=retain)
            else:  # only what the recorded gradients need: no parameter's gradient
                torch.autograd.grad(loss, [anchor, *recorder.hooked_states], allow_unused=True, retain_graph=retain)
            recorder.stop_recording()
            built = recorder.build(loss_value, unsupported)
        completed = True
    finally:
        snapshot.restore(grads=not (accumulate_grad and completed))
    return built


@contextlib.contextmanager
def _noted(call: str) -> Iterator[None]:
    """Add where an error of the user's code came from to its message, keeping its type."""
    try:
        yield
    except InputError:
        raise
    except Exception as error:
        if hasattr(error, "add_note"):  # Python ≥ 3.11
            error.add_note(f"(raised in {call} while rnngrad.profile ran the model's forward pass; "
                           f"the model was restored as found)")
        raise


def _scalar_loss(loss: Any) -> Tensor:
    """The loss as a 0-dim tensor that autograd can differentiate, or a clear InputError."""
    if not isinstance(loss, Tensor):
        raise InputError(f"loss_fn: expected a scalar tensor, got {type(loss).__name__}")
    if loss.numel() != 1:
        raise InputError(f"loss_fn: expected a scalar tensor, got a tensor of shape {tuple(loss.shape)}")
    if not loss.requires_grad:
        raise InputError(
            "loss_fn: expected a loss computed from the model output, got a tensor that does not "
            "require grad (was it detached, taken with .item() or built under torch.no_grad()?)"
        )
    return loss.reshape(())
