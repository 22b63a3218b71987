"""QAT import: the quantizer ranges a quantization-aware-trained state_dict carries, as trtnn calibration ranges.

Formats read (keys are module paths `X` of the checkpoint; name modules like the trtnn model or rename the keys):
- NVIDIA ModelOpt: `X.input_quantizer._amax` -> amax of X's input (stored as `X:input`), `X.output_quantizer._amax`
  -> amax of tensor `X`, `X.weight_quantizer._amax` (per output channel) -> weight amax of `X`.
- PyTorch torch.ao fake-quant / observers: `X.activation_post_process.scale/zero_point` -> amax of tensor `X` (X's
  output); `X.weight_fake_quant.scale` (per channel, zero_point 0) -> weight amax of `X`; observers holding only
  `min_val/max_val` -> max(|min|, |max|).
A symmetric scale s (zero_point 0, signed) becomes amax = 127 s, so TensorRT's scale amax/127 IS s: the engine
quantizes on exactly the trained grid. An unsigned or affine range (quint8, zero_point z in [0, 255]) has no exact
symmetric equivalent: amax = s * max(z, 255 - z) covers it (or 255 s when z = 0 and the observed min is >= 0).
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

import torch

from ..compile.quantize.ranges import Ranges

QAT_KEYS = ["*_quantizer.*", "*activation_post_process*", "*weight_fake_quant*"]
"""Glob patterns of quantizer keys: `module.load_state_dict(sd, ignore=trtnn.quant.QAT_KEYS)` loads a QAT
checkpoint's weights and leaves its quantizer ranges to `qat_calibration`."""

_APP = ".activation_post_process"


def qat_calibration(state_dict: Mapping[str, Any]) -> Ranges:
    """(activation amax by tensor name or `path:input`, per-channel weight amax by module path) from a QAT
    state_dict; pass it as `trtnn.define(..., dtype="int8", calibration=qat_calibration(sd))`."""
    sd = {k: torch.as_tensor(v).detach().double() for k, v in state_dict.items() if _is_quantizer_key(k)}
    amax: Dict[str, float] = {}
    weights: Dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        if key.endswith(".input_quantizer._amax"):
            amax[key[: -len(".input_quantizer._amax")] + ":input"] = float(value.abs().max())
        elif key.endswith(".output_quantizer._amax"):
            amax[key[: -len(".output_quantizer._amax")]] = float(value.abs().max())
        elif key.endswith(".weight_quantizer._amax"):
            weights[key[: -len(".weight_quantizer._amax")]] = value.abs().flatten().float()
        elif key.endswith(".weight_fake_quant.scale"):
            weights[key[: -len(".weight_fake_quant.scale")]] = (value.flatten() * 127).float()
        elif key.endswith(_APP + ".scale"):
            path = key[: -len(_APP + ".scale")]
            amax[path] = _affine_amax(value, sd.get(path + _APP + ".zero_point"), _observed_min(sd, path + _APP))
    for key, value in sd.items():  # plain observers (no fake-quant scale): their observed range
        if key.endswith(_APP + ".max_val"):
            path = key[: -len(_APP + ".max_val")]
            if path not in amax and not path.endswith(_APP):
                low = sd.get(path + _APP + ".min_val", value)
                amax[path] = float(torch.maximum(low.abs().max(), value.abs().max()))
    return Ranges(amax, weights)


def _is_quantizer_key(key: str) -> bool:
    return "_quantizer." in key or "activation_post_process" in key or "weight_fake_quant" in key


def _observed_min(sd: Dict[str, torch.Tensor], prefix: str) -> Optional[float]:
    low = sd.get(prefix + _APP + ".min_val")
    return None if low is None or low.numel() == 0 else float(low.min())


def _affine_amax(scale: torch.Tensor, zero_point: Optional[torch.Tensor], observed_min: Optional[float]) -> float:
    s = float(scale.flatten()[0])
    z = 0 if zero_point is None else int(zero_point.flatten()[0])
    if z == 0:
        return s * (255 if observed_min is not None and observed_min >= 0 else 127)
    if z > 0:  # unsigned [0, 255]
        return s * max(z, 255 - z)
    return s * max(128 + z, 127 - z)  # signed affine [-128, 127]: |(-128 - z) s|, |(127 - z) s|
