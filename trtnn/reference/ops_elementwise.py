"""Elementwise-style layers: elementwise, unary, activation, select, cast, identity, parametric ReLU, Q/DQ."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .common import FLOATS, Node, register


def _div(a, b):
    return torch.div(a, b) if a.is_floating_point() else torch.div(a, b, rounding_mode="trunc")


def _floor_div(a, b):
    return torch.floor(a / b) if a.is_floating_point() else torch.div(a, b, rounding_mode="floor")


_BINARY = {
    "SUM": torch.add, "PROD": torch.mul, "MAX": torch.maximum, "MIN": torch.minimum, "SUB": torch.sub,
    "DIV": _div, "POW": torch.pow, "FLOOR_DIV": _floor_div, "AND": torch.logical_and, "OR": torch.logical_or,
    "XOR": torch.logical_xor, "EQUAL": torch.eq, "GREATER": torch.gt, "LESS": torch.lt,
}


@register("ELEMENTWISE", "IElementWiseLayer")
def elementwise(node: Node):
    op = node.layer.op.name
    fn = _BINARY.get(op)
    if fn is None:
        raise node.unsupported(f"elementwise operation {op}")
    a_shape, b_shape = node.in_shapes[0], node.in_shapes[1]
    if a_shape is not None and b_shape is not None and len(a_shape) != len(b_shape):
        raise node.unsupported(f"inputs of rank {len(a_shape)} and {len(b_shape)} (TensorRT needs equal ranks)")
    return fn


def _round(x):
    return torch.round(x) if x.is_floating_point() else x


_UNARY = {
    "EXP": torch.exp, "LOG": torch.log, "SQRT": torch.sqrt, "RECIP": torch.reciprocal, "ABS": torch.abs,
    "NEG": torch.neg, "SIN": torch.sin, "COS": torch.cos, "TAN": torch.tan, "SINH": torch.sinh, "COSH": torch.cosh,
    "ASIN": torch.asin, "ACOS": torch.acos, "ATAN": torch.atan, "ASINH": torch.asinh, "ACOSH": torch.acosh,
    "ATANH": torch.atanh, "CEIL": torch.ceil, "FLOOR": torch.floor, "ERF": torch.erf, "NOT": torch.logical_not,
    "SIGN": torch.sign, "ROUND": _round, "ISINF": torch.isinf, "ISNAN": torch.isnan,
}


@register("UNARY", "IUnaryLayer")
def unary(node: Node):
    op = node.layer.op.name
    if op not in _UNARY:
        raise node.unsupported(f"unary operation {op}")
    return _UNARY[op]


def _activation(kind: str, a: float, b: float):
    table = {
        "RELU": torch.relu,
        "SIGMOID": torch.sigmoid,
        "TANH": torch.tanh,
        "LEAKY_RELU": lambda x: F.leaky_relu(x, a),
        "ELU": lambda x: torch.where(x >= 0, x, a * torch.expm1(x)),
        "SELU": lambda x: b * torch.where(x >= 0, x, a * torch.expm1(x)),
        "SOFTSIGN": lambda x: x / (1 + torch.abs(x)),
        # in fp32 and back, as GPU kernels compute (exp overflows fp16 from x = 11)
        "SOFTPLUS": lambda x: (a * torch.log1p(torch.exp(b * x.float()))).to(x.dtype),
        "CLIP": lambda x: torch.clamp(x, a, b),
        "HARD_SIGMOID": lambda x: torch.clamp(a * x + b, 0.0, 1.0),
        "SCALED_TANH": lambda x: a * torch.tanh(b * x),
        "THRESHOLDED_RELU": lambda x: torch.where(x > a, x, torch.zeros((), dtype=x.dtype)),
        "GELU_ERF": lambda x: F.gelu(x),
        "GELU_TANH": lambda x: F.gelu(x, approximate="tanh"),
    }
    return table.get(kind)


@register("ACTIVATION", "IActivationLayer")
def activation(node: Node):
    kind = node.layer.type.name  # the typed layer's `type` is the ActivationType
    fn = _activation(kind, float(node.layer.alpha), float(node.layer.beta))
    if fn is None:
        raise node.unsupported(f"activation {kind}")
    return fn


@register("PARAMETRIC_RELU", "IParametricReLULayer")
def parametric_relu(node: Node):
    return lambda x, slope: torch.where(x >= 0, x, x * slope)


@register("SELECT", "ISelectLayer")
def select(node: Node):
    return torch.where


@register("CAST", "ICastLayer")
def cast(node: Node):
    dtype = node.out_dtypes[0]
    if dtype is None:
        raise node.unsupported(f"cast to {node.layer.to_type.name}")
    if node.in_dtypes[0] in FLOATS and dtype not in FLOATS and dtype != torch.bool:
        # float -> integer truncates toward zero and saturates; NaN -> 0 (what TensorRT's GPU kernels do)
        info = torch.iinfo(dtype)
        lo, hi = float(info.min), float(torch.tensor(info.max, dtype=torch.float64).item())
        if hi > info.max:  # int64 max is not a double: take the largest double below it
            hi = float(torch.nextafter(torch.tensor(hi, dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64)))
        return lambda x: torch.nan_to_num(x.double(), nan=0.0).clamp(lo, hi).to(dtype)
    return lambda x: x.to(dtype)


@register("IDENTITY", "IIdentityLayer")
def identity(node: Node):
    dtype = node.out_dtypes[0]
    if dtype is None:
        raise node.unsupported("identity to this data type")
    return lambda x: x.to(dtype)


_QRANGE = {torch.int8: (-128.0, 127.0), torch.uint8: (0.0, 255.0)}
_FP8 = getattr(torch, "float8_e4m3fn", None)


def _per_axis(node: Node, rank_index: int = 0):
    """Reshape function putting a 1-D per-channel scale on the layer's `axis`."""
    axis = int(node.layer.axis)
    rank = len(node.in_shapes[rank_index])

    def shape_scale(scale):
        if scale.dim() == 0 or scale.numel() == 1:
            return scale.reshape(())
        ax = axis % rank
        return scale.reshape([-1 if d == ax else 1 for d in range(rank)])
    return shape_scale


def _no_blocks(node: Node) -> None:
    try:
        block = node.layer.block_shape
    except RuntimeError:
        return
    if block is not None and len(block) and any(int(b) not in (0, 1) for b in block):
        raise node.unsupported("block quantization")


@register("QUANTIZE", "IQuantizeLayer")
def quantize(node: Node):
    _no_blocks(node)
    dtype = node.out_dtypes[0]
    shape_scale = _per_axis(node)
    if dtype in _QRANGE:
        lo, hi = _QRANGE[dtype]

        def q(x, scale, zero_point=None):
            y = torch.round(x.float() / shape_scale(scale.float()))  # round half to even
            if zero_point is not None:
                y = y + shape_scale(zero_point.float())
            return torch.clamp(y, lo, hi).to(dtype)
        return q
    if dtype is not None and dtype == _FP8:
        fmax = float(torch.finfo(_FP8).max)

        def q8(x, scale, zero_point=None):
            return torch.clamp(x.float() / shape_scale(scale.float()), -fmax, fmax).to(_FP8)
        return q8
    raise node.unsupported(f"quantize to {node.layer.to_type.name}")


@register("DEQUANTIZE", "IDequantizeLayer")
def dequantize(node: Node):
    _no_blocks(node)
    dtype = node.out_dtypes[0]
    if dtype not in FLOATS or node.in_dtypes[0] is None:
        raise node.unsupported(f"dequantize from {node.in_dtypes[0]} to {node.layer.to_type.name}")
    shape_scale = _per_axis(node)

    def dq(q, scale, zero_point=None):
        x = q.float()
        if zero_point is not None:
            x = x - shape_scale(zero_point.float())
        return (x * shape_scale(scale.float())).to(dtype)
    return dq

