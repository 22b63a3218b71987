"""Padding modules with torch.nn's names: Zero/Constant/Reflection/Replication/CircularPad 1d/2d/3d."""
from __future__ import annotations

from typing import Sequence, Union

from .. import functional as F
from ..graph.module import Module

Padding = Union[int, Sequence[int]]


class _Pad(Module):
    """F.pad with the class's mode; `padding` is an int (every side) or 2*nd ints (last dim first)."""

    nd, mode = 2, "constant"

    def __init__(self, padding: Padding) -> None:
        super().__init__()
        self.padding = (padding,) * (2 * self.nd) if isinstance(padding, int) else tuple(padding)
        self.value = 0.0

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.pad(input, self.padding, self.mode, self.value if self.mode == "constant" else None)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPad(_Pad):
    def __init__(self, padding: Padding, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ZeroPad1d(_Pad): nd = 1
class ZeroPad2d(_Pad): nd = 2
class ZeroPad3d(_Pad): nd = 3
class ConstantPad1d(_ConstantPad): nd = 1
class ConstantPad2d(_ConstantPad): nd = 2
class ConstantPad3d(_ConstantPad): nd = 3
class ReflectionPad1d(_Pad): nd, mode = 1, "reflect"
class ReflectionPad2d(_Pad): nd, mode = 2, "reflect"
class ReflectionPad3d(_Pad): nd, mode = 3, "reflect"
class ReplicationPad1d(_Pad): nd, mode = 1, "replicate"
class ReplicationPad2d(_Pad): nd, mode = 2, "replicate"
class ReplicationPad3d(_Pad): nd, mode = 3, "replicate"
class CircularPad1d(_Pad): nd, mode = 1, "circular"
class CircularPad2d(_Pad): nd, mode = 2, "circular"
class CircularPad3d(_Pad): nd, mode = 3, "circular"
