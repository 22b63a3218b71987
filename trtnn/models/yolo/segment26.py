"""The YOLO26 segmentation head of ultralytics 8.4 (ultralytics/nn/modules/head.py `Segment26`, block.py `Proto26`).

Same class names, arguments and attributes as the originals, so state_dict keys match: Detect's box (cv2) and class
(cv3) branches plus the mask-coefficient branch cv4, their one-to-one copies (one2one_cv2, one2one_cv3,
one2one_cv4), and prototypes fused from all three levels (Proto26).
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

from ... import functional as F
from ... import nn
from ...graph.tensor import Tensor
from .common import Conv, Detect, Proto, conv_branch



class Proto26(Proto):
    """YOLO26 mask prototypes: P4 and P5 refined to P3's channels by 1x1 Convs (feat_refine), upsampled (nearest) to
    P3 and added to it, fused by a 3x3 Conv (feat_fuse), then Proto's layers (c_ -> c_ -> 2x -> c2 prototypes).

    semseg (a semantic-segmentation branch of nc classes) is a training loss only: its weights load, inference does
    not run it, as in ultralytics."""

    def __init__(self, ch: Sequence[int] = (), c_: int = 256, c2: int = 32, nc: int = 80) -> None:
        super().__init__(c_, c_, c2)
        self.feat_refine = nn.ModuleList(Conv(x, ch[0], k=1) for x in ch[1:])
        self.feat_fuse = Conv(ch[0], c_, k=3)
        self.semseg = nn.Sequential(Conv(ch[0], c_, k=3), Conv(c_, c_, k=3), nn.Conv2d(c_, nc, 1))

    def forward(self, x: List[Tensor]) -> Tensor:
        feat = x[0]
        for i, f in enumerate(self.feat_refine):
            feat = feat + F.interpolate(f(x[i + 1]), scale_factor=2 ** (i + 1), mode="nearest")
        return super().forward(self.feat_fuse(feat))


class Segment26(Detect):
    """YOLO26 Segment head; forward returns the export outputs (pred [B, 4 + nc + nm, A], protos [B, nm, H/4, W/4]):
    the selected branch's boxes (one-to-one: x1y1x2y2, the default; one-to-many: xywh) and class scores, then each
    anchor's nm mask coefficients from that branch (cv4 or one2one_cv4). The top-k of trtnn.models.vision.topk carries the
    coefficients as its extra channels."""

    BRANCHES = {"mask_head": "cv4"}
    EXTRA = "mask coefficients"

    def __init__(self, nc=80, nm=32, npr=256, ch=(), legacy=True, reg_max=16, end2end=False):
        super().__init__(nc, ch, legacy, reg_max, end2end)
        self.nm = nm  # number of masks
        self.npr = npr  # number of protos
        self.proto = Proto26(ch, self.npr, self.nm, nc)
        self.add_branch("cv4", conv_branch(ch, max(ch[0] // 4, self.nm), self.nm), end2end)

    def forward_head(self, x: List[Tensor], box_head: nn.ModuleList, cls_head: nn.ModuleList,
                     mask_head: nn.ModuleList) -> Dict[str, object]:
        preds = super().forward_head(x, box_head, cls_head)
        preds["mask_coefficient"] = self.levels(x, mask_head, self.nm)
        return preds

    def _inference(self, x: Dict[str, object]) -> Tensor:
        return F.cat([super()._inference(x), x["mask_coefficient"]], 1)

    def forward(self, x: List[Tensor]) -> Tuple[Tensor, Tensor]:
        return super().forward(x), self.proto(x)
