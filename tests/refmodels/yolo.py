"""Reference YOLO detection models: ultralytics YOLOv8 / YOLO11 and ultralytics/yolov5 v7.0.

Mirrors ultralytics/nn/modules/{conv,block,head}.py, ultralytics/nn/tasks.py (parse_model,
DetectionModel) and yolov5 models/{common,yolo}.py: same module names and nesting, so
``state_dict()`` keys are ``model.<i>.<...>`` exactly as in the released checkpoints.

``model(x)`` in eval mode returns what the originals' export path returns:

* v8 / 11: ``[B, 4 + nc, A]`` -- xywh in input pixels, then sigmoid class scores.
* v5:      ``[B, 3 * sum(H_i * W_i), 5 + nc]`` -- (cx, cy, w, h, obj, cls...), all post-sigmoid.
* v8 / 11 -seg: ``([B, 4 + nc + 32, A], protos [B, 32, H / 4, W / 4])`` -- the detect output followed by each
  anchor's mask coefficients, and the mask prototypes (ultralytics' Segment head in export mode).

In train mode the Detect layer returns the raw per-level maps, as in the originals.
"""

import math

import torch
import torch.nn as nn

# ----------------------------------------------------------------------------------------------
# Building blocks (ultralytics/nn/modules/conv.py, block.py; yolov5 models/common.py)
# ----------------------------------------------------------------------------------------------


def autopad(k, p=None, d=1):
    """'same' padding for stride-1 convs."""
    if d > 1:
        k = d * (k - 1) + 1 if isinstance(k, int) else [d * (x - 1) + 1 for x in k]
    if p is None:
        p = k // 2 if isinstance(k, int) else [x // 2 for x in k]
    return p


class Conv(nn.Module):
    """Conv2d(bias=False) + BatchNorm2d + act (SiLU by default)."""

    default_act = nn.SiLU()

    def __init__(self, c1, c2, k=1, s=1, p=None, g=1, d=1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k, p, d), groups=g, dilation=d, bias=False)
        self.bn = nn.BatchNorm2d(c2)
        self.act = self.default_act if act is True else act if isinstance(act, nn.Module) else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class DWConv(Conv):
    """Depth-wise convolution (groups = gcd(c1, c2))."""

    def __init__(self, c1, c2, k=1, s=1, d=1, act=True):
        super().__init__(c1, c2, k, s, g=math.gcd(c1, c2), d=d, act=act)


class Concat(nn.Module):
    def __init__(self, dimension=1):
        super().__init__()
        self.d = dimension

    def forward(self, x):
        return torch.cat(x, self.d)


class Bottleneck(nn.Module):
    """cv1 (k[0]) -> cv2 (k[1], groups g); residual only if shortcut and c1 == c2."""

    def __init__(self, c1, c2, shortcut=True, g=1, k=(3, 3), e=0.5):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, k[0], 1)
        self.cv2 = Conv(c_, c2, k[1], 1, g=g)
        self.add = shortcut and c1 == c2

    def forward(self, x):
        return x + self.cv2(self.cv1(x)) if self.add else self.cv2(self.cv1(x))


class C3(nn.Module):
    """CSP bottleneck with 3 convs (yolov5 C3 == ultralytics C3: Bottlenecks are 1x1 -> 3x3, e=1.0)."""

    def __init__(self, c1, c2, n=1, shortcut=True, g=1, e=0.5):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c1, c_, 1, 1)
        self.cv3 = Conv(2 * c_, c2, 1)
        self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, g, k=((1, 1), (3, 3)), e=1.0) for _ in range(n)))

    def forward(self, x):
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class C3k(C3):
    """C3 whose Bottlenecks use k x k for both convs (YOLO11)."""

    def __init__(self, c1, c2, n=1, shortcut=True, g=1, e=0.5, k=3):
        super().__init__(c1, c2, n, shortcut, g, e)
        c_ = int(c2 * e)
        self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, g, k=(k, k), e=1.0) for _ in range(n)))


class C2f(nn.Module):
    """Faster CSP bottleneck with 2 convs: split cv1 output in two, chain n blocks on the 2nd half, cat all."""

    def __init__(self, c1, c2, n=1, shortcut=False, g=1, e=0.5):
        super().__init__()
        self.c = int(c2 * e)
        self.cv1 = Conv(c1, 2 * self.c, 1, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, self.c, shortcut, g, k=((3, 3), (3, 3)), e=1.0) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


class C3k2(C2f):
    """YOLO11 C2f variant: m holds C3k (c3k=True) or plain Bottleneck (e=0.5, 3x3/3x3) blocks."""

    def __init__(self, c1, c2, n=1, c3k=False, e=0.5, g=1, shortcut=True):
        super().__init__(c1, c2, n, shortcut, g, e)
        self.m = nn.ModuleList(
            C3k(self.c, self.c, 2, shortcut, g) if c3k else Bottleneck(self.c, self.c, shortcut, g) for _ in range(n)
        )


class SPPF(nn.Module):
    """Spatial Pyramid Pooling - Fast: three chained MaxPool2d(k, 1, k//2), cat with the input."""

    def __init__(self, c1, c2, k=5):
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c_ * 4, c2, 1, 1)
        self.m = nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)

    def forward(self, x):
        y = [self.cv1(x)]
        y.extend(self.m(y[-1]) for _ in range(3))
        return self.cv2(torch.cat(y, 1))


class Attention(nn.Module):
    """YOLO11 multi-head self-attention over H*W positions, plus a depthwise 3x3 positional encoding of v."""

    def __init__(self, dim, num_heads=8, attn_ratio=0.5):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.key_dim = int(self.head_dim * attn_ratio)
        self.scale = self.key_dim**-0.5
        nh_kd = self.key_dim * num_heads
        h = dim + nh_kd * 2
        self.qkv = Conv(dim, h, 1, act=False)
        self.proj = Conv(dim, dim, 1, act=False)
        self.pe = Conv(dim, dim, 3, 1, g=dim, act=False)

    def forward(self, x):
        B, C, H, W = x.shape
        N = H * W
        qkv = self.qkv(x)
        # per head the qkv channels are laid out [q (key_dim), k (key_dim), v (head_dim)]
        q, k, v = qkv.view(B, self.num_heads, self.key_dim * 2 + self.head_dim, N).split(
            [self.key_dim, self.key_dim, self.head_dim], dim=2
        )
        attn = (q.transpose(-2, -1) @ k) * self.scale  # [B, heads, N, N]
        attn = attn.softmax(dim=-1)
        x = (v @ attn.transpose(-2, -1)).view(B, C, H, W) + self.pe(v.reshape(B, C, H, W))
        return self.proj(x)


class PSABlock(nn.Module):
    """x + attn(x), then x + ffn(x) (ffn = Conv 1x1 c->2c SiLU, Conv 1x1 2c->c no act)."""

    def __init__(self, c, attn_ratio=0.5, num_heads=4, shortcut=True):
        super().__init__()
        self.attn = Attention(c, attn_ratio=attn_ratio, num_heads=num_heads)
        self.ffn = nn.Sequential(Conv(c, c * 2, 1), Conv(c * 2, c, 1, act=False))
        self.add = shortcut

    def forward(self, x):
        x = x + self.attn(x) if self.add else self.attn(x)
        x = x + self.ffn(x) if self.add else self.ffn(x)
        return x


class C2PSA(nn.Module):
    """cv1 -> split (a, b); b through n PSABlocks; cv2(cat(a, b))."""

    def __init__(self, c1, c2, n=1, e=0.5):
        super().__init__()
        assert c1 == c2
        self.c = int(c1 * e)
        self.cv1 = Conv(c1, 2 * self.c, 1, 1)
        self.cv2 = Conv(2 * self.c, c1, 1)
        self.m = nn.Sequential(*(PSABlock(self.c, attn_ratio=0.5, num_heads=self.c // 64) for _ in range(n)))

    def forward(self, x):
        a, b = self.cv1(x).split((self.c, self.c), dim=1)
        b = self.m(b)
        return self.cv2(torch.cat((a, b), 1))


# ----------------------------------------------------------------------------------------------
# Heads
# ----------------------------------------------------------------------------------------------


class DFL(nn.Module):
    """Distribution Focal Loss integral: softmax over c1 bins per side, expectation via a fixed 1x1 conv."""

    def __init__(self, c1=16):
        super().__init__()
        self.conv = nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)
        with torch.no_grad():
            w = self.conv.weight
            w.copy_(torch.arange(c1, dtype=w.dtype, device=w.device).view(1, c1, 1, 1))
        self.c1 = c1

    def forward(self, x):
        b, _, a = x.shape  # batch, channels (4 * c1), anchors
        return self.conv(x.view(b, 4, self.c1, a).transpose(2, 1).softmax(1)).view(b, 4, a)


def make_anchors(feats, strides, grid_cell_offset=0.5):
    """Anchor points (cell centres, grid units) and per-anchor strides, levels concatenated in order."""
    anchor_points, stride_tensor = [], []
    dtype, device = feats[0].dtype, feats[0].device
    for i, stride in enumerate(strides):
        _, _, h, w = feats[i].shape
        sx = torch.arange(end=w, device=device, dtype=dtype) + grid_cell_offset  # shift x
        sy = torch.arange(end=h, device=device, dtype=dtype) + grid_cell_offset  # shift y
        sy, sx = torch.meshgrid(sy, sx, indexing="ij")
        anchor_points.append(torch.stack((sx, sy), -1).view(-1, 2))
        stride_tensor.append(torch.full((h * w, 1), stride, dtype=dtype, device=device))
    return torch.cat(anchor_points), torch.cat(stride_tensor)


def dist2bbox(distance, anchor_points, xywh=True, dim=-1):
    """(lt, rb) distances -> xywh (or xyxy) boxes."""
    lt, rb = distance.chunk(2, dim)
    x1y1 = anchor_points - lt
    x2y2 = anchor_points + rb
    if xywh:
        return torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), dim)
    return torch.cat((x1y1, x2y2), dim)


class Detect(nn.Module):
    """ultralytics anchor-free Detect head (v8: legacy=True; YOLO11: legacy=False, depthwise cls branch)."""

    def __init__(self, nc=80, ch=(), legacy=True):
        super().__init__()
        self.nc = nc
        self.nl = len(ch)
        self.reg_max = 16
        self.no = nc + self.reg_max * 4
        self.stride = torch.tensor([8.0, 16.0, 32.0])  # the original computes these with a 256x256 dry run
        self.legacy = legacy
        c2, c3 = max((16, ch[0] // 4, self.reg_max * 4)), max(ch[0], min(self.nc, 100))
        self.cv2 = nn.ModuleList(
            nn.Sequential(Conv(x, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * self.reg_max, 1)) for x in ch
        )
        self.cv3 = (
            nn.ModuleList(nn.Sequential(Conv(x, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, self.nc, 1)) for x in ch)
            if legacy
            else nn.ModuleList(
                nn.Sequential(
                    nn.Sequential(DWConv(x, x, 3), Conv(x, c3, 1)),
                    nn.Sequential(DWConv(c3, c3, 3), Conv(c3, c3, 1)),
                    nn.Conv2d(c3, self.nc, 1),
                )
                for x in ch
            )
        )
        self.dfl = DFL(self.reg_max)

    def forward(self, x):
        for i in range(self.nl):
            x[i] = torch.cat((self.cv2[i](x[i]), self.cv3[i](x[i])), 1)
        if self.training:
            return x
        return self._inference(x)

    def _inference(self, x):
        shape = x[0].shape  # BCHW
        x_cat = torch.cat([xi.view(shape[0], self.no, -1) for xi in x], 2)  # [B, no, A], levels P3, P4, P5
        anchors, strides = (t.transpose(0, 1) for t in make_anchors(x, self.stride, 0.5))
        box, cls = x_cat.split((self.reg_max * 4, self.nc), 1)
        dbox = dist2bbox(self.dfl(box), anchors.unsqueeze(0), xywh=True, dim=1) * strides
        return torch.cat((dbox, cls.sigmoid()), 1)


class Proto(nn.Module):
    """ultralytics Proto (block.py): mask prototypes at twice the P3 resolution (a 2x2 stride-2 transposed conv)."""

    def __init__(self, c1, c_=256, c2=32):
        super().__init__()
        self.cv1 = Conv(c1, c_, k=3)
        self.upsample = nn.ConvTranspose2d(c_, c_, 2, 2, 0, bias=True)
        self.cv2 = Conv(c_, c_, k=3)
        self.cv3 = Conv(c_, c2)

    def forward(self, x):
        return self.cv3(self.cv2(self.upsample(self.cv1(x))))


class Segment(Detect):
    """ultralytics Segment head (head.py): Detect plus per-anchor mask coefficients (cv4) and the prototypes."""

    def __init__(self, nc=80, nm=32, npr=256, ch=(), legacy=True):
        super().__init__(nc, ch, legacy)
        self.nm, self.npr = nm, npr
        self.proto = Proto(ch[0], self.npr, self.nm)
        c4 = max(ch[0] // 4, self.nm)
        self.cv4 = nn.ModuleList(nn.Sequential(Conv(x, c4, 3), Conv(c4, c4, 3), nn.Conv2d(c4, self.nm, 1)) for x in ch)

    def forward(self, x):
        p = self.proto(x[0])
        bs = p.shape[0]
        mc = torch.cat([self.cv4[i](x[i]).view(bs, self.nm, -1) for i in range(self.nl)], 2)
        x = Detect.forward(self, x)
        if self.training:
            return x, mc, p
        return torch.cat([x, mc], 1), p


class V5Detect(nn.Module):
    """yolov5 v7.0 models/yolo.py Detect: anchor-based; ``anchors`` buffer (nl, na, 2) is in grid units."""

    def __init__(self, nc=80, anchors=(), ch=()):
        super().__init__()
        self.nc = nc
        self.no = nc + 5  # outputs per anchor
        self.nl = len(anchors)
        self.na = len(anchors[0]) // 2
        self.stride = torch.tensor([8.0, 16.0, 32.0])  # the original computes these with a 256x256 dry run
        # pixels in the yaml; Model.__init__ divides by stride (check_anchor_order keeps the given order)
        self.register_buffer("anchors", torch.tensor(anchors).float().view(self.nl, -1, 2) / self.stride.view(-1, 1, 1))
        self.m = nn.ModuleList(nn.Conv2d(x, self.no * self.na, 1) for x in ch)

    def forward(self, x):
        z = []
        for i in range(self.nl):
            x[i] = self.m[i](x[i])
            bs, _, ny, nx = x[i].shape  # x(bs,255,20,20) -> x(bs,3,20,20,85)
            x[i] = x[i].view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous()
            if not self.training:
                grid, anchor_grid = self._make_grid(nx, ny, i)
                xy, wh, conf = x[i].sigmoid().split((2, 2, self.nc + 1), 4)
                xy = (xy * 2 + grid) * self.stride[i]
                wh = (wh * 2) ** 2 * anchor_grid
                z.append(torch.cat((xy, wh, conf), 4).view(bs, self.na * nx * ny, self.no))
        return x if self.training else torch.cat(z, 1)

    def _make_grid(self, nx=20, ny=20, i=0):
        d, t = self.anchors[i].device, self.anchors[i].dtype
        shape = 1, self.na, ny, nx, 2
        y, x = torch.arange(ny, device=d, dtype=t), torch.arange(nx, device=d, dtype=t)
        yv, xv = torch.meshgrid(y, x, indexing="ij")
        grid = torch.stack((xv, yv), 2).expand(shape) - 0.5  # y = 2.0 * x - 0.5
        anchor_grid = (self.anchors[i] * self.stride[i]).view((1, self.na, 1, 1, 2)).expand(shape)
        return grid, anchor_grid


# ----------------------------------------------------------------------------------------------
# Model configs (the original yaml files, as Python) and parse_model
# ----------------------------------------------------------------------------------------------

UP = (nn.Upsample, [None, 2, "nearest"])

YOLOV8 = {  # ultralytics/cfg/models/v8/yolov8.yaml
    "scales": {  # [depth, width, max_channels]
        "n": [0.33, 0.25, 1024], "s": [0.33, 0.50, 1024], "m": [0.67, 0.75, 768],
        "l": [1.00, 1.00, 512], "x": [1.00, 1.25, 512],
    },
    "backbone": [
        [-1, 1, Conv, [64, 3, 2]],  # 0-P1/2
        [-1, 1, Conv, [128, 3, 2]],  # 1-P2/4
        [-1, 3, C2f, [128, True]],
        [-1, 1, Conv, [256, 3, 2]],  # 3-P3/8
        [-1, 6, C2f, [256, True]],
        [-1, 1, Conv, [512, 3, 2]],  # 5-P4/16
        [-1, 6, C2f, [512, True]],
        [-1, 1, Conv, [1024, 3, 2]],  # 7-P5/32
        [-1, 3, C2f, [1024, True]],
        [-1, 1, SPPF, [1024, 5]],  # 9
    ],
    "head": [
        [-1, 1, *UP],
        [[-1, 6], 1, Concat, [1]],  # cat backbone P4
        [-1, 3, C2f, [512]],  # 12
        [-1, 1, *UP],
        [[-1, 4], 1, Concat, [1]],  # cat backbone P3
        [-1, 3, C2f, [256]],  # 15 (P3/8-small)
        [-1, 1, Conv, [256, 3, 2]],
        [[-1, 12], 1, Concat, [1]],  # cat head P4
        [-1, 3, C2f, [512]],  # 18 (P4/16-medium)
        [-1, 1, Conv, [512, 3, 2]],
        [[-1, 9], 1, Concat, [1]],  # cat head P5
        [-1, 3, C2f, [1024]],  # 21 (P5/32-large)
        [[15, 18, 21], 1, Detect, ["nc"]],  # Detect(P3, P4, P5)
    ],
}

YOLO11 = {  # ultralytics/cfg/models/11/yolo11.yaml
    "scales": {
        "n": [0.50, 0.25, 1024], "s": [0.50, 0.50, 1024], "m": [0.50, 1.00, 512],
        "l": [1.00, 1.00, 512], "x": [1.00, 1.50, 512],
    },
    "backbone": [
        [-1, 1, Conv, [64, 3, 2]],  # 0-P1/2
        [-1, 1, Conv, [128, 3, 2]],  # 1-P2/4
        [-1, 2, C3k2, [256, False, 0.25]],
        [-1, 1, Conv, [256, 3, 2]],  # 3-P3/8
        [-1, 2, C3k2, [512, False, 0.25]],
        [-1, 1, Conv, [512, 3, 2]],  # 5-P4/16
        [-1, 2, C3k2, [512, True]],
        [-1, 1, Conv, [1024, 3, 2]],  # 7-P5/32
        [-1, 2, C3k2, [1024, True]],
        [-1, 1, SPPF, [1024, 5]],  # 9
        [-1, 2, C2PSA, [1024]],  # 10
    ],
    "head": [
        [-1, 1, *UP],
        [[-1, 6], 1, Concat, [1]],  # cat backbone P4
        [-1, 2, C3k2, [512, False]],  # 13
        [-1, 1, *UP],
        [[-1, 4], 1, Concat, [1]],  # cat backbone P3
        [-1, 2, C3k2, [256, False]],  # 16 (P3/8-small)
        [-1, 1, Conv, [256, 3, 2]],
        [[-1, 13], 1, Concat, [1]],  # cat head P4
        [-1, 2, C3k2, [512, False]],  # 19 (P4/16-medium)
        [-1, 1, Conv, [512, 3, 2]],
        [[-1, 10], 1, Concat, [1]],  # cat head P5
        [-1, 2, C3k2, [1024, True]],  # 22 (P5/32-large)
        [[16, 19, 22], 1, Detect, ["nc"]],  # Detect(P3, P4, P5)
    ],
}

YOLOV8_SEG = {**YOLOV8, "head": YOLOV8["head"][:-1] + [[[15, 18, 21], 1, Segment, ["nc", 32, 256]]]}  # yolov8-seg.yaml
YOLO11_SEG = {**YOLO11, "head": YOLO11["head"][:-1] + [[[16, 19, 22], 1, Segment, ["nc", 32, 256]]]}  # yolo11-seg.yaml

YOLOV5 = {  # ultralytics/yolov5 v7.0 models/yolov5{n,s,m,l,x}.yaml (one file per scale, same graph)
    "scales": {  # [depth_multiple, width_multiple]; v5 has no max_channels
        "n": [0.33, 0.25, math.inf], "s": [0.33, 0.50, math.inf], "m": [0.67, 0.75, math.inf],
        "l": [1.00, 1.00, math.inf], "x": [1.33, 1.25, math.inf],
    },
    "anchors": [
        [10, 13, 16, 30, 33, 23],  # P3/8
        [30, 61, 62, 45, 59, 119],  # P4/16
        [116, 90, 156, 198, 373, 326],  # P5/32
    ],
    "backbone": [
        [-1, 1, Conv, [64, 6, 2, 2]],  # 0-P1/2
        [-1, 1, Conv, [128, 3, 2]],  # 1-P2/4
        [-1, 3, C3, [128]],
        [-1, 1, Conv, [256, 3, 2]],  # 3-P3/8
        [-1, 6, C3, [256]],
        [-1, 1, Conv, [512, 3, 2]],  # 5-P4/16
        [-1, 9, C3, [512]],
        [-1, 1, Conv, [1024, 3, 2]],  # 7-P5/32
        [-1, 3, C3, [1024]],
        [-1, 1, SPPF, [1024, 5]],  # 9
    ],
    "head": [
        [-1, 1, Conv, [512, 1, 1]],
        [-1, 1, *UP],
        [[-1, 6], 1, Concat, [1]],  # cat backbone P4
        [-1, 3, C3, [512, False]],  # 13
        [-1, 1, Conv, [256, 1, 1]],
        [-1, 1, *UP],
        [[-1, 4], 1, Concat, [1]],  # cat backbone P3
        [-1, 3, C3, [256, False]],  # 17 (P3/8-small)
        [-1, 1, Conv, [256, 3, 2]],
        [[-1, 14], 1, Concat, [1]],  # cat head P4
        [-1, 3, C3, [512, False]],  # 20 (P4/16-medium)
        [-1, 1, Conv, [512, 3, 2]],
        [[-1, 10], 1, Concat, [1]],  # cat head P5
        [-1, 3, C3, [1024, False]],  # 23 (P5/32-large)
        [[17, 20, 23], 1, V5Detect, ["nc", "anchors"]],  # Detect(P3, P4, P5)
    ],
}


def make_divisible(x, divisor):
    return math.ceil(x / divisor) * divisor


def parse_model(d, scale, nc, ch=3):
    """Build the layer list from a config dict, as ultralytics' / yolov5's parse_model do."""
    depth, width, max_channels = d["scales"][scale]
    legacy = True  # Detect keeps the v8 cls branch unless a C3k2 was seen (YOLO11)
    ch = [ch]
    layers, save, c2 = [], [], ch[-1]
    for i, (f, n, m, args) in enumerate(d["backbone"] + d["head"]):
        args = [nc if a == "nc" else d["anchors"] if a == "anchors" else a for a in args]
        n = max(round(n * depth), 1) if n > 1 else n  # depth gain
        if m in (Conv, C2f, C3k2, C3, SPPF, C2PSA):
            c1, c2 = ch[f], make_divisible(min(args[0], max_channels) * width, 8)
            args = [c1, c2, *args[1:]]
            if m in (C2f, C3k2, C3, C2PSA):
                args.insert(2, n)  # number of repeats
                n = 1
            if m is C3k2:
                legacy = False
                if scale in "mlx":  # for M/L/X sizes every C3k2 holds C3k blocks
                    args[3] = True
        elif m is Concat:
            c2 = sum(ch[x] for x in f)
        elif m is Detect:
            args = [args[0], [ch[x] for x in f], legacy]
        elif m is Segment:  # nc, nm, npr: the protos scale like channels
            args = [args[0], args[1], make_divisible(min(args[2], max_channels) * width, 8), [ch[x] for x in f], legacy]
        elif m is V5Detect:
            args = [*args, [ch[x] for x in f]]
        elif m is Pose:  # nc, kpt_shape
            args = [args[0], args[1], [ch[x] for x in f], legacy]
        elif m is Classify:  # c1, nc: the class count is not scaled
            c2 = args[0]
            args = [ch[f], c2, *args[1:]]
        else:
            c2 = ch[f]
        m_ = nn.Sequential(*(m(*args) for _ in range(n))) if n > 1 else m(*args)
        m_.i, m_.f, m_.type = i, f, m.__name__  # attach index, 'from' index, type
        save.extend(x % i for x in ([f] if isinstance(f, int) else f) if x != -1)
        layers.append(m_)
        if i == 0:
            ch = []
        ch.append(c2)
    return nn.Sequential(*layers), sorted(save)


class DetectionModel(nn.Module):
    """ultralytics DetectionModel / yolov5 Model: ``self.model`` is the layer list, wired by each layer's ``f``."""

    def __init__(self, cfg, scale, nc=80, ch=3):
        super().__init__()
        self.model, self.save = parse_model(cfg, scale, nc, ch)
        self.stride = self.model[-1].stride
        # initialize_weights(): every BatchNorm2d gets eps=1e-3, momentum=0.03
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eps, m.momentum = 1e-3, 0.03
            elif isinstance(m, (nn.Hardswish, nn.LeakyReLU, nn.ReLU, nn.ReLU6, nn.SiLU)):
                m.inplace = True

    def forward(self, x):
        y = []  # saved outputs
        for m in self.model:
            if m.f != -1:  # not from the previous layer
                x = y[m.f] if isinstance(m.f, int) else [x if j == -1 else y[j] for j in m.f]
            x = m(x)
            y.append(x if m.i in self.save else None)
        return x

    def _apply(self, fn, *args, **kwargs):
        # like ultralytics BaseModel._apply: the head's (non-buffer) stride tensor follows .to()/.half()
        self = super()._apply(fn, *args, **kwargs)
        m = self.model[-1]
        m.stride = fn(m.stride)
        self.stride = m.stride
        return self


def _check_scale(scale):
    if scale not in ("n", "s", "m", "l", "x"):
        raise ValueError(f"scale must be one of n/s/m/l/x, got {scale!r}")


def yolov8(scale="n", nc=80):
    """Eval-mode YOLOv8 detection model (ultralytics yolov8{scale}.yaml)."""
    _check_scale(scale)
    return DetectionModel(YOLOV8, scale, nc).eval()


def yolo11(scale="n", nc=80):
    """Eval-mode YOLO11 detection model (ultralytics yolo11{scale}.yaml)."""
    _check_scale(scale)
    return DetectionModel(YOLO11, scale, nc).eval()


def yolov8_seg(scale="n", nc=80):
    """Eval-mode YOLOv8 segmentation model (ultralytics yolov8{scale}-seg.yaml)."""
    _check_scale(scale)
    return DetectionModel(YOLOV8_SEG, scale, nc).eval()


def yolo11_seg(scale="n", nc=80):
    """Eval-mode YOLO11 segmentation model (ultralytics yolo11{scale}-seg.yaml)."""
    _check_scale(scale)
    return DetectionModel(YOLO11_SEG, scale, nc).eval()


def yolov5(scale="s", nc=80):
    """Eval-mode YOLOv5 v7.0 detection model (yolov5 models/yolov5{scale}.yaml)."""
    _check_scale(scale)
    return DetectionModel(YOLOV5, scale, nc).eval()


@torch.no_grad()
def randomize_bn(model, seed=0):
    """Give every BatchNorm non-trivial statistics so BN folding is exercised.

    weight ~ U(0.5, 1.5), bias ~ N(0, 0.2), running_mean ~ N(0, 0.2), running_var ~ U(0.5, 2).
    Deterministic for a given seed and module order. Returns the model.
    """
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n, kw = m.num_features, {"generator": g}
            m.weight.copy_(torch.rand(n, **kw) + 0.5)
            m.bias.copy_(torch.randn(n, **kw) * 0.2)
            m.running_mean.copy_(torch.randn(n, **kw) * 0.2)
            m.running_var.copy_(torch.rand(n, **kw) * 1.5 + 0.5)
    return model


# ----------------------------------------------------------------------------------------------
# Pose and classify (ultralytics/nn/modules/head.py Pose, Classify; cfg/models/{v8,11}/*-{pose,cls}.yaml)
# ----------------------------------------------------------------------------------------------


class Pose(Detect):
    """Detect + cv4 keypoint branch; eval output [B, 4 + nc + K * D, A]: keypoints decoded in place, channel by
    channel (ultralytics' non-export kpts_decode): x, y = (raw * 2 + anchor - 0.5) * stride, visibility sigmoid."""

    def __init__(self, nc=80, kpt_shape=(17, 3), ch=(), legacy=True):
        super().__init__(nc, ch, legacy)
        self.kpt_shape = kpt_shape
        self.nk = kpt_shape[0] * kpt_shape[1]
        c4 = max(ch[0] // 4, self.nk)
        self.cv4 = nn.ModuleList(nn.Sequential(Conv(x, c4, 3), Conv(c4, c4, 3), nn.Conv2d(c4, self.nk, 1)) for x in ch)

    def forward(self, x):
        bs = x[0].shape[0]
        kpt = torch.cat([self.cv4[i](x[i]).view(bs, self.nk, -1) for i in range(self.nl)], -1)
        anchors, strides = (t.transpose(0, 1) for t in make_anchors(x, self.stride, 0.5))
        det = Detect.forward(self, x)
        if self.training:
            return det, kpt
        return torch.cat([det, self.kpts_decode(kpt, anchors, strides)], 1)

    def kpts_decode(self, kpts, anchors, strides):
        ndim = self.kpt_shape[1]
        y = kpts.clone()
        if ndim == 3:
            y[:, 2::ndim] = y[:, 2::ndim].sigmoid()
        y[:, 0::ndim] = (y[:, 0::ndim] * 2.0 + (anchors[0] - 0.5)) * strides
        y[:, 1::ndim] = (y[:, 1::ndim] * 2.0 + (anchors[1] - 0.5)) * strides
        return y


class Classify(nn.Module):
    """Conv(c1, 1280) -> global average pool -> Linear(1280, c2); eval output softmax [B, c2]."""

    def __init__(self, c1, c2, k=1, s=1, p=None, g=1):
        super().__init__()
        c_ = 1280
        self.conv = Conv(c1, c_, k, s, p, g)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(p=0.0, inplace=True)
        self.linear = nn.Linear(c_, c2)
        self.stride = torch.Tensor([1])

    def forward(self, x):
        if isinstance(x, list):
            x = torch.cat(x, 1)
        x = self.linear(self.drop(self.pool(self.conv(x)).flatten(1)))
        return x if self.training else x.softmax(1)


def _pose_cfg(cfg, kpt_shape, head_from):
    return {**cfg, "head": cfg["head"][:-1] + [[head_from, 1, Pose, ["nc", tuple(kpt_shape)]]]}


YOLOV8_CLS = {  # yolov8-cls.yaml
    "scales": {"n": [0.33, 0.25, 1024], "s": [0.33, 0.50, 1024], "m": [0.67, 0.75, 1024],
               "l": [1.00, 1.00, 1024], "x": [1.00, 1.25, 1024]},
    "backbone": [
        [-1, 1, Conv, [64, 3, 2]],  # 0-P1/2
        [-1, 1, Conv, [128, 3, 2]],  # 1-P2/4
        [-1, 3, C2f, [128, True]],
        [-1, 1, Conv, [256, 3, 2]],  # 3-P3/8
        [-1, 6, C2f, [256, True]],
        [-1, 1, Conv, [512, 3, 2]],  # 5-P4/16
        [-1, 6, C2f, [512, True]],
        [-1, 1, Conv, [1024, 3, 2]],  # 7-P5/32
        [-1, 3, C2f, [1024, True]],
    ],
    "head": [[-1, 1, Classify, ["nc"]]],
}
YOLO11_CLS = {  # yolo11-cls.yaml
    "scales": {"n": [0.50, 0.25, 1024], "s": [0.50, 0.50, 1024], "m": [0.50, 1.00, 512],
               "l": [1.00, 1.00, 512], "x": [1.00, 1.50, 512]},
    "backbone": [
        [-1, 1, Conv, [64, 3, 2]],  # 0-P1/2
        [-1, 1, Conv, [128, 3, 2]],  # 1-P2/4
        [-1, 2, C3k2, [256, False, 0.25]],
        [-1, 1, Conv, [256, 3, 2]],  # 3-P3/8
        [-1, 2, C3k2, [512, False, 0.25]],
        [-1, 1, Conv, [512, 3, 2]],  # 5-P4/16
        [-1, 2, C3k2, [512, True]],
        [-1, 1, Conv, [1024, 3, 2]],  # 7-P5/32
        [-1, 2, C3k2, [1024, True]],
        [-1, 2, C2PSA, [1024]],  # 9
    ],
    "head": [[-1, 1, Classify, ["nc"]]],
}


def yolov8_pose(scale="n", nc=1, kpt_shape=(17, 3)):
    """Eval-mode YOLOv8 pose model (ultralytics yolov8{scale}-pose.yaml: nc 1, kpt_shape [17, 3])."""
    _check_scale(scale)
    return DetectionModel(_pose_cfg(YOLOV8, kpt_shape, [15, 18, 21]), scale, nc).eval()


def yolo11_pose(scale="n", nc=80, kpt_shape=(17, 3)):
    """Eval-mode YOLO11 pose model (ultralytics yolo11{scale}-pose.yaml: nc 80, kpt_shape [17, 3])."""
    _check_scale(scale)
    return DetectionModel(_pose_cfg(YOLO11, kpt_shape, [16, 19, 22]), scale, nc).eval()


def yolov8_cls(scale="n", nc=1000):
    """Eval-mode YOLOv8 classification model (ultralytics yolov8{scale}-cls.yaml)."""
    _check_scale(scale)
    return DetectionModel(YOLOV8_CLS, scale, nc).eval()


def yolo11_cls(scale="n", nc=1000):
    """Eval-mode YOLO11 classification model (ultralytics yolo11{scale}-cls.yaml)."""
    _check_scale(scale)
    return DetectionModel(YOLO11_CLS, scale, nc).eval()
