"""Quantizer ranges as trtnn.define takes them: activation amax by tensor name, per-channel weight amax by module."""
from __future__ import annotations

from typing import Any, Dict, Mapping, NamedTuple, Tuple

import numpy as np
import torch

from ...errors import ConfigError


class Ranges(NamedTuple):
    """Quantizer ranges: activation amax by tensor name (or `<module path>:input` for the input of that module's
    layer, as ModelOpt's input quantizers give them) and per-channel weight amax by module path."""

    amax: Dict[str, float]
    weight_amax: Dict[str, torch.Tensor]
    exclude: Tuple[str, ...] = ()  # module paths a calibration's INT8 policy keeps unquantized
    layers: Tuple[str, ...] = ()  # and layer names


def as_ranges(calibration: Any) -> Ranges:
    """A calibration as Ranges: a dict tensor name -> amax, an object with an `.amax` dict (and optionally a
    `.weight_amax` dict), or a (amax, weight_amax) pair as trtnn.quant.qat_calibration returns."""
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
        try:
            val = float(v)
        except (TypeError, ValueError):
            raise ConfigError(f"calibration: amax of '{name}' must be a number, got {type(v).__name__}") from None
        if not np.isfinite(val) or val < 0:
            raise ConfigError(f"calibration: amax of '{name}' must be finite and >= 0, got {val}")
        amax[str(name)] = val
    policy = getattr(calibration, "policy", None) if not isinstance(calibration, Mapping) else None
    exclude, layers = (tuple(policy.defaults), tuple(policy.kept)) if policy is not None else ((), ())
    return Ranges(amax, {str(k): torch.as_tensor(v, dtype=torch.float32).flatten() for k, v in dict(weights).items()},
                  exclude, layers)


def for_end2end(amax: Mapping[str, float], wrapper: Any, input_name: str) -> Dict[str, float]:
    """The raw model's amax renamed for its end-to-end wrapper: its tensors sit under `model.`, and its input is the
    wrapper's preprocessing output (or the wrapper's own input)."""
    out = {f"model.{k}": v for k, v in amax.items()}
    if input_name in amax:
        out["preprocess" if getattr(wrapper, "preprocess", None) is not None else input_name] = amax[input_name]
    return out
