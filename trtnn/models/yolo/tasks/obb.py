"""YOLO oriented-box (OBB) detection end to end inside the engine, its outputs and the OBB families' registration: decode, rotated NMS by probabilistic IoU (YOLOv8 /
YOLO11 -obb, and YOLO26-obb's one-to-many branch) or YOLO26-obb's NMS-free top-k (`OBBTopKEnd2End`, its default),
regularized angles and the mapping back to the original images, from standard TensorRT layers (no plugin).

Outputs: num_dets [B, 1] int32, det_boxes [B, max_det, 5] (cx, cy, w, h, angle in radians), det_scores
[B, max_det], det_classes [B, max_det] int32; rows past num_dets are zero. The boxes are ultralytics' `Results.obb`
xywhr: after NMS (or the top-k), `regularize_rboxes` (w and h swapped when angle mod pi >= pi/2, angle mod pi/2 in [0, pi/2)), then
with `scale_to_orig` mapped to the original image as `scale_boxes(..., xywh=True)` does (no clipping: a rotated box's
xywh is not its extent), with the letterbox's exact borders and x / y factors (`trtnn.models.vision.boxes.letterbox_geometry`).

Rotated NMS, as ultralytics' `non_max_suppression(rotated=True)` (its `TorchNMS.fast_nms` with `batch_probiou`):
1. candidates: each box's best class (first maximum) and score, kept if the score is > conf (or every
   (box, class) pair > conf with multi_label);
2. the K = min(N, pre_nms_topk) best ordered by (score desc, index asc): a stable order among equal scores, where
   ultralytics' argsort leaves it unspecified;
3. boxes shifted by class * 7680 in x and y (0 when agnostic), then P = batch_probiou(boxes, boxes) [K, K] with its
   lower triangle and diagonal set to 0 (`triu_(diagonal=1)`);
4. box i is kept when no entry of column i is >= iou: every earlier box suppresses, kept or not (Fast-NMS, not
   greedy NMS), and with iou = 0 the zeroed entries suppress everything, as in the original;
5. the first max_det kept boxes.
Exact when the top K hold max_det kept boxes or all candidates (K <= 3840, TensorRT's TopK).

Memory: P and the pairwise terms leading to it are [B, K, K] fp32, 4 * K^2 bytes each per image (3.8 MiB at the
default K = 1000, 56 MiB at K = 3840). TensorRT fuses the element-wise chain, so a few of them are alive at once.
Measured with TensorRT-RTX (benchmarks/bench_rotated_nms.py, results/rotated_nms.md): the plan grows as K^2 too
(about 2 bytes per pair: 3 MB at K = 1000, 31 MB at K = 3840) and the CPU executor, op by op, peaks 300 MiB above
its baseline at K = 3840.
"""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple

from .... import functional as F
from ....errors import ShapeError
from ....graph.module import Module
from ....graph.tensor import Tensor
from ...registry import TaskSpec
from ...vision.boxes import letterbox_geometry
from ...vision.end2end import ImageEnd2End
from ...vision.host import yolo_preprocess
from ...vision.inputs import MEANINGS
from ...vision.nms import MAX_WH, NMS, first_kept
from ...vision.ops import Threshold, arange, f32, input_hw, row_mask, threshold
from ...vision.preprocess import Preprocess
from ..model import yolo11_obb, yolo26_obb, yolov8_obb
from ..spec import BOXES, LETTERBOXED, NMS_DEFAULTS, NMS_FREE_DEFAULTS, by_head, nms_options, register_yolo, topk_options
from .detect import OUTPUTS as DETECT_OUTPUTS
from .detect import TopKEnd2End

EPS = 1e-7  # batch_probiou's eps


# ---- probabilistic IoU -------------------------------------------------------------------------------------------
def _covariance(boxes: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """The Gaussian (a, b, c) = covariance entries of xywhr boxes [..., 5], each [..., 1]."""
    a, b, r = boxes[..., 2:3].pow(2) / 12, boxes[..., 3:4].pow(2) / 12, boxes[..., 4:5]
    cos, sin = F.cos(r), F.sin(r)
    cos2, sin2 = cos.pow(2), sin.pow(2)
    return a * cos2 + b * sin2, a * sin2 + b * cos2, (a - b) * cos * sin


def batch_probiou(obb1: Tensor, obb2: Tensor, eps: float = EPS) -> Tensor:
    """Probabilistic IoU (1 - Hellinger distance of the boxes' Gaussians) of xywhr boxes [B, N, 5] x [B, M, 5] ->
    [B, N, M], term by term as ultralytics' `batch_probiou` computes it."""
    x1, y1 = obb1[..., 0:1], obb1[..., 1:2]  # [B, N, 1]
    x2, y2 = obb2[..., 0:1].transpose(1, 2), obb2[..., 1:2].transpose(1, 2)  # [B, 1, M]
    a1, b1, c1 = _covariance(obb1)
    a2, b2, c2 = (t.transpose(1, 2) for t in _covariance(obb2))
    t1 = (((a1 + a2) * (y1 - y2).pow(2) + (b1 + b2) * (x1 - x2).pow(2))
          / ((a1 + a2) * (b1 + b2) - (c1 + c2).pow(2) + eps)) * 0.25
    t2 = (((c1 + c2) * (x2 - x1) * (y1 - y2)) / ((a1 + a2) * (b1 + b2) - (c1 + c2).pow(2) + eps)) * 0.5
    det1, det2 = F.clamp(a1 * b1 - c1.pow(2), min=0.0), F.clamp(a2 * b2 - c2.pow(2), min=0.0)
    t3 = F.log(((a1 + a2) * (b1 + b2) - (c1 + c2).pow(2)) / (4 * F.sqrt(det1 * det2) + eps) + eps) * 0.5
    bd = F.clamp(t1 + t2 + t3, min=eps, max=100.0)
    hd = F.sqrt(1.0 - F.exp(-bd) + eps)
    return 1 - hd


# ---- angles and the original image ---------------------------------------------------------------------------
def _floor_mod(x: Tensor, p: float) -> Tensor:
    """x % p as torch computes it for p > 0: the result in [0, p)."""
    r = x - F.floor(x / p) * p
    r = F.where(r < 0, r + p, r)  # x / p rounded up to an integer
    return F.where(r >= p, r - p, r)


def regularize_rboxes(rboxes: Tensor) -> Tensor:
    """ultralytics' `regularize_rboxes` on xywhr [..., 5]: w and h swapped where angle mod pi >= pi / 2, the angle
    taken mod pi / 2 into [0, pi / 2)."""
    x, y, w, h, t = (rboxes[..., i:i + 1] for i in range(5))
    swap = _floor_mod(t, math.pi) >= math.pi / 2
    return F.cat([x, y, F.where(swap, h, w), F.where(swap, w, h), _floor_mod(t, math.pi / 2)], -1)


def scale_rboxes(rboxes: Tensor, orig_size: Tensor, input_hw: Tuple[int, int]) -> Tensor:
    """Map xywhr boxes [B, M, 5] from the letterboxed input (h, w) = input_hw back to the originals, orig_size [B, 2]
    (h, w): cx = (cx - left) / gx, w / gx, cy = (cy - top) / gy, h / gy with the letterbox's own borders and factors
    gx = new_w / w0, gy = new_h / h0 (ultralytics' `scale_boxes(xywh=True)` with its LetterBox's ratio_pad); the
    angle is unchanged and nothing is clipped."""
    size = f32(orig_size)
    h0, w0 = size[:, 0:1], size[:, 1:2]
    new_h, new_w, top, left = (f32(t) for t in letterbox_geometry(orig_size, input_hw))
    gx, gy = (new_w / w0).unsqueeze(1), (new_h / h0).unsqueeze(1)  # [B, 1, 1]
    left, top = left.unsqueeze(1), top.unsqueeze(1)
    cx, cy, w, h, r = (rboxes[..., i:i + 1] for i in range(5))
    return F.cat([(cx - left) / gx, (cy - top) / gy, w / gx, h / gy, r], -1)


# ---- rotated NMS ---------------------------------------------------------------------------------------------------
def decode_obb(pred: Tensor) -> Tuple[Tensor, Tensor]:
    """OBB raw output [B, 4 + nc + 1, A] -> xywhr boxes [B, A, 5], class scores [B, A, nc] (fp32)."""
    x = f32(pred).permute(0, 2, 1)
    return F.cat([x[..., :4], x[..., -1:]], -1), x[..., 4:-1]


class RotatedNMS(NMS):
    """Rotated Fast-NMS by probabilistic IoU (ultralytics' `non_max_suppression(rotated=True)`), outputs as `NMS`
    with det_boxes [B, max_det, 5] xywhr (angles as the model gave them; see `regularize_rboxes`).

    forward(boxes [B, N, 5] xywhr, scores [B, N, C], conf=None, iou=None): tensors (0-D or [1]) override the
    build-time thresholds. agnostic=True: boxes of different classes suppress each other.
    """

    def __init__(self, conf: float = 0.25, iou: float = 0.7, max_det: int = 300, pre_nms_topk: int = 1000,
                 multi_label: bool = False, agnostic: bool = False) -> None:
        super().__init__(conf, iou, max_det, pre_nms_topk, multi_label)
        self.agnostic = agnostic

    def extra_repr(self) -> str:
        return super().extra_repr() + (", agnostic=True" if self.agnostic else "")

    def forward(self, boxes: Tensor, scores: Tensor, conf: Optional[Threshold] = None,
                iou: Optional[Threshold] = None) -> Dict[str, Tensor]:
        if boxes.ndim != 3 or boxes.shape[2] != 5 or scores.ndim != 3 or scores.shape[:2] != boxes.shape[:2]:
            raise ShapeError(f"RotatedNMS expects boxes [B, N, 5] (cx, cy, w, h, angle) and scores [B, N, C], got "
                             f"{boxes.shape} and {scores.shape}")
        conf = threshold(self.conf if conf is None else conf)
        iou = threshold(self.iou if iou is None else iou)
        boxes, best, classes, _ = self._ranked(boxes, scores)
        k = best.shape[1]
        offset = classes.unsqueeze(2) * (0 if self.agnostic else MAX_WH)
        probiou = batch_probiou(*[F.cat([boxes[..., :2] + offset, boxes[..., 2:]], -1)] * 2)  # [B, j, i]
        earlier = arange(k, boxes, (1, k, 1)) < arange(k, boxes, (1, 1, k))  # [1, j, i]: j < i, no K x K constant
        hits = F.where(earlier, probiou, 0.0) >= iou
        suppressed = F.amax(f32(hits), 1) > 0  # [B, K]: any row j of column i
        keep = f32((best > conf) & ~suppressed)
        return first_kept(keep, self.max_det, boxes, best, classes)


# ---- end to end ------------------------------------------------------------------------------------------------------
class OBBEnd2End(ImageEnd2End):
    """preprocess -> raw OBB model -> decode -> rotated NMS -> regularized xywhr (-> original image), returning
    {num_dets, det_boxes [B, max_det, 5], det_scores, det_classes}.

    Inputs as `End2End`: images (uint8 with `preprocess`, else float NCHW), conf_thres and iou_thres (fp32 [1]) with
    runtime_thresholds, orig_size (int32 [B, 2], (h, w)) with scale_to_orig. Defaults are ultralytics' predict
    defaults (conf 0.25, iou 0.7, max_det 300).
    """

    THRESHOLD_INPUTS = ("conf_thres", "iou_thres")

    def __init__(self, model: Module, conf: float = 0.25, iou: float = 0.7, max_det: int = 300,
                 preprocess: Optional[Preprocess] = None, runtime_thresholds: bool = False,
                 scale_to_orig: bool = False, pre_nms_topk: int = 1000, multi_label: bool = False,
                 agnostic: bool = False) -> None:
        super().__init__()
        self.runtime_thresholds, self.scale_to_orig = runtime_thresholds, scale_to_orig
        self.preprocess = preprocess
        self.model = model
        self.nms = RotatedNMS(conf, iou, max_det, pre_nms_topk, multi_label, agnostic)

    def thresholds(self) -> Dict[str, Any]:
        return {**self.nms.settings(), "runtime": bool(self.runtime_thresholds)}

    def forward(self, images: Tensor, *extra: Tensor) -> Dict[str, Tensor]:
        (conf, iou), orig_size = self.split_inputs(extra)
        x = images if self.preprocess is None else self.preprocess(images)
        out = self.nms(*decode_obb(self.model(x)), conf, iou)
        return _as_results(out, out["det_boxes"], orig_size, input_hw(x))


class OBBTopKEnd2End(TopKEnd2End):
    """preprocess -> YOLO26-obb (its one-to-one branch) -> ultralytics' top-k (`OBB.postprocess`, no NMS) ->
    regularized xywhr (-> original image), returning {num_dets, det_boxes [B, max_det, 5], det_scores, det_classes}:
    the rows scoring > conf, as ultralytics' predictor keeps them for end-to-end models.

    Inputs as `TopKEnd2End`: images, then conf_thres (fp32 [1]) with runtime_thresholds, then orig_size (int32
    [B, 2], (h, w)) with scale_to_orig.
    """

    def forward(self, images: Tensor, *extra: Tensor) -> Dict[str, Tensor]:
        (conf,), orig_size = self.split_inputs(extra)
        x = images if self.preprocess is None else self.preprocess(images)
        out = self.topk(self.model(x), conf)
        rboxes = F.cat([out["det_boxes"], out.pop("det_extra")], -1)  # xywh and the angle
        return _as_results(out, rboxes, orig_size, input_hw(x))


def _as_results(out: Dict[str, Tensor], rboxes: Tensor, orig_size: Optional[Tensor],
                input_hw: Tuple[int, int]) -> Dict[str, Tensor]:
    """`out` with det_boxes = the rboxes [B, max_det, 5] regularized (and mapped to orig_size if given) as
    ultralytics' OBB predictor returns them; rows past num_dets zero."""
    boxes = regularize_rboxes(rboxes)
    if orig_size is not None:
        boxes = scale_rboxes(boxes, orig_size, input_hw)
    out["det_boxes"] = F.where(row_mask(out["num_dets"], rboxes.shape[1]).unsqueeze(2), boxes, 0.0)
    return out


# ---- outputs and registration --------------------------------------------------------------------------------
OUTPUTS: Dict[str, str] = {**DETECT_OUTPUTS, "det_boxes": "rotated box per detection (fp32 [B, max_det, 5]): cx, cy, "
                           "w, h, angle in radians in [0, pi/2) (ultralytics' regularized xywhr)", **MEANINGS}
OBB = TaskSpec("obb", OUTPUTS, {"output": f"[B, 4 + nc + 1, anchors]: {BOXES}, angle (radians)"}, LETTERBOXED,
               yolo_preprocess)
OBB_NMS_FREE = TaskSpec("obb", OUTPUTS, {"output": "[B, 4 + nc + 1, anchors] of the one-to-one head: cx, cy, w, h "
                                                   "(network-input pixels), class scores (sigmoid), angle (radians, "
                                                   "unbounded); ultralytics' top-k is the caller's"},
                        LETTERBOXED, yolo_preprocess,
                        one2many_raw_outputs=OBB.raw_outputs)


def obb_end2end(model: Module, o: Dict[str, Any]) -> OBBEnd2End:
    """The registry's OBBEnd2End from the CLI's options."""
    return OBBEnd2End(model, **nms_options(o))


def obb_topk_end2end(model: Module, o: Dict[str, Any]) -> OBBTopKEnd2End:
    """The registry's OBBTopKEnd2End from the CLI's options."""
    return OBBTopKEnd2End(model, **topk_options(o))


for _lineage, _factory in (("yolov8", yolov8_obb), ("yolo11", yolo11_obb)):
    register_yolo(_lineage, OBB, _factory, suffix="-obb", end2end=obb_end2end, end2end_defaults=NMS_DEFAULTS)
register_yolo("yolo26", OBB_NMS_FREE, yolo26_obb, suffix="-obb", end2end=by_head(obb_topk_end2end, obb_end2end),
              end2end_defaults=NMS_FREE_DEFAULTS)
