"""What torch ops and modules become in trtnn code: operators, functions, Tensor methods and leaf layers.

The tables look trtnn's own names up (trtnn.functional, trtnn.Tensor, trtnn.nn), so an op added to trtnn is
mapped without touching this file; only names that differ between torch and trtnn are listed here.
"""
from __future__ import annotations

import inspect
import operator
from typing import Any, Dict, List, Optional, Tuple

import torch

from .. import functional as F
from .. import nn as trtnn_nn
from ..graph.tensor import Tensor

BINARY: Dict[Any, str] = {
    operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/", operator.floordiv: "//",
    operator.mod: "%", operator.pow: "**", operator.matmul: "@", operator.and_: "&", operator.or_: "|",
    operator.eq: "==", operator.ne: "!=", operator.lt: "<", operator.le: "<=", operator.gt: ">", operator.ge: ">=",
}
UNARY: Dict[Any, str] = {operator.neg: "-", operator.pos: "+", operator.invert: "~"}
# operators a trtnn Tensor implements (the others, e.g. %, only on Python values and define-time torch tensors)
TENSOR_OPERATORS = {"+", "-", "*", "/", "//", "**", "@", "&", "|", "==", "!=", "<", "<=", ">", ">=", "~"}

# torch spellings whose trtnn.functional name differs
FUNCTION_ALIASES = {
    "bmm": "matmul", "mm": "matmul", "true_divide": "div", "multiply": "mul", "subtract": "sub", "divide": "div",
    "concat": "cat", "concatenate": "cat", "swapaxes": "transpose", "swapdims": "transpose", "clip": "clamp",
    "absolute": "abs", "negative": "neg", "greater": "gt", "less": "lt", "not_equal": "ne",
}
CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")
_NOT_ARGUMENTS = {"self", "device", "dtype", "_weight", "_freeze"}


def qualified_name(fn: Any) -> str:
    """`torch.nn.functional.relu`, `torch.cat`, `math.sqrt`: how generated code names a Python/torch function."""
    module = getattr(fn, "__module__", None) or "torch"
    name = getattr(fn, "__name__", repr(fn))
    if module.startswith("torch._C") or module == "torch._tensor" or module.startswith("torch.functional"):
        module = "torch"
    if module == "torch.nn.functional" or (module == "torch" and not hasattr(torch, name)):
        module = "torch.nn.functional" if hasattr(torch.nn.functional, name) else module
    return f"{module}.{name}"


def trtnn_function(fn: Any) -> Optional[str]:
    """The trtnn.functional name emitting torch function `fn` on network tensors, or None."""
    name = getattr(fn, "__name__", "")
    name = FUNCTION_ALIASES.get(name, name)
    return name if callable(getattr(F, name, None)) and not name.startswith("_") else None


def trtnn_method(name: str) -> Tuple[Optional[str], Optional[str]]:
    """A Tensor method on a network tensor: ('method', name) if trtnn.Tensor has it, ('function', F name) if only
    trtnn.functional does, (None, None) if neither."""
    if hasattr(Tensor, name) and not name.startswith("_"):
        return "method", name
    fn = FUNCTION_ALIASES.get(name, name)
    if callable(getattr(F, fn, None)) and not fn.startswith("_"):
        return "function", fn
    return None, None


def is_torch_layer(module: torch.nn.Module) -> bool:
    """A torch.nn layer, or a layer of another library that trtnn.nn has (torchvision's DeformConv2d): emitted as a
    trtnn.nn constructor call, never traced into. Every other module, whatever package it comes from, is traced."""
    mod = type(module).__module__
    return mod.startswith("torch.nn.") or (mod.startswith("torchvision.ops") and trtnn_layer(module) is not None)


def trtnn_layer(module: torch.nn.Module) -> Any:
    """The trtnn.nn class of the same name as the torch layer, or None."""
    name = type(module).__name__
    return getattr(trtnn_nn, name, None) if name in getattr(trtnn_nn, "__all__", ()) else None


def layer_arguments(module: torch.nn.Module) -> Tuple[List[Tuple[str, Any, Any, bool]], List[str]]:
    """The torch layer's constructor arguments, read back from its attributes: [(name, value, default, required)],
    and the names that could not be read (the generated call cannot reproduce them)."""
    params = inspect.signature(type(module).__init__).parameters
    args, unknown = [], []
    for name, p in params.items():
        if name in _NOT_ARGUMENTS or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        found, value = _attribute(module, name)
        if not found:
            if p.default is p.empty:
                unknown.append(name)
            continue
        required = p.default is p.empty
        value = _collapsed(value, p.default)
        if name in ("kdim", "vdim") and value == module.embed_dim:
            value = None
        args.append((name, value, p.default, required))
    return args, unknown


def _attribute(module: torch.nn.Module, name: str) -> Tuple[bool, Any]:
    """Constructor argument `name` of a torch layer as stored on the instance (bias flags from the tensors)."""
    if name == "bias" and "in_proj_bias" in module._parameters:  # MultiheadAttention
        return True, module.in_proj_bias is not None
    if name == "add_bias_kv":
        return True, getattr(module, "bias_k", None) is not None
    if name == "bias" and "bias" in module._parameters:
        if not getattr(module, "affine", True) or not getattr(module, "elementwise_affine", True):
            return False, None  # no weights at all: `bias` says nothing
        return True, module.bias is not None
    if name in module.__dict__ and not isinstance(module.__dict__[name], torch.Tensor):
        return True, module.__dict__[name]
    return False, None


def _collapsed(value: Any, default: Any) -> Any:
    """(3, 3) -> 3 where torch takes an int for all dims (kernel_size, stride, normalized_shape ...)."""
    if isinstance(value, tuple) and value and not isinstance(default, tuple) and all(
            type(v) is int and v == value[0] for v in value):
        return value[0]
    return value


def same(a: Any, b: Any) -> bool:
    """Equal and of the same type (1 is not 1.0 nor True); False for incomparable values."""
    try:
        return type(a) is type(b) and bool(a == b) or (a is None and b is None)
    except Exception:  # noqa: BLE001  (incomparable values are not the default)
        return False


def missing_arguments(layer: Any, args: List[Tuple[str, Any, Any, bool]]) -> List[str]:
    """Arguments (not at their default) the trtnn layer's constructor does not take."""
    params = inspect.signature(layer.__init__).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return []
    return [name for name, value, default, required in args
            if name not in params and (required or not same(value, default))]
