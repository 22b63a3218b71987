"""Reductions: sum, mean, prod, amax/amin, max/min, topk, argmax/argmin."""
from __future__ import annotations

from collections import namedtuple
from typing import Any, Optional

import torch

from .. import dtypes
from ..errors import ShapeError, UnsupportedError
from ..graph.tensor import Tensor
from .core import norm_dim, norm_dims, axes_mask, layer_output, trt_of, cast
from .shape import reshape, squeeze, unsqueeze


ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])
_TOPK_MAX_K = 3840

def _reduce(x: Tensor, dim: Any, keepdim: bool, op: str, kind: str) -> Tensor:
    dims = norm_dims(dim, x.ndim)
    if not dims:
        return x
    layer = x.ctx.add(op, "add_reduce", x.use(), getattr(trt_of(x).ReduceOperation, kind), axes_mask(dims), keepdim)
    return layer_output(layer, x.ctx)


def sum(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    x = cast(input, torch.int64) if input.dtype in (torch.bool, torch.uint8, torch.int8, torch.int32) else input
    return _reduce(x, dim, keepdim, "sum", "SUM")


def mean(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    if not input.dtype.is_floating_point:
        raise UnsupportedError(f"mean needs a floating-point tensor; '{input.name}' is {dtypes.short(input.dtype)}")
    return _reduce(input, dim, keepdim, "mean", "AVG")


def prod(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _reduce(input, dim, keepdim, "prod", "PROD")


def amax(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _reduce(input, dim, keepdim, "amax", "MAX")


def amin(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _reduce(input, dim, keepdim, "amin", "MIN")


def max(input: Tensor, dim: Optional[int] = None, keepdim: bool = False):  # noqa: A001
    """Like torch.max: the overall maximum, or (values, indices) along `dim`."""
    if dim is None:
        return amax(input)
    values, indices = topk(input, 1, dim, largest=True)
    return ValuesIndices(values, indices) if keepdim else ValuesIndices(squeeze(values, dim), squeeze(indices, dim))


def min(input: Tensor, dim: Optional[int] = None, keepdim: bool = False):  # noqa: A001
    if dim is None:
        return amin(input)
    values, indices = topk(input, 1, dim, largest=False)
    return ValuesIndices(values, indices) if keepdim else ValuesIndices(squeeze(values, dim), squeeze(indices, dim))


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:  # noqa: A002
    """torch.topk; indices are int64 like torch's. TensorRT allows k <= 3840 on one of the last four dims."""
    d = norm_dim(dim, input.ndim)
    n = input.shape[d]
    if k > _TOPK_MAX_K:
        raise UnsupportedError(f"topk k={k} exceeds TensorRT's limit of {_TOPK_MAX_K}")
    if n >= 0 and k > n:
        raise ShapeError(f"topk k={k} is larger than dim {d} (size {n}) of '{input.name}'")
    if input.ndim - d > 4:
        raise UnsupportedError(f"topk over dim {d} of a rank-{input.ndim} tensor: TensorRT reduces one of the last four dims")
    if input.ndim == 1:  # TensorRT's TopK needs rank >= 2
        values, indices = topk(unsqueeze(input, 0), k, 1, largest, sorted)
        return ValuesIndices(squeeze(values, 0), squeeze(indices, 0))
    x = input.ctx
    kind = trt_of(input).TopKOperation.MAX if largest else trt_of(input).TopKOperation.MIN
    layer = x.add("topk", "add_topk", input.use(), kind, int(k), 1 << d)
    return ValuesIndices(layer_output(layer, x, 0), cast(layer_output(layer, x, 1), torch.int64))


def argmax(input: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return reshape(topk(reshape(input, (1, -1)), 1, 1).indices, ())
    return max(input, dim, keepdim).indices


def argmin(input: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return reshape(topk(reshape(input, (1, -1)), 1, 1, largest=False).indices, ())
    return min(input, dim, keepdim).indices
