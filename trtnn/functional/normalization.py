"""Normalization: layer_norm, group_norm, instance_norm (TensorRT INormalizationLayer), rms_norm (an exact
decomposition: TensorRT's normalization layer always subtracts the mean), and the p-norm ops normalize and
cosine_similarity."""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union

import torch

from ..errors import ShapeError, UnsupportedError
from ..graph.tensor import Tensor
from .core import axes_mask, layer_output, const_value, cast, constant
from .conv import batch_norm
from .elementwise import abs, add, div, maximum, mul, pow, rsqrt, sqrt
from .reduce import mean, sum
from .shape import reshape

Shape = Union[int, Sequence[int]]


def _affine(value: Any, shape: Tuple[int, ...], like: Tensor, default: float) -> Tensor:
    """weight / bias as a tensor of `shape` in `like`'s dtype (filled with `default` when None)."""
    if value is None:
        return constant(torch.full(shape, default), like)
    if isinstance(value, Tensor):
        return reshape(cast(value, like.dtype), shape)
    return constant(const_value(value).reshape(shape), like)


def _normalize(x: Tensor, op: str, scale: Tensor, bias: Tensor, axes: Sequence[int], eps: float,
               groups: int = 1) -> Tensor:
    layer = x.ctx.add(op, "add_normalization_v2", x.use(), scale.use(), bias.use(), axes_mask(axes))
    layer.epsilon = float(eps)
    if groups != 1:
        layer.num_groups = groups
    return layer_output(layer, x.ctx)


def _float(x: Tensor, op: str) -> None:
    if not x.dtype.is_floating_point:
        raise UnsupportedError(f"{op} needs a floating-point input; '{x.name}' is {x.dtype}")


def _normalized_dims(x: Tensor, normalized_shape: Shape, op: str) -> Tuple[int, ...]:
    shape = (int(normalized_shape),) if isinstance(normalized_shape, int) else tuple(int(s) for s in normalized_shape)
    if not shape or len(shape) > x.ndim or any(a >= 0 and a != b for a, b in zip(x.shape[x.ndim - len(shape):], shape)):
        raise ShapeError(f"{op}: normalized_shape {shape} does not match the trailing dims of '{x.name}' {x.shape}")
    return shape


def layer_norm(input: Tensor, normalized_shape: Shape, weight: Any = None, bias: Any = None,
               eps: float = 1e-5) -> Tensor:
    """torch's layer_norm over the last len(normalized_shape) dims (one normalization layer)."""
    _float(input, "layer_norm")
    shape = _normalized_dims(input, normalized_shape, "layer_norm")
    k, n = len(shape), input.ndim
    full = (1,) * (n - k) + shape
    return _normalize(input, "layer_norm", _affine(weight, full, input, 1.0), _affine(bias, full, input, 0.0),
                      range(n - k, n), eps)


def _channels(x: Tensor, op: str) -> int:
    if x.ndim < 3 or x.shape[1] < 0:
        raise ShapeError(f"{op} expects an input (N, C, *spatial) with a static C (dim 1: the groups and affine "
                         f"parameters are per channel); '{x.name}' has shape {x.shape}")
    return x.shape[1]


def group_norm(input: Tensor, num_groups: int, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> Tensor:
    """torch's group_norm: statistics over each group of C/num_groups channels and all spatial positions."""
    _float(input, "group_norm")
    c = _channels(input, "group_norm")
    if num_groups <= 0 or c % num_groups:
        raise ShapeError(f"group_norm: num_groups={num_groups} must divide the {c} channels of '{input.name}'")
    full = (1, c) + (1,) * (input.ndim - 2)
    return _normalize(input, "group_norm", _affine(weight, full, input, 1.0), _affine(bias, full, input, 0.0),
                      range(1 if num_groups == 1 else 2, input.ndim), eps, num_groups)


def instance_norm(input: Tensor, running_mean: Any = None, running_var: Any = None, weight: Any = None,
                  bias: Any = None, use_input_stats: bool = True, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """torch's instance_norm: per sample and channel over the spatial dims; with use_input_stats=False the running
    statistics are used (a batch norm)."""
    _float(input, "instance_norm")
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ShapeError("instance_norm: use_input_stats=False needs running_mean and running_var")
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    c = _channels(input, "instance_norm")
    full = (1, c) + (1,) * (input.ndim - 2)
    return _normalize(input, "instance_norm", _affine(weight, full, input, 1.0), _affine(bias, full, input, 0.0),
                      range(2, input.ndim), eps)


def rms_norm(input: Tensor, normalized_shape: Shape, weight: Any = None, eps: Optional[float] = None) -> Tensor:
    """torch's rms_norm: x / sqrt(mean(x^2) + eps) * weight over the trailing dims; eps=None is the dtype's eps."""
    _float(input, "rms_norm")
    shape = _normalized_dims(input, normalized_shape, "rms_norm")
    n, k = input.ndim, len(shape)
    eps = torch.finfo(input.dtype).eps if eps is None else float(eps)
    y = mul(input, rsqrt(add(mean(mul(input, input), tuple(range(n - k, n)), keepdim=True), eps)))
    return y if weight is None else mul(y, _affine(weight, (1,) * (n - k) + shape, input, 1.0))


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """torch's local_response_norm across channels (TensorRT LRN layer: odd size in [1, 15], 4-D input)."""
    if size % 2 == 0 or not 1 <= size <= 15:
        raise UnsupportedError(f"local_response_norm size={size}: TensorRT's LRN takes an odd size in [1, 15]")
    if input.ndim != 4:
        raise ShapeError(f"local_response_norm expects a 4-D input (N, C, H, W); '{input.name}' has shape "
                         f"{input.shape}")
    return layer_output(input.ctx.add("local_response_norm", "add_lrn", input.use(), int(size), float(alpha), float(beta),
                              float(k)), input.ctx)


def _norm(x: Tensor, p: float, dim: int) -> Tensor:
    if p == 2:
        return sqrt(sum(mul(x, x), dim, keepdim=True))
    if p == 1:
        return sum(abs(x), dim, keepdim=True)
    if p <= 0 or p == float("inf"):
        raise UnsupportedError(f"normalize p={p}: only finite p > 0")
    return pow(sum(pow(abs(x), float(p)), dim, keepdim=True), 1.0 / p)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Any = None) -> Tensor:
    """input / max(||input||_p over dim, eps)."""
    return div(input, maximum(_norm(input, p, dim), eps))


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) over dim (torch's clamping of each norm)."""
    n1, n2 = maximum(_norm(x1, 2, dim), eps), maximum(_norm(x2, 2, dim), eps)
    return sum(div(div(mul(x1, x2), n1), n2), dim)
