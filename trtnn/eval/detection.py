"""Detection mAP with ultralytics 8.4's definition (its DetectionValidator, BaseValidator.match_predictions and
metrics.ap_per_class / compute_ap).

Per image, predictions in descending confidence each claim, independently at every IoU threshold t, the unclaimed
ground-truth box of their class with the highest IoU; the prediction is a true positive at t when that IoU >= t
(COCO's greedy matching). Per class, predictions of all images sorted by confidence give a precision/recall curve;
AP is the area under its monotone envelope sampled at 101 recall points (trapezoids), with precision 0 beyond the
last recall reached. mAP50-95 averages AP over the 10 thresholds 0.50:0.05:0.95 and over the classes that have
ground truth.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List

import numpy as np

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10).astype(np.float32)  # float32, as ultralytics compares


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of xyxy boxes a [N, 4] and b [M, 4] -> [N, M], in float32 as ultralytics computes it (eps 1e-7)."""
    a, b = np.asarray(a, np.float32).reshape(-1, 4), np.asarray(b, np.float32).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(2)
    area_a = (a[:, 2:] - a[:, :2]).prod(1)
    area_b = (b[:, 2:] - b[:, :2]).prod(1)
    return inter / (area_a[:, None] + area_b[None, :] - inter + np.float32(1e-7))


def match_predictions(pred_classes: np.ndarray, gt_classes: np.ndarray, iou: np.ndarray,
                      thresholds: np.ndarray = IOU_THRESHOLDS) -> np.ndarray:
    """[n_pred, n_thresholds] bool: prediction j is a true positive at threshold t. iou is [n_gt, n_pred]; the
    predictions are taken in their order (descending confidence), each claiming its best unclaimed ground truth."""
    thresholds = np.asarray(thresholds)
    correct = np.zeros((len(pred_classes), len(thresholds)), bool)
    iou = iou * (np.asarray(gt_classes)[:, None] == np.asarray(pred_classes)[None, :])
    claimed = np.zeros((iou.shape[0], len(thresholds)), bool)
    columns = np.arange(len(thresholds))
    for j in np.flatnonzero((iou >= thresholds.min()).any(0)):
        available = np.where(claimed, 0.0, iou[:, j, None])
        best = available.argmax(0)
        correct[j] = available[best, columns] >= thresholds
        claimed[best, columns] |= correct[j]
    return correct


def ap_from_pr(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under the monotone precision envelope, by trapezoids over 101 recall points; precision drops to 0 after
    the last recall reached (ultralytics 8.4's compute_ap)."""
    last = recall[-1] if len(recall) else 1.0
    mrec = np.concatenate(([0.0], recall, [last, 1.0]))
    mpre = np.concatenate(([1.0], precision, [0.0, 0.0]))
    mpre = np.flip(np.maximum.accumulate(np.flip(mpre)))
    x = np.linspace(0, 1, 101)
    y = np.interp(x, mrec, mpre)
    return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)))


def by_confidence(scores, *arrays) -> tuple:
    """(scores, *arrays) reordered by descending score (stable), the order the matching takes predictions in."""
    scores = np.asarray(scores, np.float64).reshape(-1)
    order = np.argsort(-scores, kind="stable")
    return (scores[order],) + tuple(np.asarray(a)[order] for a in arrays)


@dataclass
class DetectionMetrics:
    """Accumulate per-image predictions and ground truth; `results()` gives mAP50-95, mAP50, P and R."""

    nc: int
    _tp: List[np.ndarray] = field(default_factory=list)
    _conf: List[np.ndarray] = field(default_factory=list)
    _cls: List[np.ndarray] = field(default_factory=list)
    _gt_cls: List[np.ndarray] = field(default_factory=list)

    def update(self, boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, gt_boxes: np.ndarray,
               gt_classes: np.ndarray) -> None:
        """One image: predicted xyxy boxes [N, 4], scores [N], classes [N]; ground truth xyxy [M, 4], classes [M]."""
        scores, boxes, classes = by_confidence(scores, np.asarray(boxes).reshape(-1, 4), classes)
        gt_boxes, gt_classes = np.asarray(gt_boxes).reshape(-1, 4), np.asarray(gt_classes).reshape(-1)
        self.add(match_predictions(classes, gt_classes, box_iou(gt_boxes, boxes)), scores, classes, gt_classes)

    def add(self, correct: np.ndarray, scores: np.ndarray, classes: np.ndarray, gt_classes: np.ndarray) -> None:
        """One image, already matched: correct [N, n_thresholds] bool (see match_predictions), scores [N], classes [N],
        ground-truth classes [M]."""
        self._tp.append(np.asarray(correct, bool).reshape(-1, len(IOU_THRESHOLDS)))
        self._conf.append(np.asarray(scores, np.float64).reshape(-1))
        self._cls.append(np.asarray(classes).reshape(-1))
        self._gt_cls.append(np.asarray(gt_classes).reshape(-1))

    def per_class(self) -> Dict[int, np.ndarray]:
        """Class -> AP at each IoU threshold, for the classes with ground truth."""
        tp = np.concatenate(self._tp) if self._tp else np.zeros((0, len(IOU_THRESHOLDS)), bool)
        conf, cls = np.concatenate(self._conf), np.concatenate(self._cls)
        gt_cls = np.concatenate(self._gt_cls)
        order = np.argsort(-conf, kind="stable")
        tp, cls = tp[order], cls[order]
        out = {}
        for c in np.unique(gt_cls).astype(int):
            sel = cls == c
            n_gt = int((gt_cls == c).sum())
            if not sel.any():  # no prediction of this class: AP 0 (as the original, which skips the curve)
                out[c] = np.zeros(tp.shape[1])
                continue
            tpc = np.cumsum(tp[sel], 0)
            fpc = np.cumsum(~tp[sel], 0)
            recall = tpc / (n_gt + 1e-16)
            precision = tpc / np.maximum(tpc + fpc, 1e-16)
            out[c] = np.array([ap_from_pr(recall[:, k], precision[:, k]) for k in range(tp.shape[1])])
        return out

    def results(self) -> Dict[str, float]:
        """mAP50-95, mAP50 (means over classes with ground truth), and the number of images and detections."""
        aps = self.per_class()
        table = np.stack(list(aps.values())) if aps else np.zeros((1, len(IOU_THRESHOLDS)))
        return {"mAP50-95": float(table.mean()), "mAP50": float(table[:, 0].mean()), "images": len(self._tp),
                "detections": int(sum(len(c) for c in self._conf))}
