"""The YOLO classification head (ultralytics/nn/modules/head.py `Classify`)."""
from __future__ import annotations

from typing import List, Union

import torch

from ... import functional as F
from ... import nn
from ...graph.module import Module
from ...graph.tensor import Tensor
from .common import Conv



class Classify(Module):
    """x [B, c1, H, W] -> 1x1 Conv to 1280 channels, global average pool, Linear(1280, c2), softmax: [B, c2]
    class probabilities (the export output)."""

    def __init__(self, c1, c2, k=1, s=1, p=None, g=1):
        super().__init__()
        self.stride = torch.tensor([1.0])  # ultralytics ClassificationModel's stride
        c_ = 1280  # efficientnet_b0 size
        self.conv = Conv(c1, c_, k, s, p, g)
        self.pool = nn.AdaptiveAvgPool2d(1)  # to x(b,c_,1,1)
        self.drop = nn.Dropout(p=0.0)
        self.linear = nn.Linear(c_, c2)  # to x(b,c2)

    def forward(self, x: Union[Tensor, List[Tensor]]) -> Tensor:
        if isinstance(x, list):
            x = F.cat(x, 1)
        x = self.linear(self.drop(self.pool(self.conv(x)).flatten(1)))
        return x.softmax(1)
