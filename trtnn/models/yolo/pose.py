"""The YOLO pose heads (ultralytics/nn/modules/head.py `Pose`, `Pose26`; block.py `RealNVP`): Detect plus per-anchor
keypoints."""
from __future__ import annotations

import copy
from typing import Dict, List, Sequence

import torch

from ... import functional as F
from ... import nn
from ...errors import ConfigError
from ...graph.module import Module
from ...graph.tensor import Tensor
from .common import Conv, Detect, conv_branch, make_anchors



def check_kpt_shape(kpt_shape: Sequence[int], where: str) -> tuple:
    """(K, D) with K >= 1 keypoints of D = 2 (x, y) or 3 (x, y, visibility) values; ConfigError otherwise."""
    shape = tuple(kpt_shape) if isinstance(kpt_shape, (tuple, list)) else None
    if not shape or len(shape) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in shape) \
            or shape[0] < 1 or shape[1] not in (2, 3):
        raise ConfigError(f"{where}: kpt_shape must be (keypoints >= 1, 2 or 3), got {kpt_shape!r}")
    return shape


class Pose(Detect):
    """Pose head; forward returns the export output [B, 4 + nc + K * D, A]: Detect's boxes and class scores, then
    each keypoint's x, y in input pixels (and its visibility, sigmoid, when D = 3). With end2end (YOLO26) the
    keypoint branch has its one-to-one copy `one2one_cv4`, as the box and class branches."""

    BRANCHES = {"pose_head": "cv4"}
    EXTRA = "keypoints"

    def __init__(self, nc=80, kpt_shape=(17, 3), ch=(), legacy=True, reg_max=16, end2end=False):
        super().__init__(nc, ch, legacy, reg_max, end2end)
        self.kpt_shape = check_kpt_shape(kpt_shape, type(self).__name__)  # keypoints, values per keypoint
        self.nk = self.kpt_shape[0] * self.kpt_shape[1]  # keypoint channels
        self.add_branch("cv4", conv_branch(ch, max(ch[0] // 4, self.nk), self.nk), end2end)

    def forward_head(self, x: List[Tensor], box_head: nn.ModuleList, cls_head: nn.ModuleList,
                     pose_head: nn.ModuleList) -> Dict[str, object]:
        preds = super().forward_head(x, box_head, cls_head)
        preds["kpts"] = self.levels(x, pose_head, self.nk)
        return preds

    def _inference(self, x: Dict[str, object]) -> Tensor:
        anchors, strides = (t.transpose(0, 1) for t in make_anchors(x["feats"], self.stride, 0.5))
        return F.cat([super()._inference(x), self.kpts_decode(x["kpts"], anchors, strides)], 1)

    def kpts_decode(self, kpts: Tensor, anchors: torch.Tensor, strides: torch.Tensor) -> Tensor:
        """Raw keypoints [B, K * D, A] -> x, y in pixels (`decode_xy`), visibility sigmoid."""
        bs, (k, ndim) = kpts.shape[0], self.kpt_shape
        y = kpts.view(bs, k, ndim, -1)
        xy = self.decode_xy(y[:, :, :2], anchors, strides)
        if ndim == 3:
            xy = F.cat([xy, y[:, :, 2:3].sigmoid()], 2)
        return xy.view(bs, self.nk, -1)

    @staticmethod
    def decode_xy(xy: Tensor, anchors: torch.Tensor, strides: torch.Tensor) -> Tensor:
        """v8 / YOLO11: (raw * 2 + anchor - 0.5) * stride."""
        return (xy * 2.0 + (anchors - 0.5)) * strides


class RealNVP(Module):
    """YOLO26's keypoint flow model (its residual log-likelihood training loss): 6 affine couplings in 2-D. Its
    weights are in the checkpoints, so they load; inference does not run it."""

    @staticmethod
    def nets() -> nn.Sequential:
        return nn.Sequential(nn.Linear(2, 64), nn.SiLU(), nn.Linear(64, 64), nn.SiLU(), nn.Linear(64, 2), nn.Tanh())

    @staticmethod
    def nett() -> nn.Sequential:
        return nn.Sequential(nn.Linear(2, 64), nn.SiLU(), nn.Linear(64, 64), nn.SiLU(), nn.Linear(64, 2))

    def __init__(self):
        super().__init__()
        self.register_buffer("loc", torch.zeros(2))
        self.register_buffer("cov", torch.eye(2))
        self.register_buffer("mask", torch.tensor([[0, 1], [1, 0]] * 3, dtype=torch.float32))
        self.s = nn.ModuleList([self.nets() for _ in range(6)])
        self.t = nn.ModuleList([self.nett() for _ in range(6)])


class Pose26(Pose):
    """YOLO26 pose head: cv4 holds two Convs of c4 = max(ch[0] // 4, K * (D + 2)) channels feeding cv4_kpts (the
    K * D keypoint values) and cv4_sigma (2K per-keypoint sigmas, a training output), plus the flow model;
    keypoints decode as (raw + anchor) * stride."""

    BRANCHES = {"pose_head": "cv4", "kpts_head": "cv4_kpts"}

    def __init__(self, nc=80, kpt_shape=(17, 3), ch=(), legacy=True, reg_max=16, end2end=False):
        super().__init__(nc, kpt_shape, ch, legacy, reg_max, end2end)
        self.flow_model = RealNVP()
        k, d = self.kpt_shape
        c4 = max(ch[0] // 4, k * (d + 2))
        self.cv4 = nn.ModuleList(nn.Sequential(Conv(x, c4, 3), Conv(c4, c4, 3)) for x in ch)
        self.cv4_kpts = nn.ModuleList(nn.Conv2d(c4, self.nk, 1) for _ in ch)
        self.nk_sigma = k * 2  # sigma_x, sigma_y for each keypoint
        self.cv4_sigma = nn.ModuleList(nn.Conv2d(c4, self.nk_sigma, 1) for _ in ch)
        if end2end:
            self.one2one_cv4 = copy.deepcopy(self.cv4)
            self.one2one_cv4_kpts = copy.deepcopy(self.cv4_kpts)
            self.one2one_cv4_sigma = copy.deepcopy(self.cv4_sigma)


    def forward_head(self, x: List[Tensor], box_head: nn.ModuleList, cls_head: nn.ModuleList,
                     pose_head: nn.ModuleList, kpts_head: nn.ModuleList) -> Dict[str, object]:
        preds = Detect.forward_head(self, x, box_head, cls_head)
        preds["kpts"] = self.levels(x, [lambda f, i=i: kpts_head[i](pose_head[i](f)) for i in range(self.nl)], self.nk)
        return preds

    @staticmethod
    def decode_xy(xy: Tensor, anchors: torch.Tensor, strides: torch.Tensor) -> Tensor:
        """YOLO26: (raw + anchor) * stride."""
        return (xy + anchors) * strides
