"""Element-wise transfer functions φ, their analytic derivatives φ' and the exact sup |φ'|.

Backpropagation through time multiplies one ``diag(φ'(a_t))`` per step, so ``sup |φ'|`` caps
what each step can pass back. The seed post's point: max tanh' = 1 but max sigmoid' = 1/4.
The set follows Torch7 nn's "Transfer Function Layers" page with ``torch.nn`` defaults
(λ = 0.5, β = 1, α = 1, leaky slope 0.01, PReLU's initial slope 0.25, RReLU in eval mode).
σ is the logistic sigmoid, Φ and ϕ the standard normal CDF and density.

.. math::

    (1)  identity    φ = x                        φ' = 1                        sup 1, all x
    (2)  sigmoid     φ = σ(x) = 1/(1+e^{-x})      φ' = σ(1-σ)                   sup 1/4, x = 0
    (3)  tanh        φ = tanh x                   φ' = 1 - tanh² x              sup 1, x = 0
    (4)  hardtanh    φ = clamp(x, -1, 1)          φ' = [|x| < 1]                sup 1, |x| < 1
    (5)  softsign    φ = x/(1+|x|)                φ' = 1/(1+|x|)²               sup 1, x = 0
    (6)  logsigmoid  φ = log σ(x)                 φ' = 1 - σ(x)                 sup 1, x → -∞
    (7)  softplus    φ = log(1+e^x)               φ' = σ(x)                     sup 1, x → +∞
    (8)  relu        φ = max(0, x)                φ' = [x > 0]                  sup 1, x > 0
    (9)  relu6       φ = min(max(0, x), 6)        φ' = [0 < x < 6]              sup 1, 0 < x < 6
    (10) leakyrelu   φ = x if x > 0 else s·x      φ' = 1 if x > 0 else s        s = 0.01
    (11) prelu       (10) with s = 0.25
    (12) rrelu       (10) with s = (1/8 + 1/3)/2 = 11/48
    (13) elu         φ = x if x > 0 else e^x - 1  φ' = 1 if x > 0 else e^x      sup 1, x > 0
    (14) gelu        φ = x Φ(x)                   φ' = Φ(x) + x ϕ(x)            sup at x = √2
    (15) silu        φ = x σ(x)                   φ' = σ(1 + x(1-σ))            sup at x* of (16)
    (16)             d/dx φ'_silu = σ(1-σ)(2 - x tanh(x/2)) = 0 ⇔ x tanh(x/2) = 2, x* ≈ 2.3994
    (17) hardshrink  φ = x if |x| > λ else 0      φ' = [|x| > λ]                sup 1, |x| > λ
    (18) softshrink  φ = sign(x) max(|x|-λ, 0)    φ' = [|x| > λ]                sup 1, |x| > λ

(14) peaks at √2 since d/dx(Φ + xϕ) = ϕ(x)(2 - x²); the peak is Φ(√2) + √2 ϕ(√2) ≈ 1.1289.
At kinks the derivative follows torch autograd on the matching ``torch.nn.functional`` op
(relu'(0) = 0, hardtanh'(±1) = 0, leakyrelu'(0) = s, ...); these points have measure zero.
"""

from __future__ import annotations

import math
import types
from dataclasses import dataclass
from typing import Callable, Mapping

import torch
from torch import Tensor

from rnngrad.errors import InputError

SHRINK_LAMBDA = 0.5  # λ of hardshrink and softshrink (torch default)
LEAKY_SLOPE = 0.01  # leakyrelu's negative slope (torch default)
PRELU_SLOPE = 0.25  # nn.PReLU's initial slope, held fixed
RRELU_SLOPE = (1 / 8 + 1 / 3) / 2  # nn.RReLU in eval mode: the mean of lower and upper
_SQRT_HALF = math.sqrt(0.5)  # 1/√2, as torch's M_SQRT1_2
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)  # ϕ(0)


@dataclass(frozen=True)
class Activation:
    """One element-wise transfer function with its analytic derivative and the sup of |φ'|."""

    name: str  # registry key, e.g. "tanh"
    formula: str  # human-readable φ(x), e.g. "tanh(x)"
    function: Callable[[Tensor], Tensor]  # φ, element-wise, any dtype/shape, autograd-friendly
    derivative: Callable[[Tensor], Tensor]  # φ'(x), analytic (not via autograd), element-wise
    sup_derivative: float  # exact sup over real x of |φ'(x)|
    argmax: float | None  # a point where the sup is attained; None when only approached
    attained_at: str  # where the sup is attained, e.g. "x = 0", "x → +∞"


def _ones(x: Tensor) -> Tensor:
    return torch.ones_like(x)


def _indicator(condition: Tensor, x: Tensor) -> Tensor:
    return condition.to(x.dtype)


def _sigmoid(x: Tensor) -> Tensor:
    return 1.0 / (1.0 + torch.exp(-x))  # (2)


def _sigmoid_derivative(x: Tensor) -> Tensor:
    s = _sigmoid(x)
    return s * (1.0 - s)  # (2)


def _tanh_derivative(x: Tensor) -> Tensor:
    return 1.0 - torch.tanh(x) ** 2  # (3)


def _logsigmoid(x: Tensor) -> Tensor:
    return torch.clamp(x, max=0.0) - torch.log1p(torch.exp(-x.abs()))  # (6), stable for |x| large


def _softplus(x: Tensor) -> Tensor:
    # (7) exactly; torch's F.softplus instead returns x itself once x > 20 (an error < e^-20)
    return torch.clamp(x, min=0.0) + torch.log1p(torch.exp(-x.abs()))


def _leaky(slope: float) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]:
    """φ and φ' of (10) for a given negative slope s."""

    def function(x: Tensor) -> Tensor:
        return torch.where(x > 0, x, x * slope)  # (10)

    def derivative(x: Tensor) -> Tensor:
        return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, slope))  # (10)

    return function, derivative


def _elu(x: Tensor) -> Tensor:
    return torch.where(x > 0, x, torch.expm1(x))  # (13), α = 1


def _elu_derivative(x: Tensor) -> Tensor:
    return torch.where(x > 0, torch.ones_like(x), torch.exp(x))  # (13)


def _gelu(x: Tensor) -> Tensor:
    return x * 0.5 * (1.0 + torch.erf(x * _SQRT_HALF))  # (14)


def _gelu_derivative(x: Tensor) -> Tensor:
    cdf = 0.5 * (1.0 + torch.erf(x * _SQRT_HALF))  # Φ(x)
    density = _INV_SQRT_2PI * torch.exp(-0.5 * x * x)  # ϕ(x)
    return cdf + x * density  # (14)


def _silu(x: Tensor) -> Tensor:
    return x / (1.0 + torch.exp(-x))  # (15): x·σ(x), written as torch computes it


def _silu_derivative(x: Tensor) -> Tensor:
    s = _sigmoid(x)
    return s * (1.0 + x * (1.0 - s))  # (15)


def _silu_argmax() -> float:
    """The root x* of x·tanh(x/2) = 2, eq. (16), by bisection in float64 to adjacent floats."""
    # x·tanh(x/2) increases on x > 0, and 2·tanh(1) ≈ 1.52 < 2 < 3·tanh(1.5) ≈ 2.71
    low, high = 2.0, 3.0
    while True:
        middle = 0.5 * (low + high)
        if middle in (low, high):
            break
        if middle * math.tanh(middle / 2) < 2.0:
            low = middle
        else:
            high = middle
    return min((low, high), key=lambda x: abs(x * math.tanh(x / 2) - 2.0))


def _softshrink(x: Tensor) -> Tensor:
    return torch.sign(x) * torch.clamp(x.abs() - SHRINK_LAMBDA, min=0.0)  # (18)


def _shrink_derivative(x: Tensor) -> Tensor:
    return _indicator(x.abs() > SHRINK_LAMBDA, x)  # (17), (18)


def _activation(
    name: str,
    formula: str,
    function: Callable[[Tensor], Tensor],
    derivative: Callable[[Tensor], Tensor],
    argmax: float | None,
    attained_at: str,
) -> Activation:
    """Build an entry; the sup is |φ'(argmax)| in float64, or 1 where it is only approached."""
    if argmax is None:
        sup = 1.0  # (6), (7): φ' → 1 at one end of the real line, never reached
    else:
        sup = abs(float(derivative(torch.tensor(argmax, dtype=torch.float64))))
    return Activation(name, formula, function, derivative, sup, argmax, attained_at)


_leakyrelu, _leakyrelu_derivative = _leaky(LEAKY_SLOPE)
_prelu, _prelu_derivative = _leaky(PRELU_SLOPE)
_rrelu, _rrelu_derivative = _leaky(RRELU_SLOPE)
_SILU_ARGMAX = _silu_argmax()

_REGISTRY = [
    _activation("identity", "x", lambda x: x, _ones, 0.0, "all x"),  # (1)
    _activation("sigmoid", "1 / (1 + e^-x)", _sigmoid, _sigmoid_derivative, 0.0, "x = 0"),  # (2)
    _activation("tanh", "tanh(x)", torch.tanh, _tanh_derivative, 0.0, "x = 0"),  # (3)
    _activation(  # (4)
        "hardtanh",
        "clamp(x, -1, 1)",
        lambda x: torch.clamp(x, -1.0, 1.0),
        lambda x: _indicator((x > -1.0) & (x < 1.0), x),
        0.0,
        "|x| < 1",
    ),
    _activation(  # (5)
        "softsign",
        "x / (1 + |x|)",
        lambda x: x / (1.0 + x.abs()),
        lambda x: 1.0 / (1.0 + x.abs()) ** 2,
        0.0,
        "x = 0",
    ),
    _activation(  # (6): φ' = 1 - σ(x) = σ(-x)
        "logsigmoid", "log σ(x)", _logsigmoid, lambda x: _sigmoid(-x), None, "x → -∞"
    ),
    _activation("softplus", "log(1 + e^x)", _softplus, _sigmoid, None, "x → +∞"),  # (7)
    _activation(  # (8)
        "relu",
        "max(0, x)",
        torch.relu,
        lambda x: _indicator(x > 0, x),
        1.0,
        "x > 0",
    ),
    _activation(  # (9)
        "relu6",
        "min(max(0, x), 6)",
        lambda x: torch.clamp(x, 0.0, 6.0),
        lambda x: _indicator((x > 0) & (x < 6.0), x),
        1.0,
        "0 < x < 6",
    ),
    _activation(  # (10)
        "leakyrelu", "x if x > 0 else 0.01·x", _leakyrelu, _leakyrelu_derivative, 1.0, "x > 0"
    ),
    _activation(  # (11)
        "prelu", "x if x > 0 else 0.25·x", _prelu, _prelu_derivative, 1.0, "x > 0"
    ),
    _activation(  # (12)
        "rrelu", "x if x > 0 else (11/48)·x", _rrelu, _rrelu_derivative, 1.0, "x > 0"
    ),
    _activation("elu", "x if x > 0 else e^x - 1", _elu, _elu_derivative, 1.0, "x > 0"),  # (13)
    _activation("gelu", "x·Φ(x)", _gelu, _gelu_derivative, math.sqrt(2.0), "x = √2"),  # (14)
    _activation(  # (15), (16)
        "silu",
        "x·σ(x)",
        _silu,
        _silu_derivative,
        _SILU_ARGMAX,
        f"x ≈ {_SILU_ARGMAX:.4f}",
    ),
    _activation(  # (17)
        "hardshrink",
        "x if |x| > 0.5 else 0",
        lambda x: torch.where(x.abs() > SHRINK_LAMBDA, x, torch.zeros_like(x)),
        _shrink_derivative,
        1.0,
        "|x| > 0.5",
    ),
    _activation(  # (18)
        "softshrink",
        "sign(x)·max(|x| - 0.5, 0)",
        _softshrink,
        _shrink_derivative,
        1.0,
        "|x| > 0.5",
    ),
]

ACTIVATIONS: Mapping[str, Activation] = types.MappingProxyType({a.name: a for a in _REGISTRY})


def activation_names() -> list[str]:
    """The registry keys in their fixed order (linear, squashing, rectifying, shrinking)."""
    return list(ACTIVATIONS)


def get_activation(name: str) -> Activation:
    """Look up an activation by its registry name; unknown names raise :class:`InputError`."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise InputError(f"activation: expected one of {', '.join(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]


__all__ = ["ACTIVATIONS", "Activation", "activation_names", "get_activation"]
