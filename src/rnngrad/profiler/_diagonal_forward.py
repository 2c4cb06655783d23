r"""The forward that stands in for a diagonal module's (``rnngrad.MinGRU``, ``MinLSTM``, ``LRU``)
while a model is profiled.

Each layer k of such a module is one linear scan over time,

.. math::

    h^{(k)}_t = a^{(k)}_t \odot h^{(k)}_{t-1} + b^{(k)}_t                             \tag{1}

whose backward computes the total gradient δ_t = ∂L/∂h^{(k)}_t (through time and through the
layers above) as its own intermediate: δ_t = g_t + ā_{t+1} ⊙ δ_{t+1}. So the profiled forward
is the module's forward with each layer's scan replaced by one that hands δ to the recorder; the
values, and the work, are those of the module's own forward and backward. What the log-scaled
gradients need (``_scaled_diagonal``) is kept by reference, with a float64 copy of the weights;
the caller gets views of the output and h_n (the h_n view, passed back as h0 to continue the
chain, is swapped for its state), so hooks on the views read the caller's own uses apart from the
chain's next call.
"""

from __future__ import annotations

from torch import Tensor

from rnngrad.profiler._layer_io import LayerKey
from rnngrad.profiler._layout import SequenceLayout
from rnngrad.profiler._recorder import Recorder
from rnngrad.profiler._scaled_diagonal import DiagonalRecipe, float64_snapshot
from rnngrad.scan import recorded_linear_scan


def profiled_diagonal_forward(module, name: str, recorder: Recorder, anchor: Tensor, weight_grads: bool,
                              input: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Drop-in for ``module.forward(input, h0)`` (a ``DiagonalStack``) that records every layer.

    ``weight_grads`` is accepted for the profiler's common signature: the parameters' gradients
    come from the scans' ordinary backward either way."""
    calls: list[int] = []

    def recording_scan(layer: int):
        def record(delta: Tensor) -> None:  # δ_t of layer k, (T, B, H), time order
            recorder.record_backward(LayerKey(name, layer, 0, calls[0]), delta, None)

        def scan(a: Tensor, b: Tensor, start: Tensor | None) -> Tensor:  # (1); b (T, B, H)
            if layer == 0:  # the input is checked by now: register the call with its sizes
                steps, batch = b.shape[:2]
                calls.append(recorder.begin_call(
                    name, type(module).__name__, module.num_layers, 1,
                    SequenceLayout(steps, batch, None, b.device), module.hidden_size, None,
                    module.state_dtype, b.device, () if h0 is None else (h0,)))
            return recorded_linear_scan(a, b, start, record, anchor)

        return scan

    behind = None if h0 is None else recorder.states_behind(name, (h0,))  # its chain's view: the state
    fed = h0 if behind is None else behind[0].view_as(h0)
    snapshot = float64_snapshot(module)
    output, h_n = module.run_layers(input, fed, recording_scan)
    x, unbatched = module._time_major_input(input)  # checked by run_layers: views, no copies
    starts = module._checked_h0(fed, x.shape[1], unbatched)
    recipe = DiagonalRecipe(snapshot, x.detach(), None if starts is None else starts.detach(), unbatched,
                            module.batch_first)
    views = (output.view_as(output), h_n.view_as(h_n))  # the caller's; hooks there see its uses alone
    recorder.keep_views(name, views[1:], (h_n,))
    for key, view in zip(("output", "h_n"), views):
        if view.requires_grad:
            recorder.hook(view, recipe.keeper(key))
    recorder.keep_recipe(name, calls[0], recipe)
    recorder.end_call(name, calls[0], views[1:])
    return views
