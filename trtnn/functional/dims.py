"""Sizes known only when the engine runs. A size is a Python int (static) or a 1-element int64 shape tensor computed
in the engine from the tensors' runtime shapes (IShapeLayer + elementwise); the arithmetic folds static sizes in
Python, so a fully static network gets no shape layers."""
from __future__ import annotations

from typing import Any, List, Sequence, Union

import torch

from .. import dtypes
from ..graph.tensor import Tensor
from .core import layer_output, trt_of

Size = Union[int, Tensor]


def is_static(v: Size) -> bool:
    return not isinstance(v, Tensor)


def sym_size(x: Tensor, dim: int) -> Size:
    """Dim `dim` of x: an int where TensorRT knows it at build time, else a 1-element int64 tensor (its runtime
    value)."""
    d = dim % max(x.ndim, 1)
    if x.shape[d] >= 0:
        return x.shape[d]
    shape = layer_output(x.ctx.add("shape", "add_shape", x.use()), x.ctx)
    pick = x.ctx.constant(torch.tensor([d], dtype=torch.int32))
    return layer_output(x.ctx.add(f"size{d}", "add_gather", shape.use(), pick.use(), 0), x.ctx)


def sym_shape(x: Tensor) -> List[Size]:
    """Every dim of x as a Size (one shape layer for all the dynamic ones)."""
    if min(x.shape, default=0) >= 0:
        return list(x.shape)
    shape = layer_output(x.ctx.add("shape", "add_shape", x.use()), x.ctx)
    out: List[Size] = []
    for d, n in enumerate(x.shape):
        if n >= 0:
            out.append(n)
            continue
        pick = x.ctx.constant(torch.tensor([d], dtype=torch.int32))
        out.append(layer_output(x.ctx.add(f"size{d}", "add_gather", shape.use(), pick.use(), 0), x.ctx))
    return out


def _like(*vs: Any) -> Tensor:
    return next(v for v in vs if isinstance(v, Tensor))


def _as_tensor(v: Size, like: Tensor) -> Tensor:
    if isinstance(v, Tensor):
        return v
    return like.ctx.constant(torch.tensor([int(v)], dtype=torch.int64))


def _binary(a: Size, b: Size, op: str, py: Any) -> Size:
    if is_static(a) and is_static(b):
        return py(int(a), int(b))
    like = _like(a, b)
    trt = trt_of(like)
    layer = like.ctx.add(f"size_{op.lower()}", "add_elementwise", _as_tensor(a, like).use(), _as_tensor(b, like).use(),
                         getattr(trt.ElementWiseOperation, op))
    return layer_output(layer, like.ctx)


def add(a: Size, b: Size) -> Size:
    if is_static(b) and int(b) == 0:
        return a
    if is_static(a) and int(a) == 0:
        return b
    return _binary(a, b, "SUM", lambda p, q: p + q)


def sub(a: Size, b: Size) -> Size:
    if is_static(b) and int(b) == 0:
        return a
    return _binary(a, b, "SUB", lambda p, q: p - q)


def mul(a: Size, b: Size) -> Size:
    if is_static(b) and int(b) == 1:
        return a
    if is_static(a) and int(a) == 1:
        return b
    return _binary(a, b, "PROD", lambda p, q: p * q)


def floordiv(a: Size, b: Size) -> Size:
    if is_static(b) and int(b) == 1:
        return a
    return _binary(a, b, "FLOOR_DIV", lambda p, q: p // q)


def ceildiv(a: Size, b: Size) -> Size:
    """ceil(a / b) for b > 0."""
    return sub(0, floordiv(sub(0, a), b))


def mod(a: Size, b: Size) -> Size:
    """a mod b with the sign of b (Python's %)."""
    return sub(a, mul(floordiv(a, b), b))


def maximum(a: Size, b: Size) -> Size:
    return _binary(a, b, "MAX", max)


def minimum(a: Size, b: Size) -> Size:
    return _binary(a, b, "MIN", min)


def ge(a: Size, b: Size) -> Size:
    """1 where a >= b else 0 (as a Size)."""
    if is_static(a) and is_static(b):
        return int(int(a) >= int(b))
    like = _like(a, b)
    less = layer_output(like.ctx.add("size_less", "add_elementwise", _as_tensor(a, like).use(), _as_tensor(b, like).use(),
                             trt_of(like).ElementWiseOperation.LESS), like.ctx)
    flag = layer_output(like.ctx.add("size_ge", "add_unary", less.use(), trt_of(like).UnaryOperation.NOT), like.ctx)
    return layer_output(like.ctx.add("size_int", "add_cast", flag.use(), trt_of(like).DataType.INT64), like.ctx)


def vector(items: Sequence[Size], like: Tensor) -> Tensor:
    """A 1-D int64 shape tensor of `items` (runs of static ints become one constant)."""
    parts: List[Tensor] = []
    run: List[int] = []
    for v in items:
        if is_static(v):
            run.append(int(v))
            continue
        if run:
            parts.append(like.ctx.constant(torch.tensor(run, dtype=torch.int64)))
            run = []
        parts.append(v)
    if run or not parts:
        parts.append(like.ctx.constant(torch.tensor(run, dtype=torch.int64)))
    if len(parts) == 1:
        return parts[0]
    layer = like.ctx.add("shape_cat", "add_concatenation", [p.use() for p in parts], axis=0)
    return layer_output(layer, like.ctx)


def ramp(n: Size, like: Tensor, dtype: Any = torch.float32, start: float = 0.0, step: float = 1.0) -> Tensor:
    """The 1-D tensor start + step * arange(n) in `dtype` (n may be a runtime size: a fill layer)."""
    if is_static(n):
        return like.ctx.constant(start + step * torch.arange(int(n), dtype=torch.float64), dtype)
    trt = trt_of(like)
    out_dt = dtypes.to_trt(dtype)
    layer = like.ctx.add("arange", "add_fill", (0,), trt.FillOperation.LINSPACE, out_dt)
    layer.set_input(0, n.use())
    scalar_dt = torch.int64 if not dtypes.to_torch(dtype).is_floating_point else torch.float32
    layer.set_input(1, like.ctx.constant(torch.tensor(start, dtype=scalar_dt)).use())
    layer.set_input(2, like.ctx.constant(torch.tensor([step], dtype=scalar_dt)).use())
    return layer_output(layer, like.ctx)
