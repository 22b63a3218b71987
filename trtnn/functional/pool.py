"""Pooling: max/avg pooling and their adaptive forms."""
from __future__ import annotations

import builtins
from typing import Any, List, Optional, Tuple

import numpy as np
import torch

from ..errors import ShapeError, UnsupportedError
from ..graph.tensor import Tensor
from ._core import IntOrPair, _out, _pair, _static, _trt, constant
from .elementwise import mul
from .linalg import matmul
from .reduce import amax, mean
from .shape import cat


def _pool_out(n: int, k: int, s: int, p: int, ceil_mode: bool, d: int = 1) -> int:
    eff = d * (k - 1) + 1
    o = (n + 2 * p - eff + ((s - 1) if ceil_mode else 0)) // s + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return o


def _pool_args(x: Tensor, kernel_size, stride, padding, op: str, nd: int = 2):
    if x.ndim != nd + 2:
        layout = {2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}[nd]
        raise ShapeError(f"{op} expects a {nd + 2}-D input {layout}; '{x.name}' has shape {x.shape}")
    k = _pair(kernel_size, nd)
    s = _pair(stride, nd) if stride is not None and stride != [] else k
    p = _pair(padding, nd)
    for kk, pp in zip(k, p):
        if pp > kk // 2:
            raise ShapeError(f"{op}: padding {p} should be at most half of kernel size {k}")
    return k, s, p


def _pool(x: Tensor, kind: str, k, s, p, ceil_mode: bool, op: str, excludes_padding: bool = True):
    spatial = _static(x, op, range(2, x.ndim))[2:]
    outs = [_pool_out(n, kk, ss, pp, ceil_mode) for n, kk, ss, pp in zip(spatial, k, s, p)]
    if builtins.min(outs) <= 0:
        raise ShapeError(f"{op}: kernel {k} with padding {p} is larger than the input {spatial} of '{x.name}'")
    post = tuple(builtins.max(pp, (o - 1) * ss + kk - n - pp) for n, kk, ss, pp, o in zip(spatial, k, s, p, outs))
    layer = x.ctx.add(op, "add_pooling_nd", x.use(), getattr(_trt(x).PoolingType, kind), k)
    layer.stride_nd, layer.pre_padding, layer.post_padding = s, p, post
    layer.average_count_excludes_padding = excludes_padding
    return _out(layer, x.ctx), outs, post


def _max_pool(op: str, nd: int, input: Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool,
              return_indices: bool) -> Tensor:
    if _pair(dilation, nd) != (1,) * nd or return_indices:
        raise UnsupportedError(f"{op} with dilation != 1 or return_indices=True has no TensorRT pooling equivalent")
    k, s, p = _pool_args(input, kernel_size, stride, padding, op, nd)
    return _pool(input, "MAX", k, s, p, ceil_mode, op)[0]


def max_pool2d(input: Tensor, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None, padding: IntOrPair = 0,
               dilation: IntOrPair = 1, ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _avg_pool(op: str, nd: int, input: Tensor, kernel_size, stride, padding, ceil_mode: bool,
              count_include_pad: bool, divisor_override: Optional[int]) -> Tensor:
    k, s, p = _pool_args(input, kernel_size, stride, padding, op, nd)
    include = count_include_pad or divisor_override is not None
    y, outs, post = _pool(input, "AVERAGE", k, s, p, ceil_mode, op, excludes_padding=not include)
    spatial = input.shape[2:]
    window = int(np.prod(k))
    if include and (divisor_override is not None or any(pp != q for pp, q in zip(p, post))):
        # TensorRT divides by the kernel volume; torch by the window clipped to the padded input, or divisor_override
        if divisor_override is None:
            sizes = [
                np.array([builtins.min(o * ss - pp + kk, n + pp) - (o * ss - pp) for o in range(no)])
                for n, kk, ss, pp, no in zip(spatial, k, s, p, outs)
            ]
            div = sizes[0].astype(np.float64)
            for sz in sizes[1:]:
                div = np.multiply.outer(div, sz)
        else:
            div = np.full(outs, float(divisor_override))
        y = mul(y, input.ctx.constant(torch.from_numpy(window / div).reshape(1, 1, *outs), input.dtype))
    return y


def avg_pool2d(input: Tensor, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None, padding: IntOrPair = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: Optional[int] = None) -> Tensor:
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def _adaptive_bins(n: int, o: int) -> List[Tuple[int, int]]:
    return [((i * n) // o, -((-(i + 1) * n) // o)) for i in range(o)]


def _adaptive_size(x: Tensor, output_size: Any, op: str) -> Tuple[int, int]:
    hw = _static(x, op, [2, 3])[2:]
    o = _pair(output_size) if not isinstance(output_size, (list, tuple)) else tuple(output_size)
    return tuple(n if oo is None else int(oo) for n, oo in zip(hw, o))


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    out = _adaptive_size(input, output_size, "adaptive_avg_pool2d")
    h, w = input.shape[2:]
    if out == (1, 1):
        return mean(input, (2, 3), keepdim=True)
    if h % out[0] == 0 and w % out[1] == 0:
        k = (h // out[0], w // out[1])
        return _pool(input, "AVERAGE", k, k, (0, 0), False, "adaptive_avg_pool2d")[0]
    ah, aw = (np.zeros((o, n)) for o, n in zip(out, (h, w)))
    for a, n, o in ((ah, h, out[0]), (aw, w, out[1])):
        for i, (b, e) in enumerate(_adaptive_bins(n, o)):
            a[i, b:e] = 1.0 / (e - b)
    y = matmul(constant(torch.from_numpy(ah).reshape(1, 1, out[0], h), input), input)
    return matmul(y, constant(torch.from_numpy(aw.T.copy()).reshape(1, 1, w, out[1]), input))


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Tensor:
    if return_indices:
        raise UnsupportedError("adaptive_max_pool2d with return_indices=True is not supported")
    out = _adaptive_size(input, output_size, "adaptive_max_pool2d")
    h, w = input.shape[2:]
    if h % out[0] == 0 and w % out[1] == 0:
        k = (h // out[0], w // out[1])
        return _pool(input, "MAX", k, k, (0, 0), False, "adaptive_max_pool2d")[0]
    rows = []
    for hb, he in _adaptive_bins(h, out[0]):
        cells = [amax(input[:, :, hb:he, wb:we], (2, 3), keepdim=True) for wb, we in _adaptive_bins(w, out[1])]
        rows.append(cat(cells, 3))
    return cat(rows, 2)
