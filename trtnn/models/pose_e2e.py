"""End-to-end YOLO pose inside the engine: the detection end to end plus the kept boxes' keypoints.

`PoseEnd2End` (v8 / YOLO11, and YOLO26's one-to-many branch) runs End2End's NMS; `PoseTopKEnd2End` YOLO26's
one-to-one branch and ultralytics' top-k (trtnn.models.topk). Outputs: num_dets, det_boxes, det_scores,
det_classes as the detection engines', and det_keypoints [B, max_det, K, D] float32 with D = 3 (x, y, visibility)
or 2 (x, y) as the model's kpt_shape: x, y in input pixels (or, with scale_to_orig, in the original image, mapped as
the boxes are and clipped to it, ultralytics' scale_coords + clip_coords), visibility a sigmoid score; rows past
num_dets are zero.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

from .. import functional as F
from ..errors import ShapeError
from ..graph.module import Module
from ..graph.tensor import Tensor
from .detect import End2End, Preprocess, _f32, _row_mask, decode_v8, input_hw, scale_boxes
from .topk import TopKEnd2End


class PoseEnd2End(End2End):
    """preprocess -> raw pose model ([B, 4 + nc + K * D, A]) -> decode -> NMS -> keypoints of the kept boxes.

    Inputs as End2End's (`inputs()`); kpt_shape (K, D) as the model's Pose head."""

    def __init__(self, model: Module, kpt_shape: Sequence[int], conf: float = 0.25, iou: Optional[float] = None,
                 max_det: Optional[int] = None, preprocess: Optional[Preprocess] = None,
                 runtime_thresholds: bool = False, scale_to_orig: bool = False, pre_nms_topk: int = 1000) -> None:
        super().__init__(model, "v8", conf, iou, max_det, preprocess, runtime_thresholds, scale_to_orig, pre_nms_topk)
        self.kpt_shape = tuple(kpt_shape)

    def forward(self, images: Tensor, *extra: Tensor) -> Dict[str, Tensor]:
        conf, iou = self._thresholds(extra)
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
        kpts = _f32(raw[:, 4 + nc:]).permute(0, 2, 1)  # [B, A, K * D]
        kpts = F.gather(kpts, 1, F.expand(index.unsqueeze(2), (b, m, k * d))).reshape(b, m, k, d)
        if self.scale_to_orig:
            kpts = F.cat([_keypoints_to_orig(kpts[..., :2], extra[-1], input_hw(x)), kpts[..., 2:]], -1)
            self._boxes_to_orig(out, extra[-1], input_hw(x))
        rows = _row_mask(out["num_dets"], m).unsqueeze(2).unsqueeze(3)
        out["det_keypoints"] = F.where(rows, kpts, 0.0)
        return out


def _keypoints_to_orig(xy: Tensor, orig_size: Tensor, input_hw: Any) -> Tensor:
    """Keypoints (x, y) [B, M, K, 2] mapped back to the original images as the boxes are (letterbox inverse), then
    clipped to them: each point goes through `scale_boxes` as the degenerate box (x, y, x, y)."""
    b, m, k, _ = xy.shape
    flat = xy.reshape(b, m * k, 2)
    return scale_boxes(F.cat([flat, flat], -1), orig_size, input_hw)[..., :2].reshape(b, m, k, 2)

class PoseTopKEnd2End(TopKEnd2End):
    """YOLO26 pose, NMS-free: the one-to-one branch and ultralytics' top-k (trtnn.models.topk), its keypoint channels
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
        out["det_keypoints"] = F.where(_row_mask(out["num_dets"], m).unsqueeze(2).unsqueeze(3), kpts, 0.0)
        return out
