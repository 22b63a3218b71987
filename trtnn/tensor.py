"""trtnn.Tensor: a TensorRT ITensor with torch's operators and methods.

A Tensor holds only its ITensor, its build context and shape/dtype caches. Its operators and torch-like methods are
installed by `trtnn.functional` (one table in trtnn/functional/_methods.py); the bookkeeping of BatchNorm folding and
naming lives in the build context, keyed by the Tensor.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import torch

from . import dtypes
from .errors import ShapeError


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
