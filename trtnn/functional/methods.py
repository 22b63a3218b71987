"""trtnn.Tensor's operators and torch-like methods: one table of (name, function, argument adapter), installed on
the class once when trtnn.functional is imported (tensor.py itself does not import functional)."""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Tuple

import torch

from ..graph.tensor import Tensor
from .elementwise import (abs, add, div, eq, exp, floor_divide, ge, gt, le, log, logical_and, logical_not,
                          logical_or, lt, mul, ne, neg, pow, sqrt, sub)
from .activation import clamp, relu, sigmoid, softmax, tanh
from .shape import chunk, expand, expand_as, flatten, permute, reshape, split, squeeze, transpose, unbind, unsqueeze
from .index import getitem
from .reduce import amax, amin, argmax, max, mean, min, sum, topk
from .linalg import matmul
from .transform import flip, repeat, roll, tile
from .masking import masked_fill, tril, triu
from .cumulative import cumsum
from .rearrange import unflatten
from .core import cast


def _reflected(fn: Callable) -> Callable:
    """`other <op> tensor`: the function with its two operands swapped."""
    return lambda self, other: fn(other, self)


def _shape_varargs(fn: Callable) -> Callable:
    """Accept f(1, 2, 3) and f((1, 2, 3)) like torch."""
    def method(self: Tensor, *shape: Any) -> Tensor:
        one = len(shape) == 1 and isinstance(shape[0], (tuple, list, torch.Size))
        return fn(self, tuple(shape[0]) if one else shape)
    return method


def _to(dtype: torch.dtype) -> Callable:
    """x.half(), x.float(), ...: a cast to a fixed dtype."""
    return lambda self: cast(self, dtype)


def _iterate(self: Tensor):
    return iter(unbind(self, 0))


Adapter = Optional[Callable[[Callable], Callable]]
METHODS: List[Tuple[str, Callable, Adapter]] = [
    # operators
    ("__add__", add, None), ("__radd__", add, _reflected), ("__sub__", sub, None), ("__rsub__", sub, _reflected),
    ("__mul__", mul, None), ("__rmul__", mul, _reflected), ("__truediv__", div, None),
    ("__rtruediv__", div, _reflected), ("__floordiv__", floor_divide, None), ("__pow__", pow, None),
    ("__rpow__", pow, _reflected), ("__matmul__", matmul, None), ("__neg__", neg, None), ("__abs__", abs, None),
    ("__eq__", eq, None), ("__ne__", ne, None), ("__lt__", lt, None), ("__le__", le, None), ("__gt__", gt, None),
    ("__ge__", ge, None), ("__and__", logical_and, None), ("__or__", logical_or, None),
    ("__invert__", logical_not, None), ("__getitem__", getitem, None), ("__iter__", _iterate, None),
    # shape
    ("view", reshape, _shape_varargs), ("reshape", reshape, _shape_varargs), ("permute", permute, _shape_varargs),
    ("expand", expand, _shape_varargs), ("expand_as", expand_as, None), ("transpose", transpose, None),
    ("flatten", flatten, None), ("squeeze", squeeze, None), ("unsqueeze", unsqueeze, None), ("chunk", chunk, None),
    ("split", split, None),
    # reductions
    ("sum", sum, None), ("mean", mean, None), ("max", max, None), ("min", min, None), ("amax", amax, None),
    ("amin", amin, None), ("argmax", argmax, None), ("topk", topk, None),
    # math and activations
    ("sigmoid", sigmoid, None), ("relu", relu, None), ("tanh", tanh, None), ("exp", exp, None), ("log", log, None),
    ("sqrt", sqrt, None), ("abs", abs, None), ("softmax", softmax, None), ("clamp", clamp, None),
    ("pow", pow, None),
    # dtype
    ("to", cast, None), ("half", _to(torch.float16), None), ("float", _to(torch.float32), None),
    ("bfloat16", _to(torch.bfloat16), None), ("int", _to(torch.int32), None), ("long", _to(torch.int64), None),
    ("bool", _to(torch.bool), None),
    ("flip", flip, _shape_varargs), ("roll", roll, None), ("repeat", repeat, _shape_varargs), ("tile", tile, None),
    ("masked_fill", masked_fill, None), ("tril", tril, None), ("triu", triu, None), ("cumsum", cumsum, None),
    ("unflatten", unflatten, None),
]


def install_tensor_methods() -> None:
    for name, fn, adapt in METHODS:
        setattr(Tensor, name, fn if adapt is None else adapt(fn))
