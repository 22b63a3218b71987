"""Matrix products: matmul and linear."""
from __future__ import annotations

import builtins
from typing import Any

from .. import dtypes
from ..errors import ShapeError
from ..graph.tensor import Tensor
from .core import lift, layer_output, trt_of, unsqueeze_front, const_value, cast
from .elementwise import add
from .shape import squeeze, unsqueeze


def matmul(input: Tensor, other: Any) -> Tensor:
    """torch.matmul: 1-D operands become matrices (and the added dim is removed), batch dims broadcast."""
    a = input
    b = lift(other, a)
    dt = dtypes.promote(a.dtype, b.dtype)
    a, b = cast(a, dt), cast(b, dt)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError("matmul: both arguments need at least 1 dimension")
    vec_a, vec_b = a.ndim == 1, b.ndim == 1
    a = unsqueeze(a, 0) if vec_a else a
    b = unsqueeze(b, 1) if vec_b else b
    if a.shape[-1] >= 0 and b.shape[-2] >= 0 and a.shape[-1] != b.shape[-2]:
        raise ShapeError(f"matmul: '{input.name}' {input.shape} and '{b.name}' {b.shape} cannot be multiplied "
                         f"({a.shape[-1]} != {b.shape[-2]})")
    rank = builtins.max(a.ndim, b.ndim)
    a, b = unsqueeze_front(a, rank - a.ndim), unsqueeze_front(b, rank - b.ndim)
    none = trt_of(a).MatrixOperation.NONE
    y = layer_output(a.ctx.add("matmul", "add_matrix_multiply", a.use(), none, b.use(), none), a.ctx)
    if vec_a:
        y = squeeze(y, -2)
    return squeeze(y, -1) if vec_b else y


def linear(input: Tensor, weight: Any, bias: Any = None) -> Tensor:
    w = const_value(weight)
    if w.dim() != 2 or (input.shape[-1] >= 0 and w.shape[1] != input.shape[-1]):
        raise ShapeError(f"linear: input '{input.name}' {input.shape} does not fit weight of shape {tuple(w.shape)}")
    x = unsqueeze(input, 0) if input.ndim == 1 else input
    wt = input.ctx.constant(w.reshape((1,) * (x.ndim - 2) + tuple(w.shape)), input.dtype, op="weight")
    mo = trt_of(input).MatrixOperation
    y = layer_output(input.ctx.add("linear", "add_matrix_multiply", x.use(), mo.NONE, wt.use(), mo.TRANSPOSE), input.ctx)
    y = squeeze(y, 0) if input.ndim == 1 else y
    return y if bias is None else add(y, const_value(bias))
