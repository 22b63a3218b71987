"""trtnn.Tensor: a TensorRT ITensor with torch's operators and methods.

A Tensor holds only its ITensor, its build context and shape/dtype caches. Its operators and torch-like methods are
installed by `trtnn.functional` (one table in trtnn/functional/methods.py); the bookkeeping of BatchNorm folding and
naming lives in the build context, keyed by the Tensor.
"""
from __future__ import annotations

import sys
from typing import Any, Optional, Tuple

import torch

from .. import dtypes
from ..errors import ShapeError, UnsupportedError


class Tensor:
    """A symbolic tensor of the network being built. Shapes are static where TensorRT knows them (-1 = dynamic)."""

    __slots__ = ("_trt", "ctx", "_shape", "_dtype", "__weakref__")

    def __init__(self, itensor: Any, ctx: Any) -> None:
        self._trt = itensor  # None after a BatchNorm fold took this tensor's layer (see trtnn.graph.fold)
        self.ctx = ctx
        self._shape: Optional[Tuple[int, ...]] = None
        self._dtype: Optional[torch.dtype] = None

    # ---- the TensorRT side ----------------------------------------------------------------
    @property
    def trt(self) -> Any:
        """The underlying ITensor (re-emitted by the context if a BatchNorm fold took the original)."""
        if self._trt is None:
            self._trt = self.ctx.folder.reemit(self)
        return self._trt

    def use(self) -> Any:
        """The ITensor, as the input of a new layer (the context learns that this tensor was consumed)."""
        self.ctx.folder.consumed(self)
        return self.trt

    def _release(self) -> Any:
        """Hand the ITensor over to a BatchNorm fold; the next `.trt` re-emits this tensor's value."""
        itensor, self._trt = self._trt, None
        return itensor

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

    def __repr__(self) -> str:
        return f"Tensor(name='{self.name}', shape={self.shape}, dtype={dtypes.short(self.dtype)})"

    __hash__ = object.__hash__

    def contiguous(self) -> "Tensor":
        return self

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


# torch.Tensor's operators (torch_tensor <op> trtnn_tensor) -> the trtnn.functional op that emits them
_TORCH_OPERATORS = {
    **{op: op for op in ("add", "sub", "mul", "div", "floor_divide", "pow", "eq", "ne", "lt", "le", "gt",
                         "ge")},
    "true_divide": "div", "__and__": "logical_and", "__or__": "logical_or", "bitwise_and": "logical_and",
    "bitwise_or": "logical_or", "__rsub__": "sub", "__rpow__": "pow", "__floordiv__": "floor_divide",
}
