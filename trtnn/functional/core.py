"""Helpers shared by every trtnn.functional op (constants, casts, broadcasting, dims and shape specs)."""
from __future__ import annotations

import builtins
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .. import dtypes
from ..errors import ShapeError, UnsupportedError
from ..graph.parameter import Parameter
from ..graph.tensor import Tensor
IntOrPair = Union[int, Sequence[int]]


def trt_of(x: Tensor) -> Any:
    return x.ctx.trt


def layer_output(layer: Any, ctx: Any, i: int = 0) -> Tensor:
    """Output `i` of a layer just added, as a Tensor (output 0 checked first, so an invalid layer fails here)."""
    if i == 0:
        ctx.check(layer)
    return ctx.tensor(layer.get_output(i))


def const_value(w: Any) -> torch.Tensor:
    """A constant's value as a CPU torch tensor (Parameter, torch, numpy or Python number)."""
    if isinstance(w, Parameter):
        return w.data
    if isinstance(w, torch.Tensor):
        return w.detach().cpu()
    return torch.as_tensor(np.asarray(w))


def constant(value: Any, like: Tensor, dtype: Any = None) -> Tensor:
    """`value` as a constant of `like`'s network (and dtype, unless `dtype` is given)."""
    return like.ctx.constant(const_value(value), dtype if dtype is not None else like.dtype)


def compute_dtype(x: Tensor) -> torch.dtype:
    """The compute dtype of x's network: what floating data produced inside it starts in."""
    return x.ctx.dtype


def lift(x: Any, like: Tensor) -> Tensor:
    """A Tensor as is; a Python number / array as a constant of `like`'s dtype (float for a float number)."""
    if isinstance(x, Tensor):
        return x
    v = const_value(x)
    dt = like.dtype
    if v.dtype.is_floating_point and not dt.is_floating_point:
        dt = torch.float32
    return like.ctx.constant(v, dt)


def as_tuple(v: IntOrPair, n: int = 2) -> Tuple[int, ...]:
    if isinstance(v, (list, tuple)):
        if len(v) != n:
            raise ShapeError(f"expected {n} values, got {tuple(v)}")
        return tuple(int(a) for a in v)
    return (int(v),) * n


def norm_dim(d: int, ndim: int, what: str = "dim") -> int:
    if not -builtins.max(ndim, 1) <= d < builtins.max(ndim, 1):
        raise ShapeError(f"{what} {d} out of range for a tensor of rank {ndim}")
    return d % builtins.max(ndim, 1)


def norm_dims(dim: Any, ndim: int) -> List[int]:
    if dim is None:
        return list(range(ndim))
    ds = [dim] if isinstance(dim, int) else list(dim)
    return sorted({norm_dim(d, ndim) for d in ds})


def axes_mask(dims: Sequence[int]) -> int:
    m = 0
    for d in dims:
        m |= 1 << d
    return m


def _static(x: Tensor, what: str, dims: Optional[Sequence[int]] = None) -> Tuple[int, ...]:
    """x.shape, after checking that `dims` (default: all) are static."""
    if any(x.shape[d] < 0 for d in (range(x.ndim) if dims is None else dims)):
        which = "a static shape" if dims is None else f"static dims {tuple(dims)}"
        raise UnsupportedError(f"{what} needs {which}; tensor '{x.name}' has shape {x.shape}")
    return x.shape


def has_dynamic_dims(x: Tensor) -> bool:
    return builtins.min(x.shape, default=0) < 0


# A shape spec is a list of ints, ("d", j) items (x's dim j, known only when the engine runs) and runtime sizes
# (1-element int64 Tensors, see dims.py).
Spec = List[Union[int, Tuple[str, int], Tensor]]


def shape_spec(x: Tensor) -> Spec:
    """x's own shape as a spec: static dims as ints, dynamic ones as references."""
    return [s if s >= 0 else ("d", i) for i, s in enumerate(x.shape)]


def is_dim_ref(item: Any) -> bool:
    return isinstance(item, tuple)


def cast(x: Tensor, dtype: Any) -> Tensor:
    dt = dtypes.to_torch(dtype)
    if x.dtype == dt:
        return x
    return layer_output(x.ctx.add(f"cast_{dtypes.short(dt)}", "add_cast", x.use(), dtypes.to_trt(dt)), x.ctx)


def unsqueeze_front(x: Tensor, n: int) -> Tensor:
    if n == 0:
        return x
    if has_dynamic_dims(x):
        return unsqueeze_dynamic(x, list(range(n)))
    return shuffle_layer(x, "reshape", dims=(1,) * n + x.shape, zero_placeholder=False)


def unsqueeze_dynamic(x: Tensor, axes: List[int]) -> Tensor:
    ax = x.ctx.constant(torch.tensor(axes, dtype=torch.int64))
    return layer_output(x.ctx.add("unsqueeze", "add_unsqueeze", x.use(), ax.use()), x.ctx)


def broadcast_operands(*xs: Any) -> List[Tensor]:
    """Lift constants (at the common rank), promote dtypes, align ranks (TensorRT needs equal ranks), check sizes."""
    tensors = [x for x in xs if isinstance(x, Tensor)]
    like = tensors[0]
    rank = builtins.max([t.ndim for t in tensors] + [const_value(x).dim() for x in xs if not isinstance(x, Tensor)])
    ts = []
    for x in xs:
        if not isinstance(x, Tensor):
            v = const_value(x)
            x = lift(v.reshape((1,) * (rank - v.dim()) + tuple(v.shape)), like)
        ts.append(x)
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = dtypes.promote(dt, t.dtype)
    ts = [unsqueeze_front(cast(t, dt), rank - t.ndim) for t in ts]
    for i in range(rank):
        sizes = {t.shape[i] for t in ts} - {1}
        if len(sizes - {-1}) > 1:
            shapes = ", ".join(f"'{t.name}' {t.shape}" for t in ts)
            raise ShapeError(f"shapes cannot be broadcast together at dim {i}: {shapes}")
    return ts


def shuffle_layer(x: Tensor, op: str, first=None, dims=None, second=None, zero_placeholder: bool = True) -> Tensor:
    layer = x.ctx.add(op, "add_shuffle", x.use())
    if first is not None:
        layer.first_transpose = tuple(first)
    if dims is not None:
        layer.zero_is_placeholder = zero_placeholder
        layer.reshape_dims = tuple(dims)
    if second is not None:
        layer.second_transpose = tuple(second)
    return layer_output(layer, x.ctx)
