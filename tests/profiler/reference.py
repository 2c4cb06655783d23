"""An independent oracle for dL/dh_t: torch.nn recurrent modules unrolled by hand in float64.

Each sequence of the batch is run on its own, step by step, with a zero "perturbation" tensor
added to every hidden state h_t and cell state c_t right after the step computes it:

    h_t ← h_t + ε^h_t,  c_t ← c_t + ε^c_t,  ε = 0

so dL/dε^h_t, from plain autograd, is the TOTAL gradient at h_t (through the recurrence, the
outputs and h_n). The cells are written from torch's documented equations, not taken from
rnngrad. Inter-layer dropout calls torch.dropout on the same tensor shape and at the same point
as torch's CPU kernel, so a seeded run sees the same masks.
"""

from __future__ import annotations

import contextlib
import functools

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence


def _lstm_step(x, h, c, eps_c, w_ih, w_hh, b_ih, b_hh, w_hr):
    gates = x @ w_ih.t() + h @ w_hh.t()
    if b_ih is not None:
        gates = gates + b_ih + b_hh
    i, f, g, o = gates.chunk(4)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g) + eps_c  # c_t + ε^c_t
    h = torch.sigmoid(o) * torch.tanh(c)
    return (h if w_hr is None else h @ w_hr.t()), c


def _gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
    u, v = x @ w_ih.t(), h @ w_hh.t()
    if b_ih is not None:
        u, v = u + b_ih, v + b_hh
    (u_r, u_z, u_n), (v_r, v_z, v_n) = u.chunk(3), v.chunk(3)
    r, z = torch.sigmoid(u_r + v_r), torch.sigmoid(u_z + v_z)
    n = torch.tanh(u_n + r * v_n)
    return (1 - z) * n + z * h


def _rnn_step(x, h, w_ih, w_hh, b_ih, b_hh, relu):
    a = x @ w_ih.t() + h @ w_hh.t()
    if b_ih is not None:
        a = a + b_ih + b_hh
    return torch.relu(a) if relu else torch.tanh(a)


def _pack_rows(padded: Tensor, packed: PackedSequence) -> list[tuple[int, int]]:
    """(t, b) of every packed data row, t-major, sorted sequences first (torch's layout)."""
    order = packed.sorted_indices.tolist() if packed.sorted_indices is not None else list(range(padded.shape[1]))
    return [(t, order[j]) for t, size in enumerate(packed.batch_sizes.tolist()) for j in range(size)]


def reference_forward(module: nn.RNNBase, name: str, epsilons: dict, input, hx=None):
    """Same contract as ``module.forward``; appends this call's ε to ``epsilons[(name, layer, direction)]``."""
    packed = isinstance(input, PackedSequence)
    if packed:
        x, lengths = pad_packed_sequence(input)
        batched = True
    else:
        batched = input.dim() == 3
        x = input if batched else input.unsqueeze(0 if module.batch_first else 1)
        x = x.transpose(0, 1) if module.batch_first else x
        lengths = torch.full((x.shape[1],), x.shape[0])
    steps, batch = x.shape[:2]
    lstm = module.mode == "LSTM"
    directions = 2 if module.bidirectional else 1
    out_size = module.proj_size or module.hidden_size
    if hx is None:
        h0 = x.new_zeros(module.num_layers * directions, batch, out_size)
        c0 = x.new_zeros(module.num_layers * directions, batch, module.hidden_size)
    else:
        h0, c0 = hx if lstm else (hx, None)
        if not batched:
            h0, c0 = h0.unsqueeze(1), (None if c0 is None else c0.unsqueeze(1))
    final_h, final_c = [], []
    layer_input = x
    for layer in range(module.num_layers):
        halves = []
        for direction in range(directions):
            sfx = f"_l{layer}" + ("_reverse" if direction else "")
            w_ih, w_hh = getattr(module, "weight_ih" + sfx), getattr(module, "weight_hh" + sfx)
            b_ih = getattr(module, "bias_ih" + sfx) if module.bias else None
            b_hh = getattr(module, "bias_hh" + sfx) if module.bias else None
            w_hr = getattr(module, "weight_hr" + sfx) if module.proj_size else None
            eps_h = x.new_zeros(steps, batch, out_size, requires_grad=True)
            eps_c = x.new_zeros(steps, batch, module.hidden_size, requires_grad=True) if lstm else None
            epsilons.setdefault((name, layer, direction), []).append((eps_h, eps_c))
            index = layer * directions + direction
            columns, finals_h, finals_c = [], [], []
            for b in range(batch):
                length = int(lengths[b])
                h, c = h0[index, b], (c0[index, b] if lstm else None)
                row = [x.new_zeros(out_size)] * steps
                times = range(length) if direction == 0 else range(length - 1, -1, -1)
                for t in times:
                    xt = layer_input[t, b]
                    if lstm:
                        h, c = _lstm_step(xt, h, c, eps_c[t, b], w_ih, w_hh, b_ih, b_hh, w_hr)
                    elif module.mode == "GRU":
                        h = _gru_step(xt, h, w_ih, w_hh, b_ih, b_hh)
                    else:
                        h = _rnn_step(xt, h, w_ih, w_hh, b_ih, b_hh, module.mode == "RNN_RELU")
                    h = h + eps_h[t, b]
                    row[t] = h
                columns.append(torch.stack(row))  # (T, H_out)
                finals_h.append(h)
                finals_c.append(c)
            halves.append(torch.stack(columns, 1))  # (T, B, H_out)
            final_h.append(torch.stack(finals_h))
            if lstm:
                final_c.append(torch.stack(finals_c))
        layer_input = torch.cat(halves, 2)  # (T, B, D·H_out)
        if module.training and module.dropout > 0 and layer < module.num_layers - 1:
            if packed:
                rows = _pack_rows(layer_input, input)
                data = torch.dropout(torch.stack([layer_input[t, b] for t, b in rows]), module.dropout, True)
                cells = {(t, b): data[n] for n, (t, b) in enumerate(rows)}
                zero = layer_input.new_zeros(layer_input.shape[2])
                layer_input = torch.stack(
                    [torch.stack([cells.get((t, b), zero) for b in range(batch)]) for t in range(steps)]
                )
            else:
                layer_input = torch.dropout(layer_input, module.dropout, True)
    h_n = torch.stack(final_h)
    c_n = torch.stack(final_c) if lstm else None
    if packed:
        rows = _pack_rows(layer_input, input)
        data = torch.stack([layer_input[t, b] for t, b in rows])
        output = PackedSequence(data, input.batch_sizes, input.sorted_indices, input.unsorted_indices)
    elif not batched:
        output, h_n = layer_input.squeeze(1), h_n.squeeze(1)
        c_n = None if c_n is None else c_n.squeeze(1)
    else:
        output = layer_input.transpose(0, 1) if module.batch_first else layer_input
    return (output, (h_n, c_n)) if lstm else (output, h_n)


def reference_cell_forward(cell: nn.RNNCellBase, name: str, epsilons: dict, input, hx=None):
    """Same contract as a torch cell's ``forward``: one step by hand, batched or not, with
    ε^h (and ε^c) of shape ``(1, B, H)`` appended to ``epsilons[(name, 0, 0)]``."""
    x = input if input.dim() == 2 else input.unsqueeze(0)  # (B, I)
    batch, size = x.shape[0], cell.hidden_size
    lstm = isinstance(cell, nn.LSTMCell)
    if hx is None:
        hx = (x.new_zeros(batch, size), x.new_zeros(batch, size)) if lstm else x.new_zeros(batch, size)
    elif input.dim() == 1:
        hx = tuple(part.unsqueeze(0) for part in hx) if lstm else hx.unsqueeze(0)
    eps_h = x.new_zeros(1, batch, size, requires_grad=True)
    eps_c = x.new_zeros(1, batch, size, requires_grad=True) if lstm else None
    epsilons.setdefault((name, 0, 0), []).append((eps_h, eps_c))
    weights = (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    rows_h, rows_c = [], []
    for b in range(batch):  # each sequence on its own, as reference_forward does
        if lstm:
            h, c = _lstm_step(x[b], hx[0][b], hx[1][b], eps_c[0, b], *weights, None)
            rows_c.append(c)
        elif isinstance(cell, nn.GRUCell):
            h = _gru_step(x[b], hx[b], *weights)
        else:
            h = _rnn_step(x[b], hx[b], *weights, cell.nonlinearity == "relu")
        rows_h.append(h + eps_h[0, b])
    h = torch.stack(rows_h)
    if input.dim() == 1:
        return (h[0], torch.stack(rows_c)[0]) if lstm else h[0]
    return (h, torch.stack(rows_c)) if lstm else h


@contextlib.contextmanager
def unrolled(model: nn.Module, epsilons: dict):
    """Run every nn.RNN/LSTM/GRU inside ``model`` through :func:`reference_forward`, every
    torch cell through :func:`reference_cell_forward`."""
    patched = [(name, m) for name, m in model.named_modules()
               if isinstance(m, (nn.RNN, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell, nn.GRUCell))]
    try:
        for name, module in patched:
            forward = reference_cell_forward if isinstance(module, nn.RNNCellBase) else reference_forward
            module.forward = functools.partial(forward, module, name, epsilons)
        yield
    finally:
        for _, module in patched:
            del module.forward


def reference_gradients(model: nn.Module, inputs: tuple, loss_fn) -> dict:
    """``{(name, layer, direction): (dL/dh (T, B, H_out), dL/dc or None)}`` by autograd, for
    models that call each module once."""
    calls = reference_call_gradients(model, inputs, loss_fn)
    assert all(len(per_call) == 1 for per_call in calls.values()), "a module was called twice"
    return {key: per_call[0] for key, per_call in calls.items()}


def reference_call_gradients(model: nn.Module, inputs: tuple, loss_fn) -> dict:
    """``{(name, layer, direction): [(dL/dh (T, B, H_out), dL/dc or None) per call]}``."""
    epsilons: dict = {}
    with unrolled(model, epsilons):
        loss = loss_fn(model(*inputs))
    return epsilon_gradients(loss, epsilons)


def epsilon_gradients(loss: Tensor, epsilons: dict) -> dict:
    """dL/dε for every ``epsilons[key]`` list of ``(ε^h, ε^c or None)``."""
    flat = [eps for calls in epsilons.values() for pair in calls for eps in pair if eps is not None]
    grads = iter(torch.autograd.grad(loss, flat, allow_unused=True, materialize_grads=True))
    return {key: [(next(grads), None if pair[1] is None else next(grads)) for pair in calls]
            for key, calls in epsilons.items()}
