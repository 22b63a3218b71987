"""The inputs of the end-to-end vision engines: the image batch (static or dynamic batch), run-time thresholds and the
original image sizes, with what each means (written into the engine sidecar)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

from ...compile import Input
from ...errors import ShapeError
from ...graph.module import Module
from ...graph.tensor import Tensor
from .preprocess import Preprocess

MEANINGS: Dict[str, str] = {
    "conf_thres": "confidence threshold (fp32 [1]), read at run time",
    "iou_thres": "NMS IoU threshold (fp32 [1]), read at run time",
    "orig_size": "(h, w) of each original image (int32 [B, 2]): boxes, keypoints and masks are mapped back to it",
}


def batched_input(name: str, shape: Sequence[int], dtype: Any, batch: int = 1, max_batch: Optional[int] = None) -> Input:
    """Input(name, (batch, *shape)), or with a dynamic batch 1..max_batch (optimized for max_batch)."""
    if max_batch is None:
        return Input(name, (batch, *shape), dtype)
    return Input(name, (-1, *shape), dtype, min_shape=(1, *shape), opt_shape=(max_batch, *shape),
                 max_shape=(max_batch, *shape))


def image_inputs(preprocess: Optional[Preprocess], imgsz: Tuple[int, int], scale_to_orig: bool, batch: int = 1,
                 max_batch: Optional[int] = None, thresholds: Sequence[str] = ()) -> List[Input]:
    """A detector's inputs in forward's order: `images` (uint8 in the preprocess layout, else float NCHW) of (h, w) =
    imgsz, the runtime `thresholds` (fp32 [1] each, e.g. 'conf_thres', 'iou_thres'), and with scale_to_orig its
    `orig_size` [B, 2] (h, w) int32 input."""
    h, w = imgsz
    if preprocess is None:
        specs = [("images", (3, h, w), "fp32")]
    else:
        specs = [("images", (h, w, 3) if preprocess.layout == "NHWC" else (3, h, w), torch.uint8)]
    if scale_to_orig:
        specs.append(("orig_size", (2,), torch.int32))
    out = [batched_input(name, shape, dt, batch, max_batch) for name, shape, dt in specs]
    out[1:1] = [Input(name, (1,), "fp32", cast=False) for name in thresholds]
    return out


def check_extra_inputs(owner: Module, extra: Sequence[Tensor], want: int) -> None:
    """ShapeError unless an end-to-end wrapper's forward got `want` inputs after the images (see its `inputs()`)."""
    if len(extra) != want:
        name = type(owner).__name__
        raise ShapeError(f"{name} takes images plus {want} extra input(s) (see {name}.inputs), got {len(extra)}")
