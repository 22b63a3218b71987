"""The YOLOv8 / YOLO11 Pose head (ultralytics/nn/modules/head.py `Pose`): Detect plus per-anchor keypoints."""
from __future__ import annotations

from typing import List, Sequence

import trtnn
import trtnn.functional as F
import trtnn.nn as nn
from trtnn.errors import ConfigError
from .common import Conv, Detect, make_anchors

Tensor = trtnn.Tensor


def check_kpt_shape(kpt_shape: Sequence[int], where: str) -> tuple:
    """(K, D) with K >= 1 keypoints of D = 2 (x, y) or 3 (x, y, visibility) values; ConfigError otherwise."""
    shape = tuple(kpt_shape) if isinstance(kpt_shape, (tuple, list)) else None
    if not shape or len(shape) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in shape) \
            or shape[0] < 1 or shape[1] not in (2, 3):
        raise ConfigError(f"{where}: kpt_shape must be (keypoints >= 1, 2 or 3), got {kpt_shape!r}")
    return shape


class Pose(Detect):
    """Pose head; forward returns the export output [B, 4 + nc + K * D, A]: Detect's xywh boxes and class scores,
    then each keypoint's x, y in input pixels (and its visibility, sigmoid, when D = 3)."""

    def __init__(self, nc=80, kpt_shape=(17, 3), ch=(), legacy=True):
        super().__init__(nc, ch, legacy)
        self.kpt_shape = check_kpt_shape(kpt_shape, "Pose")  # number of keypoints, values per keypoint
        self.nk = self.kpt_shape[0] * self.kpt_shape[1]  # keypoint channels
        c4 = max(ch[0] // 4, self.nk)
        self.cv4 = nn.ModuleList(nn.Sequential(Conv(x, c4, 3), Conv(c4, c4, 3), nn.Conv2d(c4, self.nk, 1)) for x in ch)

    def forward(self, x: List[Tensor]) -> Tensor:
        bs = x[0].shape[0]
        kpts = F.cat([self._keypoint_branch(i, x[i]).view(bs, self.nk, -1) for i in range(self.nl)], -1)
        anchors, strides = (t.transpose(0, 1) for t in make_anchors(x, self.stride, 0.5))
        det = Detect.forward(self, x)  # overwrites x's entries
        return F.cat([det, self.kpts_decode(kpts, anchors, strides)], 1)

    def _keypoint_branch(self, i: int, x: Tensor) -> Tensor:
        return self.cv4[i](x)

    def kpts_decode(self, kpts: Tensor, anchors, strides) -> Tensor:
        """Raw keypoints [B, K * D, A] -> (x, y) = (raw * 2 + anchor - 0.5) * stride, visibility sigmoid."""
        bs, (k, ndim) = kpts.shape[0], self.kpt_shape
        y = kpts.view(bs, k, ndim, -1)
        xy = self.decode_xy(y[:, :, :2], anchors, strides)
        if ndim == 3:
            xy = F.cat([xy, y[:, :, 2:3].sigmoid()], 2)
        return xy.view(bs, self.nk, -1)

    @staticmethod
    def decode_xy(xy: Tensor, anchors, strides) -> Tensor:
        return (xy * 2.0 + (anchors - 0.5)) * strides
