"""`Calibration` (tensor name -> amax) and its cache file: readable JSON that says what it was computed from.

Cache document: {"trtnn_version", "method", "method_args", "network_hash", "weights_hash", "preprocess",
"num_batches", "amax": {tensor: amax}}. network_hash = sha256 over the network definition (inputs, then every layer's
name, type and outputs' names, shapes and dtypes, in order); weights_hash = sha256 over the state_dict (key, dtype,
shape and raw bytes of every tensor, in order); preprocess = what trtnn.quant.data.describe says of the data (paths
with their files' sizes and times, image folders with their preprocessing, or for in-memory batches the sha256 of the
batches used). A cache is reused only when all of these match. Its amax values are checked when it is read (finite,
> 0, within float32) and its tensor names against the network (`select`).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Collection, Dict, List, Mapping, Optional, Sequence

import numpy as np
import torch

from ..errors import CheckpointError, ConfigError
from ..io.files import atomic_write_bytes
from .stats import TensorStats

# what must match for a cache to be reused, in the order a mismatch is reported
_CHECKED = (("trtnn_version", "trtnn version"), ("method", "method"), ("method_args", "method arguments"),
            ("network_hash", "network definition"), ("weights_hash", "weights"),
            ("preprocess", "calibration data / preprocessing"))
FP32_MAX = float(np.finfo(np.float32).max)  # calibration observes float32 tensors: no amax can exceed it


@dataclass
class Calibration:
    """Calibration result: `amax[tensor name]` (scale = amax / 127 for INT8, amax / 448 for FP8 E4M3) and what it
    was computed from. `stats` (not saved) holds the per-tensor statistics when it was just calibrated."""

    amax: Dict[str, float]
    method: str
    num_batches: int
    method_args: Dict[str, Any] = field(default_factory=dict)
    network_hash: str = ""
    weights_hash: str = ""
    preprocess: Any = None
    trtnn_version: str = ""
    stats: Optional[Dict[str, TensorStats]] = field(default=None, repr=False, compare=False)
    policy: Optional[Any] = field(default=None, compare=False)  # trtnn.quant.sensitivity.Policy (not in the cache)
    defaults: List[str] = field(default_factory=list, compare=False)  # the model's never-quantize module paths
    reused: bool = field(default=False, repr=False, compare=False)  # read from the cache file

    @property
    def exclude(self) -> List[str]:
        """Module paths and layer names kept out of INT8/FP8 (trtnn.define applies them): the policy's, or without
        one (budget=None) the model's never-quantize defaults."""
        return list(self.policy.exclude) if self.policy is not None else list(self.defaults)

    def to_json(self) -> str:
        doc = {"trtnn_version": self.trtnn_version, "method": self.method, "method_args": self.method_args,
               "network_hash": self.network_hash, "weights_hash": self.weights_hash, "preprocess": self.preprocess,
               "num_batches": self.num_batches, "amax": self.amax}
        return json.dumps(doc, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "calibration JSON") -> "Calibration":
        """Parse `to_json`'s text; CheckpointError naming `source` when it is not one."""
        try:
            doc = json.loads(text)
            amax = {str(k): float(v) for k, v in doc["amax"].items()}
            calib = cls(amax, str(doc["method"]), int(doc["num_batches"]), dict(doc.get("method_args") or {}),
                       str(doc["network_hash"]), str(doc["weights_hash"]), doc.get("preprocess"),
                       str(doc["trtnn_version"]))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            what = f"missing key {e}" if isinstance(e, KeyError) else f"{type(e).__name__}: {e}"
            raise CheckpointError(f"{source} is not a trtnn calibration cache ({what}); "
                                  f"delete it or recalibrate") from e
        bad = {k: v for k, v in amax.items() if not (math.isfinite(v) and 0 < v <= FP32_MAX)}
        if bad:
            listed = ", ".join(f"'{k}': {v}" for k, v in list(bad.items())[:5])
            raise CheckpointError(f"{source}: amax must be finite, > 0 and at most the largest float32 "
                                  f"({FP32_MAX:.4g}); got {listed}{' ...' if len(bad) > 5 else ''}; delete it or "
                                  f"recalibrate")
        return calib

    def mismatch(self, expected: "Calibration") -> Optional[str]:
        """What differs between this (cached) calibration and `expected` (what would be computed now), or None."""
        for attr, label in _CHECKED:
            have, want = getattr(self, attr), getattr(expected, attr)
            if _canonical(have) != _canonical(want):
                return f"{label} changed (cache: {_short(have)}, now: {_short(want)})"
        return None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= 200 else text[:200] + "..."


def read_cache(path: str) -> Calibration:
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except UnicodeDecodeError as e:
        raise CheckpointError(f"calibration cache '{path}' is not UTF-8 JSON; delete it or recalibrate") from e
    return Calibration.from_json(text, f"calibration cache '{path}'")


def write_cache(path: str, calib: Calibration) -> None:
    atomic_write_bytes(path, calib.to_json().encode("utf-8"))


def cache_exists(path: Optional[str]) -> bool:
    return bool(path) and os.path.exists(os.fspath(path))


def network_hash(network: Any) -> str:
    """sha256 of the network definition: inputs, then layers (name, type, outputs' names, shapes, dtypes) in order."""
    h = hashlib.sha256()
    for k in range(network.num_inputs):
        t = network.get_input(k)
        h.update(f"input {t.name} {tuple(t.shape)} {t.dtype}\n".encode())
    for k in range(network.num_layers):
        layer = network.get_layer(k)
        outs = [layer.get_output(j) for j in range(layer.num_outputs)]
        h.update(f"{layer.name} {layer.type} {[(o.name, tuple(o.shape), str(o.dtype)) for o in outs]}\n".encode())
    return h.hexdigest()


def weights_hash(state: Mapping[str, Any]) -> str:
    """sha256 over a state_dict: every tensor's key, dtype, shape and raw bytes, in order."""
    h = hashlib.sha256()
    for key, value in state.items():
        t = value.detach().cpu().contiguous() if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))
        h.update(f"{key} {t.dtype} {tuple(t.shape)}\n".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def select(calib: Calibration, tensors: Optional[Sequence[str]], path: str,
           known: Optional[Collection[str]] = None) -> Calibration:
    """The cached calibration restricted to `tensors` (all when None); ConfigError if the cache lacks some,
    CheckpointError if it names tensors that are not among `known` (the network's: a hand-edited cache)."""
    unknown = [t for t in calib.amax if known is not None and t not in known]
    if unknown:
        raise CheckpointError(f"calibration cache '{path}' names tensor(s) that are not in the network: "
                              f"{unknown[:5]}{' ...' if len(unknown) > 5 else ''} (its tensors include "
                              f"{sorted(known)[:5]} ...); delete it or recalibrate (recalibrate=True)")
    if tensors is None:
        return calib
    missing = [t for t in tensors if t not in calib.amax]
    if missing:
        raise ConfigError(f"calibration cache '{path}': tensors changed: no amax for {missing[:5]}"
                          f"{' ...' if len(missing) > 5 else ''}; recalibrate (recalibrate=True)")
    calib.amax = {t: calib.amax[t] for t in tensors}
    return calib
