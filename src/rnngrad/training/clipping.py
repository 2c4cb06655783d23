r"""Gradient-norm clipping as in Pascanu, Mikolov & Bengio 2013, Algorithm 1.

.. math::

    g \leftarrow \frac{\partial L}{\partial \theta},\qquad
    \text{if } \lVert g \rVert \ge \text{threshold}:\quad
    g \leftarrow \frac{\text{threshold}}{\lVert g \rVert}\, g                            \tag{1}

‖g‖ is the Euclidean norm of all parameter gradients taken together. Unlike
``torch.nn.utils.clip_grad_norm_`` there is no ε in the denominator: a clipped gradient has norm
exactly ``threshold``.
"""

from __future__ import annotations

import math
from typing import Iterable

import torch
from torch import nn

from rnngrad.errors import InputError


def clip_gradient_norm_(parameters: Iterable[nn.Parameter], threshold: float) -> float:
    """Rescale the gradients in place by eq. (1) and return ‖g‖ before clipping.

    Args:
        parameters: parameters whose ``.grad`` to clip (those without one are skipped).
        threshold: a positive number.

    Returns:
        The norm ‖g‖ before clipping (0.0 when no parameter has a gradient; inf or nan pass
        through, and the gradients then become non-finite too).

    Examples:
        >>> weight = nn.Parameter(torch.zeros(2))
        >>> weight.grad = torch.tensor([3.0, 4.0])
        >>> clip_gradient_norm_([weight], 1.0), weight.grad.tolist()
        (5.0, [0.6000000238418579, 0.800000011920929])
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold > 0 \
            or math.isinf(threshold):
        raise InputError(f"threshold: expected a positive finite number, got {threshold!r}")
    gradients = [parameter.grad for parameter in parameters if parameter.grad is not None]
    if not gradients:
        return 0.0
    norm = float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in gradients])))
    if norm >= threshold or not math.isfinite(norm):
        scale = threshold / norm  # (1)
        for gradient in gradients:
            gradient.mul_(scale)
    return norm
