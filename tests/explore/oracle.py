"""The explorer's contract in Python: the cell a page setting means, and its norms from the library."""

from __future__ import annotations

import torch

from rnngrad import LSTMCell, RNNCell, jacobian_through_time
from rnngrad._json import finite_list


def tensor(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)  # the weights are float64; torch.tensor's default is not


def cell_and_inputs(weights: dict, setting: dict):
    """The cell and inputs (T, I) of a setting: W_hh scaled by the gain (rnn), or the forget slice of
    the bias raised by forget_bias, after chrono's i and f slices where init=chrono (lstm); b_hh = 0."""
    T = int(setting["T"])
    if setting["arch"] == "rnn":
        part = weights["rnn"]
        H, I = len(part["weight_hh"]), len(part["weight_ih"][0])
        cell = RNNCell(I, H, activation=setting.get("activation", "tanh"), dtype=torch.float64)
        weight_hh, bias = float(setting.get("gain", 1.0)) * tensor(part["weight_hh"]), tensor(part["bias"])
        inputs = float(setting.get("input_scale", 1.0)) * tensor(part["inputs"][:T])
    else:
        part = weights["lstm"]
        H, I = len(part["weight_hh"][0]), len(part["weight_ih"][0])
        cell = LSTMCell(I, H, dtype=torch.float64)
        weight_hh, bias = tensor(part["weight_hh"]), tensor(part["bias"])
        if setting.get("init") == "chrono":
            bias[:H], bias[H : 2 * H] = -tensor(part["chrono_forget_bias"]), tensor(part["chrono_forget_bias"])
        bias[H : 2 * H] += float(setting.get("forget_bias", 0.0))
        inputs = tensor(part["inputs"][:T])
    with torch.no_grad():
        cell.weight_hh.copy_(weight_hh)
        cell.weight_ih.copy_(tensor(part["weight_ih"]))
        cell.bias_ih.copy_(bias)
        cell.bias_hh.zero_()
    return cell, inputs


def library_norms(weights: dict, setting: dict) -> dict:
    """``log10_norm`` (and ``log10_carousel`` for the LSTM) from :func:`rnngrad.jacobian_through_time`."""
    result = jacobian_through_time(*cell_and_inputs(weights, setting))
    data = {"log10_norm": finite_list(result.log10_norm), "log10_frobenius": finite_list(result.log10_frobenius)}
    if result.log10_carousel is not None:
        data["log10_carousel"] = finite_list(result.log10_carousel)
    return data


def deviation(page: list, library: list) -> float:
    """Largest |page − library| over the entries; the same entries must be null (an exact zero)."""
    assert len(page) == len(library)
    assert [v is None for v in page] == [v is None for v in library]
    return max((abs(a - b) for a, b in zip(page, library) if a is not None), default=0.0)
