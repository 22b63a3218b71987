"""NMS-free end to end (YOLOv10, YOLO26): ultralytics' `Detect.postprocess` top-k inside the engine.

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

from typing import Dict, List, Optional, Tuple

import torch

from .. import functional as F
from ..compile import Input
from ..errors import ConfigError, ShapeError, require_fraction
from ..graph.module import Module
from ..graph.tensor import Tensor
from .detect import (MAX_PRE_NMS, Preprocess, Threshold, _arange, _f32, _row_mask, _stable_topk, _threshold,
                     check_extra_inputs, image_inputs, input_hw, model_stride, scale_boxes)


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

    def select(self, pred: Tensor) -> Tuple[Tensor, Tensor, Tensor, Optional[Tensor]]:
        """`get_topk_index` and the gathers of `postprocess`: boxes [B, k, 4], scores [B, k], classes [B, k]
        (float), task channels [B, k, ne] or None; k = min(max_det, A), rows by score (desc, then index)."""
        if pred.ndim != 3 or pred.shape[1] < 4 + self.nc:
            raise ShapeError(f"TopK expects the one-to-one output [B, 4 + nc (+ extra), A] with nc={self.nc}, "
                             f"got {pred.shape}")
        x = _f32(pred).permute(0, 2, 1)  # [B, A, C]
        b, a, c = x.shape
        runtime_a = F.sym_size(x, 1) if a < 0 else None
        if runtime_a is not None:  # a runtime anchor count: max_det rows of -inf appended, so k is fixed (see below)
            x = F.pad(x, (0, 0, 0, self.max_det), value=float("-inf"))
        k, nc = min(self.max_det, a) if a >= 0 else self.max_det, self.nc
        scores = x[..., 4:4 + nc]
        anchors = F.cast(_stable_topk(F.amax(scores, -1), k), torch.int32)  # [B, k]
        top = F.gather(scores, 1, F.expand(anchors.unsqueeze(2), (b, k, nc))).reshape(-1, k * nc)
        flat = F.cast(_stable_topk(top, k), torch.int32)  # [B, k]: rank * nc + class
        rank = F.floor_divide(flat, nc)
        anchor = F.gather(anchors, 1, rank).unsqueeze(2)
        extra = F.gather(x[..., 4 + nc:], 1, F.expand(anchor, (b, k, c - 4 - nc))) if c > 4 + nc else None
        boxes = F.gather(x[..., :4], 1, F.expand(anchor, (b, k, 4)))
        scores = F.gather(top, 1, flat)
        if runtime_a is not None:  # k = min(max_det, A) of the original: rows from A on (by score) do not count
            scores = F.where(_arange(k, scores, (1, k)) < _f32(runtime_a).reshape(1, 1), scores, float("-inf"))
        return boxes, scores, _f32(flat - rank * nc), extra

    def forward(self, pred: Tensor, conf: Optional[Threshold] = None) -> Dict[str, Tensor]:
        boxes, scores, classes, extra = self.select(pred)
        k = scores.shape[1]
        num_dets = F.sum(_f32(scores > _threshold(self.conf if conf is None else conf)), -1, keepdim=True)
        rows = _row_mask(num_dets, k)
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


class TopKEnd2End(Module):
    """preprocess -> YOLOv10 / YOLO26 model (its one-to-one branch) -> TopK, returning {num_dets, det_boxes,
    det_scores, det_classes}.

    Network inputs, in the order `inputs()` lists them: images (uint8 when `preprocess` is given, else float NCHW),
    then conf_thres (fp32 [1]) if runtime_thresholds, then orig_size (int32 [B, 2], (h, w)) if scale_to_orig: boxes
    are then mapped back to the letterboxed original images and clipped (as End2End does).
    """

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

    def inputs(self, imgsz: Tuple[int, int], batch: int = 1, max_batch: Optional[int] = None,
               min_imgsz: Optional[Tuple[int, int]] = None) -> List[Input]:
        """The network inputs for images of (h, w) = imgsz, in forward's order; a dynamic batch of 1..max_batch
        when `max_batch` is given, a dynamic height and width from min_imgsz to imgsz when `min_imgsz` is."""
        return image_inputs(self.preprocess, imgsz, self.scale_to_orig, batch, max_batch,
                            ("conf_thres",) if self.runtime_thresholds else (), min_imgsz, model_stride(self.model))

    def forward(self, images: Tensor, *extra: Tensor) -> Dict[str, Tensor]:
        check_extra_inputs(self, extra, self.runtime_thresholds + self.scale_to_orig)
        x = images if self.preprocess is None else self.preprocess(images)
        out = self.topk(self.model(x), extra[0] if self.runtime_thresholds else None)
        if self.scale_to_orig:
            self._boxes_to_orig(out, extra[-1], input_hw(x))
        return out

    def _boxes_to_orig(self, out: Dict[str, Tensor], orig_size: Tensor, input_hw: Tuple[int, int]) -> None:
        """det_boxes mapped back to the original images (rows past num_dets stay zero)."""
        scaled = scale_boxes(out["det_boxes"], orig_size, input_hw)
        rows = _row_mask(out["num_dets"], self.topk.max_det).unsqueeze(2)
        out["det_boxes"] = F.where(rows, scaled, 0.0)
