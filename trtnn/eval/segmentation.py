"""Mask mAP with ultralytics 8.4's definition (its SegmentationValidator, overlap_mask=True, mask_ratio 4).

Ground truth: each YOLO polygon (labels_seg) resampled to 1000 points (`resample_segments`, float32), mapped into the
letterboxed network input, truncated to int32 pixels, filled (cv2.fillPoly) at the input resolution and resized
(bilinear) to 1/4 of it (`polygon2mask`); instances are sorted by that mask's area, largest first, and drawn in that
order into one index map (`polygons2masks_overlap`: smaller objects on top), instance i's mask = (map == i + 1).
Predictions: the masks at the prototypes' resolution (`process_mask` without upsampling, the engine's
mask_resolution='proto'). Mask IoU = |A and B| / |A or B| over those 1/4-resolution pixels (letterbox padding
included), then the same matching and AP as boxes (trtnn.eval.detection). Boxes are scored on the original images.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

import numpy as np

from ..errors import FileError, ShapeError
from .detection import DetectionMetrics, by_confidence, match_predictions
from ..models.vision.host import opencv

RESAMPLE_POINTS = 1000
MASK_RATIO = 4


def read_polygons(path: str) -> Tuple[np.ndarray, List[np.ndarray]]:
    """A YOLO segmentation label file (class x1 y1 x2 y2 ..., normalized) -> classes [M] int, polygons [K, 2]
    float32."""
    if not os.path.exists(path):
        return np.zeros(0, int), []
    classes, polygons = [], []
    for line in open(path):
        values = line.split()
        if not values:
            continue
        if len(values) < 7 or len(values) % 2 == 0:
            raise FileError(f"label file '{path}': expected 'class x1 y1 x2 y2 x3 y3 ...' (3 or more points), got "
                            f"{len(values)} numbers on a line")
        try:
            classes.append(int(float(values[0])))
            polygons.append(np.array(values[1:], np.float32).reshape(-1, 2))
        except ValueError:
            raise FileError(f"label file '{path}': expected numbers, got {line.strip()!r}") from None
    return np.array(classes, int), polygons


def resample_polygon(poly: np.ndarray, n: int = RESAMPLE_POINTS) -> np.ndarray:
    """The closed polygon as n points (ultralytics' resample_segments): evenly spaced along the vertex index, the
    original vertices kept when it has fewer than n; float32."""
    if len(poly) == n:
        return poly
    closed = np.concatenate([poly, poly[:1]], 0)
    xp = np.arange(len(closed))
    x = np.linspace(0, len(closed) - 1, n - len(closed) if len(closed) < n else n)
    if len(closed) < n:
        x = np.insert(x, np.searchsorted(x, xp), xp)
    return np.stack([np.interp(x, xp, closed[:, i]) for i in range(2)], 1).astype(np.float32)


def overlap_masks(polygons: Sequence[np.ndarray], input_hw: Tuple[int, int], ratio: int = MASK_RATIO
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """Pixel polygons in the network input -> (masks [M, H / ratio, W / ratio] bool, instance order): the overlap
    index map of polygons2masks_overlap split per instance, in its largest-area-first order."""
    cv2 = opencv()
    h, w = input_hw
    single = []
    for poly in polygons:
        full = np.zeros((h, w), np.uint8)
        cv2.fillPoly(full, [np.asarray(poly, np.int32).reshape(-1, 2)], color=1)
        single.append(cv2.resize(full, (w // ratio, h // ratio)))
    order = np.argsort(-np.array([m.sum() for m in single]))
    index_map = np.zeros((h // ratio, w // ratio), np.int32)
    for i, k in enumerate(order):
        index_map = np.clip(index_map + single[k] * (i + 1), 0, i + 1)
    return index_map[None] == np.arange(1, len(order) + 1).reshape(-1, 1, 1), order


def mask_iou(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """IoU of masks gt [M, ...] and pred [N, ...] (0/1) -> [M, N], in float32 as ultralytics' mask_iou (eps 1e-7):
    pixel counts are exact, so ratios such as 3/4 meet the threshold 0.75 as they do there."""
    a = np.asarray(gt, np.float32).reshape(len(gt), -1)
    b = np.asarray(pred, np.float32).reshape(len(pred), -1)
    inter = a @ b.T
    return inter / (a.sum(1)[:, None] + b.sum(1)[None] - inter + np.float32(1e-7))


@dataclass
class SegmentationMetrics:
    """Box and mask mAP of the same detections: `results()` -> {'box': {...}, 'mask': {...}} as DetectionMetrics."""

    nc: int
    box: DetectionMetrics = field(init=False)
    mask: DetectionMetrics = field(init=False)

    def __post_init__(self) -> None:
        self.box, self.mask = DetectionMetrics(self.nc), DetectionMetrics(self.nc)

    def update(self, boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, masks: np.ndarray,
               gt_boxes: np.ndarray, gt_classes: np.ndarray, gt_masks: np.ndarray) -> None:
        """One image: xyxy boxes [N, 4] (original pixels), scores [N], classes [N], masks [N, h, w]; ground truth
        boxes [M, 4], classes [M], masks [M, h, w] (the same resolution as the predicted masks)."""
        if len(masks) and len(gt_masks) and np.shape(masks)[1:] != np.shape(gt_masks)[1:]:
            raise ShapeError(f"predicted masks {np.shape(masks)[1:]} and ground-truth masks {np.shape(gt_masks)[1:]} "
                             "must have the same resolution")
        scores, boxes, classes, masks = by_confidence(scores, np.asarray(boxes).reshape(-1, 4),
                                                      np.asarray(classes).reshape(-1), masks)
        self.box.update(boxes, scores, classes, gt_boxes, gt_classes)
        correct = match_predictions(classes, np.asarray(gt_classes).reshape(-1), mask_iou(gt_masks, masks))
        self.mask.add(correct, scores, classes, gt_classes)

    def results(self) -> Dict[str, Dict[str, float]]:
        return {"box": self.box.results(), "mask": self.mask.results()}


def ground_truth(label_file: str, orig_hw: Sequence[int], ratio_pad: Tuple[Tuple[float, float], Tuple[int, int]],
                 input_hw: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's ground truth as the validator sees it, in its largest-area-first order: classes [M], xyxy boxes
    [M, 4] in original pixels (the polygons' extent), masks [M, H/4, W/4] bool in the letterboxed input."""
    classes, polygons = read_polygons(label_file)
    h0, w0 = orig_hw
    (gain_y, gain_x), (left, top) = ratio_pad
    boxes = np.array([[p[:, 0].min() * w0, p[:, 1].min() * h0, p[:, 0].max() * w0, p[:, 1].max() * h0]
                      for p in polygons], np.float64).reshape(-1, 4)
    scale, gain = np.array([w0, h0], np.float32), np.array([gain_x, gain_y], np.float32)  # float32, as Instances
    pixels = [resample_polygon(p) * scale * gain + np.array([left, top], np.float32) for p in polygons]
    masks, order = overlap_masks(pixels, input_hw)
    return classes[order], boxes[order], masks
