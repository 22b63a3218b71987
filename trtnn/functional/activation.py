"""Activations, softmax, clamp and dropout (TensorRT Activation/SoftMax layers)."""
from __future__ import annotations

from typing import Any, Optional

from .. import dtypes
from ..errors import ShapeError, UnsupportedError
from ..graph.tensor import Tensor
from .core import norm_dim, layer_output, trt_of, const_value, cast, constant
from .elementwise import abs, add, div, exp, gt, log, maximum, minimum, mul, neg, sub, where
from .shape import chunk, reshape
from .reduce import amax, sum


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    if min is None and max is None:
        raise ShapeError("clamp: at least one of min and max must be given")
    if input.dtype.is_floating_point and isinstance(min, (int, float)) and isinstance(max, (int, float)):
        return _activation(input, "clamp", "CLIP", alpha=float(min), beta=float(max))
    y = input if min is None else maximum(input, min)
    return y if max is None else minimum(y, max)


clip = clamp


def _activation(x: Tensor, op: str, kind: str, alpha: Optional[float] = None, beta: Optional[float] = None) -> Tensor:
    if not x.dtype.is_floating_point:
        raise UnsupportedError(f"{op} needs a floating-point tensor; '{x.name}' is {dtypes.short(x.dtype)}")
    layer = x.ctx.add(op, "add_activation", x.use(), getattr(trt_of(x).ActivationType, kind))
    if alpha is not None:
        layer.alpha = alpha
    if beta is not None:
        layer.beta = beta
    return layer_output(layer, x.ctx)


def relu(input: Tensor, inplace: bool = False) -> Tensor: return _activation(input, "relu", "RELU")
def relu6(input: Tensor, inplace: bool = False) -> Tensor: return _activation(input, "relu6", "CLIP", 0.0, 6.0)
def sigmoid(input: Tensor) -> Tensor: return _activation(input, "sigmoid", "SIGMOID")
def tanh(input: Tensor) -> Tensor: return _activation(input, "tanh", "TANH")
def selu(input: Tensor, inplace: bool = False) -> Tensor:
    return _activation(input, "selu", "SELU", 1.6732632423543772, 1.0507009873554805)
def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    return _activation(input, "hardtanh", "CLIP", min_val, max_val)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return _activation(input, "leaky_relu", "LEAKY_RELU", negative_slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return _activation(input, "elu", "ELU", alpha)


def _softplus(x: Tensor, beta: float = 1.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta without torch's linear region (TensorRT's SOFTPLUS activation)."""
    return _activation(x, "softplus", "SOFTPLUS", 1.0 / beta, beta)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """torch's softplus: input itself where beta * input > threshold."""
    return where(gt(mul(input, beta), threshold), input, _softplus(input, beta))


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x)."""
    return neg(_softplus(neg(input)))


def prelu(input: Tensor, weight: Any) -> Tensor:
    """torch's prelu: one slope, or one per channel (dim 1)."""
    w = const_value(weight) if not isinstance(weight, Tensor) else None
    n = weight.numel() if w is None else w.numel()
    c = input.shape[1] if input.ndim >= 2 else 1
    if n != 1 and n != c:
        raise ShapeError(f"prelu: {n} slopes for '{input.name}' {input.shape}; expected 1 or {c} (channels, dim 1)")
    shape = (1,) * input.ndim if n == 1 else (1, c) + (1,) * (input.ndim - 2)
    slopes = constant(w.reshape(shape), input) if w is not None else reshape(cast(weight, input.dtype), shape)
    return layer_output(input.ctx.add("prelu", "add_parametric_relu", input.use(), slopes.use()), input.ctx)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    return _activation(input, "hardsigmoid", "HARD_SIGMOID", 1.0 / 6.0, 0.5)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    return mul(input, sigmoid(input))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    return mul(input, hardsigmoid(input))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    return mul(input, tanh(_softplus(input)))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise UnsupportedError(f"gelu approximate={approximate!r}; expected 'none' or 'tanh'")
    return _activation(input, "gelu", "GELU_ERF" if approximate == "none" else "GELU_TANH")


def softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    x = input if dtype is None else cast(input, dtype)
    return layer_output(x.ctx.add("softmax", "add_softmax", x.use(), axes=1 << norm_dim(dim, x.ndim)), x.ctx)


def log_softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    x = input if dtype is None else cast(input, dtype)
    shifted = sub(x, amax(x, dim, keepdim=True))
    return sub(shifted, log(sum(exp(shifted), dim, keepdim=True)))


def dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Identity (inference), as are dropout1d/2d/3d, alpha_dropout and feature_alpha_dropout."""
    return input


dropout1d = dropout2d = dropout3d = alpha_dropout = feature_alpha_dropout = dropout


def softmin(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    return softmax(neg(input if dtype is None else cast(input, dtype)), dim)


def softsign(input: Tensor) -> Tensor:
    return _activation(input, "softsign", "SOFTSIGN")


def tanhshrink(input: Tensor) -> Tensor:
    return sub(input, tanh(input))


def _zero(like: Tensor) -> Tensor:
    return constant(0.0, like)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    return where(gt(abs(input), lambd), input, _zero(input))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    shrunk = where(gt(input, lambd), sub(input, lambd), add(input, lambd))
    return where(gt(abs(input), lambd), shrunk, _zero(input))


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:  # noqa: A002
    """input where input > threshold, else value."""
    return where(gt(input, threshold), input, constant(value, input))


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """First half of `dim` times the sigmoid of the second half."""
    d = norm_dim(dim, input.ndim)
    n = input.shape[d]
    if n >= 0 and n % 2:  # a dynamic size is the engine's to check
        raise ShapeError(f"glu: dim {d} of '{input.name}' {input.shape} must have an even size")
    a, b = chunk(input, 2, d)
    return mul(a, sigmoid(b))


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    return where(gt(input, 0.0), input, mul(sub(exp(div(input, alpha)), 1.0), alpha))
