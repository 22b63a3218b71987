"""Generated code before its constants are settled: text with numeric slots and references to child modules.

Instances of one module type whose code differs only in slot values share one class; the slots that differ
become its constructor arguments.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, List, Tuple, Union

import torch


@dataclass
class Slot:
    """A number (or tuple of ints) in the code; `hint` names it if it becomes a constructor argument."""

    value: Any
    hint: str


@dataclass
class ChildRef:
    """Where a child module of a generated class is constructed: `ClassName(arguments)` once classes are known."""

    module: Any


@dataclass
class LayerCall:
    """`nn.Kind(...)` of a torch layer: every constructor argument (name, value, default, required); arguments
    left at their default in every instance of a class are omitted when the class is rendered."""

    kind: str
    args: List[Tuple[str, Any, Any, bool]]


Part = Union[str, Slot, ChildRef, LayerCall]


@dataclass
class Code:
    """Parts of generated code, appended in order."""

    parts: List[Part] = field(default_factory=list)

    def text(self, s: str) -> "Code":
        if self.parts and isinstance(self.parts[-1], str):
            self.parts[-1] += s
        else:
            self.parts.append(s)
        return self

    def value(self, v: Any, hint: str) -> "Code":
        """A constant: numbers become slots, everything else literal text."""
        if is_slot_value(v):
            self.parts.append(Slot(v, hint))
            return self
        return self.text(literal(v))

    def child(self, module: Any) -> "Code":
        self.parts.append(ChildRef(module))
        return self

    def layer(self, kind: str, args: List[Tuple[str, Any, Any, bool]]) -> "Code":
        self.parts.append(LayerCall(kind, args))
        return self

    def extend(self, other: "Code") -> "Code":
        for p in other.parts:
            self.text(p) if isinstance(p, str) else self.parts.append(p)
        return self


def is_slot_value(v: Any) -> bool:
    if type(v) in (int, float):
        return math.isfinite(v)
    return type(v) is tuple and bool(v) and all(type(a) is int for a in v)


def literal(v: Any) -> str:
    """Python source for a constant found in a traced model."""
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else f'float("{v}")'
    if isinstance(v, torch.dtype):
        return str(v)
    if isinstance(v, torch.Size):
        v = tuple(v)
    if isinstance(v, tuple):
        return "(" + ", ".join(literal(a) for a in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, list):
        return "[" + ", ".join(literal(a) for a in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(a)}" for k, a in v.items()) + "}"
    if v is Ellipsis:
        return "..."
    if isinstance(v, slice):
        return f"slice({literal(v.start)}, {literal(v.stop)}, {literal(v.step)})"
    if isinstance(v, torch.memory_format):
        return str(v)
    if isinstance(v, torch.device):
        return f"torch.device({str(v)!r})"
    return repr(v)
