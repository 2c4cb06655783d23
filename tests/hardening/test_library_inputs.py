"""Items 6 and 7 of issue 17: bad library calls give one InputError naming the argument.

Subclasses of torch.nn's recurrent modules are supported modules; a torch module given where a
cell is expected, an empty batch, unusable dtypes, non-bool flags, non-int layers and an
infinite log-condition budget are refused up front instead of failing deep inside.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rnngrad import (GRUCell, LRUCell, LSTMCell, MinGRUCell, MinLSTMCell, RNNCell, from_torch,
                     jacobian_through_time, spectrum)
from rnngrad.errors import InputError
from rnngrad.layer_jacobians import jacobian_of_layer
from rnngrad.spectra import lyapunov_exponents
from tests.hardening.conftest import assert_one_line_error, invoke


class MyLSTM(nn.LSTM):
    """A user's subclass, as a model zoo has them."""


class MyLSTMCell(nn.LSTMCell):
    pass


class MyGRU(nn.GRU):
    pass


def inputs(T: int = 6, B: int | None = None, I: int = 3) -> torch.Tensor:
    shape = (T, I) if B is None else (T, B, I)
    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("module_type", [MyLSTM, MyGRU, MyLSTMCell])
def test_a_subclass_of_a_torch_module_is_supported(module_type):
    torch.manual_seed(0)
    module = module_type(3, 4).double()
    base = next(kind for kind in (nn.LSTM, nn.GRU, nn.LSTMCell) if isinstance(module, kind))
    cell = from_torch(module)
    assert cell.arch == ("gru" if base is nn.GRU else "lstm")
    plain = base(3, 4).double()
    plain.load_state_dict(module.state_dict())
    assert torch.equal(cell.weight_hh, from_torch(plain).weight_hh)
    result = spectrum(module, inputs(T=20), measure=False)
    assert torch.equal(result.exponents, spectrum(plain, inputs(T=20), measure=False).exponents)


def test_a_subclass_spectrum_with_the_measured_rate():
    torch.manual_seed(0)
    module = MyLSTM(3, 4).double()
    result = spectrum(module, inputs(T=30))
    assert result.arch == "lstm" and result.exponents.shape == (8,)


def test_jacobian_through_time_of_a_torch_module_says_to_convert_it():
    with pytest.raises(InputError, match=r"cell: expected an rnngrad cell .*got LSTM \(convert one layer first: "
                                         r"rnngrad\.from_torch"):
        jacobian_through_time(nn.LSTM(3, 4), inputs())
    with pytest.raises(InputError, match=r"cell: expected an rnngrad cell .*got str$"):
        jacobian_through_time("lstm", inputs())


CELL = RNNCell(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
BAD_CALLS = {
    "B = 0 (jacobian)": (lambda: jacobian_through_time(CELL, torch.zeros(5, 0, 3, dtype=torch.float64)),
                         r"inputs: expected at least one sequence, got B = 0"),
    "B = 0 (spectrum)": (lambda: spectrum(CELL, torch.zeros(5, 0, 3, dtype=torch.float64)), r"got B = 0"),
    "B = 0 (layer of a torch module)": (lambda: jacobian_of_layer(nn.GRU(3, 4).double(), torch.zeros(5, 0, 3, dtype=torch.float64)),
                                        r"got B = 0"),
    "int inputs": (lambda: jacobian_through_time(CELL, torch.zeros(5, 3, dtype=torch.int64)),
                   r"inputs: expected real floating-point values, got dtype torch\.int64"),
    "bool inputs": (lambda: spectrum(CELL, torch.zeros(5, 3, dtype=torch.bool)), r"got dtype torch\.bool"),
    "initial_state not a tensor": (lambda: jacobian_through_time(CELL, inputs(), initial_state=[0.0] * 4),
                                   r"initial_state: expected a real tensor of shape \(1, 4\), got list"),
    "max_log_condition=inf": (lambda: spectrum(CELL, inputs(), max_log_condition=math.inf),
                              r"max_log_condition: expected a positive number, got inf \(it must be finite\)"),
    "max_log_condition=nan": (lambda: spectrum(CELL, inputs(), max_log_condition=math.nan), r"got nan"),
    "max_log_condition=True": (lambda: spectrum(CELL, inputs(), max_log_condition=True), r"got True"),
    "lyapunov_exponents, max_log_condition=inf": (
        lambda: lyapunov_exponents(CELL, inputs(B=1), 2, max_log_condition=math.inf), r"max_log_condition: .*got inf"),
    "from_torch(layer='0')": (lambda: from_torch(nn.LSTM(3, 4), layer="0"), r"layer: expected 0\.\.0, got '0'"),
    "from_torch(direction=True)": (lambda: from_torch(nn.GRU(3, 4, bidirectional=True), direction=True),
                                   r"direction: expected 0\.\.1, got True"),
    "from_torch of a cell, layer=0.0": (lambda: from_torch(nn.RNNCell(3, 4), layer=0.0),
                                        r"layer, direction: a cell has only \(0, 0\), got \(0\.0, 0\)"),
    "from_torch of a float16 module": (lambda: from_torch(nn.LSTM(3, 4).half()),
                                       r"module: expected float32 or float64 weights, got torch\.float16"),
    "spectrum(layer='0')": (lambda: spectrum(nn.RNN(3, 4).double(), inputs(), layer="0"), r"layer: expected 0\.\.0, got '0'"),
    "spectrum of a cell, direction=None": (lambda: spectrum(CELL, inputs(), direction=None),
                                           r"a cell has only \(0, 0\), got \(0, None\)"),
    "spectrum of a diagonal cell, layer=False": (lambda: spectrum(MinGRUCell(3, 4, dtype=torch.float64), inputs(), layer=False),
                                                 r"a cell has only \(0, 0\), got \(False, 0\)"),
    "a cell's input of another dtype": (lambda: CELL(torch.zeros(2, 3, dtype=torch.float32)),
                                        r"input: expected a tensor of dtype torch\.float64 \(the cell's\), got torch\.float32"),
}
for cell_type in (RNNCell, LSTMCell, GRUCell):
    name = cell_type.__name__
    BAD_CALLS.update({
        f"{name}(bias='yes')": (lambda c=cell_type: c(3, 4, bias="yes"), r"bias: expected True or False, got 'yes'"),
        f"{name}(dtype=int64)": (lambda c=cell_type: c(3, 4, dtype=torch.int64),
                                 r"dtype: expected a real floating-point dtype \(torch\.float32 or torch\.float64\), got torch\.int64"),
        f"{name}(dtype=float16)": (lambda c=cell_type: c(3, 4, dtype=torch.float16), r"got torch\.float16"),
        f"{name}(dtype=complex128)": (lambda c=cell_type: c(3, 4, dtype=torch.complex128), r"got torch\.complex128"),
    })
for cell_type in (MinGRUCell, MinLSTMCell, LRUCell):
    BAD_CALLS[f"{cell_type.__name__}(dtype=float16)"] = (lambda c=cell_type: c(3, 4, dtype=torch.float16), r"got torch\.float16")
BAD_CALLS["LSTMCell(forget_gate=1)"] = (lambda: LSTMCell(3, 4, forget_gate=1), r"forget_gate: expected True or False, got 1")


@pytest.mark.parametrize("case", BAD_CALLS)
def test_a_bad_library_call_is_one_input_error(case):
    call, pattern = BAD_CALLS[case]
    with pytest.raises(InputError, match=pattern):
        call()


def test_the_default_dtype_is_checked_too():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float16)
    try:
        with pytest.raises(InputError, match=r"dtype: expected .*got None \(torch's default dtype, torch\.float16\)"):
            RNNCell(3, 4)
    finally:
        torch.set_default_dtype(previous)


def test_spectrum_cli_refuses_an_infinite_budget(tmp_path):
    import numpy as np

    torch.save(nn.GRU(3, 4).state_dict(), tmp_path / "gru.pt")
    np.save(tmp_path / "x.npy", inputs(T=20).numpy())
    for value in ("inf", "-inf", "nan"):
        result = invoke("spectrum", "--checkpoint", tmp_path / "gru.pt", "--inputs", tmp_path / "x.npy",
                        "--max-log-condition", value)
        assert_one_line_error(result, 2, r"max_log_condition: expected a positive number")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["gru.pt", "x.npy"]
