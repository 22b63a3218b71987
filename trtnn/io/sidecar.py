"""The JSON file written beside an engine (`<engine>.json`): what a deployment needs to use the plan without the
model's code: class names, task, inputs (shapes, dtypes, layout), outputs (shapes and meaning), thresholds, image
size, stride, precision, trtnn and TensorRT versions.

Schema "trtnn.engine/1" (keys always present unless marked optional):
  schema, trtnn_version, backend, tensorrt_version, precision, task, names ({"id": name}),
  imgsz ([h, w] or null), stride (int or null),
  inputs / outputs: [{name, shape (-1 = dynamic), dtype, meaning}] (meanings from trtnn/models/outputs.py), inputs
  also `layout` (e.g. "NHWC BGR uint8"),
  thresholds ({conf, iou, max_det, pre_nms_topk, runtime}: only the end-to-end ones the engine has; optional),
  profiles ([{input: [min, opt, max]}] per optimization profile; optional, engines with dynamic inputs),
  build ({refittable, weights_stripped, version_compatible, hardware_compat, compute_capabilities}; optional),
  plus any extra keys the caller adds (e.g. source checkpoint metadata).
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ..errors import ConfigError, FileError
from .files import PathLike, atomic_write_bytes

SCHEMA = "trtnn.engine/1"
def sidecar_path(engine_path: PathLike) -> str:
    """`<engine path>.json`."""
    return os.fspath(engine_path) + ".json"


def default_names(nc: Optional[int]) -> Dict[int, str]:
    """Class ids as strings (for models built with random weights or a checkpoint without names)."""
    return {i: str(i) for i in range(nc or 0)}


def read_names(path: PathLike) -> Dict[int, str]:
    """Class names from a file: JSON (a list, or an object {"id": name}) or text (one name per line)."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise FileError(f"cannot read names file '{path}': {e.strerror or e}") from e
    if path.lower().endswith(".json"):
        try:
            value = json.loads(text)
        except ValueError as e:
            raise ConfigError(f"names file '{path}' is not valid JSON ({e})") from None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return dict(enumerate(value))
        if isinstance(value, dict) and all(k.isdigit() and isinstance(v, str) for k, v in value.items()):
            return {int(k): v for k, v in value.items()}
        raise ConfigError(f"names file '{path}': expected a JSON list of names or an object {{\"0\": name, ...}}, "
                          f"got {type(value).__name__}")
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if not names:
        raise ConfigError(f"names file '{path}' holds no names (one per line expected)")
    return dict(enumerate(names))


def num_classes(model: Any) -> Optional[int]:
    """The class count of a trtnn model (YOLO heads' nc, UNet's n_classes, CenterNet's hm channels), else None."""
    for module in model.modules() if hasattr(model, "modules") else [model]:
        for attr in ("nc", "n_classes"):
            if isinstance(getattr(module, attr, None), int):
                return getattr(module, attr)
        heads = getattr(module, "heads", None)
        if isinstance(heads, Mapping) and isinstance(heads.get("hm"), int):
            return heads["hm"]
    return None


def describe_model(model: Any) -> Dict[str, Any]:
    """The few facts the sidecar takes from the module an engine was defined from (small: the CLI keeps these and
    frees the model before building): class count, end-to-end thresholds, in-engine preprocessing."""
    pre = getattr(model, "preprocess", None)
    return {"nc": num_classes(model), "thresholds": _thresholds(model),
            "preprocess": None if pre is None else f"{pre.layout} {'BGR' if pre.bgr else 'RGB'}"}


def _thresholds(model: Any) -> Optional[Dict[str, Any]]:
    nms, topk = getattr(model, "nms", None), getattr(model, "topk", None)
    if topk is not None:  # NMS-free (YOLO26 / YOLOv10 one-to-one head)
        return {"conf": topk.conf, "max_det": topk.max_det, "runtime": bool(model.runtime_thresholds)}
    if nms is not None:
        return {"conf": nms.conf, "iou": nms.iou, "max_det": nms.max_det, "pre_nms_topk": nms.pre_nms_topk,
                "runtime": bool(getattr(model, "runtime_thresholds", False))}
    if hasattr(model, "K") and hasattr(model, "conf"):
        return {"conf": model.conf, "max_det": model.K, "runtime": bool(model.runtime_thresholds)}
    return None


def _tensors(infos: Sequence[Any], task: str, preprocess: Any = False) -> List[Dict[str, Any]]:
    """name, shape, dtype, meaning of each tensor; inputs (preprocess given: None or "NHWC BGR"...) also layout."""
    from .. import dtypes
    from ..models.outputs import INPUTS, meaning

    out = []
    for info in infos:
        dtype = dtypes.short(info.dtype)
        entry: Dict[str, Any] = {"name": info.name, "shape": [int(d) for d in info.shape], "dtype": dtype,
                                 "meaning": meaning(task, info.name)}
        if preprocess is not False:
            image = len(info.shape) == 4 and info.name not in INPUTS
            entry["layout"] = "" if not image else f"{preprocess} {dtype} (normalized inside the engine)" \
                if preprocess else f"NCHW {dtype} (preprocessed by the caller)"
        out.append(entry)
    return out


def engine_metadata(engine: Any, model: Any = None, *, names: Optional[Mapping[int, str]] = None,
                    task: Optional[str] = None, imgsz: Optional[Sequence[int]] = None,
                    stride: Optional[int] = None, precision: Optional[str] = None,
                    **extra: Any) -> Dict[str, Any]:
    """The sidecar's content for a built `engine` (trtnn.Engine) of `model` (the module it was defined from, or
    `describe_model(model)`): its end-to-end thresholds, preprocessing and class count are read off it. `names`
    default to the class ids as strings; `extra` keys are added as given (JSON-serializable)."""
    from .. import __version__, backend

    facts = model if isinstance(model, dict) else describe_model(model)
    thresholds = facts["thresholds"]
    kind = task or "detect"
    if names is None:
        names = default_names(facts["nc"])
    meta: Dict[str, Any] = {
        "schema": SCHEMA, "trtnn_version": __version__, "backend": engine.backend,
        "tensorrt_version": backend.version(), "precision": precision, "task": task,
        "names": {str(k): v for k, v in sorted(names.items())},
        "imgsz": [int(v) for v in imgsz] if imgsz else None, "stride": stride,
        "inputs": _tensors(engine.inputs, kind, facts["preprocess"]),
        "outputs": _tensors(engine.outputs, kind),
    }
    if thresholds:
        meta["thresholds"] = thresholds
    if getattr(engine, "profiles", None):
        meta["profiles"] = engine.profiles
    if getattr(engine, "options", None):
        meta["build"] = engine.options
    meta.update(extra)
    return meta


def encode(metadata: Mapping[str, Any], engine_path: PathLike) -> bytes:
    """The sidecar's bytes (indented JSON); ConfigError naming the file when `metadata` is not serializable."""
    try:
        return (json.dumps(metadata, indent=1) + "\n").encode()
    except (TypeError, ValueError) as e:
        raise ConfigError(f"engine metadata for '{sidecar_path(engine_path)}' is not JSON-serializable: {e}") from None


def write_sidecar(engine_path: PathLike, metadata: Mapping[str, Any]) -> str:
    """Write `metadata` as `<engine_path>.json`, atomically; returns its path."""
    path = sidecar_path(engine_path)
    atomic_write_bytes(path, encode(metadata, engine_path), what="engine metadata")
    return path
