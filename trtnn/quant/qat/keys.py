"""Quantizers named in a QAT state_dict (no model needed): ModelOpt's `_amax` buffers and torch.ao's fake-quant /
observer buffers, by the module path they belong to."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch

from ...compile.quantize.ranges import QATRanges, Site
from ...errors import ConfigError
from .affine import convert, weight_amax

log = logging.getLogger("trtnn.quant")

APP = ".activation_post_process"
WFQ = ".weight_fake_quant"
_CANDIDATES = ((-128, 127), (0, 127), (0, 255), (-127, 127), (-64, 63))


def is_quantizer_key(key: str) -> bool:
    return "_quantizer." in key or "activation_post_process" in key or "weight_fake_quant" in key


def _owner(key: str) -> Tuple[str, str]:
    """(module path, role) of a torch.ao quantizer key: role 'weight' or 'output' ('' when not a scale key)."""
    if key.endswith(WFQ + ".scale"):
        return key[: -len(WFQ + ".scale")], "weight"
    if key.endswith(APP + ".scale") and WFQ not in key:
        return key[: -len(APP + ".scale")], "output"
    if key.startswith("activation_post_process_") and key.endswith(".scale") and key.count(".") == 1:
        return key[: -len(".scale")], "fx"
    return "", ""


def infer_qrange(scale: torch.Tensor, zero_point: torch.Tensor, low: Optional[torch.Tensor],
                 high: Optional[torch.Tensor], weight: bool) -> Tuple[int, int]:
    """torch.ao's integer range [qmin, qmax], which a state_dict does not store: the candidate whose qparams formulas
    (affine: s = (max - min) / (qmax - qmin), z = qmin - round(min / s); symmetric: s = max|x| / ((qmax - qmin) / 2),
    z = 0 or the middle) give the stored scale and zero_point from the stored observer min/max; without them:
    [-128, 127] for zero_point 0, else quint8 [0, 255]."""
    z = int(zero_point.flatten()[0]) if zero_point is not None and zero_point.numel() else 0
    if low is not None and high is not None and low.numel() and high.numel():
        lo, hi = float(low.min().clamp(max=0)), float(high.max().clamp(min=0))
        s = float(scale.flatten()[0]) if scale.numel() == 1 else None
        for qmin, qmax in _CANDIDATES:
            if s is None or s == 0 or not qmin <= z <= qmax:
                continue
            affine = (hi - lo) / (qmax - qmin)
            symmetric = max(-lo, hi) / ((qmax - qmin) / 2)
            affine_z = min(max(qmin - round(lo / s), qmin), qmax)
            symmetric_z = 0 if qmin < 0 else (qmin + qmax + 1) // 2
            if (abs(affine - s) <= 1e-5 * s and z == affine_z) or (abs(symmetric - s) <= 1e-5 * s and z == symmetric_z):
                return qmin, qmax
    if weight or z == 0:
        return -128, 127
    return 0, 255


def from_state_dict(state_dict: Mapping[str, Any], strict: bool = True) -> QATRanges:
    """QATRanges of a state_dict's quantizers, by module path (see trtnn.quant.qat_calibration)."""
    sd = {k: (v.detach() if isinstance(v, torch.Tensor) else torch.as_tensor(v)) for k, v in state_dict.items()}
    ranges = QATRanges({}, {}, strict=strict)
    unknown: List[str] = []
    for key, value in sd.items():
        if not is_quantizer_key(key):
            continue
        if key.endswith("._amax"):
            _modelopt(ranges, key, value.double())
        elif key.endswith("_quantizer._pre_quant_scale"):
            if not bool((value == 1).all()):
                unknown.append(f"{key} (a pre-quantization scale, not 1: SmoothQuant/AWQ are not supported)")
        elif "_quantizer." in key:
            continue  # ModelOpt's other buffers (_bias, _scale) ride with _amax
        else:
            path, role = _owner(key)
            if role:
                _torch_ao(ranges, sd, key, path, role)
    for path in list(ranges.weight_amax):
        if path + ".bn.running_mean" in sd:  # torch.ao fused ConvBn: the range is of the folded kernel
            ranges.folded_weights.add(path)
    if unknown:
        msg = f"QAT checkpoint: {len(unknown)} quantizer key(s) trtnn cannot place: {unknown[:8]}"
        if strict:
            raise ConfigError(msg + "; pass strict=False to go on without them")
        log.warning("%s (left out: strict=False)", msg)
    return ranges


def _modelopt(ranges: QATRanges, key: str, value: torch.Tensor) -> None:
    base = key[: -len("._amax")]
    path, _, which = base.rpartition(".")
    if which == "weight_quantizer":
        ranges.weight_amax[path] = value.abs().flatten().float()
        ranges.sites.append(Site(key, f"{path}:weight", None, None, (-128, 127), ranges.weight_amax[path]))
    elif which in ("input_quantizer", "output_quantizer"):
        site = f"{path}:input" if which == "input_quantizer" else path
        ranges.amax[site] = float(value.abs().max())
        ranges.sites.append(Site(key, site, None, None, (-128, 127), ranges.amax[site]))
    else:
        raise ConfigError(f"QAT checkpoint: '{key}' is a ModelOpt quantizer trtnn does not know (expected "
                          f"input_quantizer, weight_quantizer or output_quantizer)")


def _torch_ao(ranges: QATRanges, sd: Dict[str, torch.Tensor], key: str, path: str, role: str) -> None:
    prefix = key[: -len(".scale")]
    scale, zp = sd[key].double(), sd.get(prefix + ".zero_point")
    obs = prefix + APP
    low, high = sd.get(obs + ".min_val"), sd.get(obs + ".max_val")
    qmin, qmax = infer_qrange(scale, zp, low, high, role == "weight")
    add_torch_ao(ranges, key, path, role, scale, zp, qmin, qmax)


def add_torch_ao(ranges: QATRanges, key: str, site: str, role: str, scale: torch.Tensor,
                 zero_point: Optional[torch.Tensor], qmin: int, qmax: int) -> None:
    """Add one torch.ao quantizer (its scale, zero_point and integer range) at `site`; warns when inexact."""
    if role == "weight":
        amax, error = weight_amax(scale, zero_point, qmin, qmax)
        ranges.weight_amax[site] = amax
        ranges.sites.append(Site(key, f"{site}:weight", scale.float().flatten(), _zp(zero_point), (qmin, qmax), amax,
                                 error))
    else:
        z = int(zero_point.flatten()[0]) if zero_point is not None else 0
        conv = convert(float(scale.flatten()[0]), z, qmin, qmax)
        ranges.amax[site] = conv.amax
        if conv.clip is not None:
            ranges.clip[site] = conv.clip
        ranges.sites.append(Site(key, site, conv.scale, z, (qmin, qmax), conv.amax, conv.error))
        error = conv.error
    if error:
        log.warning("QAT: quantizer '%s' (at %s) has no exact TensorRT equivalent: %s", key, site, error)


def _zp(zero_point: Optional[torch.Tensor]) -> Any:
    if zero_point is None:
        return 0
    flat = zero_point.flatten()
    return int(flat[0]) if bool((flat == flat[0]).all()) else flat.tolist()
