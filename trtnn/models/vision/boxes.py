"""Box geometry shared by the vision heads: corner boxes from centre boxes, and the letterbox that ultralytics'
predictor applies (its exact integer geometry, and the mapping of boxes back to the original images)."""
from __future__ import annotations

from typing import Any, Tuple

import torch

from ... import functional as F
from ...graph.tensor import Tensor
from .ops import f32


def xywh2xyxy(xywh: Tensor) -> Tensor:
    """(cx, cy, w, h) -> (x1, y1, x2, y2) along the last dim."""
    xy, half = xywh[..., :2], xywh[..., 2:4] / 2
    return F.cat([xy - half, xy + half], -1)


def _round_half_even_div(num: Tensor, den: Tensor) -> Tensor:
    """round(num / den) with ties to even, as Python's round, for non-negative int32 num and positive den: exact."""
    q = F.floor_divide(num, den)
    twice_rem = (num - q * den) * 2
    up = (twice_rem > den) | (F.eq(twice_rem, den) & F.eq(q - F.floor_divide(q, 2) * 2, 1))
    return q + F.cast(up, torch.int32)


def letterbox_geometry(orig_size: Tensor, input_hw: Tuple[Any, Any]) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """What ultralytics' LetterBox(auto=False, scaleup=True) did to images of orig_size [B, 2] (h, w) to fill
    input_hw (ints, or runtime sizes: see `ops.input_hw`): the resized size (new_h, new_w) = round(h * r),
    round(w * r) with r = min(H / h, W / w), and the top/left borders round(dh - 0.1), round(dw - 0.1) =
    floor((H - new_h) / 2), floor((W - new_w) / 2).
    Computed in int32, so it is exact (r's side is the one with W * h <= H * w). Returns [B, 1] int32 each:
    new_h, new_w, top, left."""
    size = F.cast(orig_size, torch.int32)
    h0, w0 = size[:, 0:1], size[:, 1:2]
    h1, w1 = input_hw
    width_limits = (h0 * w1) <= (w0 * h1)  # W / w <= H / h
    new_w = F.where(width_limits, w1, _round_half_even_div(w0 * h1, h0))
    new_h = F.where(width_limits, _round_half_even_div(h0 * w1, w0), h1)
    return new_h, new_w, F.floor_divide(h1 - new_h, 2), F.floor_divide(w1 - new_w, 2)


def scale_boxes(boxes: Tensor, orig_size: Tensor, input_hw: Tuple[Any, Any], yolov5: bool = False) -> Tensor:
    """Map x1y1x2y2 boxes [B, M, 4] from the letterboxed network input (h, w) = input_hw back to the original
    images, orig_size [B, 2] (h, w), and clip them.

    Ultralytics (8.4 `scale_boxes` with the ratio_pad its LetterBox produces): separate x and y factors
    new_w / w0 and new_h / h0 from the rounded resize, integer borders (see `letterbox_geometry`): the exact
    inverse of the letterbox. yolov5=True keeps yolov5's own mapping: one gain min(h1 / h0, w1 / w0) and fractional
    padding."""
    size = f32(orig_size)
    h0, w0 = size[:, 0:1], size[:, 1:2]
    h1, w1 = input_hw
    if yolov5:
        gain = F.minimum(h1 / h0, w1 / w0)
        pad_x, pad_y, gain_x, gain_y = (w1 - w0 * gain) / 2, (h1 - h0 * gain) / 2, gain, gain
    else:
        new_h, new_w, top, left = (f32(t) for t in letterbox_geometry(orig_size, input_hw))
        pad_x, pad_y, gain_x, gain_y = left, top, new_w / w0, new_h / h0
    pad = F.cat([pad_x, pad_y, pad_x, pad_y], -1).unsqueeze(1)
    gain = F.cat([gain_x, gain_y, gain_x, gain_y], -1).unsqueeze(1)
    limit = F.cat([w0, h0, w0, h0], -1).unsqueeze(1)
    return F.minimum(F.clamp((boxes - pad) / gain, min=0.0), limit)
