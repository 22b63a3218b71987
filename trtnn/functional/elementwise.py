"""Element-wise arithmetic, comparison, logic and unary math (torch semantics, TensorRT ElementWise/Unary)."""
from __future__ import annotations

import builtins
from typing import Any, Optional

import torch

from ..errors import UnsupportedError
from ..graph.tensor import Tensor
from .core import broadcast_operands, lift, layer_output, trt_of, unsqueeze_front, cast


def _elementwise(a: Any, b: Any, op: str, kind: str) -> Tensor:
    x, y = broadcast_operands(a, b)
    return layer_output(x.ctx.add(op, "add_elementwise", x.use(), y.use(), getattr(trt_of(x).ElementWiseOperation, kind)), x.ctx)


def add(a: Any, b: Any, alpha: float = 1) -> Tensor:
    return _elementwise(a, b if alpha == 1 else mul(b, alpha), "add", "SUM")


def sub(a: Any, b: Any, alpha: float = 1) -> Tensor:
    return _elementwise(a, b if alpha == 1 else mul(b, alpha), "sub", "SUB")


def mul(a: Any, b: Any) -> Tensor:
    return _elementwise(a, b, "mul", "PROD")


def div(a: Any, b: Any, rounding_mode: Optional[str] = None) -> Tensor:
    if rounding_mode == "floor":
        return floor_divide(a, b)
    if rounding_mode is not None:
        raise UnsupportedError(f"div rounding_mode={rounding_mode!r} is not supported (None or 'floor')")
    x, y = broadcast_operands(a, b)
    if not x.dtype.is_floating_point:  # torch's true division of integers gives float32
        x, y = cast(x, torch.float32), cast(y, torch.float32)
    return _elementwise(x, y, "div", "DIV")


def floor_divide(a: Any, b: Any) -> Tensor:
    x, y = broadcast_operands(a, b)
    if x.dtype.is_floating_point:
        return floor(div(x, y))
    return _elementwise(x, y, "floor_div", "FLOOR_DIV")


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001
    return _elementwise(input, exponent, "pow", "POW")


def maximum(a: Any, b: Any) -> Tensor:
    return _elementwise(a, b, "maximum", "MAX")


def minimum(a: Any, b: Any) -> Tensor:
    return _elementwise(a, b, "minimum", "MIN")


def eq(a: Any, b: Any) -> Tensor:
    return _elementwise(a, b, "eq", "EQUAL")


def gt(a: Any, b: Any) -> Tensor:
    return _elementwise(a, b, "gt", "GREATER")


def lt(a: Any, b: Any) -> Tensor:
    return _elementwise(a, b, "lt", "LESS")


def ne(a: Any, b: Any) -> Tensor:
    return logical_not(eq(a, b))


def ge(a: Any, b: Any) -> Tensor:  # not "not lt": comparisons with NaN are False, as in torch
    return logical_or(gt(a, b), eq(a, b))


def le(a: Any, b: Any) -> Tensor:
    return logical_or(lt(a, b), eq(a, b))


def _logical(a: Any, b: Any, op: str, kind: str) -> Tensor:
    x, y = broadcast_operands(a, b)
    return _elementwise(cast(x, torch.bool), cast(y, torch.bool), op, kind)


def logical_and(a: Any, b: Any) -> Tensor:
    return _logical(a, b, "and", "AND")


def logical_or(a: Any, b: Any) -> Tensor:
    return _logical(a, b, "or", "OR")


def logical_xor(a: Any, b: Any) -> Tensor:
    return _logical(a, b, "xor", "XOR")


def where(condition: Any, input: Any, other: Any) -> Tensor:
    x, y = broadcast_operands(input, other)
    c = cast(lift(condition, x), torch.bool)
    rank = builtins.max(c.ndim, x.ndim)
    c, x, y = (unsqueeze_front(t, rank - t.ndim) for t in (c, x, y))
    return layer_output(x.ctx.add("where", "add_select", c.use(), x.use(), y.use()), x.ctx)


def _unary(x: Tensor, op: str, kind: str) -> Tensor:
    return layer_output(x.ctx.add(op, "add_unary", x.use(), getattr(trt_of(x).UnaryOperation, kind)), x.ctx)


def _float_unary(x: Tensor, op: str, kind: str) -> Tensor:
    return _unary(x if x.dtype.is_floating_point else cast(x, torch.float32), op, kind)


def exp(x: Tensor) -> Tensor: return _float_unary(x, "exp", "EXP")
def log(x: Tensor) -> Tensor: return _float_unary(x, "log", "LOG")
def sqrt(x: Tensor) -> Tensor: return _float_unary(x, "sqrt", "SQRT")
def reciprocal(x: Tensor) -> Tensor: return _float_unary(x, "reciprocal", "RECIP")
def rsqrt(x: Tensor) -> Tensor: return reciprocal(sqrt(x))
def sin(x: Tensor) -> Tensor: return _float_unary(x, "sin", "SIN")
def cos(x: Tensor) -> Tensor: return _float_unary(x, "cos", "COS")
def tan(x: Tensor) -> Tensor: return _float_unary(x, "tan", "TAN")
def erf(x: Tensor) -> Tensor: return _float_unary(x, "erf", "ERF")
def floor(x: Tensor) -> Tensor: return x if not x.dtype.is_floating_point else _unary(x, "floor", "FLOOR")
def ceil(x: Tensor) -> Tensor: return x if not x.dtype.is_floating_point else _unary(x, "ceil", "CEIL")
def round(x: Tensor) -> Tensor: return x if not x.dtype.is_floating_point else _unary(x, "round", "ROUND")  # noqa: A001
def abs(x: Tensor) -> Tensor: return _unary(x, "abs", "ABS")  # noqa: A001
def neg(x: Tensor) -> Tensor: return _unary(x, "neg", "NEG")
def sign(x: Tensor) -> Tensor: return _unary(x, "sign", "SIGN")
def logical_not(x: Tensor) -> Tensor: return _unary(cast(x, torch.bool), "not", "NOT")
