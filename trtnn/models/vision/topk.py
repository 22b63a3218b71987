"""NMS-free selection (YOLOv10, YOLO26 one-to-one heads): ultralytics' `Detect.postprocess` top-k inside the engine.

The one-to-one head's output [B, 4 + nc (+ ne), A] (x1y1x2y2 pixels, sigmoid class scores, then any task channels)
goes through ultralytics' `get_topk_index`, exactly:
1. the k = min(max_det, A) anchors of highest best-class score;
2. among those k anchors x nc classes, the k highest scores: each gives (score, class = flat index % nc, anchor =
   the (flat index // nc)-th anchor of step 1); rows sorted by score.
Equal scores are ordered by index in both steps (ultralytics leaves their order to torch.topk). Then, as the
predictor does for [B, 300, 6] outputs, the rows with score > conf are kept: num_dets counts them and later rows are
zero. Outputs as End2End's (EfficientNMS layout): num_dets [B, 1] int32, det_boxes [B, max_det, 4], det_scores
[B, max_det], det_classes [B, max_det] int32, plus det_extra [B, max_det, ne] for heads with task channels.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import torch

from ... import functional as F
from ...errors import ShapeError, require_fraction
from ...graph.module import Module
from ...graph.tensor import Tensor
from .nms import MAX_PRE_NMS
from .ops import Threshold, arange, f32, row_mask, stable_topk, threshold


class TopK(Module):
    """ultralytics' `Detect.postprocess` (two-stage top-k) plus the conf threshold, EfficientNMS-style outputs.

    forward(pred [B, 4 + nc + ne, A], conf=None): `conf` (a 0-D or [1] tensor) overrides the build-time threshold.
    """

    def __init__(self, nc: int, conf: float = 0.25, max_det: int = 300) -> None:
        super().__init__()
        require_fraction(conf, "conf", "TopK")
        if not 1 <= max_det <= MAX_PRE_NMS:
            raise ShapeError(f"TopK max_det must be in [1, {MAX_PRE_NMS}] (TensorRT TopK), got {max_det}")
        self.nc, self.conf, self.max_det = nc, conf, max_det

    def extra_repr(self) -> str:
        return f"nc={self.nc}, conf={self.conf}, max_det={self.max_det}"

    def settings(self) -> Dict[str, Any]:
        """The build-time thresholds: conf, max_det."""
        return {"conf": self.conf, "max_det": self.max_det}

    def select(self, pred: Tensor) -> Tuple[Tensor, Tensor, Tensor, Optional[Tensor]]:
        """`get_topk_index` and the gathers of `postprocess`: boxes [B, k, 4], scores [B, k], classes [B, k]
        (float), task channels [B, k, ne] or None; k = min(max_det, A), rows by score (desc, then index)."""
        if pred.ndim != 3 or pred.shape[1] < 4 + self.nc:
            raise ShapeError(f"TopK expects the one-to-one output [B, 4 + nc (+ extra), A] with nc={self.nc}, "
                             f"got {pred.shape}")
        x = f32(pred).permute(0, 2, 1)  # [B, A, C]
        b, a, c = x.shape
        runtime_a = F.sym_size(x, 1) if a < 0 else None
        if runtime_a is not None:  # a runtime anchor count: max_det rows of -inf appended, so k is fixed (see below)
            x = F.pad(x, (0, 0, 0, self.max_det), value=float("-inf"))
        k, nc = min(self.max_det, a) if a >= 0 else self.max_det, self.nc
        scores = x[..., 4:4 + nc]
        anchors = F.cast(stable_topk(F.amax(scores, -1), k), torch.int32)  # [B, k]
        top = F.gather(scores, 1, F.expand(anchors.unsqueeze(2), (b, k, nc))).reshape(-1, k * nc)
        flat = F.cast(stable_topk(top, k), torch.int32)  # [B, k]: rank * nc + class
        rank = F.floor_divide(flat, nc)
        anchor = F.gather(anchors, 1, rank).unsqueeze(2)
        extra = F.gather(x[..., 4 + nc:], 1, F.expand(anchor, (b, k, c - 4 - nc))) if c > 4 + nc else None
        boxes = F.gather(x[..., :4], 1, F.expand(anchor, (b, k, 4)))
        scores = F.gather(top, 1, flat)
        if runtime_a is not None:  # k = min(max_det, A) of the original: rows from A on (by score) do not count
            scores = F.where(arange(k, scores, (1, k)) < f32(runtime_a).reshape(1, 1), scores, float("-inf"))
        return boxes, scores, f32(flat - rank * nc), extra

    def forward(self, pred: Tensor, conf: Optional[Threshold] = None) -> Dict[str, Tensor]:
        boxes, scores, classes, extra = self.select(pred)
        k = scores.shape[1]
        num_dets = F.sum(f32(scores > threshold(self.conf if conf is None else conf)), -1, keepdim=True)
        rows = row_mask(num_dets, k)
        pad = self.max_det - k
        out = {
            "num_dets": F.cast(num_dets, torch.int32),
            "det_boxes": F.pad(F.where(rows.unsqueeze(2), boxes, 0.0), (0, 0, 0, pad)),
            "det_scores": F.pad(F.where(rows, scores, 0.0), (0, pad)),
            "det_classes": F.cast(F.pad(F.where(rows, classes, 0.0), (0, pad)), torch.int32),
        }
        if extra is not None:
            out["det_extra"] = F.pad(F.where(rows.unsqueeze(2), extra, 0.0), (0, 0, 0, pad))
        return out
