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
                 max_batch: Optional[int] = None, thresholds: Sequence[str] = (),
                 min_imgsz: Optional[Tuple[int, int]] = None, stride: int = 32) -> List[Input]:
    """A detector's inputs in forward's order: `images` (uint8 in the preprocess layout, else float NCHW) of (h, w) =
    imgsz, the runtime `thresholds` (fp32 [1] each, e.g. 'conf_thres', 'iou_thres'), and with scale_to_orig its
    `orig_size` [B, 2] (h, w) int32 input. With `min_imgsz`, the height and width are dynamic from min_imgsz to
    imgsz (optimized for imgsz), both multiples of `stride` (checked: an error names the dim and the next valid
    value)."""
    h, w = imgsz
    if preprocess is None:
        specs = [("images", (3, h, w), "fp32")]
    else:
        specs = [("images", (h, w, 3) if preprocess.layout == "NHWC" else (3, h, w), torch.uint8)]
    if scale_to_orig:
        specs.append(("orig_size", (2,), torch.int32))
    out = [batched_input(name, shape, dt, batch, max_batch) for name, shape, dt in specs]
    if min_imgsz is not None:
        out[0] = dynamic_image_input(out[0], min_imgsz, imgsz, stride, preprocess is not None
                                     and preprocess.layout == "NHWC")
    out[1:1] = [Input(name, (1,), "fp32", cast=False) for name in thresholds]
    return out


def dynamic_image_input(images: Input, min_imgsz: Tuple[int, int], imgsz: Tuple[int, int], stride: int,
                        nhwc: bool = False) -> Input:
    """`images` (static or dynamic batch) with its height and width dynamic from min_imgsz to imgsz."""
    axes = (1, 2) if nhwc else (2, 3)
    check_image_range(images.name, min_imgsz, imgsz, stride, axes)
    static = images.shape
    lo, _, hi = images.profile() if images.is_dynamic else (static,) * 3
    shape, lo, hi = list(static), list(lo), list(hi)
    for a, small, big in zip(axes, min_imgsz, imgsz):
        shape[a], lo[a], hi[a] = -1, small, big
    return Input(images.name, shape, images.dtype, min_shape=lo, opt_shape=hi, max_shape=hi)


def check_image_range(name: str, lo_hw: Sequence[int], hi_hw: Sequence[int], stride: int,
                      axes: Sequence[int] = (2, 3), what: str = "the model") -> None:
    """ShapeError unless every min/max height and width is a positive multiple of `stride` with min <= max; the
    message names the dim and the next valid value."""
    for side, a, lo, hi in zip(("height", "width"), axes, lo_hw, hi_hw):
        for which, v in (("min", lo), ("max", hi)):
            if v < 1 or v % stride:
                up = max(stride, -(-v // stride) * stride)
                raise ShapeError(f"input '{name}' dim {a} ({side}): the {which} {v} is not a multiple of {what}'s "
                                 f"stride {stride}; the next valid value is {up}")
        if lo > hi:
            raise ShapeError(f"input '{name}' dim {a} ({side}): min {lo} > max {hi}")


def model_stride(model: Any) -> int:
    """The largest stride of a YOLO model (its `stride` attribute; 32 when it has none)."""
    stride = getattr(model, "stride", None)
    return int(max(stride.tolist() if isinstance(stride, torch.Tensor) else [stride])) if stride is not None else 32


def check_extra_inputs(owner: Module, extra: Sequence[Tensor], want: int) -> None:
    """ShapeError unless an end-to-end wrapper's forward got `want` inputs after the images (see its `inputs()`)."""
    if len(extra) != want:
        name = type(owner).__name__
        raise ShapeError(f"{name} takes images plus {want} extra input(s) (see {name}.inputs), got {len(extra)}")
