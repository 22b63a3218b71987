"""dtype names: one mapping between strings, torch, numpy and TensorRT DataType."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import torch

from . import backend
from .errors import UnsupportedError

_ALIASES = {
    "fp32": torch.float32, "float32": torch.float32, "float": torch.float32,
    "fp16": torch.float16, "float16": torch.float16, "half": torch.float16,
    "bf16": torch.bfloat16, "bfloat16": torch.bfloat16,
    "int8": torch.int8, "uint8": torch.uint8, "int32": torch.int32, "int64": torch.int64,
    "bool": torch.bool, "fp8": torch.float8_e4m3fn, "float8_e4m3fn": torch.float8_e4m3fn,
}
# (torch dtype, TensorRT DataType attribute name)
_TRT = [
    (torch.float32, "FLOAT"), (torch.float16, "HALF"), (torch.bfloat16, "BF16"), (torch.int8, "INT8"),
    (torch.uint8, "UINT8"), (torch.int32, "INT32"), (torch.int64, "INT64"), (torch.bool, "BOOL"),
    (torch.float8_e4m3fn, "FP8"),
]
FLOATING = (torch.float32, torch.float16, torch.bfloat16)


def to_torch(dtype: Any) -> torch.dtype:
    """Any dtype spelling (str, torch, numpy, TensorRT) as a torch.dtype."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, str):
        if dtype.lower() in _ALIASES:
            return _ALIASES[dtype.lower()]
        raise UnsupportedError(f"unsupported dtype {dtype!r}; expected one of {', '.join(sorted(_ALIASES))}")
    if isinstance(dtype, (np.dtype, type)) and not type(dtype).__module__.startswith("tensorrt"):
        try:
            return torch.from_numpy(np.zeros(0, dtype=dtype)).dtype
        except TypeError as e:
            raise UnsupportedError(f"unsupported dtype {dtype!r}") from e
    t = _from_trt().get(dtype)
    if t is None:
        raise UnsupportedError(f"unsupported dtype {dtype!r}")
    return t


@lru_cache(maxsize=None)
def _from_trt() -> dict:
    trt = backend.get()
    return {getattr(trt.DataType, name): t for t, name in _TRT if hasattr(trt.DataType, name)}


def to_trt(dtype: Any):
    """Any dtype spelling as a TensorRT DataType."""
    t = to_torch(dtype)
    trt = backend.get()
    for tt, name in _TRT:
        if tt == t and hasattr(trt.DataType, name):
            return getattr(trt.DataType, name)
    raise UnsupportedError(f"dtype {t} has no TensorRT equivalent in {backend.name()}")


def short(dtype: Any) -> str:
    """'fp32', 'fp16', 'int32'...: the spelling used in names and messages."""
    t = to_torch(dtype)
    return {torch.float32: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16"}.get(t, str(t).replace("torch.", ""))


def promote(a: torch.dtype, b: torch.dtype) -> torch.dtype:
    """torch's type promotion for two tensor dtypes."""
    return torch.promote_types(a, b)
