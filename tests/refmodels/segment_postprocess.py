"""Reference ultralytics 8.4 instance-segmentation post-processing in plain torch, written from the definitions of
``ultralytics/utils/ops.py`` (process_mask, process_mask_native, crop_mask, scale_masks) and
``ultralytics/utils/nms.py`` (NMS keeping each box's mask coefficients as extra columns).

* :func:`v8_seg_nms` -- ``non_max_suppression`` on the segment export output ``[B, 4 + nc + nm, A]``: as
  ``detect_postprocess.v8_non_max_suppression`` (best class, or every (box, class) pair with multi_label), the kept
  rows carrying their box's ``nm`` mask coefficients.
* :func:`crop_mask` -- the vectorized form: keep x1 <= col < x2, y1 <= row < y2 (fractional edges).
* :func:`process_mask` -- logits = coeffs @ protos (no sigmoid); upsample=False: crop at the prototypes' resolution
  with the boxes scaled by (mw / w, mh / h); upsample=True: bilinear upsample (align_corners=False) to ``shape``, then
  crop with the boxes in input pixels (8.4.190, ultralytics #24272); then > 0 -> uint8.
* :func:`scale_masks` -- ratio_pad=None: gain = min(mh / h0, mw / w0), pad = ((mw - w0 gain) / 2, (mh - h0 gain) / 2)
  in float64, rows round(pad_h - 0.1) .. mh - round(pad_h + 0.1) (likewise columns) kept, bilinear resize to h0 x w0.
* :func:`process_mask_native` -- logits resized by scale_masks to the original, cropped with the original boxes, > 0.
"""
from typing import List, NamedTuple

import torch
import torch.nn.functional as F

from .detect_postprocess import MAX_NMS, batched_nms, xywh2xyxy


class SegDetections(NamedTuple):
    boxes: torch.Tensor  # [n, 4] x1, y1, x2, y2 (input pixels)
    scores: torch.Tensor  # [n]
    classes: torch.Tensor  # [n] int64
    coeffs: torch.Tensor  # [n, nm]


def v8_seg_nms(prediction, nm=32, conf_thres=0.25, iou_thres=0.7, max_det=300,
               multi_label=False) -> List[SegDetections]:
    nc = prediction.shape[1] - 4 - nm
    x_all = prediction.transpose(-1, -2).clone()
    x_all[..., :4] = xywh2xyxy(x_all[..., :4])
    out = []
    for x in x_all:
        x = x[x[:, 4:4 + nc].amax(1) > conf_thres]
        box, cls, mask = x.split((4, nc, nm), 1)
        if multi_label:
            i, j = torch.where(cls > conf_thres)
            x = torch.cat((box[i], cls[i, j, None], j[:, None].to(x.dtype), mask[i]), 1)
        else:
            conf, j = cls.max(1, keepdim=True)
            x = torch.cat((box, conf, j.to(x.dtype), mask), 1)[conf.view(-1) > conf_thres]
        if x.shape[0] > MAX_NMS:
            x = x[torch.sort(x[:, 4], descending=True, stable=True).indices[:MAX_NMS]]
        x = x[batched_nms(x[:, :4], x[:, 4], x[:, 5], iou_thres)[:max_det]]
        out.append(SegDetections(x[:, :4], x[:, 4], x[:, 5].long(), x[:, 6:]))
    return out


def crop_mask(masks, boxes):
    _, h, w = masks.shape
    x1, y1, x2, y2 = torch.chunk(boxes[:, :, None], 4, 1)
    cols = torch.arange(w, dtype=boxes.dtype)[None, None, :]
    rows = torch.arange(h, dtype=boxes.dtype)[None, :, None]
    return masks * ((cols >= x1) * (cols < x2) * (rows >= y1) * (rows < y2))


def _logits(protos, coeffs):
    c, mh, mw = protos.shape
    return (coeffs @ protos.float().view(c, -1)).view(-1, mh, mw)


def process_mask(protos, coeffs, boxes, shape, upsample=False, values=False):
    """-> uint8 [n, h, w] (upsample) or [n, mh, mw]; values=True: the float values before the > 0 threshold."""
    _, mh, mw = protos.shape
    masks = _logits(protos, coeffs)
    if upsample:  # 8.4.190 (#24272): upsample, then crop with the boxes in input pixels
        return _threshold(crop_mask(F.interpolate(masks[None], shape, mode="bilinear", align_corners=False)[0], boxes),
                          values)
    ratios = torch.tensor([[mw / shape[1], mh / shape[0], mw / shape[1], mh / shape[0]]])
    return _threshold(crop_mask(masks, boxes * ratios), values)


def _threshold(masks, values):
    return masks if values else masks.gt(0.0).to(torch.uint8)


def scale_masks(masks, shape):
    """masks [N, C, mh, mw] (letterboxed) -> [N, C, h0, w0]: unpad at their resolution, bilinear resize."""
    mh, mw = masks.shape[2:]
    h0, w0 = shape
    if (mh, mw) == (h0, w0):
        return masks
    gain = min(mh / h0, mw / w0)
    pad_w, pad_h = (mw - w0 * gain) / 2, (mh - h0 * gain) / 2
    top, left = round(pad_h - 0.1), round(pad_w - 0.1)
    bottom, right = mh - round(pad_h + 0.1), mw - round(pad_w + 0.1)
    return F.interpolate(masks[..., top:bottom, left:right].float(), shape, mode="bilinear", align_corners=False)


def process_mask_native(protos, coeffs, boxes, shape, values=False):
    """boxes in original pixels, shape = (h0, w0) -> uint8 [n, h0, w0] (values=True: before the threshold)."""
    masks = crop_mask(scale_masks(_logits(protos, coeffs)[None], shape)[0], boxes)
    return masks if values else masks.gt(0.0).to(torch.uint8)
