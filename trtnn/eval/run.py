"""Run an end-to-end detection or segmentation network (EfficientNMS layout) on a data set with the CPU executor and
score it as ultralytics' validator does."""
from __future__ import annotations

import os
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from tqdm import tqdm

from ..errors import ShapeError
from .detection import DetectionMetrics
from .segmentation import SegmentationMetrics, ground_truth
from ..models.vision.data import YoloImages
from ..reference import Executor

Metrics = Union[DetectionMetrics, SegmentationMetrics]
RatioPad = Tuple[Tuple[float, float], Tuple[int, int]]


def unletterbox(boxes: np.ndarray, ratio_pad: RatioPad, orig_hw: Sequence[int]) -> np.ndarray:
    """xyxy boxes [N, 4] in letterboxed pixels -> original pixels, clipped (ultralytics' scale_boxes with ratio_pad)."""
    (gain_y, gain_x), (left, top) = ratio_pad
    out = (np.asarray(boxes, np.float64) - [left, top, left, top]) / [gain_x, gain_y, gain_x, gain_y]
    return np.clip(out, 0, [orig_hw[1], orig_hw[0], orig_hw[1], orig_hw[0]])


def score_batch(metrics: Metrics, out: Dict[str, torch.Tensor], data: YoloImages, start: int, sizes: np.ndarray,
                targets: Sequence[Any], ratio_pads: Sequence[RatioPad], input_hw: Tuple[int, int],
                boxes_in_original: bool = False) -> None:
    """Add a batch of end-to-end outputs (num_dets, det_boxes, det_scores, det_classes[, det_masks]) for images
    start.. of `data` (as its `batches` gave them: original sizes, targets, ratio_pads; one output row per image,
    padding rows after them ignored) to `metrics`. Segmentation: ground truth from the polygons (`ground_truth`),
    masks at the prototypes' resolution. boxes_in_original: the network already mapped boxes to the originals."""
    for i in range(len(ratio_pads)):
        k = int(out["num_dets"][i, 0])
        boxes = out["det_boxes"][i, :k].double().numpy()
        if not boxes_in_original:
            boxes = unletterbox(boxes, ratio_pads[i], sizes[i])
        scores, classes = out["det_scores"][i, :k].double().numpy(), out["det_classes"][i, :k].numpy()
        if isinstance(metrics, SegmentationMetrics):
            stem = os.path.splitext(os.path.basename(data.files[start + i]))[0]
            gt_cls, gt_boxes, gt_masks = ground_truth(os.path.join(data.label_dir, stem + ".txt"), sizes[i],
                                                      ratio_pads[i], input_hw)
            if out["det_masks"].shape[2:] != gt_masks.shape[1:]:
                raise ShapeError(f"det_masks {tuple(out['det_masks'].shape[2:])}: the network must output masks at "
                                 f"the prototypes' resolution {gt_masks.shape[1:]} (mask_resolution='proto')")
            metrics.update(boxes, scores, classes, out["det_masks"][i, :k].numpy(), gt_boxes, gt_cls, gt_masks)
        else:
            gt_cls, gt_boxes = targets[i]
            metrics.update(boxes, scores, classes, gt_boxes, gt_cls)


def _evaluate(network: Any, data: YoloImages, metrics: Metrics, input_name: str, scaleup: bool,
              progress: Optional[bool]) -> Metrics:
    """Run `network` (static batch B, uint8 NHWC BGR `input_name`, optional `orig_size`) over `data`, letterboxed to
    its input size, and score every image; the last batch is padded."""
    run = Executor(network.network)
    shape = next(tuple(i.shape) for i in network.inputs if i.name == input_name)
    batch, input_hw = shape[0], tuple(shape[1:3])
    with_sizes = any(i.name == "orig_size" for i in network.inputs)
    bar = tqdm(total=len(data), desc="evaluating", disable=not progress if progress is not None else None)
    for start, (images, sizes, targets, ratio_pads) in zip(range(0, len(data), batch),
                                                           data.batches(batch, input_hw, scaleup or with_sizes)):
        n = len(images)
        feed_images, feed_sizes = images, sizes
        if n < batch:
            feed_images = np.concatenate([images, np.zeros((batch - n,) + images.shape[1:], images.dtype)])
            feed_sizes = np.concatenate([sizes, np.ones((batch - n, 2), sizes.dtype)])
        feed = {input_name: torch.from_numpy(feed_images)}
        if with_sizes:
            feed["orig_size"] = torch.from_numpy(feed_sizes)
        score_batch(metrics, run(feed), data, start, sizes, targets, ratio_pads, input_hw, with_sizes)
        bar.update(n)
    bar.close()
    return metrics


def evaluate_end2end(network: Any, data: YoloImages, nc: int, input_name: str = "images", scaleup: bool = False,
                     progress: Optional[bool] = None) -> DetectionMetrics:
    """mAP of a defined end-to-end network over `data`, as ultralytics' validator measures it.

    The network takes uint8 NHWC BGR images of a static batch size B, letterboxed here to its input size (scaleup=False
    as the validator: smaller images are padded, not enlarged); outputs num_dets / det_boxes / det_scores /
    det_classes. Boxes are mapped back to the original images here (with the letterbox's ratio_pad), or by the
    network when it has an `orig_size` input (it assumes scaleup=True geometry). The last batch is padded."""
    return _evaluate(network, data, DetectionMetrics(nc), input_name, scaleup, progress)


def evaluate_segment_end2end(network: Any, data: YoloImages, nc: int, input_name: str = "images",
                             progress: Optional[bool] = None) -> SegmentationMetrics:
    """Box and mask mAP of a defined SegmentEnd2End network (mask_resolution='proto', uint8 NHWC BGR input of static
    batch B) over `data` (polygons from its label folder, e.g. YoloImages(root, labels='labels_seg')), images
    letterboxed as ultralytics' validator (scaleup=False). The last batch is padded."""
    return _evaluate(network, data, SegmentationMetrics(nc), input_name, False, progress)
