"""Run an end-to-end detection network (EfficientNMS layout) on a data set with the CPU executor and score it."""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import numpy as np
import torch
from tqdm import tqdm

from .detection import DetectionMetrics
from ..models.vision.data import YoloImages
from ..reference import Executor


def unletterbox(boxes: np.ndarray, ratio_pad: Tuple[Tuple[float, float], Tuple[int, int]], orig_hw: Sequence[int]
                ) -> np.ndarray:
    """xyxy boxes [N, 4] in letterboxed pixels -> original pixels, clipped (ultralytics' scale_boxes with ratio_pad)."""
    (gain_y, gain_x), (left, top) = ratio_pad
    out = (np.asarray(boxes, np.float64) - [left, top, left, top]) / [gain_x, gain_y, gain_x, gain_y]
    return np.clip(out, 0, [orig_hw[1], orig_hw[0], orig_hw[1], orig_hw[0]])


def evaluate_end2end(network: Any, data: YoloImages, nc: int, input_name: str = "images", scaleup: bool = False,
                     progress: Optional[bool] = None) -> DetectionMetrics:
    """mAP of a defined end-to-end network over `data`, as ultralytics' validator measures it.

    The network takes uint8 NHWC BGR images of a static batch size B, letterboxed here to its input size (scaleup=False
    as the validator: smaller images are padded, not enlarged); outputs num_dets / det_boxes / det_scores /
    det_classes. Boxes are mapped back to the original images here (with the letterbox's ratio_pad), or by the
    network when it has an `orig_size` input (it assumes scaleup=True geometry). The last batch is padded."""
    run = Executor(network.network)
    shape = next(tuple(i.shape) for i in network.inputs if i.name == input_name)
    batch, with_sizes = shape[0], any(i.name == "orig_size" for i in network.inputs)
    metrics = DetectionMetrics(nc)
    bar = tqdm(total=len(data), desc="evaluating", disable=not progress if progress is not None else None)
    for images, sizes, targets, ratio_pads in data.batches(batch, shape[1:3], scaleup or with_sizes):
        n = len(images)
        if n < batch:
            images = np.concatenate([images, np.zeros((batch - n,) + images.shape[1:], images.dtype)])
            sizes = np.concatenate([sizes, np.ones((batch - n, 2), sizes.dtype)])
        feed = {input_name: torch.from_numpy(images)}
        if with_sizes:
            feed["orig_size"] = torch.from_numpy(sizes)
        out = run(feed)
        for i, (gt_cls, gt_boxes) in enumerate(targets):
            k = int(out["num_dets"][i, 0])
            boxes = out["det_boxes"][i, :k].double().numpy()
            if not with_sizes:
                boxes = unletterbox(boxes, ratio_pads[i], sizes[i])
            metrics.update(boxes, out["det_scores"][i, :k].double().numpy(),
                           out["det_classes"][i, :k].numpy(), gt_boxes, gt_cls)
        bar.update(n)
    bar.close()
    return metrics
