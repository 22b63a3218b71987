"""The check every public trtnn.functional op runs first: it was given a trtnn Tensor of a network being defined.

Without it, `F.relu(torch.randn(3))` outside `trtnn.define` or `F.relu(np_array)` inside forward failed deep in the
op with an AttributeError about `ctx` or a numpy dtype.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Dict, Iterable

import numpy as np
import torch

from ..errors import ConfigError
from ..graph.tensor import Tensor

# ops that legitimately take no trtnn Tensor (arange returns a torch tensor, like torch.arange)
NO_TENSOR_OPS = frozenset({"arange"})


def _values(args: Iterable[Any], kwargs: Dict[str, Any]) -> list:
    """Arguments with lists/tuples opened one level (cat, stack and einsum take sequences of tensors)."""
    return [b for a in list(args) + list(kwargs.values()) for b in (a if isinstance(a, (list, tuple)) else [a])]


def _kind(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a torch.Tensor of shape {tuple(value.shape)}"
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape}"
    return f"a {type(value).__name__}"


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn`, first checking that some argument is a trtnn Tensor (else a ConfigError naming the trtnn way); numpy
    arrays among the arguments are passed on as torch tensors."""
    name = fn.__name__

    @functools.wraps(fn)
    def op(*args: Any, **kwargs: Any) -> Any:
        values = _values(args, kwargs)
        if not any(isinstance(v, Tensor) for v in values):
            first = _kind(values[0]) if values else "no arguments"
            raise ConfigError(
                f"trtnn.functional.{name} got {first} and no trtnn Tensor: trtnn ops emit TensorRT layers, so call "
                f"them in forward on the Tensors trtnn.define / trtnn.build pass in (a torch tensor or numpy array "
                f"can join them as a constant, e.g. x * array); for torch values use torch.nn.functional.{name}, "
                f"and to run a trtnn model on the CPU use trtnn.reference.Executor.from_model")
        if any(isinstance(v, np.ndarray) for v in values):  # numpy constants count as torch ones, in lists too
            args, kwargs = _as_torch(args), {k: _as_torch(v) for k, v in kwargs.items()}
        return fn(*args, **kwargs)
    return op


def _as_torch(value: Any) -> Any:
    """numpy arrays (at the top level and in lists/tuples) as torch tensors; everything else as is."""
    if isinstance(value, np.ndarray):
        return torch.as_tensor(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_as_torch(v) for v in value)
    return value
