"""YOLOv10's blocks and head, as in ultralytics/nn/modules/{block,head}.py (same names, arguments and attributes,
so state_dict keys match): SCDown, RepVGGDW, CIB, C2fCIB, PSA and v10Detect."""
from __future__ import annotations

import copy

from ... import functional as F
from ... import nn
from ...errors import ConfigError
from ...graph.module import Module
from .common import C2f, Attention, Conv, Detect


class SCDown(Module):
    """Spatial-channel decoupled downsampling: 1x1 conv to c2, then a depthwise k x k conv of stride s."""

    def __init__(self, c1, c2, k, s):
        super().__init__()
        self.cv1 = Conv(c1, c2, 1, 1)
        self.cv2 = Conv(c2, c2, k=k, s=s, g=c2, act=False)

    def forward(self, x):
        return self.cv2(self.cv1(x))


class RepVGGDW(Module):
    """Depthwise 7x7 and 3x3 convs (each with BN, no activation) summed, then SiLU."""

    def __init__(self, ed):
        super().__init__()
        self.conv = Conv(ed, ed, 7, 1, 3, g=ed, act=False)
        self.conv1 = Conv(ed, ed, 3, 1, 1, g=ed, act=False)
        self.dim = ed
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.conv(x) + self.conv1(x))


class CIB(Module):
    """Compact inverted block: dw 3x3, pw to 2c_, dw 3x3 (RepVGGDW with lk), pw to c2, dw 3x3; residual if c1 == c2."""

    def __init__(self, c1, c2, shortcut=True, e=0.5, lk=False):
        super().__init__()
        c_ = int(c2 * e)  # hidden channels
        self.cv1 = nn.Sequential(
            Conv(c1, c1, 3, g=c1),
            Conv(c1, 2 * c_, 1),
            RepVGGDW(2 * c_) if lk else Conv(2 * c_, 2 * c_, 3, g=2 * c_),
            Conv(2 * c_, c2, 1),
            Conv(c2, c2, 3, g=c2),
        )
        self.add = shortcut and c1 == c2

    def forward(self, x):
        return x + self.cv1(x) if self.add else self.cv1(x)


class C2fCIB(C2f):
    """C2f whose blocks are CIBs."""

    def __init__(self, c1, c2, n=1, shortcut=False, lk=False, g=1, e=0.5):
        super().__init__(c1, c2, n, shortcut, g, e)
        self.m = nn.ModuleList(CIB(self.c, self.c, shortcut, e=1.0, lk=lk) for _ in range(n))


class PSA(Module):
    """Partial self-attention: cv1 splits (a, b); b += attn(b), b += ffn(b); cv2(cat(a, b))."""

    def __init__(self, c1, c2, e=0.5):
        super().__init__()
        if c1 != c2:
            raise ConfigError(f"PSA keeps the channel count: c1 ({c1}) must equal c2 ({c2})")
        self.c = int(c1 * e)
        self.cv1 = Conv(c1, 2 * self.c, 1, 1)
        self.cv2 = Conv(2 * self.c, c1, 1)
        self.attn = Attention(self.c, attn_ratio=0.5, num_heads=self.c // 64)
        self.ffn = nn.Sequential(Conv(self.c, self.c * 2, 1), Conv(self.c * 2, self.c, 1, act=False))

    def forward(self, x):
        a, b = self.cv1(x).split((self.c, self.c), dim=1)
        b = b + self.attn(b)
        b = b + self.ffn(b)
        return self.cv2(F.cat((a, b), 1))


class v10Detect(Detect):  # noqa: N801 (ultralytics' name)
    """YOLOv10 head: Detect (DFL, reg_max 16) with the one-to-one branch and a light depthwise classification branch
    in both; end2end (one-to-one) by default."""

    def __init__(self, nc=80, ch=()):
        super().__init__(nc, ch, end2end=True)
        c3 = max(ch[0], min(self.nc, 100))  # channels
        self.cv3 = nn.ModuleList(
            nn.Sequential(
                nn.Sequential(Conv(x, x, 3, g=x), Conv(x, c3, 1)),
                nn.Sequential(Conv(c3, c3, 3, g=c3), Conv(c3, c3, 1)),
                nn.Conv2d(c3, self.nc, 1),
            )
            for x in ch
        )
        self.one2one_cv3 = copy.deepcopy(self.cv3)
