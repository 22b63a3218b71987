"""`Precision`: how a network computes — one options object that define, build, the precision report, calibration and
the CLI pass whole.

    trtnn.build(model, inputs, precision=trtnn.Precision("fp16", keep_fp32=["head"]))
    trtnn.build(model, inputs, dtype="fp16", keep_fp32=["head"])          # the same network
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence

import torch

from .. import dtypes
from ..errors import ConfigError, TrtnnError
from .quantize.qdq import quant_format


@dataclass(frozen=True)
class Precision:
    """dtype: the compute dtype ('fp32'|'fp16'|'bf16'; None: the model's parameter dtype), or 'int8'|'fp8' for
    explicit quantization (Q/DQ with the amax of `calibration`, the rest computed in `base_dtype`).
    calibration: tensor name -> amax, an object with `.amax` (trtnn.quant.calibrate), or trtnn.quant.qat_calibration.
    exclude: module paths, module class names or TensorRT layer type names left unquantized (int8/fp8 only).
    keep_fp32 / keep_fp16: module paths or class names computed in that dtype (casts at their boundaries; never
    quantized).
    fold_bn: fold BatchNorm into the convolution before it."""

    dtype: Any = None
    base_dtype: Any = "fp16"
    calibration: Any = None
    exclude: Sequence[str] = ()
    keep_fp32: Sequence[str] = ()
    keep_fp16: Sequence[str] = ()
    fold_bn: bool = True

    def __post_init__(self) -> None:
        for name in ("exclude", "keep_fp32", "keep_fp16"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise ConfigError(f"{name} must be a list of module paths or class names, got the string {value!r} "
                                  f"(write {name}=[{value!r}])")
            object.__setattr__(self, name, tuple(value or ()))
        if not isinstance(self.fold_bn, bool):
            raise ConfigError(f"fold_bn must be True or False, got {self.fold_bn!r}")

    @property
    def format(self) -> Optional[torch.dtype]:
        """torch.int8 / torch.float8_e4m3fn for a quantized network, None for a floating one."""
        return quant_format(self.dtype)

    @property
    def quantized(self) -> bool:
        return self.format is not None

    @property
    def label(self) -> str:
        """'fp16', 'int8 (rest fp16)': the precision in words."""
        name = self.dtype if isinstance(self.dtype, str) or self.dtype is None else dtypes.short(self.dtype)
        return f"{name} (rest {self.base_dtype})" if self.quantized else str(name)

    def compute_dtype(self, model: Any) -> torch.dtype:
        """The floating dtype the network computes in (base_dtype when quantized; the model's when dtype is None)."""
        try:
            compute = dtypes.to_torch(self.base_dtype if self.quantized else self.dtype) if self.dtype is not None \
                else _model_dtype(model)
        except TrtnnError as e:
            raise ConfigError(f"dtype: {e.message}") from None
        if compute not in dtypes.FLOATING:
            raise ConfigError(f"compute dtype must be fp32, fp16 or bf16, got {dtypes.short(compute)}")
        return compute

    def check(self) -> None:
        """Calibration and exclude go with int8/fp8 only, and int8/fp8 needs calibration (ConfigError)."""
        if not self.quantized and (self.calibration is not None or self.exclude):
            raise ConfigError(f"calibration= and exclude= are for dtype='int8' or 'fp8', got dtype={self.dtype!r}")
        if self.quantized and self.calibration is None:
            raise ConfigError(f"dtype={self.dtype!r} needs calibration= (tensor name -> amax; see trtnn.quant)")

    def replace(self, **changes: Any) -> "Precision":
        """A copy with `changes` (Precision's field names)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def resolve(cls, precision: Optional["Precision"], options: Dict[str, Any], caller: str) -> "Precision":
        """`precision=` (a Precision, or a dtype name with the other fields as keywords) or the fields as keyword
        arguments (dtype=, keep_fp32=, ...) as one Precision; a Precision and keywords at once, or a keyword that is
        not a field, are refused."""
        unknown = sorted(set(options) - FIELDS)
        if unknown:
            raise TypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r}")
        if precision is None or isinstance(precision, str):  # a dtype string is short for Precision(dtype)
            if precision is not None and "dtype" in options:
                raise TypeError(f"{caller}() got multiple values for dtype ({precision!r} and {options['dtype']!r})")
            return cls(**options) if precision is None else cls(precision, **options)
        if not isinstance(precision, Precision):
            raise ConfigError(f"{caller}: precision must be a trtnn.Precision or a dtype name, got "
                              f"{type(precision).__name__}")
        if options:
            raise ConfigError(f"{caller}: give either precision= or {', '.join(f'{k}=' for k in sorted(options))}, "
                              f"not both (they are the fields of trtnn.Precision)")
        return precision


FIELDS = frozenset(f.name for f in dataclasses.fields(Precision))


def _model_dtype(model: Any) -> torch.dtype:
    for p in model.parameters():
        if p.dtype.is_floating_point:
            return p.dtype
    return torch.float32
