"""The oriented-box (OBB) head of ultralytics 8.4 (ultralytics/nn/modules/head.py OBB, utils/tal.py dist2rbox).

Same class name, arguments and attributes as the original, so state_dict keys match: Detect's box (cv2) and class
(cv3) branches plus an angle branch cv4 of `ne` channels.
"""
from __future__ import annotations

import math
from typing import List

import trtnn
import trtnn.functional as F
import trtnn.nn as nn
from .common import Conv, Detect, make_anchors

Tensor = trtnn.Tensor


def dist2rbox(pred_dist: Tensor, pred_angle: Tensor, anchor_points: Tensor, dim: int = -1) -> Tensor:
    """(l, t, r, b) distances along a box's own axes and its angle -> (cx, cy, w, h): the centre is the anchor
    plus the rotated offset ((r - l) / 2, (b - t) / 2)."""
    lt, rb = pred_dist.split(2, dim)
    cos, sin = F.cos(pred_angle), F.sin(pred_angle)
    xf, yf = ((rb - lt) / 2).split(1, dim)
    x, y = xf * cos - yf * sin, xf * sin + yf * cos
    return F.cat([F.cat([x, y], dim) + anchor_points, lt + rb], dim)


class OBB(Detect):
    """YOLOv8 / YOLO11 OBB head; forward returns the export output [B, 4 + nc + ne, A]: (cx, cy, w, h) in input
    pixels, sigmoid class scores, then the angle (sigmoid - 0.25) * pi in [-pi/4, 3pi/4) radians."""

    def __init__(self, nc=80, ne=1, ch=(), legacy=True):
        super().__init__(nc, ch, legacy)
        self.ne = ne  # number of extra parameters (the angle)
        c4 = max(ch[0] // 4, self.ne)
        self.cv4 = nn.ModuleList(nn.Sequential(Conv(x, c4, 3), Conv(c4, c4, 3), nn.Conv2d(c4, self.ne, 1)) for x in ch)

    def forward(self, x: List[Tensor]) -> Tensor:
        bs = x[0].shape[0]
        angle = F.cat([self.cv4[i](x[i]).view(bs, self.ne, -1) for i in range(self.nl)], 2)
        angle = (angle.sigmoid() - 0.25) * math.pi
        for i in range(self.nl):
            x[i] = F.cat((self.cv2[i](x[i]), self.cv3[i](x[i])), 1)
        return F.cat([self._rotated_inference(x, angle), angle], 1)

    def _rotated_inference(self, x: List[Tensor], angle: Tensor) -> Tensor:
        """Detect's decoding with dist2rbox in place of dist2bbox: [B, 4 + nc, A]."""
        shape = x[0].shape  # BCHW
        x_cat = F.cat([xi.view(shape[0], self.no, -1) for xi in x], 2)
        anchors, strides = (t.transpose(0, 1) for t in make_anchors(x, self.stride, 0.5))
        box, cls = x_cat.split((self.reg_max * 4, self.nc), 1)
        dbox = dist2rbox(self.dfl(box), angle, anchors.unsqueeze(0), dim=1) * strides
        return F.cat((dbox, cls.sigmoid()), 1)
