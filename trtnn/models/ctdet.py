"""CenterNet (ctdet) detection inside the engine: preprocessing, CenterNet's `ctdet_decode` and `ctdet_post_process`.

decode (xingyizhou/CenterNet src/lib/models/decode.py): heat = sigmoid(hm); peaks = heat where it equals its 3x3
max-pool (the "NMS"); the K best peaks over classes x H x W; box = (x + reg_x -+ w/2, y + reg_y -+ h/2) in output-map
units. Among equal scores the lower flat index (class, y, x) comes first (CenterNet's two-stage torch.topk leaves
that order undefined). Outputs use EfficientNMS' layout like trtnn.models.detect: num_dets [B, 1] int32 (peaks
with score > conf), det_boxes [B, K, 4] x1y1x2y2 in network-input pixels (or original-image pixels with orig_size),
det_scores [B, K], det_classes [B, K] int32; rows past num_dets are zero.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import torch

from .. import functional as F
from ..compile import Input
from ..errors import ShapeError, require_fraction, require_int
from ..graph.module import Module
from ..graph.tensor import Tensor
from .detect import Preprocess, _f32, _row_mask, _stable_topk, _threshold, check_extra_inputs, image_inputs

# CenterNet normalizes OpenCV (BGR) images with these, in BGR order (src/lib/opts.py, coco).
COCO_MEAN = (0.40789654, 0.44719302, 0.47026115)
COCO_STD = (0.28863828, 0.27408164, 0.27809835)


def ctdet_preprocess(layout: str = "NHWC", bgr: bool = True) -> Preprocess:
    """uint8 images -> CenterNet's input: BGR channel order, (x / 255 - mean) / std with the COCO mean/std."""
    return Preprocess(layout, bgr=bgr, mean=COCO_MEAN, std=COCO_STD, model_bgr=True)


def ctdet_decode(hm: Tensor, wh: Tensor, reg: Optional[Tensor] = None, K: int = 100) -> Tuple[Tensor, Tensor, Tensor]:
    """Raw heads hm [B, C, H, W] (logits), wh / reg [B, 2, H, W] -> boxes [B, K, 4] x1y1x2y2 in output-map units,
    scores [B, K] and classes [B, K] (fp32, ordered by score); without `reg` centers are at +0.5, as in the original."""
    if hm.ndim != 4 or wh.ndim != 4 or wh.shape[1] != 2 or (reg is not None and reg.shape[1] != 2):
        raise ShapeError(f"ctdet_decode expects hm [B, C, H, W] and wh / reg [B, 2, H, W]; got '{hm.name}' {hm.shape}, "
                         f"'{wh.name}' {wh.shape}" + (f", '{reg.name}' {reg.shape}" if reg is not None else ""))
    b, c = hm.shape[:2]
    h, w = F.sym_size(hm, 2), F.sym_size(hm, 3)  # runtime sizes where the map is dynamic
    static = isinstance(h, int) and isinstance(w, int)
    n = c * h * w
    if not 1 <= K <= (min(n, 3840) if static else 3840):
        raise ShapeError(f"ctdet_decode: K={K} must be in [1, {min(n, 3840) if static else 3840}] (C*H*W, TensorRT "
                         f"TopK)")
    heat = F.sigmoid(_f32(hm))
    heat = F.where(F.eq(F.max_pool2d(heat, 3, 1, 1), heat), heat, 0.0)
    flat = heat.reshape(-1, n)
    if not static:  # K more peaks of -inf (never above conf) so that the top-k always has K of them
        flat = F.pad(flat, (0, K), value=float("-inf"))
    inds = _stable_topk(flat, K)
    scores = F.gather(flat, 1, inds)
    inds = _f32(inds)
    hw, wf = (h * w, w) if static else (_f32(h * w).reshape(1, 1), _f32(w).reshape(1, 1))
    classes = F.floor(inds / hw)
    pix = inds - classes * hw
    ys = F.floor(pix / wf)
    xs = pix - ys * wf
    pix2 = F.expand(F.cast(pix, torch.int32).unsqueeze(1), (b, 2, K))

    def at_peaks(t: Tensor) -> Tensor:  # [B, 2, H, W] -> [B, K, 2]
        return F.gather(_f32(t).reshape(-1, 2, h * w), 2, pix2).permute(0, 2, 1)  # (peaks of the padding: row 0)

    off = at_peaks(reg) if reg is not None else 0.5
    centers = F.stack([xs, ys], -1) + off
    half = at_peaks(wh) / 2
    return F.cat([centers - half, centers + half], -1), scores, classes


def ctdet_post_process(boxes: Tensor, orig_size: Tensor, out_hw: Tuple[int, int]) -> Tensor:
    """Boxes in output-map units -> original-image pixels, orig_size [B, 2] (h, w): the inverse of CenterNet's test
    affine warp (center c = (w/2, h/2), scale s = max(h, w), no rotation), as its transform_preds does (no clipping)."""
    size = _f32(orig_size)
    h0, w0 = size[:, 0:1], size[:, 1:2]
    s = F.maximum(h0, w0)
    oh, ow = out_hw
    gain = s / ow
    shift = F.cat([w0 / 2 - gain * (ow / 2), h0 / 2 - gain * (oh / 2)], -1)  # [B, 2]
    return boxes * gain.unsqueeze(1) + F.cat([shift, shift], -1).unsqueeze(1)


class CtdetEnd2End(Module):
    """preprocess -> CenterNet -> ctdet_decode -> conf threshold -> {num_dets, det_boxes, det_scores, det_classes}.

    Network inputs, in the order `inputs()` lists them: images (uint8 when `preprocess` is given, else float NCHW,
    already warped to the network size as CenterNet's test affine does), conf_thres (fp32 [1]) if
    runtime_thresholds, orig_size (int32 [B, 2], (h, w)) if scale_to_orig.
    """

    def __init__(self, model: Module, K: int = 100, conf: float = 0.3, preprocess: Optional[Preprocess] = None,
                 runtime_thresholds: bool = False, scale_to_orig: bool = False) -> None:
        super().__init__()
        self.K, self.conf = require_int(K, "K", "CtdetEnd2End"), require_fraction(conf, "conf", "CtdetEnd2End")
        self.runtime_thresholds, self.scale_to_orig = runtime_thresholds, scale_to_orig
        self.preprocess = preprocess
        self.model = model

    def extra_repr(self) -> str:
        return f"K={self.K}, conf={self.conf}"

    def inputs(self, imgsz: Tuple[int, int], batch: int = 1, max_batch: Optional[int] = None,
               min_imgsz: Optional[Tuple[int, int]] = None) -> List[Input]:
        """The network inputs for images of (h, w) = imgsz; a dynamic batch 1..max_batch when given, a dynamic height
        and width from min_imgsz to imgsz (multiples of 32) when `min_imgsz` is."""
        return image_inputs(self.preprocess, imgsz, self.scale_to_orig, batch, max_batch,
                            ("conf_thres",) if self.runtime_thresholds else (), min_imgsz, 32)

    def forward(self, images: Tensor, *extra: Tensor) -> Dict[str, Tensor]:
        check_extra_inputs(self, extra, self.runtime_thresholds + self.scale_to_orig)
        x = images if self.preprocess is None else self.preprocess(images)
        heads = self.model(x)
        boxes, scores, classes = ctdet_decode(heads["hm"], heads["wh"], heads.get("reg"), self.K)
        out_hw = tuple(heads["hm"].shape[2:])
        if min(out_hw) < 0:  # runtime sizes, as fp32 [1, 1]
            out_hw = tuple(_f32(F.sym_size(heads["hm"], d)).reshape(1, 1) for d in (2, 3))
        if self.scale_to_orig:
            boxes = ctdet_post_process(boxes, extra[-1], out_hw)
        elif isinstance(out_hw[0], int) and min(x.shape[2:]) >= 0:  # network-input pixels
            boxes = boxes * torch.tensor([x.shape[3] / out_hw[1], x.shape[2] / out_hw[0]] * 2)
        else:
            in_h, in_w = (_f32(F.sym_size(x, d)).reshape(1, 1) for d in (2, 3))
            boxes = boxes * F.cat([in_w / out_hw[1], in_h / out_hw[0]] * 2, -1).unsqueeze(1)
        conf = _threshold(extra[0] if self.runtime_thresholds else self.conf)
        num_dets = F.sum(_f32(scores > conf), -1, keepdim=True)  # scores are sorted: the first num_dets pass
        rows = _row_mask(num_dets, self.K)
        return {
            "num_dets": F.cast(num_dets, torch.int32),
            "det_boxes": F.where(rows.unsqueeze(2), boxes, 0.0),
            "det_scores": F.where(rows, scores, 0.0),
            "det_classes": F.cast(F.where(rows, classes, 0.0), torch.int32),
        }
