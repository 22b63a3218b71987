"""YOLO-like detector written with functional calls, getattr and slicing (C2f-style split, SPPF, decode)."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvBNAct(nn.Module):
    def __init__(self, cin, cout, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.silu(self.bn(self.conv(x)))


class C2f(nn.Module):
    def __init__(self, cin, cout, n=1):
        super().__init__()
        self.c = cout // 2
        self.cv1 = ConvBNAct(cin, 2 * self.c)
        self.cv2 = ConvBNAct((2 + n) * self.c, cout)
        for i in range(n):
            setattr(self, f"m{i}", ConvBNAct(self.c, self.c, 3))
        self.n = n

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        for i in range(self.n):
            y.append(getattr(self, f"m{i}")(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, cin, cout, k=5):
        super().__init__()
        self.cv1 = ConvBNAct(cin, cin // 2)
        self.cv2 = ConvBNAct(cin * 2, cout)
        self.k = k

    def forward(self, x):
        x = self.cv1(x)
        y1 = F.max_pool2d(x, self.k, 1, self.k // 2)
        y2 = F.max_pool2d(y1, self.k, 1, self.k // 2)
        return self.cv2(torch.cat((x, y1, y2, F.max_pool2d(y2, self.k, 1, self.k // 2)), 1))


class Detector(nn.Module):
    def __init__(self, nc=3, w=8):
        super().__init__()
        self.nc = nc
        self.stem = ConvBNAct(3, w, 3, 2)
        self.stage1 = nn.Sequential(ConvBNAct(w, 2 * w, 3, 2), C2f(2 * w, 2 * w))
        self.stage2 = nn.Sequential(ConvBNAct(2 * w, 4 * w, 3, 2), C2f(4 * w, 4 * w, 2), SPPF(4 * w, 4 * w))
        self.head = nn.ModuleDict({"p3": nn.Conv2d(2 * w, 4 + nc, 1), "p4": nn.Conv2d(4 * w, 4 + nc, 1)})
        self.strides = (4, 8)

    def forward(self, x):
        p3 = self.stage1(self.stem(x))
        p4 = self.stage2(p3)
        outs = []
        for (name, feat), stride in zip((("p3", p3), ("p4", p4)), self.strides):
            y = self.head[name](feat)
            b, _, h, w = y.shape
            y = y.flatten(2)
            xy, wh, cls = y[:, :2], y[:, 2:4], y[:, 4:]
            outs.append(torch.cat([xy.sigmoid() * stride, wh.exp() * stride, cls.sigmoid()], 1))
        return torch.cat(outs, 2).transpose(1, 2)


def make(size=64):
    return Detector(), (torch.randn(1, 3, size, size),)
