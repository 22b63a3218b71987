"""Quantizer ranges as trtnn.define takes them: activation amax by tensor name, per-channel weight amax by module."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Set, Tuple

import numpy as np
import torch

from ... import dtypes
from ...errors import ConfigError


class Ranges(NamedTuple):
    """Quantizer ranges: activation amax by tensor name (or `<module path>:input` for the input of that module's
    layer, as ModelOpt's input quantizers give them) and per-channel weight amax by module path."""

    amax: Dict[str, float]
    weight_amax: Dict[str, torch.Tensor]
    exclude: Tuple[str, ...] = ()  # module paths a calibration's INT8 policy keeps unquantized
    layers: Tuple[str, ...] = ()  # and layer names


@dataclass
class Site:
    """One quantizer of a QAT checkpoint: its state_dict key, where trtnn places it (`site`: a tensor name, a module
    path (its output), `path:input` or `path:weight`), the torch scale / zero_point / integer range it had, the amax
    TensorRT gets and `error` (None when the engine quantizes on exactly the trained grid)."""

    key: str
    site: str
    scale: Any
    zero_point: Any
    qrange: Tuple[int, int]
    amax: Any
    error: Optional[str] = None

    @property
    def exact(self) -> bool:
        return self.error is None


@dataclass
class QATRanges:
    """A QAT checkpoint's quantizers, placed exactly where the trained model had them (trtnn.compile.quantize.exact),
    not where a calibrated build would put Q/DQ.

    amax: site -> amax; a site is a tensor name or a module path (that module's output), or `path:input` (the input
    of that module's layers, as ModelOpt's input quantizers). weight_amax: module path -> per-channel amax.
    folded_weights: module paths whose weight range is of the kernel AFTER BatchNorm folding (torch.ao's fused ConvBn).
    fused_relu: module paths whose output quantizer sits after the ReLU that follows them (torch.ao's ConvReLU /
    ConvBnReLU / LinearReLU). clip: site -> (lo, hi) placed before Q where torch saturates earlier than TensorRT.
    strict: a quantizer that cannot be placed raises (else a warning lists it). sites: one `Site` per quantizer.
    fold_bn: what to define with (False when a quantizer sits between a convolution and its BatchNorm)."""

    amax: Dict[str, float]
    weight_amax: Dict[str, torch.Tensor]
    folded_weights: Set[str] = field(default_factory=set)
    fused_relu: Set[str] = field(default_factory=set)
    clip: Dict[str, Tuple[float, float]] = field(default_factory=dict)
    strict: bool = True
    sites: List[Site] = field(default_factory=list)
    fold_bn: bool = True

    def table(self) -> str:
        """One line per quantizer: key, site, torch scale and zero_point, TensorRT scale (amax / 127), exact or why
        not."""
        rows = []
        for s in self.sites:
            scale = s.scale if not isinstance(s.scale, torch.Tensor) or s.scale.numel() == 1 else \
                f"{s.scale.numel()} channels, {float(s.scale.min()):.6g}..{float(s.scale.max()):.6g}"
            rows.append(f"{s.key}  ->  {s.site}: torch scale {scale}, zero_point {s.zero_point}, "
                        f"range {list(s.qrange)}; {'exact' if s.exact else s.error}")
        return "\n".join(rows)


def as_ranges(calibration: Any) -> Any:
    """A calibration as Ranges: a dict tensor name -> amax, an object with an `.amax` dict (and optionally a
    `.weight_amax` dict), or a (amax, weight_amax) pair; QATRanges (trtnn.quant.from_qat / qat_calibration) as they
    are, checked."""
    if isinstance(calibration, QATRanges):
        for name, v in calibration.amax.items():
            _checked(name, v)
        return calibration
    if isinstance(calibration, Mapping):
        act, weights = calibration, {}
    elif hasattr(calibration, "amax"):
        act, weights = calibration.amax, getattr(calibration, "weight_amax", None) or {}
    elif isinstance(calibration, (tuple, list)) and len(calibration) == 2:
        act, weights = calibration
    else:
        raise ConfigError(f"calibration: expected a dict tensor name -> amax, an object with an .amax dict or an "
                          f"(amax, weight_amax) pair, got {type(calibration).__name__}")
    amax = {}
    for name, v in dict(act).items():
        amax[str(name)] = _checked(name, v)
    policy = getattr(calibration, "policy", None) if not isinstance(calibration, Mapping) else None
    exclude, layers = (tuple(policy.defaults), tuple(policy.kept)) if policy is not None else ((), ())
    return Ranges(amax, {str(k): torch.as_tensor(v, dtype=torch.float32).flatten() for k, v in dict(weights).items()},
                  exclude, layers)


def _checked(name: str, v: Any) -> float:
    try:
        val = float(v)
    except (TypeError, ValueError):
        raise ConfigError(f"calibration: amax of '{name}' must be a number, got {type(v).__name__}") from None
    if not np.isfinite(val) or val < 0:
        raise ConfigError(f"calibration: amax of '{name}' must be finite and >= 0, got {val}")
    return val


def checked_amax(name: str, amax: float, dtype: Optional[torch.dtype] = None) -> float:
    """`amax` of tensor `name` as a Q/DQ scale needs it: > 0 (a range of 0 means the calibration data never reached
    the tensor: all zeros, or a broken preprocessing) and, given the `dtype` the tensor is computed in, within it."""
    if not amax > 0:
        raise ConfigError(f"calibration: tensor '{name}' has range 0 (amax {amax}): the calibration data gave it no "
                          f"non-zero value (all-zero data or preprocessing?); recalibrate on real data or exclude "
                          f"the module that makes it")
    if dtype is not None and amax > torch.finfo(dtype).max:
        raise ConfigError(f"calibration: tensor '{name}' has amax {amax:g}, beyond what {dtypes.short(dtype)} (the "
                          f"dtype it is computed in) holds ({torch.finfo(dtype).max:g}); recalibrate on real data, or "
                          f"compute it in a wider dtype (base_dtype='fp32', keep_fp32)")
    return amax


def for_end2end(amax: Mapping[str, float], wrapper: Any, input_name: str) -> Dict[str, float]:
    """The raw model's amax renamed for its end-to-end wrapper: its tensors sit under `model.`, and its input is the
    wrapper's preprocessing output (or the wrapper's own input)."""
    out = {f"model.{k}": v for k, v in amax.items()}
    if input_name in amax:
        out["preprocess" if getattr(wrapper, "preprocess", None) is not None else input_name] = amax[input_name]
    return out
