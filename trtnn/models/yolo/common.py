"""YOLO building blocks and heads in trtnn, as in ultralytics/nn/modules/{conv,block,head}.py and yolov5 models/yolo.py.

Same class names, arguments, attribute names and forward code as the originals, so state_dict keys match.
"""
from __future__ import annotations

import copy
import math
from typing import Any, Dict, List, Sequence, Tuple

import torch

from ... import functional as F
from ... import nn
from ...errors import ConfigError
from ...graph.module import Module
from ...graph.parameter import Parameter
from ...graph.tensor import Tensor



def autopad(k, p=None, d=1):
    """Pad to 'same' shape outputs."""
    if d > 1:
        k = d * (k - 1) + 1 if isinstance(k, int) else [d * (x - 1) + 1 for x in k]
    if p is None:
        p = k // 2 if isinstance(k, int) else [x // 2 for x in k]
    return p


# ---- ultralytics/nn/modules/conv.py ---------------------------------------------------------------------------
class Conv(Module):
    """Conv2d(bias=False) + BatchNorm2d + activation (SiLU by default; the BN folds into the conv)."""

    default_act = nn.SiLU  # a class here: each Conv gets its own instance, so layers are named by their own path

    def __init__(self, c1, c2, k=1, s=1, p=None, g=1, d=1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k, p, d), groups=g, dilation=d, bias=False)
        self.bn = nn.BatchNorm2d(c2)
        self.act = self.default_act() if act is True else act if isinstance(act, Module) else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class DWConv(Conv):
    """Depth-wise convolution."""

    def __init__(self, c1, c2, k=1, s=1, d=1, act=True):
        super().__init__(c1, c2, k, s, g=math.gcd(c1, c2), d=d, act=act)


class Concat(Module):
    def __init__(self, dimension=1):
        super().__init__()
        self.d = dimension

    def forward(self, x):
        return F.cat(x, self.d)


# ---- ultralytics/nn/modules/block.py --------------------------------------------------------------------------
class Bottleneck(Module):
    """Standard bottleneck."""

    def __init__(self, c1, c2, shortcut=True, g=1, k=(3, 3), e=0.5):
        super().__init__()
        c_ = int(c2 * e)  # hidden channels
        self.cv1 = Conv(c1, c_, k[0], 1)
        self.cv2 = Conv(c_, c2, k[1], 1, g=g)
        self.add = shortcut and c1 == c2

    def forward(self, x):
        return x + self.cv2(self.cv1(x)) if self.add else self.cv2(self.cv1(x))


class C2f(Module):
    """Faster Implementation of CSP Bottleneck with 2 convolutions."""

    def __init__(self, c1, c2, n=1, shortcut=False, g=1, e=0.5):
        super().__init__()
        self.c = int(c2 * e)  # hidden channels
        self.cv1 = Conv(c1, 2 * self.c, 1, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, self.c, shortcut, g, k=((3, 3), (3, 3)), e=1.0) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(F.cat(y, 1))


class C3(Module):
    """CSP Bottleneck with 3 convolutions (yolov5 and ultralytics)."""

    def __init__(self, c1, c2, n=1, shortcut=True, g=1, e=0.5):
        super().__init__()
        c_ = int(c2 * e)  # hidden channels
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c1, c_, 1, 1)
        self.cv3 = Conv(2 * c_, c2, 1)
        self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, g, k=((1, 1), (3, 3)), e=1.0) for _ in range(n)))

    def forward(self, x):
        return self.cv3(F.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class C3k(C3):
    """C3 with customizable kernel sizes (YOLO11)."""

    def __init__(self, c1, c2, n=1, shortcut=True, g=1, e=0.5, k=3):
        super().__init__(c1, c2, n, shortcut, g, e)
        c_ = int(c2 * e)  # hidden channels
        self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, g, k=(k, k), e=1.0) for _ in range(n)))


class C3k2(C2f):
    """Faster Implementation of CSP Bottleneck with 2 convolutions, holding C3k or Bottleneck blocks (YOLO11)."""

    def __init__(self, c1, c2, n=1, c3k=False, e=0.5, attn=False, g=1, shortcut=True):
        super().__init__(c1, c2, n, shortcut, g, e)
        self.m = nn.ModuleList(
            nn.Sequential(Bottleneck(self.c, self.c, shortcut, g),
                          PSABlock(self.c, attn_ratio=0.5, num_heads=max(self.c // 64, 1)))  # YOLO26
            if attn else C3k(self.c, self.c, 2, shortcut, g) if c3k else Bottleneck(self.c, self.c, shortcut, g)
            for _ in range(n)
        )


class SPPF(Module):
    """Spatial Pyramid Pooling - Fast (SPPF) layer for YOLOv5 by Glenn Jocher: n chained max pools, and with
    shortcut (YOLO26) a residual. act=False drops cv1's SiLU: YOLO26's cv1 has none, the earlier models' (v5, v8,
    v10, 11) has it (ultralytics PR #26040 restored it for the pre-YOLO26 yaml rows)."""

    def __init__(self, c1, c2, k=5, n=3, shortcut=False, act=True):
        super().__init__()
        c_ = c1 // 2  # hidden channels
        self.cv1 = Conv(c1, c_, 1, 1, act=act)
        self.cv2 = Conv(c_ * (n + 1), c2, 1, 1)
        self.m = nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)
        self.n = n
        self.add = shortcut and c1 == c2

    def forward(self, x):
        y = [self.cv1(x)]
        y.extend(self.m(y[-1]) for _ in range(self.n))
        y = self.cv2(F.cat(y, 1))
        return y + x if self.add else y


class Attention(Module):
    """Multi-head self-attention over H*W positions with a depthwise positional encoding of v (YOLO11)."""

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
        B, C, H, W = F.sym_shape(x)  # runtime sizes where they are dynamic
        N = H * W
        qkv = self.qkv(x)
        q, k, v = qkv.view(B, self.num_heads, self.key_dim * 2 + self.head_dim, N).split(
            [self.key_dim, self.key_dim, self.head_dim], dim=2
        )
        attn = (q.transpose(-2, -1) @ k) * self.scale
        attn = attn.softmax(dim=-1)
        x = (v @ attn.transpose(-2, -1)).view(B, C, H, W) + self.pe(v.reshape(B, C, H, W))
        x = self.proj(x)
        return x


class PSABlock(Module):
    """Position-sensitive attention block: x + attn(x), then x + ffn(x)."""

    def __init__(self, c, attn_ratio=0.5, num_heads=4, shortcut=True):
        super().__init__()
        self.attn = Attention(c, attn_ratio=attn_ratio, num_heads=num_heads)
        self.ffn = nn.Sequential(Conv(c, c * 2, 1), Conv(c * 2, c, 1, act=False))
        self.add = shortcut

    def forward(self, x):
        x = x + self.attn(x) if self.add else self.attn(x)
        x = x + self.ffn(x) if self.add else self.ffn(x)
        return x


class C2PSA(Module):
    """C2PSA module with attention mechanism (YOLO11)."""

    def __init__(self, c1, c2, n=1, e=0.5):
        super().__init__()
        if c1 != c2:
            raise ConfigError(f"C2PSA keeps the channel count: c1 ({c1}) must equal c2 ({c2})")
        self.c = int(c1 * e)
        self.cv1 = Conv(c1, 2 * self.c, 1, 1)
        self.cv2 = Conv(2 * self.c, c1, 1)
        self.m = nn.Sequential(*(PSABlock(self.c, attn_ratio=0.5, num_heads=self.c // 64) for _ in range(n)))

    def forward(self, x):
        a, b = self.cv1(x).split((self.c, self.c), dim=1)
        b = self.m(b)
        return self.cv2(F.cat((a, b), 1))


class DFL(Module):
    """Integral module of Distribution Focal Loss: softmax over c1 bins, expectation by a 1x1 conv of weight arange(c1)."""

    def __init__(self, c1=16):
        super().__init__()
        self.conv = nn.Conv2d(c1, 1, 1, bias=False)
        self.conv.weight = Parameter(torch.arange(c1, dtype=torch.float32).view(1, c1, 1, 1))
        self.c1 = c1

    def forward(self, x):
        b, _, a = x.shape  # batch, channels, anchors
        return self.conv(x.view(b, 4, self.c1, a).transpose(2, 1).softmax(1)).view(b, 4, a)


class Proto(Module):
    """YOLOv8 mask Proto module for segmentation models: c_ prototypes at twice the P3 resolution -> c2 masks."""

    def __init__(self, c1, c_=256, c2=32):
        super().__init__()
        self.cv1 = Conv(c1, c_, k=3)
        self.upsample = nn.ConvTranspose2d(c_, c_, 2, 2, 0, bias=True)  # nn.Upsample(scale_factor=2, mode='nearest')
        self.cv2 = Conv(c_, c_, k=3)
        self.cv3 = Conv(c_, c2)

    def forward(self, x):
        return self.cv3(self.cv2(self.upsample(self.cv1(x))))


# ---- ultralytics/utils/tal.py -----------------------------------------------------------------------------------
def make_anchors(feats: Sequence[Tensor], strides, grid_cell_offset=0.5):
    """Anchor points [A, 2] and strides [A, 1]: constants computed in Python from static feature maps, else computed
    in the engine from the feature maps' runtime heights and widths (same values: exact small integers + 0.5)."""
    if all(min(f.shape[2:]) >= 0 for f in feats[:len(strides)]):
        anchor_points, stride_tensor = [], []
        for i, stride in enumerate(strides):
            _, _, h, w = feats[i].shape
            sx = torch.arange(end=w, dtype=torch.float32) + grid_cell_offset  # shift x
            sy = torch.arange(end=h, dtype=torch.float32) + grid_cell_offset  # shift y
            sy, sx = torch.meshgrid(sy, sx, indexing="ij")
            anchor_points.append(torch.stack((sx, sy), -1).view(-1, 2))
            stride_tensor.append(torch.full((h * w, 1), float(stride)))
        return torch.cat(anchor_points), torch.cat(stride_tensor)
    anchor_points, stride_tensor = [], []
    for i, stride in enumerate(strides):
        sx, sy = grid_xy(feats[i], grid_cell_offset)  # [h, w] each
        anchor_points.append(F.stack((sx, sy), -1).view(-1, 2))
        stride_tensor.append(F.full_like(sx, float(stride)).view(-1, 1))
    return F.cat(anchor_points), F.cat(stride_tensor)


def grid_xy(feat: Tensor, offset: float = 0.0) -> Tuple[Tensor, Tensor]:
    """x and y coordinates (+ offset) of every cell of a [B, C, H, W] feature map, as two [H, W] tensors in the
    feature map's dtype, computed in the engine from its runtime height and width (torch.meshgrid(arange(H),
    arange(W), indexing='ij'))."""
    h, w = F.sym_size(feat, 2), F.sym_size(feat, 3)
    xs = F.arange(w, dtype=torch.float32) if isinstance(w, Tensor) else F.constant(torch.arange(w), feat, torch.float32)
    ys = F.arange(h, dtype=torch.float32) if isinstance(h, Tensor) else F.constant(torch.arange(h), feat, torch.float32)
    xs, ys = (xs + offset).to(feat.dtype), (ys + offset).to(feat.dtype)
    zero_x, zero_y = xs.unsqueeze(0) * 0.0, ys.unsqueeze(1) * 0.0
    return xs.unsqueeze(0) + zero_y, ys.unsqueeze(1) + zero_x


def dist2bbox(distance, anchor_points, xywh=True, dim=-1):
    """Transform distance(ltrb) to box(xywh or xyxy)."""
    lt, rb = distance.chunk(2, dim)
    x1y1 = anchor_points - lt
    x2y2 = anchor_points + rb
    if xywh:
        c_xy = (x1y1 + x2y2) / 2
        wh = x2y2 - x1y1
        return F.cat((c_xy, wh), dim)  # xywh bbox
    return F.cat((x1y1, x2y2), dim)  # xyxy bbox


def conv_branch(ch: Sequence[int], c_: int, out: int) -> nn.ModuleList:
    """The heads' per-level branch: Conv 3x3 (c_), Conv 3x3 (c_), Conv2d 1x1 (out) on each level of `ch` channels."""
    return nn.ModuleList(nn.Sequential(Conv(x, c_, 3), Conv(c_, c_, 3), nn.Conv2d(c_, out, 1)) for x in ch)


# ---- ultralytics/nn/modules/head.py -----------------------------------------------------------------------------
class Detect(Module):
    """YOLOv8 / YOLO11 / YOLO26 Detect head; forward returns the export output [B, 4 + nc, A]: boxes in pixels
    (xywh, or x1y1x2y2 from the one-to-one branch), then sigmoid class scores.

    reg_max: DFL bins per box side (YOLO26: 1, no DFL: the box branch predicts the distances directly).
    end2end=True adds the one-to-one branch (`one2one_cv2`, `one2one_cv3`: copies of `cv2`, `cv3`) that YOLOv10 and
    YOLO26 train for NMS-free inference; `end2end` then selects it (the default) or, set to False, the one-to-many
    branch (`cv2`, `cv3`, to be followed by NMS). The one-to-one output feeds ultralytics' `Detect.postprocess`
    top-k (trtnn.models.vision.topk).

    A task head declares its extra per-anchor branch as ultralytics does (see Segment, OBB, Pose there):
    `add_branch('cv4', conv_branch(ch, c4, n), end2end)` builds it and, when end2end, its one-to-one copy
    `one2one_cv4`; BRANCHES names it under the keyword (e.g. `mask_head`) that its `forward_head(x, box_head,
    cls_head, mask_head)` takes, where `levels` runs it on each level into [B, n, A]; its `_inference(preds)` appends
    those channels after the 4 + nc. The top-k then carries every channel after 4 + nc along with the kept anchors.
    """

    BRANCHES: Dict[str, str] = {}  # forward_head keyword -> attribute of the task's extra branches (e.g. cv4)
    EXTRA = "extra"  # what the output rows after the class scores hold (named in INT8 policies)

    def __init__(self, nc=80, ch=(), legacy=True, reg_max=16, end2end=False):
        super().__init__()
        self.nc = nc  # number of classes
        self.nl = len(ch)  # number of detection layers
        self.reg_max = reg_max  # DFL channels
        self.no = nc + self.reg_max * 4  # number of outputs per anchor
        self.stride = torch.tensor([8.0, 16.0, 32.0])  # the original measures these with a 256x256 dry run
        self.legacy = legacy
        c2, c3 = max((16, ch[0] // 4, self.reg_max * 4)), max(ch[0], min(self.nc, 100))  # channels
        self.cv2 = conv_branch(ch, c2, 4 * self.reg_max)
        self.cv3 = (
            conv_branch(ch, c3, self.nc)
            if self.legacy
            else nn.ModuleList(
                nn.Sequential(
                    nn.Sequential(DWConv(x, x, 3), Conv(x, c3, 1)),
                    nn.Sequential(DWConv(c3, c3, 3), Conv(c3, c3, 1)),
                    nn.Conv2d(c3, self.nc, 1),
                )
                for x in ch
            )
        )
        self.dfl = DFL(self.reg_max) if self.reg_max > 1 else nn.Identity()
        if end2end:
            self.one2one_cv2 = copy.deepcopy(self.cv2)
            self.one2one_cv3 = copy.deepcopy(self.cv3)
        self._end2end = end2end

    @property
    def end2end(self) -> bool:
        """True: forward uses the one-to-one branch (boxes x1y1x2y2); False: the one-to-many one (xywh)."""
        return self._end2end

    @end2end.setter
    def end2end(self, value: bool) -> None:
        if value and "one2one_cv2" not in self._modules:
            raise ConfigError(f"{type(self).__name__} has no one-to-one branch (one2one_cv2/one2one_cv3): only "
                              "YOLOv10 and YOLO26 heads can select end2end")
        self._end2end = bool(value)

    @property
    def box_format(self) -> str:
        """The output's box rows: 'xyxy' (corners) from the one-to-one branch, 'xywh' (center, size) otherwise."""
        return "xyxy" if self._end2end else "xywh"

    def add_branch(self, name: str, branch: nn.ModuleList, end2end: bool) -> None:
        """A task's extra per-level branch as attribute `name` and, when end2end, its copy `one2one_<name>`."""
        setattr(self, name, branch)
        if end2end:
            setattr(self, f"one2one_{name}", copy.deepcopy(branch))

    @property
    def one2many(self) -> Dict[str, nn.ModuleList]:
        """The one-to-many branches, by forward_head keyword."""
        return dict(box_head=self.cv2, cls_head=self.cv3, **{k: getattr(self, a) for k, a in self.BRANCHES.items()})

    @property
    def one2one(self) -> Dict[str, nn.ModuleList]:
        """The one-to-one branches, by forward_head keyword."""
        return dict(box_head=self.one2one_cv2, cls_head=self.one2one_cv3,
                    **{k: getattr(self, f"one2one_{a}") for k, a in self.BRANCHES.items()})

    def levels(self, x: List[Tensor], branch: Sequence[Any], channels: int) -> Tensor:
        """`branch[i]` run on every level x[i], concatenated over the anchors: [B, channels, A]."""
        bs = x[0].shape[0]  # batch size
        return F.cat([branch[i](x[i]).view(bs, channels, -1) for i in range(self.nl)], 2)

    def forward_head(self, x: List[Tensor], box_head: nn.ModuleList, cls_head: nn.ModuleList) -> Dict[str, object]:
        """One branch on every level: box distances [B, 4 * reg_max, A], class logits [B, nc, A], the features."""
        return dict(boxes=self.levels(x, box_head, 4 * self.reg_max), scores=self.levels(x, cls_head, self.nc),
                    feats=x)

    def forward(self, x: List[Tensor]) -> Tensor:
        return self._inference(self.forward_head(x, **(self.one2one if self.end2end else self.one2many)))

    def _inference(self, x: Dict[str, object]) -> Tensor:
        anchors, strides = (t.transpose(0, 1) for t in make_anchors(x["feats"], self.stride, 0.5))
        dbox = dist2bbox(self.dfl(x["boxes"]), anchors.unsqueeze(0), xywh=not self.end2end, dim=1) * strides
        return F.cat((dbox, x["scores"].sigmoid()), 1)


class Segment(Detect):
    """YOLOv8 / YOLO11 Segment head; forward returns the export outputs (pred [B, 4 + nc + nm, A], protos [B, nm,
    H/4, W/4]): Detect's boxes and class scores followed by each anchor's nm mask coefficients."""

    EXTRA = "mask coefficients"

    def __init__(self, nc=80, nm=32, npr=256, ch=(), legacy=True):
        super().__init__(nc, ch, legacy)
        self.nm = nm  # number of masks
        self.npr = npr  # number of protos
        self.proto = Proto(ch[0], self.npr, self.nm)  # protos
        self.cv4 = conv_branch(ch, max(ch[0] // 4, self.nm), self.nm)

    def forward(self, x: List[Tensor]) -> Tuple[Tensor, Tensor]:
        p = self.proto(x[0])  # mask protos
        mc = self.levels(x, self.cv4, self.nm)  # mask coefficients
        x = Detect.forward(self, x)
        return F.cat([x, mc], 1), p


class V5Detect(Module):
    """yolov5 v7.0 Detect head (models/yolo.py); forward returns the export output [B, N, 5 + nc].

    `anchors` (nl, na, 2) is a buffer in grid units, as in the checkpoints; the grids are constants.
    """

    def __init__(self, nc=80, anchors=(), ch=()):
        super().__init__()
        self.nc = nc  # number of classes
        self.no = nc + 5  # number of outputs per anchor
        self.nl = len(anchors)  # number of detection layers
        self.na = len(anchors[0]) // 2  # number of anchors
        self.stride = torch.tensor([8.0, 16.0, 32.0])  # the original measures these with a 256x256 dry run
        # pixels in the yaml; yolov5's Model.__init__ divides them by the stride
        anchors_px = torch.tensor(anchors).float().view(self.nl, -1, 2)
        self.register_buffer("anchors", anchors_px / self.stride.view(-1, 1, 1))
        self.m = nn.ModuleList(nn.Conv2d(x, self.no * self.na, 1) for x in ch)  # output conv

    def forward(self, x: List[Tensor]) -> Tensor:
        z = []  # inference output
        for i in range(self.nl):
            x[i] = self.m[i](x[i])  # conv
            bs, _, ny, nx = F.sym_shape(x[i])  # x(bs,255,20,20) to x(bs,3,20,20,85); runtime sizes where dynamic
            static = not isinstance(nx, Tensor) and not isinstance(ny, Tensor)
            grid, anchor_grid = self._make_grid(nx, ny, i) if static else self._runtime_grid(x[i], i)
            x[i] = x[i].view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2)
            xy, wh, conf = x[i].sigmoid().split((2, 2, self.nc + 1), 4)
            xy = (xy * 2 + grid) * float(self.stride[i])  # xy
            wh = (wh * 2) ** 2 * anchor_grid  # wh
            z.append(F.cat((xy, wh, conf), 4).view(bs, self.na * nx * ny, self.no))
        return F.cat(z, 1)

    def _runtime_grid(self, feat: Tensor, i: int) -> Tuple[Tensor, torch.Tensor]:
        """_make_grid for a feature map of dynamic height/width: the cell offsets computed in the engine
        ([1, 1, ny, nx, 2], broadcast over the anchors; same values), the anchor sizes a constant."""
        gx, gy = grid_xy(feat, -0.5)
        grid = F.stack((gx, gy), -1).unsqueeze(0).unsqueeze(0)
        return grid, (self.anchors[i].float() * self.stride[i]).view((1, self.na, 1, 1, 2))

    def _make_grid(self, nx=20, ny=20, i=0) -> Tuple[torch.Tensor, torch.Tensor]:
        t = torch.float32
        shape = 1, self.na, ny, nx, 2  # grid shape
        y, x = torch.arange(ny, dtype=t), torch.arange(nx, dtype=t)
        yv, xv = torch.meshgrid(y, x, indexing="ij")
        grid = torch.stack((xv, yv), 2).expand(shape) - 0.5  # add grid offset, i.e. y = 2.0 * x - 0.5
        anchor_grid = (self.anchors[i].float() * self.stride[i]).view((1, self.na, 1, 1, 2)).expand(shape)
        return grid, anchor_grid
