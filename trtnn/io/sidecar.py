"""The JSON file written beside an engine (`<engine>.json`): what a deployment needs to use the plan without the
model's code: class names, task, inputs (shapes, dtypes, layout), outputs (shapes and meaning), thresholds, image
size, stride, precision, trtnn and TensorRT versions.

Schema "trtnn.engine/1" (keys always present unless marked optional):
  schema, trtnn_version, backend, tensorrt_version, precision, task, names ({"id": name}),
  imgsz ([h, w] or null), stride (int or null),
  inputs / outputs: [{name, shape (-1 = dynamic), dtype, meaning}] (meanings given by the caller: a registered
  model's TaskSpec, see trtnn.models.sidecar_meanings), inputs also `layout` (e.g. "NHWC BGR uint8"),
  thresholds ({conf, iou, max_det, pre_nms_topk, runtime}: only the end-to-end ones the engine has; optional),
  profiles ([{input: [min, opt, max]}] per optimization profile; optional, engines with dynamic inputs),
  build ({refittable, weights_stripped, version_compatible, hardware_compat, compute_capabilities}; optional),
  plus any extra keys the caller adds (e.g. source checkpoint metadata).
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .. import backend, dtypes
from ..version import __version__
from ..errors import ConfigError, FileError
from .files import PathLike

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
    except UnicodeDecodeError as e:
        raise ConfigError(f"names file '{path}' is not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset "
                          f"{e.start}); give one name per line, or a JSON list") from None
    control = next((c for c in text if ord(c) < 32 and c not in "\t\r\n"), None)
    if control is not None:
        raise ConfigError(f"names file '{path}' holds control character {control!r} (a binary file?); give one name "
                          "per line, or a JSON list")
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


def checked_names(names: Any, nc: Optional[int]) -> Dict[int, str]:
    """Class names given as a list/tuple of strings or a mapping id -> name, as {id: name}; ConfigError unless there
    is one per class id 0..nc-1 (when the class count is known)."""
    if isinstance(names, (list, tuple)):
        names = dict(enumerate(names))
    if not isinstance(names, Mapping) or not all(isinstance(k, int) and isinstance(v, str) for k, v in names.items()):
        raise ConfigError(f"names must be a list of strings or a dict {{class id: name}}, got {names!r:.80}")
    if nc is not None and sorted(names) != list(range(nc)):
        raise ConfigError(f"names: {len(names)} names (ids {_ids(names)}) for a model with {nc} classes (ids 0.."
                          f"{nc - 1}); give one name per class")
    return dict(names)


def _ids(names: Mapping[int, str]) -> str:
    ids = sorted(names)
    return ", ".join(map(str, ids)) if len(ids) <= 6 else f"{ids[0]}..{ids[-1]}"


def _tensors(infos: Sequence[Any], meanings: Mapping[str, str], preprocess: Any = False) -> List[Dict[str, Any]]:
    """name, shape, dtype, meaning of each tensor; inputs (preprocess given: None or "NHWC BGR"...) also layout."""
    out = []
    for info in infos:
        dtype = dtypes.short(info.dtype)
        entry: Dict[str, Any] = {"name": info.name, "shape": [int(d) for d in info.shape], "dtype": dtype,
                                 "meaning": meanings.get(info.name, "")}
        if preprocess is not False:
            image = len(info.shape) == 4
            entry["layout"] = "" if not image else f"{preprocess} {dtype} (normalized inside the engine)" \
                if preprocess else f"NCHW {dtype} (preprocessed by the caller)"
        out.append(entry)
    return out


def engine_metadata(engine: Any, facts: Optional[Mapping[str, Any]] = None, *,
                    names: Optional[Mapping[int, str]] = None, task: Optional[str] = None,
                    imgsz: Optional[Sequence[int]] = None, stride: Optional[int] = None,
                    precision: Optional[str] = None, meanings: Optional[Mapping[str, str]] = None,
                    **extra: Any) -> Dict[str, Any]:
    """The sidecar's content for a built `engine` (trtnn.Engine). `facts`: {nc, thresholds, preprocess} of the
    module it was defined from (trtnn.models.describe_model); `meanings`: input / output name -> meaning (a
    registered model's: trtnn.models.sidecar_meanings). `names` default to the class ids as strings; `extra` keys are
    added as given (JSON-serializable)."""

    facts = facts or {"nc": None, "thresholds": None, "preprocess": None}
    meanings = meanings or {}
    thresholds = facts["thresholds"]
    names = default_names(facts["nc"]) if names is None else checked_names(names, facts["nc"])
    meta: Dict[str, Any] = {
        "schema": SCHEMA, "trtnn_version": __version__, "backend": engine.backend,
        "tensorrt_version": backend.version(), "precision": precision, "task": task,
        "names": {str(k): v for k, v in sorted(names.items())},
        "imgsz": [int(v) for v in imgsz] if imgsz else None, "stride": stride,
        "inputs": _tensors(engine.inputs, meanings, facts["preprocess"]),
        "outputs": _tensors(engine.outputs, meanings),
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
