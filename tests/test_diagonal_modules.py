"""MinGRU, MinLSTM and LRU sequence modules: outputs, h_n and every gradient against a plain Python
loop over cells built here and stepped one x_t at a time on the modules' own parameters; parameter
names, shapes and state_dict round trips; what cell_and_inputs gives for a layer and its Jacobian
through time against jacrev; one coefficients call and one scan per layer; bad input. float64."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch.func import functional_call

import rnngrad.diagonal_modules._stack as stack_module
from rnngrad.cells import DiagonalCell, LRUCell, MinGRUCell, MinLSTMCell
from rnngrad.diagonal_modules import LRU, MinGRU, MinLSTM
from rnngrad.errors import InputError
from rnngrad.jacobians import jacobian_through_time
from rnngrad.layer_inputs import cell_and_inputs
from rnngrad.layer_jacobians import jacobian_of_layer

MODULES = [MinGRU, MinLSTM, LRU]
CELL_OF = {MinGRU: MinGRUCell, MinLSTM: MinLSTMCell, LRU: LRUCell}
T, B, I, H = 7, 3, 3, 4
F64 = torch.float64


def make(module_type, num_layers: int = 1, batch_first: bool = False, seed: int = 0):
    options = {"r_min": 0.5, "r_max": 0.99} if module_type is LRU else {}
    return module_type(I, H, num_layers, batch_first, dtype=F64, generator=torch.Generator().manual_seed(seed),
                       **options)


def random(*shape: int, seed: int, complex_values: bool = False) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    real = torch.randn(*shape, dtype=F64, generator=generator)
    return torch.complex(real, torch.randn(*shape, dtype=F64, generator=generator)) if complex_values else real


def reference_layer(module, layer: int, inputs: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
    """h_1..h_T of one layer, (T, [B,] H), by stepping a cell built here through ``inputs``
    (T, [B,] I_k) one x_t at a time, called on the module's own parameters."""
    size = module.input_size if layer == 0 else module.hidden_size
    cell = CELL_OF[type(module)](size, module.hidden_size, dtype=F64, generator=torch.Generator())
    parameters = {name: getattr(module, f"{name}_l{layer}") for name, _ in cell.named_parameters()}
    states = []
    for x in inputs:  # the plain loop over time
        h = functional_call(cell, parameters, (x, h))
        states.append(h)
    return torch.stack(states)


def reference(module, input: torch.Tensor, h0: torch.Tensor | None = None):
    """(output, h_n) of the whole module by :func:`reference_layer`, layer after layer."""
    x = input.transpose(0, 1) if module.batch_first and input.dim() == 3 else input  # (T, [B,] I)
    finals = []
    for layer in range(module.num_layers):
        states = reference_layer(module, layer, x, None if h0 is None else h0[layer])  # (T, [B,] H)
        finals.append(states[-1])
        x = states.real if states.is_complex() else states
    output = x.transpose(0, 1) if module.batch_first and input.dim() == 3 else x
    return output, torch.stack(finals)


def case(module_type, num_layers: int, layout: str, with_h0: bool, requires_grad: bool = False):
    """A module, an input in ``layout`` and an h0 (or None), all float64."""
    module = make(module_type, num_layers, batch_first=layout == "batch_first")
    shape = {"time_major": (T, B, I), "batch_first": (B, T, I), "unbatched": (T, I)}[layout]
    input = random(*shape, seed=1).mul(2).requires_grad_(requires_grad)
    h0 = None
    if with_h0:
        h0_shape = (num_layers, H) if layout == "unbatched" else (num_layers, B, H)
        h0 = random(*h0_shape, seed=2, complex_values=module_type is LRU).requires_grad_(requires_grad)
    return module, input, h0


def assert_close(actual: torch.Tensor, expected: torch.Tensor, tolerance: float) -> None:
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    actual, expected = actual.detach(), expected.detach()
    assert (actual - expected).abs().max() <= tolerance * max(1.0, float(expected.abs().max()))


# --- against the unrolled loop -----------------------------------------------------------------------


@pytest.mark.parametrize("module_type", MODULES)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("layout", ["time_major", "batch_first", "unbatched"])
@pytest.mark.parametrize("with_h0", [False, True])
def test_output_and_h_n_equal_the_unrolled_loop(module_type, num_layers, layout, with_h0):
    module, input, h0 = case(module_type, num_layers, layout, with_h0)
    output, h_n = module(input, h0)
    expected_output, expected_h_n = reference(module, input, h0)
    batch = () if layout == "unbatched" else (B,)
    assert output.shape == ((B, T, H) if layout == "batch_first" else (T, *batch, H))
    assert h_n.shape == (num_layers, *batch, H)
    assert output.dtype == F64 and h_n.dtype == (torch.complex128 if module_type is LRU else F64)
    assert_close(output, expected_output, 1e-12)
    assert_close(h_n, expected_h_n, 1e-12)


@pytest.mark.parametrize("module_type", MODULES)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("layout", ["time_major", "batch_first"])
def test_gradients_equal_autograd_through_the_unrolled_loop(module_type, num_layers, layout):
    module, input, h0 = case(module_type, num_layers, layout, with_h0=True, requires_grad=True)
    output_weights = random(*input.shape[:-1], H, seed=3)
    h_n_weights = random(*h0.shape, seed=4, complex_values=module_type is LRU)
    wrt = [*module.parameters(), input, h0]

    def gradients(output, h_n):
        loss = (output * output_weights).sum() + (h_n * h_n_weights.conj()).real.sum()
        return torch.autograd.grad(loss, wrt)

    actual = gradients(*module(input, h0))
    expected = gradients(*reference(module, input, h0))
    for name, got, want in zip([*(n for n, _ in module.named_parameters()), "input", "h0"], actual, expected):
        assert float(want.abs().max()) > 0, name
        assert_close(got, want, 1e-10)


def test_each_layer_is_one_coefficients_call_and_one_scan(monkeypatch):
    scans, coefficient_calls = [], []
    scan, coefficients = stack_module.linear_scan, DiagonalCell.coefficients
    monkeypatch.setattr(stack_module, "linear_scan", lambda a, b, h0=None: scans.append(a.shape) or scan(a, b, h0))
    monkeypatch.setattr(DiagonalCell, "coefficients",
                        lambda cell, x: coefficient_calls.append(x.shape) or coefficients(cell, x))
    make(MinGRU, num_layers=3)(random(50, B, I, seed=1))
    assert coefficient_calls == [(50, B, I), (50, B, H), (50, B, H)]
    assert scans == [(50, B, H)] * 3


# --- parameters --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("module_type", "expected"), [
    (MinGRU, [("weight_ih_l0", (2 * H, I)), ("bias_ih_l0", (2 * H,)),
              ("weight_ih_l1", (2 * H, H)), ("bias_ih_l1", (2 * H,))]),
    (MinLSTM, [("weight_ih_l0", (3 * H, I)), ("bias_ih_l0", (3 * H,)),
               ("weight_ih_l1", (3 * H, H)), ("bias_ih_l1", (3 * H,))]),
    (LRU, [(f"{name}_l{layer}", shape) for layer, size in ((0, I), (1, H))
           for name, shape in (("nu_log", (H,)), ("theta_log", (H,)), ("gamma_log", (H,)),
                               ("B_re", (H, size)), ("B_im", (H, size)))]),
])
def test_parameter_names_and_shapes_are_torch_style(module_type, expected):
    module = make(module_type, num_layers=2)
    assert [(name, tuple(p.shape)) for name, p in module.named_parameters()] == expected
    assert [(name, tuple(p.shape)) for name, p in module.state_dict().items()] == expected
    assert all(p.dtype == F64 for p in module.parameters())


@pytest.mark.parametrize("module_type", MODULES)
def test_layer_cell_shares_the_module_parameters_and_layer_0_draws_as_the_cell(module_type):
    module = make(module_type, num_layers=2)
    for layer in range(2):
        cell = module.layer_cell(layer)
        assert type(cell) is CELL_OF[module_type]
        assert (cell.input_size, cell.hidden_size) == ((I, H) if layer == 0 else (H, H))
        for name, parameter in cell.named_parameters():
            assert parameter is getattr(module, f"{name}_l{layer}")
    options = {"r_min": 0.5, "r_max": 0.99} if module_type is LRU else {}
    alone = CELL_OF[module_type](I, H, dtype=F64, generator=torch.Generator().manual_seed(0), **options)
    for name, parameter in alone.named_parameters():  # the same generator draws the same layer 0
        assert torch.equal(parameter, getattr(module, f"{name}_l0"))
    a, _ = module.layer_cell(1).coefficients(random(T, B, H, seed=1))
    a.real.sum().backward()  # coefficients are differentiable in the module's own parameters
    assert any(p.grad is not None and bool(p.grad.abs().sum() > 0) for name, p in module.named_parameters()
               if name.endswith("_l1"))


@pytest.mark.parametrize("module_type", MODULES)
def test_load_state_dict_round_trip(module_type):
    source, target = make(module_type, num_layers=2, seed=0), make(module_type, num_layers=2, seed=5)
    input = random(T, B, I, seed=1)
    assert not torch.equal(source(input)[0], target(input)[0])
    target.load_state_dict(source.state_dict())
    for (name, got), want in zip(target.state_dict().items(), source.state_dict().values()):
        assert torch.equal(got, want), name
    assert torch.equal(target(input)[0], source(input)[0]) and torch.equal(target(input)[1], source(input)[1])
    cells = [source.layer_cell(layer).state_dict() for layer in range(2)]  # a torch-style dict from cells
    flat = {f"{name}_l{layer}": 3 * value for layer, cell in enumerate(cells) for name, value in cell.items()}
    target.load_state_dict(flat)
    assert torch.equal(target.layer_cell(1).state_dict()[next(iter(cells[1]))], 3 * next(iter(cells[1].values())))


def test_cells_follow_replaced_parameters_conversions_and_copies_and_leave_the_global_generator():
    module = MinGRU(I, H, 2, dtype=torch.float32, generator=torch.Generator().manual_seed(0)).double()
    assert module.layer_cell(1) is module.layer_cell(1)  # kept while its parameters are the module's
    before = torch.get_rng_state()
    module.weight_ih_l1 = torch.nn.Parameter(torch.zeros(2 * H, H, dtype=F64))
    module.bias_ih_l1 = torch.nn.Parameter(torch.zeros(2 * H, dtype=F64))
    output, h_n = module(random(T, B, I, seed=1))
    assert torch.equal(torch.get_rng_state(), before)  # a rebuilt cell draws from a private generator
    assert module.layer_cell(1).weight_ih is module.weight_ih_l1
    assert output.dtype == h_n.dtype == F64 and torch.equal(output, torch.zeros_like(output))  # h̃ = 0
    lru = make(LRU, num_layers=2)
    overwrite = torch.__future__.get_overwrite_module_params_on_conversion()
    torch.__future__.set_overwrite_module_params_on_conversion(True)  # .float() makes new Parameters
    try:
        lru.float()
    finally:
        torch.__future__.set_overwrite_module_params_on_conversion(overwrite)
    assert lru.layer_cell(1).B_re is lru.B_re_l1 and lru.layer_cell(1).parameter_dtype == torch.float32
    copied = copy.deepcopy(lru)
    assert copied.layer_cell(0).nu_log is copied.nu_log_l0 and copied.nu_log_l0 is not lru.nu_log_l0
    assert torch.equal(copied(random(T, B, I, seed=1).float())[1], lru(random(T, B, I, seed=1).float())[1])


@pytest.mark.parametrize("module_type", MODULES)
def test_functional_call_runs_on_the_tensors_passed(module_type):
    module, input, h0 = case(module_type, 2, "time_major", with_h0=True)
    values = {name: (1.5 * p.detach()).requires_grad_() for name, p in module.named_parameters()}

    def loss(output, h_n):
        return output.square().sum() + h_n.abs().square().sum()

    gradients = torch.autograd.grad(loss(*functional_call(module, values, (input, h0))), list(values.values()))
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(1.5)
    expected = torch.autograd.grad(loss(*module(input, h0)), list(module.parameters()))
    for got, want in zip(gradients, expected):
        assert_close(got, want, 1e-12)
    assert all(p is getattr(module, f"{name}_l0") for name, p in module.layer_cell(0).named_parameters())


# --- cell_and_inputs and the Jacobian through time ------------------------------------------------------


@pytest.mark.parametrize("module_type", MODULES)
def test_cell_and_inputs_give_the_layer_cell_and_the_real_outputs_below(module_type):
    module = make(module_type, num_layers=2, batch_first=True)  # inputs are time-major all the same
    inputs = random(T, B, I, seed=1)
    cell, layer_inputs, unbatched = cell_and_inputs(module, inputs, 0, 0)
    assert torch.equal(layer_inputs, inputs) and not unbatched
    assert all(p is getattr(module, f"{name}_l0") for name, p in cell.named_parameters())
    cell, layer_inputs, unbatched = cell_and_inputs(module, inputs, 1, 0)
    assert all(p is getattr(module, f"{name}_l1") for name, p in cell.named_parameters())
    below = reference_layer(module, 0, inputs).detach()  # (T, B, H)
    assert layer_inputs.dtype == F64 and not layer_inputs.requires_grad and not unbatched
    assert_close(layer_inputs, below.real if below.is_complex() else below, 1e-12)
    _, single_inputs, unbatched = cell_and_inputs(module, inputs[:, 0], 1, 0)
    assert unbatched
    assert_close(single_inputs, layer_inputs[:, :1], 1e-14)  # one sequence alone: equal up to rounding


def oracle_log10_norms(module, layer: int, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """log10 ‖∂h_T/∂h_t‖₂ and ‖·‖_F for t = 0..T (one sequence, inputs (T, I_k)) by jacrev through
    :func:`reference_layer`, from a random h_0; the LRU on its real view (Re h, Im h), whose
    singular values are the complex Jacobian's, each twice (‖·‖_F is √2 times as large)."""
    lru = type(module) is LRU
    as_complex = (lambda s: torch.complex(s[:H], s[H:])) if lru else (lambda s: s)
    as_real = (lambda h: torch.cat([h.real, h.imag])) if lru else (lambda h: h)
    with torch.no_grad():
        h0 = random(2 * H if lru else H, seed=7)
        states = [h0, *map(as_real, reference_layer(module, layer, inputs, as_complex(h0)))]

    def from_step(t: int):
        return lambda s: as_real(reference_layer(module, layer, inputs[t:], as_complex(s))[-1])

    spectral, frobenius = [], []
    for t in range(len(inputs) + 1):
        jacobian = torch.eye(len(h0), dtype=F64) if t == len(inputs) else torch.func.jacrev(from_step(t))(states[t])
        spectral.append(torch.linalg.matrix_norm(jacobian.detach(), ord=2))
        frobenius.append(torch.linalg.matrix_norm(jacobian.detach()) / (math.sqrt(2) if lru else 1))
    return torch.stack(spectral).log10(), torch.stack(frobenius).log10()


@pytest.mark.parametrize("module_type", MODULES)
def test_jacobian_through_time_of_layer_1_equals_jacrev(module_type):
    module = make(module_type, num_layers=2)
    cell, layer_inputs, _ = cell_and_inputs(module, random(T, 2, I, seed=1).mul(2), 1, 0)
    result = jacobian_through_time(cell, layer_inputs)
    assert result.log10_norm.shape == (2, T + 1)
    for b in range(2):
        spectral, frobenius = oracle_log10_norms(module, 1, layer_inputs[:, b])
        assert torch.allclose(result.log10_norm[b], spectral, rtol=0, atol=1e-12)
        assert torch.allclose(result.log10_frobenius[b], frobenius, rtol=0, atol=1e-12)
    by_layer = jacobian_of_layer(module, random(T, 2, I, seed=1).mul(2), 1)
    assert torch.equal(by_layer.log10_norm, result.log10_norm)


# --- bad input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("build", "match"), [
    (lambda: MinGRU(I, H, 0), r"num_layers: expected a positive integer, got 0"),
    (lambda: MinLSTM(0, H), r"input_size: expected a positive integer, got 0"),
    (lambda: MinGRU(I, H, batch_first="yes"), r"batch_first: expected a bool, got 'yes'"),
    (lambda: LRU(I, H, r_min=0.9, r_max=0.5), r"r_min, r_max: expected 0 ≤ r_min ≤ r_max ≤ 1"),
])
def test_bad_construction_is_rejected(build, match):
    with pytest.raises(InputError, match=match):
        build()


@pytest.mark.parametrize(("module_type", "batch_first", "input", "h0", "match"), [
    (MinGRU, False, random(T, B, 5, seed=1), None, r"input: expected last dimension input_size=3, got 5"),
    (MinGRU, False, random(T, B, 1, I, seed=1), None,
     r"input: expected a 2D \(T, I\) or 3D \(T, B, I\) tensor, got 4D"),
    (MinLSTM, True, random(I, seed=1), None, r"input: expected a 2D \(T, I\) or 3D \(B, T, I\) tensor, got 1D"),
    (LRU, False, random(T, B, I, seed=1, complex_values=True), None,
     r"input: expected a real tensor of dtype torch.float64 \(the parameters'\), got a complex tensor of "
     r"dtype torch.complex128"),
    (MinGRU, False, random(T, B, I, seed=1).float(), None, r"input: .* got a tensor of dtype torch.float32"),
    (MinGRU, False, [[0.0] * I], None, r"input: expected a tensor, got list"),
    (MinGRU, False, random(0, B, I, seed=1), None, r"input: expected at least one time step, got T = 0"),
    (MinGRU, False, random(T, B, I, seed=1), random(1, B, H, seed=2),
     r"h0: expected shape \(2, 3, 4\) \(num_layers, B, H\) for this input, got \(1, 3, 4\)"),
    (MinLSTM, True, random(T, I, seed=1), random(2, 1, H, seed=2),
     r"h0: expected shape \(2, 4\) \(num_layers, H\) for an unbatched input, got \(2, 1, 4\)"),
    (LRU, False, random(T, B, I, seed=1), random(2, B, H, seed=2),
     r"h0: expected a complex tensor of dtype torch.complex128 \(the LRU's state is complex\), got torch.float64"),
    (MinGRU, False, random(T, B, I, seed=1), random(2, B, H, seed=2, complex_values=True),
     r"h0: expected a real tensor of dtype torch.float64 \(the parameters'\), got torch.complex128"),
    (MinGRU, False, random(T, B, I, seed=1), "zeros", r"h0: expected a tensor or None, got str"),
])
def test_bad_forward_input_is_rejected(module_type, batch_first, input, h0, match):
    module = make(module_type, num_layers=2, batch_first=batch_first)
    with pytest.raises(InputError, match=match):
        module(input, h0)


def test_bad_layer_and_direction_are_rejected():
    module = make(LRU, num_layers=2)
    with pytest.raises(InputError, match=r"layer: expected 0..1, got 2"):
        module.layer_cell(2)
    with pytest.raises(InputError, match=r"layer: expected 0..1, got 2"):
        cell_and_inputs(module, random(T, B, I, seed=1), 2, 0)
    with pytest.raises(InputError, match=r"direction: expected 0 \(LRU has one direction\), got 1"):
        cell_and_inputs(module, random(T, B, I, seed=1), 0, 1)
    with pytest.raises(InputError, match=r"inputs: expected input size 3 \(the cell's\), got 4"):
        cell_and_inputs(module, random(T, B, H, seed=1), 1, 0)


def test_spectrum_of_an_lru_layer_is_log_abs_lambda_sorted():
    """rnngrad.spectrum takes the module and a layer: for the LRU, whose a_t = λ is constant,
    the exponents are log|λ_i| sorted, whatever the inputs of that layer are."""
    import rnngrad

    module = LRU(3, 6, num_layers=2, r_min=0.8, r_max=0.99, dtype=torch.float64,
                 generator=torch.Generator().manual_seed(3))
    x = torch.randn(40, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    exponents = rnngrad.spectrum(module, x, layer=1).exponents  # (B, H)
    expected = module.layer_cell(1).eigenvalues().detach().abs().log().sort(descending=True).values
    assert torch.allclose(exponents, expected.expand_as(exponents), rtol=0, atol=1e-15)
