"""cumsum (TensorRT cumulative layer) and einsum (TensorRT einsum layer)."""
from __future__ import annotations

from typing import Any

import torch

from .. import dtypes
from ..errors import UnsupportedError
from ..graph.tensor import Tensor
from .core import norm_dim, lift, layer_output, trt_of, cast


def cumsum(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    """torch.cumsum: integer and bool inputs sum in int64, as in torch."""
    d = norm_dim(dim, input.ndim)
    if dtype is not None:
        x = cast(input, dtype)
    else:
        x = input if input.dtype.is_floating_point or input.dtype == torch.int64 else cast(input, torch.int64)
    axis = x.ctx.constant(torch.tensor(d, dtype=torch.int32))
    layer = x.ctx.add("cumsum", "add_cumulative", x.use(), axis.use(), trt_of(x).CumulativeOperation.SUM, False, False)
    return layer_output(layer, x.ctx)


def einsum(equation: str, *operands: Any) -> Tensor:
    """torch.einsum (operands as arguments or one list); no '...' (TensorRT's einsum has no ellipsis)."""
    ops = list(operands[0]) if len(operands) == 1 and isinstance(operands[0], (list, tuple)) else list(operands)
    eq = equation.replace(" ", "")
    if "..." in eq:
        raise UnsupportedError(f"einsum equation {equation!r}: '...' (ellipsis) is not supported by TensorRT's einsum")
    like = next((t for t in ops if isinstance(t, Tensor)), None)
    if like is None:
        raise UnsupportedError("einsum needs at least one trtnn Tensor operand")
    ts = [lift(t, like) for t in ops]
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = dtypes.promote(dt, t.dtype)
    ts = [cast(t, dt) for t in ts]
    return layer_output(ts[0].ctx.add("einsum", "add_einsum", [t.use() for t in ts], eq), ts[0].ctx)
