"""YOLO pose end to end inside the engine (the detection end to end plus the kept boxes' keypoints), its outputs and
the pose families' registration.

`PoseEnd2End` (v8 / YOLO11, and YOLO26's one-to-many branch) runs End2End's NMS; `PoseTopKEnd2End` YOLO26's
one-to-one branch and ultralytics' top-k (trtnn.models.vision.topk). Outputs: num_dets, det_boxes, det_scores,
det_classes as the detection engines', and det_keypoints [B, max_det, K, D] float32 with D = 3 (x, y, visibility)
or 2 (x, y) as the model's kpt_shape: x, y in input pixels (or, with scale_to_orig, in the original image, mapped as
the boxes are and clipped to it, ultralytics' scale_coords + clip_coords), visibility a sigmoid score; rows past
num_dets are zero.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

from .... import functional as F
from ....errors import ShapeError
from ....graph.module import Module
from ....graph.tensor import Tensor
from ...registry import StateDict, TaskSpec, numel
from ...vision.boxes import scale_boxes
from ...vision.host import yolo_preprocess
from ...vision.ops import f32, input_hw, row_mask
from ...vision.preprocess import Preprocess
from ..model import yolo11_pose, yolo26_pose, yolov8_pose
from ..spec import (BOXES, LETTERBOXED, NMS_DEFAULTS, NMS_FREE_DEFAULTS, ONE2ONE_BOXES, by_head, detect_config,
                    first_key, nms_options, register_yolo, topk_options)
from .detect import OUTPUTS as DETECT_OUTPUTS
from .detect import End2End, TopKEnd2End, decode_v8


class PoseEnd2End(End2End):
    """preprocess -> raw pose model ([B, 4 + nc + K * D, A]) -> decode -> NMS -> keypoints of the kept boxes.

    Inputs as End2End's (`inputs()`); kpt_shape (K, D) as the model's Pose head."""

    def __init__(self, model: Module, kpt_shape: Sequence[int], conf: float = 0.25, iou: Optional[float] = None,
                 max_det: Optional[int] = None, preprocess: Optional[Preprocess] = None,
                 runtime_thresholds: bool = False, scale_to_orig: bool = False, pre_nms_topk: int = 1000) -> None:
        super().__init__(model, "v8", conf, iou, max_det, preprocess, runtime_thresholds, scale_to_orig, pre_nms_topk)
        self.kpt_shape = tuple(kpt_shape)

    def forward(self, images: Tensor, *extra: Tensor) -> Dict[str, Tensor]:
        (conf, iou), orig_size = self.split_inputs(extra)
        x = images if self.preprocess is None else self.preprocess(images)
        raw = self.model(x)
        k, d = self.kpt_shape
        nc = raw.shape[1] - 4 - k * d
        if nc < 1:
            raise ShapeError(f"PoseEnd2End: the model's output has {raw.shape[1]} channels, fewer than 4 boxes + 1 "
                             f"class + {k}x{d} keypoint values (kpt_shape {self.kpt_shape})")
        boxes, scores = decode_v8(raw[:, :4 + nc])
        out = self.nms(boxes, scores, conf, iou, with_index=True)
        index = out.pop("det_index")  # [B, max_det] anchor of each detection
        b, m = index.shape
        kpts = f32(raw[:, 4 + nc:]).permute(0, 2, 1)  # [B, A, K * D]
        kpts = F.gather(kpts, 1, F.expand(index.unsqueeze(2), (b, m, k * d))).reshape(b, m, k, d)
        if orig_size is not None:
            kpts = F.cat([_keypoints_to_orig(kpts[..., :2], orig_size, input_hw(x)), kpts[..., 2:]], -1)
            self.boxes_to_orig(out, orig_size, input_hw(x))
        rows = row_mask(out["num_dets"], m).unsqueeze(2).unsqueeze(3)
        out["det_keypoints"] = F.where(rows, kpts, 0.0)
        return out


def _keypoints_to_orig(xy: Tensor, orig_size: Tensor, input_hw: Any) -> Tensor:
    """Keypoints (x, y) [B, M, K, 2] mapped back to the original images as the boxes are (letterbox inverse), then
    clipped to them: each point goes through `scale_boxes` as the degenerate box (x, y, x, y)."""
    b, m, k, _ = xy.shape
    flat = xy.reshape(b, m * k, 2)
    return scale_boxes(F.cat([flat, flat], -1), orig_size, input_hw)[..., :2].reshape(b, m, k, 2)


class PoseTopKEnd2End(TopKEnd2End):
    """YOLO26 pose, NMS-free: the one-to-one branch and ultralytics' top-k (trtnn.models.vision.topk), its keypoint channels
    carried with the kept anchors as det_keypoints [B, max_det, K, D] (mapped back with the boxes under
    scale_to_orig, zero past num_dets); inputs as TopKEnd2End's."""

    def __init__(self, model: Module, kpt_shape: Sequence[int], conf: float = 0.25, max_det: int = 300,
                 preprocess: Optional[Preprocess] = None, runtime_thresholds: bool = False,
                 scale_to_orig: bool = False) -> None:
        super().__init__(model, conf, max_det, preprocess, runtime_thresholds, scale_to_orig)
        self.kpt_shape = tuple(kpt_shape)

    def forward(self, images: Tensor, *extra: Tensor) -> Dict[str, Tensor]:
        out = super().forward(images, *extra)
        k, d = self.kpt_shape
        kpts = out.pop("det_extra")
        b, m, nk = kpts.shape
        if nk != k * d:
            raise ShapeError(f"PoseTopKEnd2End: the model carries {nk} channels per detection after the class "
                             f"scores, kpt_shape {self.kpt_shape} needs {k * d}")
        kpts = kpts.reshape(b, m, k, d)
        if self.scale_to_orig:
            nhwc = self.preprocess is not None and self.preprocess.layout == "NHWC"
            hw = input_hw(images, (1, 2) if nhwc else (2, 3))
            kpts = F.cat([_keypoints_to_orig(kpts[..., :2], extra[-1], hw), kpts[..., 2:]], -1)
        out["det_keypoints"] = F.where(row_mask(out["num_dets"], m).unsqueeze(2).unsqueeze(3), kpts, 0.0)
        return out


# ---- outputs and registration --------------------------------------------------------------------------------
OUTPUTS: Dict[str, str] = {**DETECT_OUTPUTS, "det_keypoints": "keypoints per detection (fp32 [B, max_det, K, 3]): x, "
                           "y in the boxes' pixels, visibility (sigmoid)"}
POSE = TaskSpec("pose", OUTPUTS, {"output": f"[B, 4 + nc + K * 3, anchors]: {BOXES}, keypoints x, y (pixels), "
                                            "visibility"}, LETTERBOXED, yolo_preprocess)
POSE_NMS_FREE = TaskSpec("pose", OUTPUTS, {"output": f"[B, 4 + nc + K * 3, anchors] of the one-to-one head: "
                                                     f"{ONE2ONE_BOXES}, keypoints x, y (pixels), visibility; "
                                                     "ultralytics' top-k is the caller's"},
                         LETTERBOXED, yolo_preprocess, one2many_raw_outputs=POSE.raw_outputs)


def pose_config(state: StateDict) -> Dict[str, Any]:
    """nc as detection; kpt_shape (K, D) from the keypoint outputs K * D: YOLO26 has K from its 2K sigmas
    (cv4_sigma); v8 / YOLO11 only K * D (cv4's last conv), read as D = 3 (x, y, visibility) when it divides by 3,
    else 2 (give kpt_shape explicitly for a (K, 2) model whose 2K divides by 3)."""
    out = detect_config(state)
    kpts, sigma = (first_key(state, rf"model\.\d+\.{b}\.0\.bias") for b in ("cv4_kpts", "cv4_sigma"))
    key = kpts or first_key(state, r"model\.\d+\.cv4\.0\.2\.bias")
    if key:
        nk = numel(state, key)
        k = numel(state, sigma) // 2 if sigma else nk // 3 if nk % 3 == 0 else nk // 2
        out["kpt_shape"] = (k, nk // k)
    return out


def pose_end2end(model: Module, o: Dict[str, Any]) -> PoseEnd2End:
    """The registry's PoseEnd2End from the CLI's options."""
    return PoseEnd2End(model, model.model[-1].kpt_shape, **nms_options(o))


def pose_topk_end2end(model: Module, o: Dict[str, Any]) -> PoseTopKEnd2End:
    """The registry's PoseTopKEnd2End from the CLI's options."""
    return PoseTopKEnd2End(model, model.model[-1].kpt_shape, **topk_options(o))


for _lineage, _factory in (("yolov8", yolov8_pose), ("yolo11", yolo11_pose)):
    register_yolo(_lineage, POSE, _factory, suffix="-pose", config=pose_config, end2end=pose_end2end,
                  end2end_defaults=NMS_DEFAULTS)
register_yolo("yolo26", POSE_NMS_FREE, yolo26_pose, suffix="-pose", config=pose_config,
              end2end=by_head(pose_topk_end2end, pose_end2end), end2end_defaults=NMS_FREE_DEFAULTS)
