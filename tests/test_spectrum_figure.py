"""The spectrum figure: data from ``gain_sweep``, drawing on an Agg Figure, nothing shown or saved."""

from __future__ import annotations

import io
import math

import torch
from matplotlib.figure import Figure

from rnngrad.spectrum.figure import SpectrumCurve, gain_sweep, spectrum_figure


def test_gain_sweep_gives_one_full_spectrum_per_setting():
    curves = gain_sweep(T=80, hidden_size=4, gains=(0.5, 2.0), forget_biases=(0.0, math.log(99.0)))
    assert [(c.arch, c.exponents.shape[0]) for c in curves] == [("rnn", 4)] * 2 + [("gru", 4)] * 2 + [("lstm", 8)] * 2
    lstm_default, lstm_remembers = (c.exponents for c in curves if c.arch == "lstm")
    assert float(lstm_remembers[0]) > -0.05 > float(lstm_default[0])  # f ≈ 0.99 keeps a direction
    assert all(bool((c.exponents[:-1] >= c.exponents[1:]).all()) for c in curves)
    again = gain_sweep(T=80, hidden_size=4, gains=(0.5, 2.0), forget_biases=(0.0, math.log(99.0)))
    assert all(torch.equal(a.exponents, b.exponents) for a, b in zip(curves, again))  # seeded


def test_figure_has_three_panels_and_renders():
    curves = [
        SpectrumCurve("rnn", "gain 1", torch.tensor([-0.1, -0.5, -2.0], dtype=torch.float64)),
        SpectrumCurve("lstm", "b_f = 0", torch.tensor([-0.7, -0.8, -3.0, -math.inf], dtype=torch.float64)),
    ]
    figure = spectrum_figure(curves)
    assert isinstance(figure, Figure)
    rnn_axis, gru_axis, lstm_axis = figure.axes[:3]
    assert len(rnn_axis.get_lines()) == 2 and len(gru_axis.get_lines()) == 1  # curves + the zero line
    assert lstm_axis.get_lines()[0].get_xdata().tolist() == [0.25, 0.5, 0.75, 1.0]
    assert math.isnan(lstm_axis.get_lines()[0].get_ydata()[-1])  # −inf is drawn as a gap
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    assert buffer.getvalue().startswith(b"\x89PNG")


def test_default_figure_draws_the_sweep():
    figure = spectrum_figure(T=40, hidden_size=3, gains=(1.0,), forget_biases=(1.0,))
    assert [len(axis.get_lines()) for axis in figure.axes[:3]] == [2, 2, 2]
