"""YOLO instance segmentation end to end inside the engine, its outputs and the segmentation families' registration.

YOLOv8 / YOLO11 (and YOLO26's one-to-many branch), `SegmentEnd2End`: preprocess, model, decode, NMS carrying each
detection's mask coefficients, then the masks. YOLO26 (its one-to-one branch, the default), `SegmentTopKEnd2End`:
ultralytics' top-k (`Detect.postprocess`) carrying each kept anchor's mask coefficients, then the same masks.

Outputs: End2End's num_dets / det_boxes / det_scores / det_classes plus det_masks [B, max_det, h, w] uint8 (0/1;
rows past num_dets are zero). Masks follow ultralytics 8.4 (`ops.process_mask`, `process_mask_native`,
`crop_mask`, `scale_masks`): logits = coefficients @ prototypes (no sigmoid: a logit > 0 is sigmoid > 0.5), pixels
outside the box set to 0, bilinear resizing (align_corners=False) of the logits, then > 0. By `mask_resolution`:

- "input" (default; what `predict` returns): the logits upsampled to the network input (H, W), then cropped with
  the box in input pixels — `process_mask(..., upsample=True)` of 8.4.190 (upsampling first keeps the bilinear edge
  from smearing outside the box, ultralytics #24272);
- "proto": the cropped masks at the prototypes' resolution (H/4, W/4), 16x less memory — `process_mask` as the
  validator uses it for mask mAP;
- "orig" (needs scale_to_orig and `orig_canvas` (Hc, Wc)): `process_mask_native` (`predict(retina_masks=True)`):
  the logits' letterbox padding removed at the prototypes' resolution as `scale_masks` computes it, resized to each
  image's orig_size (h0, w0), cropped with the boxes mapped to the original; written to the top-left h0 x w0 of a
  canvas of Hc x Wc (orig_size must not exceed it; the rest is zero).

The crop is crop_mask's (x1 <= col < x2, y1 <= row < y2 with fractional box edges), as 8.4.190 computes it on every
device. 'orig' follows the earlier process_mask_native: 8.4.190's first upsamples the logits by 1, 2 or 4 (whatever
crops the letterbox padding on whole pixels) before scale_masks, which this does not reproduce (masks can differ
along their edges). ultralytics' predictor also drops detections whose mask is empty; the engine keeps them (their
mask is all zero). Boxes are mapped to the original images with scale_to_orig, as End2End does.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import torch

from .... import functional as F
from ....errors import ConfigError
from ....graph.module import Module
from ....graph.tensor import Tensor
from ...registry import TaskSpec
from ...vision.host import yolo_preprocess
from ...vision.ops import arange, f32, input_hw
from ...vision.preprocess import Preprocess
from ..model import yolo11_seg, yolo26_seg, yolov8_seg
from ..spec import (BOXES, LETTERBOXED, NMS_DEFAULTS, NMS_FREE_DEFAULTS, ONE2ONE_BOXES, by_head, nms_options,
                    register_yolo, topk_options)
from .detect import OUTPUTS as DETECT_OUTPUTS
from .detect import End2End, TopKEnd2End, decode_v8

MASK_RESOLUTIONS = ("input", "proto", "orig")


def mask_logits(protos: Tensor, coeffs: Tensor) -> Tensor:
    """coefficients [B, D, nm] @ prototypes [B, nm, mh, mw] -> mask logits [B, D, mh, mw] (fp32)."""
    _, nm, mh, mw = F.sym_shape(protos)  # runtime sizes where dynamic
    d = coeffs.shape[1]
    return F.matmul(f32(coeffs), f32(protos).reshape(-1, nm, mh * mw)).reshape(-1, d, mh, mw)


def crop_mask(masks: Tensor, boxes: Tensor) -> Tensor:
    """ultralytics' crop_mask (vectorized): masks [B, D, h, w] set to 0 outside x1 <= col < x2, y1 <= row < y2 of
    boxes [B, D, 4] (in the masks' pixels)."""
    h, w = F.sym_size(masks, 2), F.sym_size(masks, 3)
    cols, rows = arange(w, masks, (1, 1, 1, -1)), arange(h, masks, (1, 1, -1, 1))
    x1, y1, x2, y2 = (boxes[..., i:i + 1].unsqueeze(3) for i in range(4))  # [B, D, 1, 1] each
    inside = F.ge(cols, x1) & F.lt(cols, x2) & F.ge(rows, y1) & F.lt(rows, y2)
    return F.where(inside, masks, 0.0)


def _round_pad(num: Tensor, den: Tensor, tenths: int) -> Tensor:
    """round(num / den + tenths / 10) for the letterbox borders of scale_masks (exact int32 arithmetic; at exact
    .5 ties, which ultralytics' float64 round decides by representation error, this rounds up)."""
    return F.floor_divide(num * 10 + den * (tenths + 5), den * 10)


def _unpad_at_proto(orig_size: Tensor, proto_hw: Tuple[int, int]) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """scale_masks' (ratio_pad=None) crop of the padding at the prototypes' resolution for images of orig_size:
    gain = min(mh / h0, mw / w0), pad = ((mw - w0 * gain) / 2, (mh - h0 * gain) / 2), top = round(pad_h - 0.1),
    bottom = mh - round(pad_h + 0.1) (likewise left, right). Returns [B, 1] int32: top, left, rows, cols kept."""
    size = F.cast(orig_size, torch.int32)
    h0, w0 = size[:, 0:1], size[:, 1:2]
    mh, mw = (v if isinstance(v, int) else F.cast(v, torch.int32).reshape(1, 1) for v in proto_hw)
    width_limits = (h0 * mw) <= (w0 * mh)  # gain = mw / w0
    g_num = mh + (mw - mh) * F.cast(width_limits, torch.int32)  # gain = g_num / g_den
    g_den = F.where(width_limits, w0, h0)
    pad_h, pad_w = mh * g_den - h0 * g_num, mw * g_den - w0 * g_num  # pads = pad_x / (2 g_den)
    den = g_den * 2
    top, left = _round_pad(pad_h, den, -1), _round_pad(pad_w, den, -1)
    return top, left, mh - _round_pad(pad_h, den, 1) - top, mw - _round_pad(pad_w, den, 1) - left


def _resize_axis(x: Tensor, dim: int, start: Tensor, kept: Tensor, out_len: Tensor, canvas: int) -> Tensor:
    """Linear resizing along `dim` (2 rows, 3 cols) of x [B, D, h, w], per image: the `kept` [B, 1] entries from
    `start` [B, 1] resized to `out_len` [B, 1] as torch's interpolate (align_corners=False: source
    max((i + 0.5) * kept / out_len - 0.5, 0), the next entry clamped to the last kept one), into `canvas` entries
    (those past out_len repeat the last; the caller zeroes them)."""
    kept, out_len, start = f32(kept), f32(out_len), f32(start)
    i = arange(canvas, x, (1, canvas))
    src = F.clamp((i + 0.5) * (kept / out_len) - 0.5, min=0.0)
    i0 = F.minimum(F.floor(src), kept - 1)
    frac = F.clamp(src - i0, max=1.0)
    i1 = F.minimum(i0 + 1, kept - 1)
    shape = [1, 1, 1, 1]
    shape[dim] = canvas
    frac = frac.reshape(-1, *shape[1:])

    def take(idx: Tensor) -> Tensor:
        index = F.cast(idx + start, torch.int32).reshape(-1, *shape[1:])
        full = list(x.shape)
        full[0], full[dim] = -1, canvas
        return F.gather(x, dim, F.expand(index, tuple(full)))

    return take(i0) * (1 - frac) + take(i1) * frac


class MaskOptions:
    """The mask options of the end-to-end segmentation wrappers: mask_resolution and orig_canvas, checked."""

    mask_resolution: str
    orig_canvas: Optional[Tuple[int, int]]

    def _mask_options(self, mask_resolution: str, orig_canvas: Optional[Tuple[int, int]], scale_to_orig: bool) -> None:
        name = type(self).__name__
        if mask_resolution not in MASK_RESOLUTIONS:
            raise ConfigError(f"{name} mask_resolution must be one of {', '.join(MASK_RESOLUTIONS)}, got "
                              f"{mask_resolution!r}")
        orig = mask_resolution == "orig"
        if orig != (orig_canvas is not None) or (orig and not scale_to_orig):
            raise ConfigError(f"{name}: mask_resolution='orig' needs scale_to_orig=True and orig_canvas=(H, W) "
                              f"(the largest original size), and orig_canvas only goes with it; got mask_resolution="
                              f"{mask_resolution!r}, scale_to_orig={scale_to_orig}, orig_canvas={orig_canvas!r}")
        if orig_canvas is not None and (len(orig_canvas) != 2 or any(int(v) != v or v < 1 for v in orig_canvas)):
            raise ConfigError(f"{name} orig_canvas must be two positive ints (H, W), got {orig_canvas!r}")
        self.mask_resolution = mask_resolution
        self.orig_canvas = None if orig_canvas is None else (int(orig_canvas[0]), int(orig_canvas[1]))

    def extra_repr(self) -> str:
        return f"mask_resolution={self.mask_resolution!r}" + (f", orig_canvas={self.orig_canvas}"
                                                               if self.orig_canvas else "")

    def with_masks(self, out: Dict[str, Tensor], protos: Tensor, coeffs: Tensor, orig_size: Optional[Tensor],
                   x: Tensor) -> Dict[str, Tensor]:
        """`out` (boxes in the pixels of x, the NCHW network input) with its boxes mapped to orig_size when given,
        and det_masks from the detections' coefficients [B, max_det, nm]."""
        boxes_in = out["det_boxes"]
        if orig_size is not None:
            self.boxes_to_orig(out, orig_size, input_hw(x))
        orig = (out["det_boxes"], orig_size, self.orig_canvas) if self.mask_resolution == "orig" else None
        out["det_masks"] = detection_masks(protos, coeffs, boxes_in, (F.sym_size(x, 2), F.sym_size(x, 3)),
                                           self.mask_resolution, orig)
        return out


class SegmentEnd2End(MaskOptions, End2End):
    """preprocess -> raw YOLOv8 / YOLO11 segmentation model -> decode -> NMS -> masks (see the module docstring).

    Takes End2End's arguments (kind 'v8') plus mask_resolution ('input', 'proto' or 'orig') and orig_canvas (Hc, Wc),
    the mask canvas of mask_resolution='orig'. Inputs as End2End's; outputs End2End's plus det_masks.
    """

    def __init__(self, model: Module, conf: float = 0.25, iou: Optional[float] = None, max_det: Optional[int] = None,
                 preprocess: Optional[Preprocess] = None, runtime_thresholds: bool = False,
                 scale_to_orig: bool = False, pre_nms_topk: int = 1000, multi_label: bool = False,
                 mask_resolution: str = "input", orig_canvas: Optional[Tuple[int, int]] = None) -> None:
        super().__init__(model, "v8", conf, iou, max_det, preprocess, runtime_thresholds, scale_to_orig, pre_nms_topk,
                         multi_label)
        self._mask_options(mask_resolution, orig_canvas, scale_to_orig)

    def forward(self, images: Tensor, *extra: Tensor) -> Dict[str, Tensor]:
        (conf, iou), orig_size = self.split_inputs(extra)
        x = images if self.preprocess is None else self.preprocess(images)
        pred, protos = self.model(x)
        nm = protos.shape[1]
        boxes, scores = decode_v8(pred[:, :pred.shape[1] - nm])
        coeffs = pred[:, pred.shape[1] - nm:].permute(0, 2, 1)  # [B, A, nm]
        out = self.nms(boxes, scores, conf, iou, with_index=True)
        index = out.pop("det_index")
        d = self.nms.max_det
        det_coeffs = F.gather(f32(coeffs), 1, F.expand(index.unsqueeze(2), (-1, d, nm)))
        return self.with_masks(out, protos, det_coeffs, orig_size, x)


def detection_masks(protos: Tensor, coeffs: Tensor, boxes: Tensor, input_hw: Tuple[Any, Any], resolution: str = "input",
                    orig: Optional[Tuple[Tensor, Tensor, Tuple[int, int]]] = None) -> Tensor:
    """The masks of selected detections (by NMS here; any selector giving each detection's coefficients, e.g. a
    top-k over a one-to-one head, can use it): protos [B, nm, mh, mw], coeffs [B, D, nm], xyxy boxes [B, D, 4] in
    input pixels (zero rows give empty masks) -> uint8 [B, D, h, w] at `resolution` (see the module docstring);
    'orig' needs orig = (boxes in original pixels [B, D, 4], orig_size [B, 2], canvas (Hc, Wc))."""
    logits = mask_logits(protos, coeffs)
    if resolution == "orig":
        masks = _orig_masks(logits, *orig)
    elif resolution == "input":
        masks = crop_mask(F.interpolate(logits, size=input_hw, mode="bilinear", align_corners=False), boxes)
    elif all(isinstance(v, int) for v in (*protos.shape[2:], *input_hw)):
        mh, mw = protos.shape[2:]
        h, w = input_hw
        ratios = F.constant(torch.tensor([mw / w, mh / h, mw / w, mh / h]).reshape(1, 1, 4), boxes, torch.float32)
        masks = crop_mask(logits, boxes * ratios)
    else:  # the same fp32 ratios from the runtime sizes
        mh, mw = (f32(F.constant(torch.tensor([v]), boxes, torch.int64) if isinstance(v, int) else v)
                  for v in (F.sym_size(protos, 2), F.sym_size(protos, 3)))
        h, w = (f32(F.constant(torch.tensor([v]), boxes, torch.int64) if isinstance(v, int) else v) for v in input_hw)
        ratios = F.cat([mw / w, mh / h, mw / w, mh / h]).reshape(1, 1, 4)
        masks = crop_mask(logits, boxes * ratios)
    return F.cast(F.gt(masks, 0.0), torch.uint8)


def _orig_masks(logits: Tensor, boxes: Tensor, orig_size: Tensor, canvas: Tuple[int, int]) -> Tensor:
    """process_mask_native per image into the canvas: unpad, resize to orig_size, crop with original boxes."""
    hc, wc = canvas
    top, left, rows, cols = _unpad_at_proto(orig_size, (F.sym_size(logits, 2), F.sym_size(logits, 3)))
    size = F.cast(orig_size, torch.int32)
    h0, w0 = size[:, 0:1], size[:, 1:2]
    masks = _resize_axis(logits, 2, top, rows, h0, hc)
    masks = _resize_axis(masks, 3, left, cols, w0, wc)
    inside = F.lt(arange(hc, masks, (1, 1, hc, 1)), f32(h0).reshape(-1, 1, 1, 1)) & \
        F.lt(arange(wc, masks, (1, 1, 1, wc)), f32(w0).reshape(-1, 1, 1, 1))
    return F.where(inside, crop_mask(masks, boxes), 0.0)


class SegmentTopKEnd2End(MaskOptions, TopKEnd2End):
    """preprocess -> YOLO26-seg (its one-to-one branch: pred [B, 4 + nc + nm, A], protos) -> TopK -> masks.

    Takes TopKEnd2End's arguments plus mask_resolution ('input', 'proto' or 'orig') and orig_canvas (Hc, Wc), the mask
    canvas of mask_resolution='orig' (needs scale_to_orig). Inputs as TopKEnd2End's (`inputs()`).
    """

    def __init__(self, model: Module, conf: float = 0.25, max_det: int = 300, preprocess: Optional[Preprocess] = None,
                 runtime_thresholds: bool = False, scale_to_orig: bool = False, mask_resolution: str = "input",
                 orig_canvas: Optional[Tuple[int, int]] = None) -> None:
        super().__init__(model, conf, max_det, preprocess, runtime_thresholds, scale_to_orig)
        head = model.model[-1]
        if "proto" not in head._modules:
            raise ConfigError(f"SegmentTopKEnd2End needs a YOLO26-seg model (a Segment26 head: mask coefficients and "
                              f"prototypes), got a {type(head).__name__} head")
        self._mask_options(mask_resolution, orig_canvas, scale_to_orig)

    def forward(self, images: Tensor, *extra: Tensor) -> Dict[str, Tensor]:
        (conf,), orig_size = self.split_inputs(extra)
        x = images if self.preprocess is None else self.preprocess(images)
        pred, protos = self.model(x)
        out = self.topk(pred, conf)
        coeffs = out.pop("det_extra")  # [B, max_det, nm], zero past num_dets
        return self.with_masks(out, protos, coeffs, orig_size, x)


# ---- outputs and registration --------------------------------------------------------------------------------
OUTPUTS: Dict[str, str] = {**DETECT_OUTPUTS, "det_masks": "instance mask per detection (uint8 [B, max_det, H, W], "
                           "0/1): ultralytics' process_mask (coefficients x prototypes, bilinear upsampling to the "
                           "input size, cropped to the box, logit > 0), or at the prototypes' (H/4, W/4)"}
PROTOS = "[B, 32, H/4, W/4]: mask prototypes"
SEGMENT = TaskSpec("segment", OUTPUTS, {"output0": f"[B, 4 + nc + 32, anchors]: {BOXES}, 32 mask coefficients",
                                        "output1": PROTOS}, LETTERBOXED, yolo_preprocess)
SEGMENT_NMS_FREE = TaskSpec("segment", OUTPUTS, {
    "output0": f"[B, 4 + nc + 32, anchors] of the one-to-one head: {ONE2ONE_BOXES}, 32 mask coefficients; "
               "ultralytics' top-k is the caller's", "output1": PROTOS}, LETTERBOXED, yolo_preprocess,
                            one2many_raw_outputs=SEGMENT.raw_outputs)
END2END_DEFAULTS = {**NMS_DEFAULTS, "mask_resolution": "input"}


def seg_end2end(model: Module, o: Dict[str, Any]) -> SegmentEnd2End:
    """The registry's SegmentEnd2End from the CLI's options (END2END_DEFAULTS + layout, bgr, runtime_thresholds,
    scale_to_orig)."""
    return SegmentEnd2End(model, **nms_options(o), mask_resolution=o["mask_resolution"])


def seg_topk_end2end(model: Module, o: Dict[str, Any]) -> SegmentTopKEnd2End:
    """The registry's SegmentTopKEnd2End from the CLI's options."""
    return SegmentTopKEnd2End(model, **topk_options(o), mask_resolution=o["mask_resolution"])


seg26_end2end = by_head(seg_topk_end2end, seg_end2end)
for _lineage, _factory in (("yolov8", yolov8_seg), ("yolo11", yolo11_seg)):
    register_yolo(_lineage, SEGMENT, _factory, suffix="-seg", end2end=seg_end2end, end2end_defaults=END2END_DEFAULTS)
register_yolo("yolo26", SEGMENT_NMS_FREE, yolo26_seg, suffix="-seg", end2end=seg26_end2end,
              end2end_defaults={**END2END_DEFAULTS, **NMS_FREE_DEFAULTS})
