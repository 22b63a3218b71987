"""torch ops trtnn has no op for, written with ops it has (emitted into the generated code as is, so the user
sees the decomposition): `torch.addcmul`, `Tensor.reshape_as`, `Tensor.norm` / `torch.norm` /
`torch.linalg.vector_norm`, `clamp_min` / `clamp_max`."""
from __future__ import annotations

import inspect
import math
from typing import Any, Callable, Dict, Optional, Tuple

def _addcmul(input: Any, tensor1: Any, tensor2: Any, *, value: Any = 1) -> str:
    return "{input} + {tensor1} * {tensor2}" if value == 1 else "{input} + {value} * {tensor1} * {tensor2}"


def _reshape_as(self: Any, other: Any) -> str:
    return "{self}.reshape({other}.shape)"


def _norm(input: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Optional[str]:
    if dtype is not None:
        return None
    reduce = "sum" if p in ("fro", 2, 2.0) else "sum" if p in (1, 1.0) else "amax" if p == math.inf else None
    if reduce is None:
        return None
    value = "({input} * {input})" if reduce == "sum" and p != 1 else "{input}.abs()"
    dims = "" if dim is None else "{dim}, "
    return value + f".{reduce}({dims}keepdim={{keepdim}})" + (".sqrt()" if p in ("fro", 2, 2.0) else "")


def _vector_norm(x: Any, ord: Any = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Optional[str]:
    out = _norm(x, ord, dim, keepdim, dtype)
    return out.replace("{input}", "{x}") if out else None


def _clamp_min(self: Any, min: Any) -> str:
    return "{self}.clamp(min={min})"


def _clamp_max(self: Any, max: Any) -> str:
    return "{self}.clamp(max={max})"


REWRITES: Dict[str, Callable[..., Optional[str]]] = {
    "addcmul": _addcmul, "clamp_min": _clamp_min, "clamp_max": _clamp_max, "reshape_as": _reshape_as, "norm": _norm,
    "vector_norm": _vector_norm,
}


def rewrite(name: str, args: tuple, kwargs: Dict[str, Any]) -> Optional[Tuple[str, Dict[str, Any]]]:
    """Op `name` applied to (args, kwargs) with ops trtnn has: a template (`{argument}` where the argument goes)
    and the bound arguments; None when no rewrite applies."""
    fn = REWRITES.get(name)
    if fn is None:
        return None
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    template = fn(*bound.args, **bound.kwargs)
    if template is None:
        return None
    return template, dict(bound.arguments)
