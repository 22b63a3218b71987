"""Class-aware greedy NMS inside the engine, from standard layers.

No INMSLayer and no plugin (TensorRT-RTX's CPU builder rejects INMSLayer, TensorRT 11 dropped the NMS plugins), so
the network builds with TensorRT-RTX and full TensorRT alike. Outputs use EfficientNMS' layout and names:
num_dets [B, 1] int32, det_boxes [B, max_det, 4] (x1, y1, x2, y2), det_scores [B, max_det], det_classes
[B, max_det] int32; rows past num_dets are zero. Results equal the originals' predict-time NMS with torchvision
semantics and a stable order among equal scores (tests/refmodels/detect_postprocess.py).

NMS, per image of N boxes and C classes:
1. each box's best class (the first maximum, as torch.max) and score;
2. the K = min(N, pre_nms_topk) best boxes ordered by (score desc, index asc), exactly also with ties: TopK on
   unique keys, then a rank sort by pairwise comparison;
3. S[j, i] = "box j suppresses box i": j before i, same class, IoU > iou (IoU as torchvision computes it, on boxes
   shifted by class * 7680 as the originals do);
4. keep = valid & !any_j(keep[j] & S[j, i]), a triangular system solved by fixed-point iteration in one while-loop
   (unique solution, reached after at most K + 1 iterations; in practice the depth of suppression chains, a handful);
5. the first max_det kept boxes; num_dets = min(#kept, max_det).
Exact when the top K boxes hold max_det kept ones or all boxes above conf; K is at most 3840 (TensorRT's TopK).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

import torch

from ... import functional as F
from ...errors import ShapeError, require_fraction
from ...graph.module import Module
from ...graph.tensor import Tensor
from .ops import Threshold, arange, f32, row_mask, stable_topk, threshold

MAX_WH = 7680  # class offset of the originals' batched NMS
MAX_PRE_NMS = 3840  # TensorRT TopK limit
OUTPUT_NAMES = ("num_dets", "det_boxes", "det_scores", "det_classes")


def suppression(boxes: Tensor, classes: Tensor, iou: Threshold) -> Tensor:
    """[B, K, K] fp16 0/1, [b, j, i] = 1 when box j (earlier) suppresses box i: j < i, same class, IoU > iou."""
    k = boxes.shape[1]
    x1, y1, x2, y2 = (boxes[..., t] for t in range(4))
    area = (x2 - x1) * (y2 - y1)

    def pair(v: Tensor, op: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
        return op(v.unsqueeze(2), v.unsqueeze(1))

    w = F.clamp(pair(x2, F.minimum) - pair(x1, F.maximum), min=0.0)
    h = F.clamp(pair(y2, F.minimum) - pair(y1, F.maximum), min=0.0)
    inter = w * h
    overlap = inter / (pair(area, F.add) - inter) > iou
    earlier = F.constant(torch.ones(k, k, dtype=torch.bool).triu(1).reshape(1, k, k), boxes, torch.bool)
    return F.cast(overlap & F.eq(classes.unsqueeze(2), classes.unsqueeze(1)) & earlier, torch.float16)


class NMS(Module):
    """Greedy class-aware NMS (torchvision semantics) with EfficientNMS-style outputs.

    forward(boxes [B, N, 4] x1y1x2y2, scores [B, N, C], conf=None, iou=None): `conf` / `iou` tensors (0-D or [1])
    override the build-time thresholds. Candidates are the boxes whose best score is > conf, with that (first best)
    class, as ultralytics predicts; with multi_label=True every (box, class) pair whose score is > conf, in box-major
    order, as ultralytics' validator does (mAP measured that way). A candidate suppresses later candidates of its
    class whose IoU with it is > iou.
    """

    def __init__(self, conf: float = 0.25, iou: float = 0.7, max_det: int = 300, pre_nms_topk: int = 1000,
                 multi_label: bool = False) -> None:
        super().__init__()
        require_fraction(conf, "conf", "NMS")
        require_fraction(iou, "iou", "NMS")
        if not 1 <= pre_nms_topk <= MAX_PRE_NMS:
            raise ShapeError(f"pre_nms_topk must be in [1, {MAX_PRE_NMS}] (TensorRT TopK), got {pre_nms_topk}")
        if max_det < 1:
            raise ShapeError(f"max_det must be positive, got {max_det}")
        self.conf, self.iou, self.max_det, self.pre_nms_topk = conf, iou, max_det, pre_nms_topk
        self.multi_label = multi_label

    def extra_repr(self) -> str:
        return (f"conf={self.conf}, iou={self.iou}, max_det={self.max_det}, pre_nms_topk={self.pre_nms_topk}"
                + (", multi_label=True" if self.multi_label else ""))

    def settings(self) -> Dict[str, Any]:
        """The build-time thresholds: conf, iou, max_det, pre_nms_topk."""
        return {"conf": self.conf, "iou": self.iou, "max_det": self.max_det, "pre_nms_topk": self.pre_nms_topk}

    def _candidates(self, boxes: Tensor, scores: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """(boxes [B, M, D], scores [B, M], classes [B, M] float, box index [B, M] float) of the candidate boxes or
        (box, class) pairs; D = 4, or 5 for rotated boxes."""
        _, n, c = scores.shape
        d = boxes.shape[2]
        if self.multi_label and n < 0:  # pair p = (box p // c, class p % c), p counted in the engine
            pairs = scores.reshape(-1, F.sym_size(scores, 1) * c)
            p = arange(F.sym_size(pairs, 1), pairs, (1, -1))
            index = F.floor(p / c)
            classes, index = F.expand_as(p - index * c, pairs), F.expand_as(index, pairs)
            return F.expand(boxes.unsqueeze(2), (-1, -1, c, d)).reshape(-1, F.sym_size(pairs, 1), d), pairs, \
                classes, index
        if self.multi_label:  # pair p = (box p // c, class p % c)
            pairs = scores.reshape(-1, n * c)
            classes = F.expand_as(F.constant((torch.arange(n * c) % c).float().reshape(1, n * c), scores), pairs)
            index = F.expand_as(F.constant((torch.arange(n * c) // c).float().reshape(1, n * c), scores), pairs)
            return F.expand(boxes.unsqueeze(2), (-1, n, c, d)).reshape(-1, n * c, d), pairs, classes, index
        best = F.amax(scores, -1)
        first_max = F.where(F.eq(scores, best.unsqueeze(2)), arange(c, scores, (1, 1, c)), float(c))
        return boxes, best, F.amin(first_max, -1), F.expand_as(arange(F.sym_size(scores, 1), scores, (1, -1)), best)

    def forward(self, boxes: Tensor, scores: Tensor, conf: Optional[Threshold] = None,
                iou: Optional[Threshold] = None, with_index: bool = False) -> Dict[str, Tensor]:
        """with_index=True adds det_index [B, max_det] int32: the box (row of `boxes`) each detection came from."""
        if boxes.ndim != 3 or boxes.shape[2] != 4 or scores.ndim != 3 or scores.shape[:2] != boxes.shape[:2]:
            raise ShapeError(f"NMS expects boxes [B, N, 4] and scores [B, N, C], got {boxes.shape} and {scores.shape}")
        conf = threshold(self.conf if conf is None else conf)
        iou = threshold(self.iou if iou is None else iou)
        boxes, best, classes, index = self._ranked(boxes, scores)
        valid = F.cast(best > conf, torch.float16).unsqueeze(1)  # [B, 1, K]
        suppress = suppression(boxes + classes.unsqueeze(2) * MAX_WH, classes, iou)
        keep = F.fixed_point(lambda kp: F.where(F.matmul(kp, suppress) > 0, 0.0, valid), valid)
        return first_kept(f32(keep.squeeze(1)), self.max_det, boxes, best, classes, index if with_index else None)

    def _ranked(self, boxes: Tensor, scores: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """The pre_nms_topk best candidates, best first (stable): boxes [B, K, D], scores [B, K], classes [B, K]
        float and the index of their box [B, K] float."""
        boxes, best, classes, index = self._candidates(f32(boxes), f32(scores))
        b, n = best.shape
        if n < 0:  # a runtime count: pre_nms_topk rows of score -inf appended (never kept), so TopK's k is fixed
            boxes, best, classes, index = pad_candidates(self.pre_nms_topk, boxes, best, classes, index)
        k = min(n, self.pre_nms_topk) if n >= 0 else self.pre_nms_topk
        order = stable_topk(best, k)
        ranked = F.gather(boxes, 1, F.expand(order.unsqueeze(2), (b, k, boxes.shape[2])))
        return ranked, F.gather(best, 1, order), F.gather(classes, 1, order), F.gather(index, 1, order)


def pad_candidates(k: int, boxes: Tensor, scores: Tensor, *rest: Tensor) -> Tuple[Tensor, ...]:
    """k more rows after a runtime number of candidates (boxes [B, N, D] zero, scores [B, N] -inf, the other [B, N]
    zero): a top-k of k then always has k rows, and the padding ranks after every real candidate (index asc)."""
    return (F.pad(boxes, (0, 0, 0, k)), F.pad(scores, (0, k), value=float("-inf")), *(F.pad(t, (0, k)) for t in rest))


def first_kept(keep: Tensor, max_det: int, boxes: Tensor, scores: Tensor, classes: Tensor,
               index: Optional[Tensor] = None) -> Dict[str, Tensor]:
    """The first max_det rows of (boxes [B, K, D], scores, classes) where keep [B, K] (0/1) is 1, zero-padded, as
    num_dets, det_boxes, det_scores, det_classes (and det_index [B, max_det] int32 from `index` when given)."""
    b, k, d = boxes.shape
    m = min(max_det, k)
    first = F.topk(keep * (k - arange(k, keep, (1, k))), m).indices  # kept rows, in order
    num_dets = F.minimum(F.sum(keep, -1, keepdim=True), float(max_det))
    rows = row_mask(num_dets, m)
    pad = max_det - m

    def rows_of(t: Tensor) -> Tensor:
        return F.pad(F.where(rows, F.gather(t, 1, first), 0.0), (0, pad))

    det_boxes = F.where(rows.unsqueeze(2), F.gather(boxes, 1, F.expand(first.unsqueeze(2), (b, m, d))), 0.0)
    out = {"num_dets": F.cast(num_dets, torch.int32), "det_boxes": F.pad(det_boxes, (0, 0, 0, pad)),
           "det_scores": rows_of(scores), "det_classes": F.cast(rows_of(classes), torch.int32)}
    if index is not None:
        out["det_index"] = F.cast(rows_of(index), torch.int32)
    return out
