"""How the YOLO families are registered: their names (yolov8n, yolo11s-seg, ...), their configuration read off a
state_dict, and the end-to-end options every YOLO wrapper takes. Each task file (trtnn/models/yolo/tasks/) calls
`register_yolo` for its families."""
from __future__ import annotations

import re
from functools import partial
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from ...graph.module import Module
from ..registry import ModelSpec, StateDict, TaskSpec, numel, register
from ..vision.preprocess import Preprocess

SCALES = "nsmlx"
LETTERBOXED = "image batch, letterboxed to imgsz (keep aspect, pad 114) by the caller"
NMS_DEFAULTS: Mapping[str, Any] = {"conf": 0.25, "iou": 0.7, "max_det": 300, "pre_nms_topk": 1000}
# head: 'one2one' | 'one2many' (--head); None: the model's own branch, which from_checkpoint reads off the checkpoint
NMS_FREE_DEFAULTS: Mapping[str, Any] = {**NMS_DEFAULTS, "head": None}
BOXES = "cx, cy, w, h (network-input pixels), class scores (sigmoid)"
ONE2ONE_BOXES = "x1, y1, x2, y2 (network-input pixels), class scores (sigmoid)"


def first_key(state: StateDict, pattern: str) -> Optional[str]:
    """The first key of `state` that fully matches the regex `pattern`, or None."""
    return next((k for k in state if re.fullmatch(pattern, k)), None)


def detect_config(state: StateDict) -> Dict[str, Any]:
    """nc = channels of the first class branch's last conv (its bias, else its weight's rows)."""
    key = first_key(state, r"model\.\d+\.cv3\.0\.2\.bias")
    if key:
        return {"nc": numel(state, key)}
    key = first_key(state, r"model\.\d+\.cv3\.0\.2\.weight")
    return {"nc": int(state[key].shape[0])} if key and state[key].ndim == 4 else {}


def with_nc(kwargs: Dict[str, Any], nc: int) -> Dict[str, Any]:
    return {**kwargs, "nc": nc}


def head_classes(model: Module) -> int:
    """The class count of a YOLO model: its head's nc."""
    return model.model[-1].nc


def engine_preprocess(o: Mapping[str, Any]) -> Optional[Preprocess]:
    """The in-engine Preprocess the end-to-end options ask for (layout, bgr), or None."""
    return Preprocess(o["layout"], bgr=o["bgr"]) if o["layout"] else None


def nms_options(o: Mapping[str, Any]) -> Dict[str, Any]:
    """The keyword arguments of the NMS wrappers (End2End, SegmentEnd2End, PoseEnd2End, OBBEnd2End) from the CLI's
    end-to-end options."""
    return dict(conf=o["conf"], iou=o["iou"], max_det=o["max_det"], preprocess=engine_preprocess(o),
                runtime_thresholds=o["runtime_thresholds"], scale_to_orig=o["scale_to_orig"],
                pre_nms_topk=o["pre_nms_topk"])


def topk_options(o: Mapping[str, Any]) -> Dict[str, Any]:
    """The keyword arguments of the NMS-free top-k wrappers (TopKEnd2End and its task subclasses)."""
    return dict(conf=o["conf"], max_det=o["max_det"], preprocess=engine_preprocess(o),
                runtime_thresholds=o["runtime_thresholds"], scale_to_orig=o["scale_to_orig"])


def by_head(one2one: Callable[[Module, Dict[str, Any]], Module],
            one2many: Callable[[Module, Dict[str, Any]], Module]) -> Callable[[Module, Dict[str, Any]], Module]:
    """The end-to-end wrapper of an NMS-free (YOLOv10 / YOLO26) family: head 'one2one' = the one-to-one branch and
    ultralytics' top-k; 'one2many' = the other branch + NMS; None = the branch the model runs (from_checkpoint sets
    it from the checkpoint's end2end flag, as `yolo predict` reads it)."""
    def end2end(model: Module, o: Dict[str, Any]) -> Module:
        head = o.get("head") or ("one2one" if model.model[-1].end2end else "one2many")
        model.model[-1].end2end = head == "one2one"
        return one2many(model, o) if head == "one2many" else one2one(model, o)
    return end2end


def register_yolo(lineage: str, task: TaskSpec, factory: Callable[..., Module], *, suffix: str = "",
                  scales: str = SCALES, config: Callable[[StateDict], Dict[str, Any]] = detect_config,
                  imgsz: Tuple[int, int] = (640, 640), num_classes: Callable[[Module], int] = head_classes,
                  **options: Any) -> ModelSpec:
    """Register `{lineage}{scale}{suffix}` for each scale (e.g. yolov8n-seg ... yolov8x-seg) as `factory(scale, ...)`;
    `options` are further ModelSpec fields (end2end, end2end_defaults, ...)."""
    names = {f"{lineage}{s}{suffix}": s for s in scales}
    return register(ModelSpec(
        family=lineage + suffix, variants={name: partial(factory, s) for name, s in names.items()}, task=task,
        config_from_state_dict=config, with_classes=with_nc, num_classes=num_classes, imgsz=imgsz,
        input_name="images", stride=32, lineage=lineage, scales=names, **options))


__all__ = ["BOXES", "LETTERBOXED", "NMS_DEFAULTS", "NMS_FREE_DEFAULTS", "ONE2ONE_BOXES", "SCALES", "by_head",
           "detect_config", "engine_preprocess", "first_key", "head_classes", "register_yolo", "with_nc"]
