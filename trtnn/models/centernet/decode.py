"""CenterNet (ctdet) detection end to end inside the engine (CenterNet's `ctdet_decode` and `ctdet_post_process`; the
preprocessing is `ctdet_preprocess` of trtnn.models.vision.preprocess), its outputs and the CenterNet registration.

decode (xingyizhou/CenterNet src/lib/models/decode.py): heat = sigmoid(hm); peaks = heat where it equals its 3x3
max-pool (the "NMS"); the K best peaks over classes x H x W; box = (x + reg_x -+ w/2, y + reg_y -+ h/2) in output-map
units. Among equal scores the lower flat index (class, y, x) comes first (CenterNet's two-stage torch.topk leaves
that order undefined). Outputs use EfficientNMS' layout like the YOLO detectors: num_dets [B, 1] int32 (peaks
with score > conf), det_boxes [B, K, 4] x1y1x2y2 in network-input pixels (or original-image pixels with orig_size),
det_scores [B, K], det_classes [B, K] int32; rows past num_dets are zero.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Dict, Optional, Tuple

import torch

from ... import functional as F
from ...errors import ShapeError, require_fraction, require_int
from ...graph.module import Module
from ...graph.tensor import Tensor
from ..registry import ModelSpec, StateDict, TaskSpec, numel, register
from ..vision.end2end import ImageEnd2End
from ..vision.host import centernet_preprocess
from ..vision.inputs import MEANINGS
from ..vision.ops import f32, row_mask, stable_topk, threshold
from ..vision.preprocess import Preprocess, ctdet_preprocess
from .model import centernet_dla34, centernet_dlav0_34, centernet_resnet

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
    heat = F.sigmoid(f32(hm))
    heat = F.where(F.eq(F.max_pool2d(heat, 3, 1, 1), heat), heat, 0.0)
    flat = heat.reshape(-1, n)
    if not static:  # K more peaks of -inf (never above conf) so that the top-k always has K of them
        flat = F.pad(flat, (0, K), value=float("-inf"))
    inds = stable_topk(flat, K)
    scores = F.gather(flat, 1, inds)
    inds = f32(inds)
    hw, wf = (h * w, w) if static else (f32(h * w).reshape(1, 1), f32(w).reshape(1, 1))
    classes = F.floor(inds / hw)
    pix = inds - classes * hw
    ys = F.floor(pix / wf)
    xs = pix - ys * wf
    pix2 = F.expand(F.cast(pix, torch.int32).unsqueeze(1), (b, 2, K))

    def at_peaks(t: Tensor) -> Tensor:  # [B, 2, H, W] -> [B, K, 2]
        return F.gather(f32(t).reshape(-1, 2, h * w), 2, pix2).permute(0, 2, 1)  # (peaks of the padding: row 0)

    off = at_peaks(reg) if reg is not None else 0.5
    centers = F.stack([xs, ys], -1) + off
    half = at_peaks(wh) / 2
    return F.cat([centers - half, centers + half], -1), scores, classes


def ctdet_post_process(boxes: Tensor, orig_size: Tensor, out_hw: Tuple[int, int]) -> Tensor:
    """Boxes in output-map units -> original-image pixels, orig_size [B, 2] (h, w): the inverse of CenterNet's test
    affine warp (center c = (w/2, h/2), scale s = max(h, w), no rotation), as its transform_preds does (no clipping)."""
    size = f32(orig_size)
    h0, w0 = size[:, 0:1], size[:, 1:2]
    s = F.maximum(h0, w0)
    oh, ow = out_hw
    gain = s / ow
    shift = F.cat([w0 / 2 - gain * (ow / 2), h0 / 2 - gain * (oh / 2)], -1)  # [B, 2]
    return boxes * gain.unsqueeze(1) + F.cat([shift, shift], -1).unsqueeze(1)


class CtdetEnd2End(ImageEnd2End):
    """preprocess -> CenterNet -> ctdet_decode -> conf threshold -> {num_dets, det_boxes, det_scores, det_classes}.

    Network inputs, in the order `inputs()` lists them: images (uint8 when `preprocess` is given, else float NCHW,
    already warped to the network size as CenterNet's test affine does), conf_thres (fp32 [1]) if
    runtime_thresholds, orig_size (int32 [B, 2], (h, w)) if scale_to_orig.
    """

    THRESHOLD_INPUTS = ("conf_thres",)

    def __init__(self, model: Module, K: int = 100, conf: float = 0.3, preprocess: Optional[Preprocess] = None,
                 runtime_thresholds: bool = False, scale_to_orig: bool = False) -> None:
        super().__init__()
        self.K, self.conf = require_int(K, "K", "CtdetEnd2End"), require_fraction(conf, "conf", "CtdetEnd2End")
        self.runtime_thresholds, self.scale_to_orig = runtime_thresholds, scale_to_orig
        self.preprocess = preprocess
        self.model = model

    def extra_repr(self) -> str:
        return f"K={self.K}, conf={self.conf}"

    def thresholds(self) -> Dict[str, Any]:
        return {"conf": self.conf, "max_det": self.K, "runtime": bool(self.runtime_thresholds)}

    def forward(self, images: Tensor, *extra: Tensor) -> Dict[str, Tensor]:
        (conf,), orig_size = self.split_inputs(extra)
        x = images if self.preprocess is None else self.preprocess(images)
        heads = self.model(x)
        boxes, scores, classes = ctdet_decode(heads["hm"], heads["wh"], heads.get("reg"), self.K)
        out_hw = tuple(heads["hm"].shape[2:])
        if min(out_hw) < 0:  # runtime sizes, as fp32 [1, 1]
            out_hw = tuple(f32(F.sym_size(heads["hm"], d)).reshape(1, 1) for d in (2, 3))
        if orig_size is not None:
            boxes = ctdet_post_process(boxes, orig_size, out_hw)
        elif isinstance(out_hw[0], int) and min(x.shape[2:]) >= 0:  # network-input pixels
            boxes = boxes * torch.tensor([x.shape[3] / out_hw[1], x.shape[2] / out_hw[0]] * 2)
        else:
            in_h, in_w = (f32(F.sym_size(x, d)).reshape(1, 1) for d in (2, 3))
            boxes = boxes * F.cat([in_w / out_hw[1], in_h / out_hw[0]] * 2, -1).unsqueeze(1)
        conf = threshold(self.conf if conf is None else conf)
        num_dets = F.sum(f32(scores > conf), -1, keepdim=True)  # scores are sorted: the first num_dets pass
        rows = row_mask(num_dets, self.K)
        return {
            "num_dets": F.cast(num_dets, torch.int32),
            "det_boxes": F.where(rows.unsqueeze(2), boxes, 0.0),
            "det_scores": F.where(rows, scores, 0.0),
            "det_classes": F.cast(F.where(rows, classes, 0.0), torch.int32),
        }


# ---- outputs and registration --------------------------------------------------------------------------------
CTDET = TaskSpec("detect", {
    "num_dets": "detections per image (int32 [B, 1]); rows past it are zero",
    "det_boxes": "x1, y1, x2, y2 per detection (fp32 [B, K, 4]), in network-input pixels (original-image pixels "
                 "when the engine has an orig_size input)",
    "det_scores": "heatmap peak score per detection (fp32 [B, K]), sorted high to low",
    "det_classes": "class id per detection (int32 [B, K]), an index into names",
    **MEANINGS,
}, {"hm": "class heatmaps [B, nc, H/4, W/4] before the sigmoid", "wh": "box width, height (output pixels) at each "
    "location", "reg": "sub-pixel offset of each centre"},
    "image batch, affine-warped to imgsz (image centre, longer side) by the caller", centernet_preprocess)


def centernet_config(state: StateDict) -> Dict[str, Any]:
    """heads {'hm': classes, 'wh': 2, 'reg': 2} from each head's last bias; head_conv from hm's first bias."""
    heads = {h: numel(state, f"{h}.2.bias") for h in ("hm", "wh", "reg") if f"{h}.2.bias" in state}
    out: Dict[str, Any] = {"heads": heads} if heads else {}
    if "hm.0.bias" in state:
        out["head_conv"] = numel(state, "hm.0.bias")
    return out


def with_classes(kwargs: Dict[str, Any], nc: int) -> Dict[str, Any]:
    heads = dict(kwargs.get("heads") or {"hm": 0, "wh": 2, "reg": 2})
    heads["hm"] = nc  # in hm's place: the first output
    return {**kwargs, "heads": heads}


def ctdet_end2end(model: Module, o: Dict[str, Any]) -> CtdetEnd2End:
    """The registry's CtdetEnd2End from the CLI's options (conf, max_det = K, layout, bgr, runtime_thresholds,
    scale_to_orig)."""
    return CtdetEnd2End(model, K=o["max_det"], conf=o["conf"],
                        preprocess=ctdet_preprocess(o["layout"], o["bgr"]) if o["layout"] else None,
                        runtime_thresholds=o["runtime_thresholds"], scale_to_orig=o["scale_to_orig"])


register(ModelSpec(
    family="centernet", task=CTDET,
    variants={"centernet_res18": partial(centernet_resnet, 18), "centernet_res101": partial(centernet_resnet, 101),
              "centernet_dla34": centernet_dla34, "centernet_dlav0_34": centernet_dlav0_34},
    config_from_state_dict=centernet_config, with_classes=with_classes, num_classes=lambda model: model.heads["hm"],
    imgsz=(512, 512), stride=32, end2end=ctdet_end2end, end2end_defaults={"conf": 0.3, "max_det": 100},
    end2end_note="--iou and --pre-nms-topk are for YOLO models: CenterNet keeps 3x3 heatmap peaks, no NMS",
    optional_keys=("base.fc.weight", "base.fc.bias")))  # DLA's ImageNet classifier: in CenterNet's checkpoints
