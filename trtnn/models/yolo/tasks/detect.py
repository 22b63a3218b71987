"""YOLO detection, end to end inside the engine: decode, then class-aware NMS (YOLOv5, YOLOv8, YOLO11, and the
one-to-many branch of YOLOv10 / YOLO26) or ultralytics' NMS-free top-k (the one-to-one branch of YOLOv10 / YOLO26);
the outputs and their meanings; the detection families' registration.

No INMSLayer and no plugin (TensorRT-RTX's CPU builder rejects INMSLayer, TensorRT 11 dropped the NMS plugins), so
the network builds with TensorRT-RTX and full TensorRT alike. Outputs use EfficientNMS' layout and names:
num_dets [B, 1] int32, det_boxes [B, max_det, 4] (x1, y1, x2, y2), det_scores [B, max_det], det_classes
[B, max_det] int32; rows past num_dets are zero. Results equal the originals' predict-time NMS with torchvision
semantics and a stable order among equal scores (tests/refmodels/detect_postprocess.py); the NMS itself and its
algorithm are in trtnn.models.vision.nms, the top-k in trtnn.models.vision.topk.
"""
from __future__ import annotations

import re
from functools import partial
from typing import Any, Dict, Optional, Tuple

from .... import functional as F
from ....errors import ConfigError, ShapeError
from ....graph.module import Module
from ....graph.tensor import Tensor
from ...registry import StateDict, TaskSpec, numel
from ...vision.boxes import xywh2xyxy
from ...vision.end2end import ImageEnd2End
from ...vision.host import yolo_preprocess
from ...vision.inputs import MEANINGS
from ...vision.nms import NMS
from ...vision.ops import Threshold, f32, input_hw, threshold
from ...vision.preprocess import Preprocess
from ...vision.topk import TopK
from ..model import yolo11, yolo26, yolov5, yolov8, yolov10
from ..spec import (BOXES, LETTERBOXED, NMS_DEFAULTS, NMS_FREE_DEFAULTS, ONE2ONE_BOXES, by_head, first_key,
                    nms_options, register_yolo, topk_options)

OUTPUTS: Dict[str, str] = {  # what the end-to-end detection engines output (the sidecar's meanings)
    "num_dets": "detections per image (int32 [B, 1]); rows past it are zero",
    "det_boxes": "x1, y1, x2, y2 per detection (fp32 [B, max_det, 4]), in network-input pixels (original-image "
                 "pixels when the engine has an orig_size input)",
    "det_scores": "confidence per detection (fp32 [B, max_det]), sorted high to low",
    "det_classes": "class id per detection (int32 [B, max_det]), an index into names",
    **MEANINGS,
}
DETECT = TaskSpec("detect", OUTPUTS, {"output": f"[B, 4 + nc, anchors]: {BOXES}; decode and NMS are the caller's"},
                  LETTERBOXED, yolo_preprocess)
DETECT_V5 = TaskSpec("detect", OUTPUTS, {"output": "[B, anchors, 5 + nc]: cx, cy, w, h (network-input pixels), "
                                                   "objectness, class scores (sigmoid); decode and NMS are the "
                                                   "caller's"}, LETTERBOXED, yolo_preprocess)
DETECT_NMS_FREE = TaskSpec("detect", OUTPUTS, {"output": f"[B, 4 + nc, anchors] of the one-to-one head: "
                                                         f"{ONE2ONE_BOXES}; ultralytics' top-k is the caller's"},
                           LETTERBOXED, yolo_preprocess,
                           one2many_raw_outputs=DETECT.raw_outputs)


def decode_v8(pred: Tensor) -> Tuple[Tensor, Tensor]:
    """YOLOv8/11 raw output [B, 4 + nc, A] -> boxes x1y1x2y2 [B, A, 4], class scores [B, A, nc] (fp32)."""
    x = f32(pred).permute(0, 2, 1)
    return xywh2xyxy(x[..., :4]), x[..., 4:]


def decode_v5(pred: Tensor, conf: Threshold = 0.25) -> Tuple[Tensor, Tensor]:
    """YOLOv5 raw output [B, N, 5 + nc] -> boxes x1y1x2y2 [B, N, 4], scores obj * cls [B, N, nc] (fp32).

    YOLOv5 keeps a box only if obj > conf (and obj * cls > conf): rows with obj <= conf get scores -inf.
    """
    x = f32(pred)
    obj = x[..., 4:5]
    scores = F.where(F.gt(obj, threshold(conf)), x[..., 5:] * obj, float("-inf"))
    return xywh2xyxy(x[..., :4]), scores


# ---- end to end ------------------------------------------------------------------------------------------------------
class End2End(ImageEnd2End):
    """preprocess -> raw YOLO model -> decode -> NMS, returning {num_dets, det_boxes, det_scores, det_classes}.

    kind 'v8' (YOLOv8 / YOLO11 output [B, 4 + nc, A]; defaults iou 0.7, max_det 300) or 'v5' ([B, N, 5 + nc];
    iou 0.45, max_det 1000). Network inputs, in the order `inputs()` lists them: images (uint8 when `preprocess`
    is given, else float NCHW), then conf_thres and iou_thres (fp32 [1]) if runtime_thresholds, then orig_size
    (int32 [B, 2], (h, w)) if scale_to_orig: boxes are then mapped back to the original images and clipped.
    """

    DEFAULTS = {"v8": (0.7, 300), "v5": (0.45, 1000)}
    THRESHOLD_INPUTS = ("conf_thres", "iou_thres")

    def __init__(self, model: Module, kind: str = "v8", conf: float = 0.25, iou: Optional[float] = None,
                 max_det: Optional[int] = None, preprocess: Optional[Preprocess] = None,
                 runtime_thresholds: bool = False, scale_to_orig: bool = False, pre_nms_topk: int = 1000,
                 multi_label: bool = False) -> None:
        super().__init__()
        if kind not in self.DEFAULTS:
            raise ShapeError(f"End2End kind must be 'v8' or 'v5', got {kind!r}")
        d_iou, d_max = self.DEFAULTS[kind]
        self.kind, self.runtime_thresholds, self.scale_to_orig = kind, runtime_thresholds, scale_to_orig
        self.preprocess = preprocess
        self.model = model
        self.nms = NMS(conf, d_iou if iou is None else iou, d_max if max_det is None else max_det, pre_nms_topk,
                       multi_label)

    def thresholds(self) -> Dict[str, Any]:
        return {**self.nms.settings(), "runtime": bool(self.runtime_thresholds)}

    def forward(self, images: Tensor, *extra: Tensor) -> Dict[str, Tensor]:
        (conf, iou), orig_size = self.split_inputs(extra)
        x = images if self.preprocess is None else self.preprocess(images)
        raw = self.model(x)
        if self.kind == "v8":
            boxes, scores = decode_v8(raw)
        else:
            boxes, scores = decode_v5(raw, self.nms.conf if conf is None else conf)
        out = self.nms(boxes, scores, conf, iou)
        if orig_size is not None:
            self.boxes_to_orig(out, orig_size, input_hw(x), yolov5=self.kind == "v5")
        return out


class TopKEnd2End(ImageEnd2End):
    """preprocess -> YOLOv10 / YOLO26 model (its one-to-one branch) -> TopK, returning {num_dets, det_boxes,
    det_scores, det_classes}.

    Network inputs, in the order `inputs()` lists them: images (uint8 when `preprocess` is given, else float NCHW),
    then conf_thres (fp32 [1]) if runtime_thresholds, then orig_size (int32 [B, 2], (h, w)) if scale_to_orig: boxes
    are then mapped back to the letterboxed original images and clipped (as End2End does).
    """

    THRESHOLD_INPUTS = ("conf_thres",)

    def __init__(self, model: Module, conf: float = 0.25, max_det: int = 300, preprocess: Optional[Preprocess] = None,
                 runtime_thresholds: bool = False, scale_to_orig: bool = False) -> None:
        super().__init__()
        head = model.model[-1] if hasattr(model, "model") else None
        if head is None or "one2one_cv2" not in getattr(head, "_modules", {}):
            raise ConfigError(f"TopKEnd2End needs a YOLOv10 / YOLO26 model (a head with a one-to-one branch), got "
                              f"{type(model).__name__}")
        head.end2end = True
        self.preprocess = preprocess
        self.model = model
        self.topk = TopK(head.nc, conf, max_det)
        self.runtime_thresholds, self.scale_to_orig = runtime_thresholds, scale_to_orig

    def thresholds(self) -> Dict[str, Any]:
        return {**self.topk.settings(), "runtime": bool(self.runtime_thresholds)}

    def forward(self, images: Tensor, *extra: Tensor) -> Dict[str, Tensor]:
        (conf,), orig_size = self.split_inputs(extra)
        x = images if self.preprocess is None else self.preprocess(images)
        out = self.topk(self.model(x), conf)
        if orig_size is not None:
            self.boxes_to_orig(out, orig_size, input_hw(x))
        return out


# ---- registration --------------------------------------------------------------------------------------------
def yolov5_config(state: StateDict) -> Dict[str, Any]:
    """nc = outputs per anchor - 5, read off the first detection conv (anchors per level from the anchors buffer)."""
    key = first_key(state, r"model\.\d+\.m\.0\.bias")
    if key is None:
        return {}
    head = key[: -len(".m.0.bias")]
    levels = sum(1 for k in state if re.fullmatch(re.escape(head) + r"\.m\.\d+\.bias", k))
    anchors = numel(state, f"{head}.anchors")
    na = anchors // (2 * levels) if anchors else 3
    return {"nc": numel(state, key) // na - 5}


def end2end(kind: str, model: Module, o: Dict[str, Any]) -> End2End:
    """The registry's End2End from the CLI's options (conf, iou, max_det, pre_nms_topk, layout, bgr,
    runtime_thresholds, scale_to_orig)."""
    return End2End(model, kind, **nms_options(o))


def topk_end2end(model: Module, o: Dict[str, Any]) -> TopKEnd2End:
    """The registry's TopKEnd2End from the CLI's options."""
    return TopKEnd2End(model, **topk_options(o))


for _lineage, _factory in (("yolov8", yolov8), ("yolo11", yolo11)):
    register_yolo(_lineage, DETECT, _factory, end2end=partial(end2end, "v8"), end2end_defaults=NMS_DEFAULTS)
register_yolo("yolov5", DETECT_V5, yolov5, config=yolov5_config, end2end=partial(end2end, "v5"),
              end2end_defaults={**NMS_DEFAULTS, "iou": 0.45, "max_det": 1000})
for _lineage, _factory, _scales in (("yolo26", yolo26, "nsmlx"), ("yolov10", yolov10, "nsmblx")):
    register_yolo(_lineage, DETECT_NMS_FREE, _factory, scales=_scales,
                  end2end=by_head(topk_end2end, partial(end2end, "v8")), end2end_defaults=NMS_FREE_DEFAULTS)
