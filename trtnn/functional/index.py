"""Indexing: tensor[...] (getitem), index_select and gather."""
from __future__ import annotations

import builtins
import math
from typing import Any

import numpy as np
import torch

from ..errors import ShapeError
from ..graph.tensor import Tensor
from . import dims
from .core import norm_dim, layer_output, shape_spec, trt_of, const_value, cast, constant
from .shape import reshape_spec, slice_layer


def getitem(x: Tensor, index: Any) -> Tensor:
    """Basic indexing: ints (negative too), slices with positive steps, None, Ellipsis; 1-D index tensors/lists."""
    idx = list(index) if isinstance(index, tuple) else [index]
    n_real = builtins.sum(1 for i in idx if i is not None and i is not Ellipsis)
    if builtins.sum(1 for i in idx if i is Ellipsis) > 1:
        raise ShapeError("an index can only have a single ellipsis ('...')")
    if Ellipsis in idx:
        e = idx.index(Ellipsis)
        idx[e:e + 1] = [slice(None)] * (x.ndim - n_real)
    elif n_real < x.ndim:
        idx += [slice(None)] * (x.ndim - n_real)
    if n_real > x.ndim:
        raise ShapeError(f"too many indices for tensor '{x.name}' of rank {x.ndim}")
    shp = x.shape
    start, size, stride, out_shape, gathers = [], [], [], [], []
    d, regroup = 0, False  # regroup: an int dropped a dim or None added one
    for i in idx:
        if i is None:
            out_shape.append(1)
            regroup = True
            continue
        n = shp[d]
        if n < 0 and isinstance(i, slice) and i == slice(None):
            start.append(0), size.append(("d", d)), stride.append(1), out_shape.append(("d", d))
        elif n < 0 and isinstance(i, slice):  # a dynamic dim: Python's slice rules computed in the engine
            b, cnt, st = _dynamic_slice(x, d, i)
            start.append(b), size.append(cnt), stride.append(st), out_shape.append(cnt)
        elif n < 0 and not isinstance(i, (Tensor, list, np.ndarray, torch.Tensor)):
            k = int(i)
            start.append(k if k >= 0 else dims.add(dims.sym_size(x, d), k)), size.append(1), stride.append(1)
            regroup = True
        elif n < 0:
            gathers.append((d, i, len(out_shape)))
            start.append(0), size.append(("d", d)), stride.append(1), out_shape.append(("d", d))
        elif isinstance(i, (Tensor, list, np.ndarray, torch.Tensor)):
            gathers.append((d, i, len(out_shape)))
            start.append(0), size.append(n), stride.append(1), out_shape.append(n)
        elif isinstance(i, slice):
            b, e, st = i.indices(n)
            if (i.step or 1) <= 0:
                raise ShapeError("step must be greater than zero")
            cnt = builtins.max(0, math.ceil((e - b) / st))
            start.append(b if cnt else 0), size.append(cnt), stride.append(st), out_shape.append(cnt)
        else:
            k = int(i)
            if not -n <= k < n:
                raise ShapeError(f"index {k} is out of bounds for dimension {d} with size {n} of tensor '{x.name}'")
            start.append(k % n), size.append(1), stride.append(1)
            regroup = True
        d += 1
    y = x
    if not (_same(start, [0] * x.ndim) and _same(size, shape_spec(x)) and _same(stride, [1] * x.ndim)):
        y = slice_layer(x, "getitem", start, size, stride)
    if regroup:  # ints dropped dims or None added some (they can cancel out in the rank: x[0, :, None])
        y = reshape_spec(y, out_shape)
    for dim, i, pos in gathers:
        y = index_select(y, pos, i)
    return y


def _same(a: list, b: list) -> bool:
    """Spec lists equal item by item (runtime sizes compared by identity: they are symbolic)."""
    return len(a) == len(b) and all(p is q if isinstance(p, Tensor) or isinstance(q, Tensor) else p == q
                                    for p, q in zip(a, b))


def _dynamic_slice(x: Tensor, d: int, i: slice):
    """(start, count, step) of slice `i` over dim d of runtime size n, clamped as Python clamps."""
    st = i.step or 1
    if st <= 0:
        raise ShapeError("step must be greater than zero")
    n = dims.sym_size(x, d)

    def bound(v, default):
        if v is None:
            return default
        v = int(v)
        return dims.minimum(v, n) if v >= 0 else dims.maximum(dims.add(n, v), 0)
    b, e = bound(i.start, 0), bound(i.stop, n)
    return b, dims.maximum(dims.ceildiv(dims.sub(e, b), st), 0), st


def index_select(input: Tensor, dim: int, index: Any) -> Tensor:
    d = norm_dim(dim, input.ndim)
    if isinstance(index, Tensor):
        idx = cast(index, torch.int32)
    else:
        v = const_value(index).to(torch.int64)
        n = input.shape[d]
        if v.dim() != 1 or (n >= 0 and (v.min() < -n or v.max() >= n)):
            raise ShapeError(f"index_select on dim {d} (size {n}) of '{input.name}': bad index {v.tolist()}")
        idx = input.ctx.constant(torch.where(v < 0, v + n, v).to(torch.int32))
    return layer_output(input.ctx.add("index_select", "add_gather", input.use(), idx.use(), d), input.ctx)


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """torch.gather: out[i][j] = input[index[i][j]][j] (dim 0), element-wise gather."""
    d = norm_dim(dim, input.ndim)
    idx = cast(index if isinstance(index, Tensor) else constant(index, input, torch.int32), torch.int32)
    layer = input.ctx.add("gather", "add_gather", input.use(), idx.use(), d)
    layer.mode = trt_of(input).GatherMode.ELEMENT
    return layer_output(layer, input.ctx)
