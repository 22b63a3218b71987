"""`trtnn build`'s engine sidecar (`<engine>.json`, trtnn.sidecar): class names from --names, else the checkpoint's
own (ultralytics' `names`), else the class ids; task, image size, stride and precision from the arguments."""
from __future__ import annotations

import argparse
import os
from typing import Any, Dict, Optional

from ..errors import ConfigError
from ..models.registry import ModelSpec
from .args import check_readable, parse_imgsz


def add_metadata_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--names", metavar="FILE", help="class names for the engine's <output>.json: a text file (one "
                                                   "name per line) or JSON (a list or {\"0\": name}); default: the "
                                                   "checkpoint's names, else the class ids")


def check_metadata_args(args: argparse.Namespace) -> None:
    check_readable(args.names, "--names")


def names_arg(args: argparse.Namespace, nc: Optional[int]) -> Optional[Dict[int, str]]:
    """The class names --names gives (None without it), checked against the model's class count `nc`."""
    from ..sidecar import read_names

    if not args.names:
        return None
    names = read_names(args.names)
    if nc is not None and len(names) != nc:
        raise ConfigError(f"--names {args.names}: {len(names)} names for a model with {nc} classes")
    return names


_YOLO = {"output": "[B, 4 + nc, anchors]: cx, cy, w, h (network-input pixels), then class scores (sigmoid); "
                    "decode and NMS are the caller's"}
RAW_OUTPUTS = {  # family -> output name -> meaning, for engines without --end2end
    "yolov8": _YOLO, "yolo11": _YOLO,
    "yolov5": {"output": "[B, anchors, 5 + nc]: cx, cy, w, h (network-input pixels), objectness, class scores "
                         "(sigmoid); decode and NMS are the caller's"},
    "yolov8-seg": {"output0": "[B, 4 + nc + 32, anchors]: cx, cy, w, h, class scores (sigmoid), 32 mask "
                              "coefficients", "output1": "[B, 32, H/4, W/4]: mask prototypes"},
    "unet": {"output": "logits [B, n_classes, H, W]", "logits": "logits [B, n_classes, H, W]",
             "mask": "class per pixel (argmax; one class: sigmoid > 0.5)"},
    "centernet": {"hm": "class heatmaps [B, nc, H/4, W/4] before the sigmoid", "wh": "box width, height (output "
                  "pixels) at each location", "reg": "sub-pixel offset of each centre"},
}
RAW_OUTPUTS["yolo11-seg"] = RAW_OUTPUTS["yolov8-seg"]
IMAGES = {"unet": "resized to imgsz by the caller", "centernet": "affine-warped to imgsz (image centre, longer "
                                                                 "side) by the caller"}


def _task(spec: Optional[ModelSpec], checkpoint: Dict[str, Any]) -> Optional[str]:
    if "task" in checkpoint:
        return checkpoint["task"]
    if spec is None:
        return None
    return {"unet": "semantic-segment", "centernet": "detect"}.get(
        spec.family, "segment" if spec.family.endswith("-seg") else "detect")


def cli_metadata(args: argparse.Namespace, spec: Optional[ModelSpec], facts: Dict[str, Any],
                 engine: Any) -> Dict[str, Any]:
    """The sidecar of an engine `trtnn build` made (`facts`: trtnn.sidecar.describe_model of the built module)."""
    from ..checkpoint import read_metadata
    from ..sidecar import engine_metadata

    checkpoint = read_metadata(args.weights) if args.weights else {}
    names = names_arg(args, facts["nc"]) or checkpoint.get("names")
    imgsz = None
    if spec is not None:
        imgsz = parse_imgsz(args.imgsz, spec.stride, args.target) if args.imgsz else spec.imgsz
    precision = args.dtype or "fp32"
    if precision in ("int8", "fp8"):
        precision += f" (rest {args.base_dtype})"
    source = {k: v for k, v in checkpoint.items() if k != "names"}
    if args.weights:
        source["weights"] = os.path.basename(args.weights)
    meta = engine_metadata(engine, facts, names=names, task=_task(spec, checkpoint), imgsz=imgsz,
                           stride=spec.stride if spec is not None else None, precision=precision,
                           target=args.target, source=source)
    if spec is not None:
        image = meta["inputs"][0]
        image["meaning"] = "image batch, " + IMAGES.get(spec.family, "letterboxed to imgsz (keep aspect, pad 114) "
                                                                    "by the caller")
        for out in meta["outputs"]:
            out["meaning"] = out["meaning"] or RAW_OUTPUTS.get(spec.family, {}).get(out["name"], "")
    return meta
