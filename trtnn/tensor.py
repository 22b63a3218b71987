"""trtnn.Tensor: a TensorRT ITensor with torch's operators and methods."""
from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Optional, Tuple

import torch

from . import dtypes
from .errors import ShapeError, UnsupportedError

_F = None


def _functional():
    global _F
    if _F is None:
        _F = importlib.import_module("trtnn.functional")
    return _F


class Tensor:
    """A symbolic tensor of the network being built. Shapes are static where TensorRT knows them (-1 = dynamic)."""

    __slots__ = ("_trt", "ctx", "_pending", "_conv", "_uses", "_born", "_named", "_folded_from", "_shape", "_dtype",
                 "__weakref__")

    def __init__(self, itensor: Any, ctx: Any) -> None:
        self._trt = itensor
        self.ctx = ctx
        self._pending: Optional[Callable[[], Any]] = None  # re-emits this tensor after BN folding took it
        self._conv = None  # conv record, while a following BatchNorm may still be folded into it
        self._uses = 0
        self._born = ctx.network.num_layers - 1
        self._named = False  # named after the innermost module that returned it
        self._folded_from: Optional[str] = None  # the convolution call a BatchNorm was folded into
        self._shape: Optional[Tuple[int, ...]] = None
        self._dtype: Optional[torch.dtype] = None

    # ---- the TensorRT side ----------------------------------------------------------------
    @property
    def trt(self) -> Any:
        """The underlying ITensor (re-emitted if a BatchNorm fold consumed the original)."""
        if self._trt is None:
            self._trt, self._pending = self._pending(), None
        return self._trt

    def use(self) -> Any:
        """The ITensor, counted as consumed by a layer (folding only takes unconsumed conv outputs)."""
        self._uses += 1
        return self.trt

    @property
    def name(self) -> str:
        return self.trt.name

    @property
    def shape(self) -> Tuple[int, ...]:
        if self._shape is None:  # layers are configured before their output Tensor exists: the shape is final
            self._shape = tuple(self.trt.shape)
        return self._shape

    @property
    def dtype(self) -> torch.dtype:
        if self._dtype is None:
            self._dtype = dtypes.to_torch(self.trt.dtype)
        return self._dtype

    @property
    def ndim(self) -> int:
        return len(self.trt.shape)

    def dim(self) -> int:
        return self.ndim

    def size(self, dim: Optional[int] = None):
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    def __len__(self) -> int:
        if not self.shape or self.shape[0] < 0:
            raise ShapeError(f"len() of tensor '{self.name}' with shape {self.shape} is not known at build time")
        return self.shape[0]

    def __bool__(self) -> bool:
        raise ShapeError(
            f"tensor '{self.name}' used as a Python bool: its value exists only when the engine runs "
            "(use trtnn.functional.where for data-dependent choices)"
        )

    def __iter__(self):
        return iter(_functional().unbind(self, 0))

    def __repr__(self) -> str:
        return f"Tensor(name='{self.name}', shape={self.shape}, dtype={dtypes.short(self.dtype)})"

    __hash__ = object.__hash__

    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        """torch functions cannot run on a symbolic tensor: name the trtnn equivalent instead of failing obscurely."""
        name = getattr(func, "__name__", str(func))
        module = getattr(func, "__module__", None) or "torch.Tensor"
        functional = sys.modules.get("trtnn.functional")
        is_method = module in ("torch.Tensor", "torch._tensor")
        if is_method and name in _TORCH_OPERATORS and len(args) == 2 and not kwargs:  # torch_tensor + trtnn_tensor
            return getattr(functional, _TORCH_OPERATORS[name])(*args)
        same = callable(getattr(functional, name, None)) and not name[:1].isupper()
        hint = f"trtnn.functional.{name}" if same else "its trtnn.functional equivalent"
        raise UnsupportedError(f"{module}.{name} was called on a trtnn Tensor, which has no values at build time; "
                               f"use {hint} (or the Tensor method) to emit it as a TensorRT layer")

    # ---- operators --------------------------------------------------------------------------
    def __add__(self, o): return _functional().add(self, o)
    def __radd__(self, o): return _functional().add(o, self)
    def __sub__(self, o): return _functional().sub(self, o)
    def __rsub__(self, o): return _functional().sub(o, self)
    def __mul__(self, o): return _functional().mul(self, o)
    def __rmul__(self, o): return _functional().mul(o, self)
    def __truediv__(self, o): return _functional().div(self, o)
    def __rtruediv__(self, o): return _functional().div(o, self)
    def __floordiv__(self, o): return _functional().floor_divide(self, o)
    def __pow__(self, o): return _functional().pow(self, o)
    def __rpow__(self, o): return _functional().pow(o, self)
    def __matmul__(self, o): return _functional().matmul(self, o)
    def __neg__(self): return _functional().neg(self)
    def __abs__(self): return _functional().abs(self)
    def __eq__(self, o): return _functional().eq(self, o)  # type: ignore[override]
    def __ne__(self, o): return _functional().ne(self, o)  # type: ignore[override]
    def __lt__(self, o): return _functional().lt(self, o)
    def __le__(self, o): return _functional().le(self, o)
    def __gt__(self, o): return _functional().gt(self, o)
    def __ge__(self, o): return _functional().ge(self, o)
    def __and__(self, o): return _functional().logical_and(self, o)
    def __or__(self, o): return _functional().logical_or(self, o)
    def __invert__(self): return _functional().logical_not(self)
    def __getitem__(self, index): return _functional().getitem(self, index)

    # ---- torch-like methods -------------------------------------------------------------------
    def view(self, *shape): return _functional().reshape(self, _shape_args(shape))
    def reshape(self, *shape): return _functional().reshape(self, _shape_args(shape))
    def permute(self, *dims): return _functional().permute(self, _shape_args(dims))
    def transpose(self, dim0: int, dim1: int): return _functional().transpose(self, dim0, dim1)
    def flatten(self, start_dim: int = 0, end_dim: int = -1): return _functional().flatten(self, start_dim, end_dim)
    def squeeze(self, dim=None): return _functional().squeeze(self, dim)
    def unsqueeze(self, dim: int): return _functional().unsqueeze(self, dim)
    def chunk(self, chunks: int, dim: int = 0): return _functional().chunk(self, chunks, dim)
    def split(self, split_size, dim: int = 0): return _functional().split(self, split_size, dim)
    def sum(self, dim=None, keepdim: bool = False): return _functional().sum(self, dim, keepdim)
    def mean(self, dim=None, keepdim: bool = False): return _functional().mean(self, dim, keepdim)
    def max(self, dim=None, keepdim: bool = False): return _functional().max(self, dim, keepdim)
    def min(self, dim=None, keepdim: bool = False): return _functional().min(self, dim, keepdim)
    def amax(self, dim=None, keepdim: bool = False): return _functional().amax(self, dim, keepdim)
    def amin(self, dim=None, keepdim: bool = False): return _functional().amin(self, dim, keepdim)
    def argmax(self, dim=None, keepdim: bool = False): return _functional().argmax(self, dim, keepdim)
    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
        return _functional().topk(self, k, dim, largest, sorted)
    def sigmoid(self): return _functional().sigmoid(self)
    def relu(self): return _functional().relu(self)
    def tanh(self): return _functional().tanh(self)
    def exp(self): return _functional().exp(self)
    def log(self): return _functional().log(self)
    def sqrt(self): return _functional().sqrt(self)
    def abs(self): return _functional().abs(self)
    def softmax(self, dim: int): return _functional().softmax(self, dim)
    def clamp(self, min=None, max=None): return _functional().clamp(self, min, max)
    def pow(self, exponent): return _functional().pow(self, exponent)
    def expand(self, *sizes): return _functional().expand(self, _shape_args(sizes))
    def expand_as(self, other): return _functional().expand_as(self, other)
    def contiguous(self): return self
    def to(self, dtype): return _functional().cast(self, dtype)
    def half(self): return self.to(torch.float16)
    def float(self): return self.to(torch.float32)
    def bfloat16(self): return self.to(torch.bfloat16)
    def int(self): return self.to(torch.int32)
    def long(self): return self.to(torch.int64)
    def bool(self): return self.to(torch.bool)


# torch.Tensor's operators (torch_tensor <op> trtnn_tensor) -> the trtnn.functional op that emits them
_TORCH_OPERATORS = {
    **{op: op for op in ("add", "sub", "mul", "div", "floor_divide", "pow", "eq", "ne", "lt", "le", "gt",
                         "ge")},
    "true_divide": "div", "__and__": "logical_and", "__or__": "logical_or", "bitwise_and": "logical_and",
    "bitwise_or": "logical_or", "__rsub__": "sub", "__rpow__": "pow", "__floordiv__": "floor_divide",
}


def _shape_args(args) -> Tuple:
    """Accept f(1, 2, 3) and f((1, 2, 3)) like torch."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list, torch.Size)) else tuple(args)
