"""Shared pieces of the CPU reference executor: layer nodes, the handler registry, dtypes and weights."""
from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .. import backend
from ..errors import UnsupportedError

Fn = Callable[..., Any]
# LayerType name -> (I*Layer class name, builder(node) -> step function)
HANDLERS: Dict[str, Tuple[str, Callable[["Node"], Fn]]] = {}

_TORCH_DTYPES = {
    "FLOAT": torch.float32, "HALF": torch.float16, "BF16": torch.bfloat16, "INT8": torch.int8,
    "INT32": torch.int32, "INT64": torch.int64, "BOOL": torch.bool, "UINT8": torch.uint8,
    "FP8": getattr(torch, "float8_e4m3fn", None),
}
_NUMPY_VIEW = {"BF16": np.uint16, "FP8": np.uint8}  # weights torch/numpy cannot hand over directly
FLOATS = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


def register(kind: str, cls: str) -> Callable[[Callable[["Node"], Fn]], Callable[["Node"], Fn]]:
    """Declare `fn(node) -> step` as the builder for LayerType `kind`, read through I*Layer class `cls`."""
    def deco(fn):
        HANDLERS[kind] = (cls, fn)
        return fn
    return deco


def torch_dtype(dt: Any, what: str = "tensor") -> torch.dtype:
    """torch dtype of a TensorRT DataType; UnsupportedError for INT4/FP4/E8M0 and friends."""
    out = _TORCH_DTYPES.get(dt.name)
    if out is None:
        raise UnsupportedError(f"{what}: data type {dt.name} has no torch CPU equivalent")
    return out


def dims(d: Any) -> Optional[Tuple[int, ...]]:
    """A TensorRT Dims / sequence as a tuple of ints (None stays None)."""
    return None if d is None else tuple(int(v) for v in d)


@dataclass
class Node:
    """One layer, read once: its typed TensorRT object plus names, dtypes and static shapes of its tensors."""
    layer: Any
    index: int
    name: str
    kind: str
    inputs: List[Optional[str]]
    outputs: List[str]
    in_dtypes: List[Optional[torch.dtype]] = field(default_factory=list)
    out_dtypes: List[torch.dtype] = field(default_factory=list)
    in_shapes: List[Optional[Tuple[int, ...]]] = field(default_factory=list)
    out_shapes: List[Optional[Tuple[int, ...]]] = field(default_factory=list)

    def unsupported(self, what: str) -> UnsupportedError:
        return UnsupportedError(f"layer '{self.name}' ({self.kind}): {what} is not supported by the CPU executor")

    def has_input(self, i: int) -> bool:
        return i < len(self.inputs) and self.inputs[i] is not None


def typed(layer: Any) -> Tuple[str, Any]:
    """(kind, layer as its concrete class): INetworkDefinition.get_layer returns the base ILayer. Read the kind
    here: on some classes `.type` means something else afterwards (IActivationLayer, IPoolingLayer)."""
    kind = layer.type.name
    if kind in HANDLERS:
        layer.__class__ = getattr(backend.get(), HANDLERS[kind][0])
    return kind, layer


def read_node(layer: Any, index: int) -> Node:
    """Read a layer's kind, typed class and tensor names/dtypes/shapes."""
    kind, layer = typed(layer)
    ins = [layer.get_input(i) for i in range(layer.num_inputs)]
    outs = [layer.get_output(i) for i in range(layer.num_outputs)]
    node = Node(layer, index, layer.name, kind, [t.name if t is not None else None for t in ins],
                [t.name for t in outs])
    for t in ins:
        node.in_dtypes.append(None if t is None else _dtype_or_none(t.dtype))
        node.in_shapes.append(None if t is None else _shape(t))
    for t in outs:
        node.out_dtypes.append(_dtype_or_none(t.dtype))
        node.out_shapes.append(_shape(t))
    return node


def _shape(tensor: Any) -> Optional[Tuple[int, ...]]:
    """Static dims (-1 = dynamic), or None where TensorRT cannot tell (a layer it rejects)."""
    try:
        return dims(tensor.shape)
    except RuntimeError:
        return None


def _dtype_or_none(dt: Any) -> Optional[torch.dtype]:
    return _TORCH_DTYPES.get(dt.name)


def _weights_buffer(w: Any) -> Tuple[int, int]:
    """(address, count) of a trt.Weights whose dtype the bindings cannot turn into numpy (BF16, FP8).

    Reads the C++ `nvinfer1::Weights {DataType type; void const* values; int64_t count;}` held by the pybind11
    instance, and checks type and count against what the bindings report before trusting the pointer.
    """
    holder = ctypes.c_void_p.from_address(id(w) + object.__basicsize__).value
    if not holder:
        raise UnsupportedError(f"cannot read {w.dtype.name} weights")
    dtype = ctypes.c_int32.from_address(holder).value
    values = ctypes.c_void_p.from_address(holder + 8).value
    count = ctypes.c_int64.from_address(holder + 16).value
    if dtype != int(w.dtype) or count != w.size or (count and not values):
        raise UnsupportedError(f"cannot read {w.dtype.name} weights from this TensorRT build")
    return values, count


def weights_tensor(w: Any, shape: Optional[Sequence[int]] = None) -> Optional[torch.Tensor]:
    """A trt.Weights / numpy array as an owned torch tensor (None when empty), reshaped to `shape` if given."""
    if w is None:
        return None
    if isinstance(w, np.ndarray):
        if w.size == 0:
            return None
        t = torch.from_numpy(np.array(w, copy=True))
    else:
        if w.size == 0:
            return None
        name = w.dtype.name
        if name in _NUMPY_VIEW:
            addr, count = _weights_buffer(w)
            view = np.dtype(_NUMPY_VIEW[name])
            raw = np.ctypeslib.as_array((ctypes.c_uint8 * (count * view.itemsize)).from_address(addr))
            t = torch.from_numpy(raw.view(view).copy()).view(torch_dtype(w.dtype, "weights"))
        else:
            t = torch.from_numpy(np.array(w.numpy(), copy=True))
    return t.reshape(tuple(shape)) if shape is not None else t
