"""End-to-end YOLO26 instance segmentation without NMS: the one-to-one branch, ultralytics' top-k
(`Detect.postprocess`, trtnn.models.topk) carrying each kept anchor's mask coefficients, then the masks
(trtnn.models.segment.detection_masks).

Outputs as SegmentEnd2End's: num_dets, det_boxes, det_scores, det_classes (rows scoring > conf, as ultralytics'
predictor keeps them for end-to-end models) and det_masks [B, max_det, h, w] uint8 at mask_resolution 'input',
'proto' or 'orig' (see trtnn.models.segment); rows past num_dets are zero. For the one-to-many branch + NMS use
SegmentEnd2End on the model with `model.model[-1].end2end = False`.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

from .. import functional as F
from ..errors import ConfigError
from ..graph.module import Module
from ..graph.tensor import Tensor
from .detect import Preprocess, check_extra_inputs, input_hw
from .segment import MaskOptions, detection_masks, seg_end2end
from .topk import TopKEnd2End


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
        check_extra_inputs(self, extra, self.runtime_thresholds + self.scale_to_orig)
        x = images if self.preprocess is None else self.preprocess(images)
        pred, protos = self.model(x)
        out = self.topk(pred, extra[0] if self.runtime_thresholds else None)
        coeffs = out.pop("det_extra")  # [B, max_det, nm], zero past num_dets
        boxes_in = out["det_boxes"]  # in input pixels
        if self.scale_to_orig:
            self._boxes_to_orig(out, extra[-1], input_hw(x))
        orig = (out["det_boxes"], extra[-1], self.orig_canvas) if self.mask_resolution == "orig" else None
        out["det_masks"] = detection_masks(protos, coeffs, boxes_in, (F.sym_size(x, 2), F.sym_size(x, 3)),
                                           self.mask_resolution, orig)
        return out


def seg26_end2end(model: Module, o: Dict[str, object]) -> Module:
    """The registry's end-to-end wrapper of the yolo26 -seg specs: --head one2one (default) = SegmentTopKEnd2End;
    one2many = that branch + NMS (SegmentEnd2End)."""
    if o["head"] == "one2many":
        model.model[-1].end2end = False
        return seg_end2end(model, o)
    return SegmentTopKEnd2End(model, conf=o["conf"], max_det=o["max_det"],
                              preprocess=Preprocess(o["layout"], bgr=o["bgr"]) if o["layout"] else None,
                              runtime_thresholds=o["runtime_thresholds"], scale_to_orig=o["scale_to_orig"],
                              mask_resolution=o["mask_resolution"])


__all__ = ["SegmentTopKEnd2End", "seg26_end2end"]
