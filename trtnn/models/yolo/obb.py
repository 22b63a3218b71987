"""The oriented-box (OBB) heads of ultralytics 8.4 (ultralytics/nn/modules/head.py OBB and OBB26, utils/tal.py
dist2rbox).

Same class names, arguments and attributes as the originals, so state_dict keys match: Detect's box (cv2) and class
(cv3) branches plus an angle branch cv4 of `ne` channels, and with end2end (YOLO26) their one-to-one copies
(one2one_cv2, one2one_cv3, one2one_cv4).
"""
from __future__ import annotations

import math
from typing import Dict, List

from ... import functional as F
from ... import nn
from ...graph.tensor import Tensor
from .common import Detect, conv_branch, make_anchors



def dist2rbox(pred_dist: Tensor, pred_angle: Tensor, anchor_points: Tensor, dim: int = -1) -> Tensor:
    """(l, t, r, b) distances along a box's own axes and its angle -> (cx, cy, w, h): the centre is the anchor
    plus the rotated offset ((r - l) / 2, (b - t) / 2)."""
    lt, rb = pred_dist.split(2, dim)
    cos, sin = F.cos(pred_angle), F.sin(pred_angle)
    xf, yf = ((rb - lt) / 2).split(1, dim)
    x, y = xf * cos - yf * sin, xf * sin + yf * cos
    return F.cat([F.cat([x, y], dim) + anchor_points, lt + rb], dim)


class OBB(Detect):
    """YOLOv8 / YOLO11 OBB head; forward returns the export output [B, 4 + nc + ne, A]: rotated (cx, cy, w, h) in
    input pixels, sigmoid class scores, then the angle (sigmoid - 0.25) * pi in [-pi/4, 3pi/4) radians. The
    boxes are xywh from either branch (ultralytics' OBB decodes with dist2rbox only)."""

    BRANCHES = {"angle_head": "cv4"}
    EXTRA = "angle"
    box_format = "xywh"  # from either branch

    def __init__(self, nc=80, ne=1, ch=(), legacy=True, reg_max=16, end2end=False):
        super().__init__(nc, ch, legacy, reg_max, end2end)
        self.ne = ne  # number of extra parameters (the angle)
        self.add_branch("cv4", conv_branch(ch, max(ch[0] // 4, self.ne), self.ne), end2end)

    def forward_head(self, x: List[Tensor], box_head: nn.ModuleList, cls_head: nn.ModuleList,
                     angle_head: nn.ModuleList) -> Dict[str, object]:
        preds = super().forward_head(x, box_head, cls_head)
        preds["angle"] = self.decode_angle(self.levels(x, angle_head, self.ne))
        return preds

    def decode_angle(self, logits: Tensor) -> Tensor:
        """The angle in radians from the branch's logits: (sigmoid - 0.25) * pi."""
        return (logits.sigmoid() - 0.25) * math.pi

    def _inference(self, x: Dict[str, object]) -> Tensor:
        anchors, strides = (t.transpose(0, 1) for t in make_anchors(x["feats"], self.stride, 0.5))
        dbox = dist2rbox(self.dfl(x["boxes"]), x["angle"], anchors.unsqueeze(0), dim=1) * strides
        return F.cat((dbox, x["scores"].sigmoid(), x["angle"]), 1)


class OBB26(OBB):
    """YOLO26 OBB head: OBB whose angle is the branch's raw output (no sigmoid, unbounded radians)."""

    def decode_angle(self, logits: Tensor) -> Tensor:
        return logits
