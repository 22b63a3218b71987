"""Pooling: max/avg pooling (1-D, 2-D, 3-D) and their adaptive forms, with static or runtime spatial sizes.

1-D pooling runs as 2-D pooling over (N, C, L, 1) (TensorRT pools two or three spatial dims). On dynamic dims,
ceil_mode is TensorRT's EXPLICIT_ROUND_UP padding, with torch's rule (no window starting in the right padding)
applied by a slice computed in the engine; adaptive pooling of a dynamic dim averages (a matrix built in the engine
from the runtime size) or maxes (a mask of the same bins) one axis at a time.
"""
from __future__ import annotations

import builtins
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..errors import ShapeError, UnsupportedError
from ..graph.tensor import Tensor
from . import dims as D
from .core import IntOrPair, layer_output, as_tuple, shape_spec, trt_of, cast, constant
from .elementwise import add, div, floor_divide, ge, logical_and, lt, mul, neg, sub, where
from .linalg import matmul
from .reduce import amax, mean
from .shape import slice_layer, cat, squeeze, transpose, unsqueeze

_LAYOUT = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}


def pool_out_size(n: int, k: int, s: int, p: int, ceil_mode: bool, d: int = 1) -> int:
    eff = d * (k - 1) + 1
    o = (n + 2 * p - eff + ((s - 1) if ceil_mode else 0)) // s + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return o


def _pool_args(x: Tensor, kernel_size, stride, padding, op: str, nd: int = 2):
    if x.ndim != nd + 2:
        raise ShapeError(f"{op} expects a {nd + 2}-D input {_LAYOUT[nd]}; '{x.name}' has shape {x.shape}")
    k = as_tuple(kernel_size, nd)
    s = as_tuple(stride, nd) if stride is not None and stride != [] else k
    p = as_tuple(padding, nd)
    for kk, pp in zip(k, p):
        if pp > kk // 2:
            raise ShapeError(f"{op}: padding {p} should be at most half of kernel size {k}")
    return k, s, p


def _pool(x: Tensor, kind: str, k, s, p, ceil_mode: bool, op: str, excludes_padding: bool = True):
    """A pooling layer with torch's output size; returns (y, output sizes, post padding) (static dims: ints)."""
    spatial = x.shape[2:]
    outs = [pool_out_size(n, kk, ss, pp, ceil_mode) if n >= 0 else -1 for n, kk, ss, pp in zip(spatial, k, s, p)]
    if builtins.min([o for o in outs if o != -1], default=1) <= 0:
        raise ShapeError(f"{op}: kernel {k} with padding {p} is larger than the input {spatial} of '{x.name}'")
    if builtins.min(spatial) >= 0:
        post = tuple(builtins.max(pp, (o - 1) * ss + kk - n - pp) for n, kk, ss, pp, o in zip(spatial, k, s, p, outs))
        layer = x.ctx.add(op, "add_pooling_nd", x.use(), getattr(trt_of(x).PoolingType, kind), k)
        layer.stride_nd, layer.pre_padding, layer.post_padding = s, p, post
        layer.average_count_excludes_padding = excludes_padding
        return layer_output(layer, x.ctx), outs, post
    layer = x.ctx.add(op, "add_pooling_nd", x.use(), getattr(trt_of(x).PoolingType, kind), k)
    layer.stride_nd, layer.pre_padding, layer.post_padding = s, p, p
    layer.average_count_excludes_padding = excludes_padding
    if ceil_mode:
        layer.padding_mode = trt_of(x).PaddingMode.EXPLICIT_ROUND_UP
    y = layer_output(layer, x.ctx)
    if not ceil_mode or all(pp == 0 and ss <= kk for kk, ss, pp in zip(k, s, p)):
        return y, [o if o != -1 else D.sym_size(y, 2 + i) for i, o in enumerate(outs)], p
    # torch drops a last window that would start inside the right padding: (o - 1) * s >= n + p
    sizes = []
    for i, (kk, ss, pp) in enumerate(zip(k, s, p)):
        if outs[i] != -1:
            sizes.append(outs[i])
            continue
        o, n = D.sym_size(y, 2 + i), D.sym_size(x, 2 + i)
        sizes.append(D.sub(o, D.ge(D.mul(D.sub(o, 1), ss), D.add(n, pp))))
    return slice_layer(y, "ceil_mode", [0] * y.ndim, shape_spec(y)[:2] + sizes, [1] * y.ndim), sizes, p


def _max_pool(op: str, nd: int, input: Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool,
              return_indices: bool) -> Tensor:
    if as_tuple(dilation, nd) != (1,) * nd or return_indices:
        raise UnsupportedError(f"{op} with dilation != 1 or return_indices=True has no TensorRT pooling equivalent")
    k, s, p = _pool_args(input, kernel_size, stride, padding, op, nd)
    return _pool(input, "MAX", k, s, p, ceil_mode, op)[0]


def _avg_pool(op: str, nd: int, input: Tensor, kernel_size, stride, padding, ceil_mode: bool,
              count_include_pad: bool, divisor_override: Optional[int]) -> Tensor:
    k, s, p = _pool_args(input, kernel_size, stride, padding, op, nd)
    include = count_include_pad or divisor_override is not None
    spatial = input.shape[2:]
    window = int(np.prod(k))
    if builtins.min(spatial) < 0:
        if divisor_override is not None and ceil_mode:
            dim = 2 + [n for n in spatial].index(-1)
            raise UnsupportedError(f"{op} with divisor_override and ceil_mode=True needs static spatial dims; "
                                   f"tensor '{input.name}' has shape {input.shape} (dim {dim} is dynamic): the sum "
                                   f"of a window hanging past the input has no TensorRT pooling equivalent")
        # windows clipped to the padded input (torch's count_include_pad) = TensorRT's count without the overhang
        y = _pool(input, "AVERAGE", k, s, p, ceil_mode, op, excludes_padding=not include)[0]
        return mul(y, window / divisor_override) if divisor_override is not None else y
    y, outs, post = _pool(input, "AVERAGE", k, s, p, ceil_mode, op, excludes_padding=not include)
    if include and (divisor_override is not None or any(pp != q for pp, q in zip(p, post))):
        # TensorRT divides by the kernel volume; torch by the window clipped to the padded input, or divisor_override
        if divisor_override is None:
            sizes = [
                np.array([builtins.min(o * ss - pp + kk, n + pp) - (o * ss - pp) for o in range(no)])
                for n, kk, ss, pp, no in zip(spatial, k, s, p, outs)
            ]
            div_ = sizes[0].astype(np.float64)
            for sz in sizes[1:]:
                div_ = np.multiply.outer(div_, sz)
        else:
            div_ = np.full(outs, float(divisor_override))
        y = mul(y, input.ctx.constant(torch.from_numpy(window / div_).reshape(1, 1, *outs), input.dtype))
    return y


def _as_2d(op: str, input: Tensor) -> Tensor:
    if input.ndim != 3:
        raise ShapeError(f"{op} expects a 3-D input {_LAYOUT[1]}; '{input.name}' has shape {input.shape}")
    return unsqueeze(input, -1)


def _one(v: Any, fill: int) -> tuple:
    return (as_tuple(v, 1)[0], fill)


def max_pool1d(input: Tensor, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None, padding: IntOrPair = 0,
               dilation: IntOrPair = 1, ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    k = _one(kernel_size, 1)
    s = k if stride is None or stride == [] else _one(stride, 1)
    y = _max_pool("max_pool1d", 2, _as_2d("max_pool1d", input), k, s, _one(padding, 0), _one(dilation, 1),
                  ceil_mode, return_indices)
    return squeeze(y, -1)


def max_pool2d(input: Tensor, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None, padding: IntOrPair = 0,
               dilation: IntOrPair = 1, ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input: Tensor, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None, padding: IntOrPair = 0,
               dilation: IntOrPair = 1, ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def avg_pool1d(input: Tensor, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None, padding: IntOrPair = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    k = _one(kernel_size, 1)
    s = k if stride is None or stride == [] else _one(stride, 1)
    y = _avg_pool("avg_pool1d", 2, _as_2d("avg_pool1d", input), k, s, _one(padding, 0), ceil_mode,
                  count_include_pad, None)
    return squeeze(y, -1)


def avg_pool2d(input: Tensor, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None, padding: IntOrPair = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: Optional[int] = None) -> Tensor:
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool3d(input: Tensor, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None, padding: IntOrPair = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: Optional[int] = None) -> Tensor:
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


# ---- adaptive pooling ----------------------------------------------------------------------------------------------
def _adaptive_bins(n: int, o: int) -> List[Tuple[int, int]]:
    return [((i * n) // o, -((-(i + 1) * n) // o)) for i in range(o)]


def _out_sizes(x: Tensor, output_size: Any, nd: int) -> List[Optional[int]]:
    """The output size per spatial dim; None keeps the input's size."""
    o = as_tuple(output_size, nd) if not isinstance(output_size, (list, tuple)) else tuple(output_size)
    if len(o) != nd:
        raise ShapeError(f"adaptive pooling of '{x.name}' {x.shape}: output_size {tuple(o)} needs {nd} values")
    return [None if oo is None else int(oo) for oo in o]


def _bins(x: Tensor, axis: int, o: int) -> Tuple[Tensor, Tensor]:
    """For output position i (rows) and input position j (columns) of `axis`: whether j is in bin i, and the bin's
    length, from the runtime size n: bin i is [floor(i n / o), ceil((i + 1) n / o))."""
    n = D.sym_size(x, axis)
    i = unsqueeze(D.ramp(o, x, torch.int64), 1)
    j = unsqueeze(D.ramp(n, x, torch.int64), 0)
    size = n if not D.is_static(n) else constant(torch.tensor([n]), x, torch.int64)
    begin = floor_divide(mul(i, size), o)
    end = neg(floor_divide(neg(mul(add(i, 1), size)), o))
    return logical_and(ge(j, begin), lt(j, end)), sub(end, begin)


def _adaptive_axis(x: Tensor, axis: int, o: int, kind: str) -> Tensor:
    """Adaptive pooling of one axis (of any size) to `o` outputs."""
    inside, length = _bins(x, axis, o)
    if kind == "AVERAGE":  # x (.., n) @ A^T (n, o), A[i, j] = [j in bin i] / len(bin i)
        a = div(where(inside, constant(1.0, x), 0.0), cast(length, x.dtype))
        moved = transpose(x, axis, -1)
        return transpose(matmul(moved, transpose(a, 0, 1)), axis, -1)
    neg_inf = where(inside, constant(0.0, x), float("-inf"))  # [o, n]
    lead = x.ndim - axis - 1
    mask = neg_inf
    for _ in range(lead):
        mask = unsqueeze(mask, -1)
    return amax(add(unsqueeze(x, axis), mask), axis + 1)


def _adaptive(op: str, kind: str, input: Tensor, output_size: Any, nd: int) -> Tensor:
    if input.ndim != nd + 2:
        raise ShapeError(f"{op} expects a {nd + 2}-D input {_LAYOUT[nd]}; '{input.name}' has shape {input.shape}")
    spatial = input.shape[2:]
    out = [n if o is None and n >= 0 else o for n, o in zip(spatial, _out_sizes(input, output_size, nd))]
    axes = list(range(2, input.ndim))
    if all(o == 1 for o in out):
        return mean(input, axes, keepdim=True) if kind == "AVERAGE" else amax(input, axes, keepdim=True)
    static = builtins.min(spatial) >= 0
    if static and all(n % o == 0 for n, o in zip(spatial, out)):
        k = tuple(n // o for n, o in zip(spatial, out))
        return _pool(input, kind, k, k, (0,) * nd, False, op)[0]
    if static and nd == 2 and kind == "AVERAGE":
        return _static_avg_2d(input, out)
    if static and nd == 2:
        return _static_max_2d(input, out)
    y = input
    for i, o in enumerate(out):
        if o is not None and spatial[i] != o:  # None: a dynamic axis kept as it is
            y = _adaptive_axis(y, 2 + i, o, kind)
    return y


def _static_avg_2d(input: Tensor, out: Sequence[int]) -> Tensor:
    h, w = input.shape[2:]
    ah, aw = (np.zeros((o, n)) for o, n in zip(out, (h, w)))
    for a, n, o in ((ah, h, out[0]), (aw, w, out[1])):
        for i, (b, e) in enumerate(_adaptive_bins(n, o)):
            a[i, b:e] = 1.0 / (e - b)
    y = matmul(constant(torch.from_numpy(ah).reshape(1, 1, out[0], h), input), input)
    return matmul(y, constant(torch.from_numpy(aw.T.copy()).reshape(1, 1, w, out[1]), input))


def _static_max_2d(input: Tensor, out: Sequence[int]) -> Tensor:
    h, w = input.shape[2:]
    rows = []
    for hb, he in _adaptive_bins(h, out[0]):
        cells = [amax(input[:, :, hb:he, wb:we], (2, 3), keepdim=True) for wb, we in _adaptive_bins(w, out[1])]
        rows.append(cat(cells, 3))
    return cat(rows, 2)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    return squeeze(_adaptive("adaptive_avg_pool1d", "AVERAGE", _as_2d("adaptive_avg_pool1d", input),
                             _one(output_size, 1), 2), -1)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    return _adaptive("adaptive_avg_pool2d", "AVERAGE", input, output_size, 2)


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    return _adaptive("adaptive_avg_pool3d", "AVERAGE", input, output_size, 3)


def _no_indices(op: str, return_indices: bool) -> None:
    if return_indices:
        raise UnsupportedError(f"{op} with return_indices=True is not supported")


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Tensor:
    _no_indices("adaptive_max_pool1d", return_indices)
    return squeeze(_adaptive("adaptive_max_pool1d", "MAX", _as_2d("adaptive_max_pool1d", input),
                             _one(output_size, 1), 2), -1)


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Tensor:
    _no_indices("adaptive_max_pool2d", return_indices)
    return _adaptive("adaptive_max_pool2d", "MAX", input, output_size, 2)


def adaptive_max_pool3d(input: Tensor, output_size: Any, return_indices: bool = False) -> Tensor:
    _no_indices("adaptive_max_pool3d", return_indices)
    return _adaptive("adaptive_max_pool3d", "MAX", input, output_size, 3)
