"""Reference YOLO detection models: ultralytics YOLOv8 / YOLO11 and ultralytics/yolov5 v7.0.

Mirrors ultralytics/nn/modules/{conv,block,head}.py, ultralytics/nn/tasks.py (parse_model,
DetectionModel) and yolov5 models/{common,yolo}.py: same module names and nesting, so
``state_dict()`` keys are ``model.<i>.<...>`` exactly as in the released checkpoints.

``model(x)`` in eval mode returns what the originals' export path returns:

* v8 / 11: ``[B, 4 + nc, A]`` -- xywh in input pixels, then sigmoid class scores.
* v5:      ``[B, 3 * sum(H_i * W_i), 5 + nc]`` -- (cx, cy, w, h, obj, cls...), all post-sigmoid.
* v8 / 11 -seg: ``([B, 4 + nc + 32, A], protos [B, 32, H / 4, W / 4])`` -- the detect output followed by each
  anchor's mask coefficients, and the mask prototypes (ultralytics' Segment head in export mode).
* YOLO26 / YOLOv10 (ultralytics 8.4 ``yolo26``, ``yolov10``): ``[B, 4 + nc, A]`` of the one-to-one branch with
  x1y1x2y2 boxes (``end2end``, the default), or of the one-to-many branch with xywh boxes (``head.end2end = False``);
  ``head.postprocess(out.permute(0, 2, 1))`` is ultralytics' end-to-end top-k ``[B, max_det, 6]``.

In train mode the Detect layer returns the raw per-level maps, as in the originals.
"""

import copy
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

    def __init__(self, c1, c2, n=1, c3k=False, e=0.5, attn=False, g=1, shortcut=True):
        super().__init__(c1, c2, n, shortcut, g, e)
        self.m = nn.ModuleList(
            nn.Sequential(Bottleneck(self.c, self.c, shortcut, g),
                          PSABlock(self.c, attn_ratio=0.5, num_heads=max(self.c // 64, 1)))  # YOLO26 (8.4)
            if attn else C3k(self.c, self.c, 2, shortcut, g) if c3k else Bottleneck(self.c, self.c, shortcut, g)
            for _ in range(n)
        )


class SPPF(nn.Module):
    """Spatial Pyramid Pooling - Fast: n chained MaxPool2d(k, 1, k//2), cat with the input; 8.4 adds n and a
    shortcut (YOLO26), whose cv1 has no SiLU (act=False here); pre-YOLO26 models keep it (ultralytics PR #26040)."""

    def __init__(self, c1, c2, k=5, n=3, shortcut=False, act=True):
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_, 1, 1, act=act)
        self.cv2 = Conv(c_ * (n + 1), c2, 1, 1)
        self.m = nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)
        self.n = n
        self.add = shortcut and c1 == c2

    def forward(self, x):
        y = [self.cv1(x)]
        y.extend(self.m(y[-1]) for _ in range(self.n))
        y = self.cv2(torch.cat(y, 1))
        return y + x if self.add else y


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


def topk_stable(x, k):
    """torch.topk(x, k) (last dim, sorted) with equal values ordered by index: torch leaves their order unspecified."""
    values, indices = x.sort(dim=-1, descending=True, stable=True)
    return values[..., :k], indices[..., :k]


class Detect(nn.Module):
    """ultralytics 8.4 anchor-free Detect head (v8: legacy=True; YOLO11 / YOLO26: legacy=False, depthwise cls branch).

    reg_max 1 (YOLO26): no DFL. end2end: a one-to-one branch (one2one_cv2 / one2one_cv3, deep copies of cv2 / cv3)
    that inference uses, decoding x1y1x2y2 boxes; ultralytics then applies ``postprocess`` (top-k, [B, max_det, 6]).
    Here eval mode returns the decoded [B, 4 + nc, A] (the input of ``postprocess``); call ``postprocess`` on its
    permute(0, 2, 1) for the end-to-end output.
    """

    max_det = 300
    agnostic_nms = False

    def __init__(self, nc=80, ch=(), legacy=True, reg_max=16, end2end=False):
        super().__init__()
        self.nc = nc
        self.nl = len(ch)
        self.reg_max = reg_max
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
        self.dfl = DFL(self.reg_max) if self.reg_max > 1 else nn.Identity()
        if end2end:
            self.one2one_cv2 = copy.deepcopy(self.cv2)
            self.one2one_cv3 = copy.deepcopy(self.cv3)

    @property
    def one2many(self):
        return dict(box_head=self.cv2, cls_head=self.cv3)

    @property
    def one2one(self):
        return dict(box_head=self.one2one_cv2, cls_head=self.one2one_cv3)

    @property
    def end2end(self):
        return getattr(self, "_end2end", True) and hasattr(self, "one2one_cv2")

    @end2end.setter
    def end2end(self, value):
        self._end2end = value

    def forward_head(self, x, box_head, cls_head):
        bs = x[0].shape[0]
        boxes = torch.cat([box_head[i](x[i]).view(bs, 4 * self.reg_max, -1) for i in range(self.nl)], dim=-1)
        scores = torch.cat([cls_head[i](x[i]).view(bs, self.nc, -1) for i in range(self.nl)], dim=-1)
        return dict(boxes=boxes, scores=scores, feats=x)

    def forward(self, x):
        preds = self.forward_head(x, **self.one2many)
        if self.end2end:
            preds = {"one2many": preds, "one2one": self.forward_head([xi.detach() for xi in x], **self.one2one)}
        if self.training:
            return preds
        return self._inference(preds["one2one"] if self.end2end else preds)

    def _inference(self, x):
        anchors, strides = (t.transpose(0, 1) for t in make_anchors(x["feats"], self.stride, 0.5))
        dbox = dist2bbox(self.dfl(x["boxes"]), anchors.unsqueeze(0), xywh=not self.end2end, dim=1) * strides
        return torch.cat((dbox, x["scores"].sigmoid()), 1)

    def postprocess(self, preds):
        """[B, A, 4 + nc] (x1y1x2y2, scores) -> [B, min(max_det, A), 6] (x1, y1, x2, y2, score, class)."""
        boxes, scores = preds.split([4, self.nc], dim=-1)
        scores, conf, idx = self.get_topk_index(scores, self.max_det)
        boxes = boxes.gather(dim=1, index=idx.repeat(1, 1, 4))
        return torch.cat([boxes, scores, conf], dim=-1)

    def get_topk_index(self, scores, max_det):
        """ultralytics' two-stage top-k: the k anchors of highest best-class score, then the k best (anchor, class)
        pairs among them (k = min(max_det, A)); ties by index (``topk_stable``)."""
        batch_size, anchors, nc = scores.shape
        k = min(max_det, anchors)
        ori_index = topk_stable(scores.max(dim=-1)[0], k)[1].unsqueeze(-1)
        scores = scores.gather(dim=1, index=ori_index.repeat(1, 1, nc))
        scores, index = topk_stable(scores.flatten(1), k)
        idx = ori_index[torch.arange(batch_size)[..., None], index // nc]  # original index
        return scores[..., None], (index % nc)[..., None].float(), idx


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


class SCDown(nn.Module):
    """YOLOv10 (block.py): 1x1 Conv to c2, then a depthwise k x k Conv of stride s without activation."""

    def __init__(self, c1, c2, k, s):
        super().__init__()
        self.cv1 = Conv(c1, c2, 1, 1)
        self.cv2 = Conv(c2, c2, k=k, s=s, g=c2, act=False)

    def forward(self, x):
        return self.cv2(self.cv1(x))


class RepVGGDW(nn.Module):
    """YOLOv10 (block.py): SiLU(depthwise 7x7 Conv + depthwise 3x3 Conv), both without activation."""

    def __init__(self, ed):
        super().__init__()
        self.conv = Conv(ed, ed, 7, 1, 3, g=ed, act=False)
        self.conv1 = Conv(ed, ed, 3, 1, 1, g=ed, act=False)
        self.dim = ed
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.conv(x) + self.conv1(x))


class CIB(nn.Module):
    """YOLOv10 compact inverted block (block.py); residual when shortcut and c1 == c2."""

    def __init__(self, c1, c2, shortcut=True, e=0.5, lk=False):
        super().__init__()
        c_ = int(c2 * e)
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
    """YOLOv10 C2f with CIB blocks (block.py)."""

    def __init__(self, c1, c2, n=1, shortcut=False, lk=False, g=1, e=0.5):
        super().__init__(c1, c2, n, shortcut, g, e)
        self.m = nn.ModuleList(CIB(self.c, self.c, shortcut, e=1.0, lk=lk) for _ in range(n))


class PSA(nn.Module):
    """YOLOv10 partial self-attention (block.py)."""

    def __init__(self, c1, c2, e=0.5):
        super().__init__()
        assert c1 == c2
        self.c = int(c1 * e)
        self.cv1 = Conv(c1, 2 * self.c, 1, 1)
        self.cv2 = Conv(2 * self.c, c1, 1)
        self.attn = Attention(self.c, attn_ratio=0.5, num_heads=self.c // 64)
        self.ffn = nn.Sequential(Conv(self.c, self.c * 2, 1), Conv(self.c * 2, self.c, 1, act=False))

    def forward(self, x):
        a, b = self.cv1(x).split((self.c, self.c), dim=1)
        b = b + self.attn(b)
        b = b + self.ffn(b)
        return self.cv2(torch.cat((a, b), 1))


class v10Detect(Detect):  # noqa: N801
    """YOLOv10 head (head.py): Detect with end2end and a light depthwise cls branch (also in one2one_cv3)."""

    def __init__(self, nc=80, ch=()):
        super().__init__(nc, ch, end2end=True)
        c3 = max(ch[0], min(self.nc, 100))
        self.cv3 = nn.ModuleList(
            nn.Sequential(
                nn.Sequential(Conv(x, x, 3, g=x), Conv(x, c3, 1)),
                nn.Sequential(Conv(c3, c3, 3, g=c3), Conv(c3, c3, 1)),
                nn.Conv2d(c3, self.nc, 1),
            )
            for x in ch
        )
        self.one2one_cv3 = copy.deepcopy(self.cv3)


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
    end2end, reg_max = d.get("end2end", False), d.get("reg_max", 16)  # 8.4 yaml keys (YOLO26)
    ch = [ch]
    layers, save, c2 = [], [], ch[-1]
    for i, (f, n, m, args) in enumerate(d["backbone"] + d["head"]):
        args = [nc if a == "nc" else d["anchors"] if a == "anchors" else a for a in args]
        n = max(round(n * depth), 1) if n > 1 else n  # depth gain
        if m in (Conv, C2f, C3k2, C3, SPPF, C2PSA, SCDown, C2fCIB, PSA):
            c1, c2 = ch[f], make_divisible(min(args[0], max_channels) * width, 8)
            args = [c1, c2, *args[1:]]
            if m in (C2f, C3k2, C3, C2PSA, C2fCIB):
                args.insert(2, n)  # number of repeats
                n = 1
            if m is C3k2:
                legacy = False
                if scale in "mlx":  # for M/L/X sizes every C3k2 holds C3k blocks
                    args[3] = True
        elif m is Concat:
            c2 = sum(ch[x] for x in f)
        elif m is Detect:
            args = [args[0], [ch[x] for x in f], legacy, reg_max, end2end]
        elif m is v10Detect:
            args = [args[0], [ch[x] for x in f]]
        elif m is Segment:  # nc, nm, npr: the protos scale like channels
            args = [args[0], args[1], make_divisible(min(args[2], max_channels) * width, 8), [ch[x] for x in f], legacy]
        elif m in (OBB, OBB26):  # nc, ne
            args = [args[0], args[1], [ch[x] for x in f], legacy, reg_max, end2end]
        elif m is Segment26:  # nc, nm, npr (scaled as Segment's), then Detect's arguments
            args = [args[0], args[1], make_divisible(min(args[2], max_channels) * width, 8), [ch[x] for x in f], legacy,
                    reg_max, end2end]
        elif m is V5Detect:
            args = [*args, [ch[x] for x in f]]
        elif m in (Pose, Pose26):  # nc, kpt_shape
            args = [args[0], args[1], [ch[x] for x in f], legacy, reg_max, end2end]
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
        # initialize_weights(): every BatchNorm2d gets eps=1e-3, momentum=0.03; ClassificationModel does not call it
        # (its BatchNorms keep torch's eps=1e-5, as ultralytics 8.4.190 builds them)
        classify = isinstance(self.model[-1], Classify)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d) and not classify:
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
# Oriented boxes (ultralytics 8.4 head.py OBB, utils/tal.py dist2rbox, cfg/models/{v8,11}/*-obb.yaml)
# ----------------------------------------------------------------------------------------------


def dist2rbox(pred_dist, pred_angle, anchor_points, dim=-1):
    """Rotated (l, t, r, b) distances + angle -> (cx, cy, w, h): anchor + R(angle) ((r - l) / 2, (b - t) / 2)."""
    lt, rb = pred_dist.split(2, dim=dim)
    cos, sin = torch.cos(pred_angle), torch.sin(pred_angle)
    xf, yf = ((rb - lt) / 2).split(1, dim=dim)
    x, y = xf * cos - yf * sin, xf * sin + yf * cos
    xy = torch.cat([x, y], dim=dim) + anchor_points
    return torch.cat([xy, lt + rb], dim=dim)


class OBB(Detect):
    """ultralytics 8.4 OBB head: Detect plus an angle branch cv4 (and one2one_cv4 when end2end); eval output
    [B, 4 + nc + ne, A] = rotated xywh (pixels, from either branch), sigmoid class scores, angle (sigmoid - 0.25) * pi.
    ``postprocess`` on its permute(0, 2, 1) gives the end-to-end [B, max_det, 7] (xywh, score, class, angle)."""

    def __init__(self, nc=80, ne=1, ch=(), legacy=True, reg_max=16, end2end=False):
        super().__init__(nc, ch, legacy, reg_max, end2end)
        self.ne = ne
        c4 = max(ch[0] // 4, self.ne)
        self.cv4 = nn.ModuleList(nn.Sequential(Conv(x, c4, 3), Conv(c4, c4, 3), nn.Conv2d(c4, self.ne, 1)) for x in ch)
        if end2end:
            self.one2one_cv4 = copy.deepcopy(self.cv4)

    @property
    def one2many(self):
        return dict(box_head=self.cv2, cls_head=self.cv3, angle_head=self.cv4)

    @property
    def one2one(self):
        return dict(box_head=self.one2one_cv2, cls_head=self.one2one_cv3, angle_head=self.one2one_cv4)

    def forward_head(self, x, box_head, cls_head, angle_head):
        preds = super().forward_head(x, box_head, cls_head)
        bs = x[0].shape[0]
        angle = torch.cat([angle_head[i](x[i]).view(bs, self.ne, -1) for i in range(self.nl)], 2)
        preds["angle"] = (angle.sigmoid() - 0.25) * math.pi  # [-pi/4, 3pi/4)
        return preds

    def _inference(self, x):
        anchors, strides = (t.transpose(0, 1) for t in make_anchors(x["feats"], self.stride, 0.5))
        dbox = dist2rbox(self.dfl(x["boxes"]), x["angle"], anchors.unsqueeze(0), dim=1) * strides
        return torch.cat([dbox, x["scores"].sigmoid(), x["angle"]], 1)

    def postprocess(self, preds):
        """[B, A, 4 + nc + ne] -> [B, min(max_det, A), 6 + ne] (x, y, w, h, score, class, angle)."""
        boxes, scores, angle = preds.split([4, self.nc, self.ne], dim=-1)
        scores, conf, idx = self.get_topk_index(scores, self.max_det)
        boxes = boxes.gather(dim=1, index=idx.repeat(1, 1, 4))
        angle = angle.gather(dim=1, index=idx.repeat(1, 1, self.ne))
        return torch.cat([boxes, scores, conf, angle], dim=-1)


class OBB26(OBB):
    """ultralytics 8.4 OBB26 (YOLO26): the angle is the branch's raw output (no sigmoid)."""

    def forward_head(self, x, box_head, cls_head, angle_head):
        preds = Detect.forward_head(self, x, box_head, cls_head)
        bs = x[0].shape[0]
        preds["angle"] = torch.cat([angle_head[i](x[i]).view(bs, self.ne, -1) for i in range(self.nl)], 2)
        return preds


YOLOV8_OBB = {**YOLOV8, "head": YOLOV8["head"][:-1] + [[[15, 18, 21], 1, OBB, ["nc", 1]]]}  # yolov8-obb.yaml
YOLO11_OBB = {**YOLO11, "head": YOLO11["head"][:-1] + [[[16, 19, 22], 1, OBB, ["nc", 1]]]}  # yolo11-obb.yaml


def yolov8_obb(scale="n", nc=80):
    """Eval-mode YOLOv8 oriented-box model (ultralytics yolov8{scale}-obb.yaml)."""
    _check_scale(scale)
    return DetectionModel(YOLOV8_OBB, scale, nc).eval()


def yolo11_obb(scale="n", nc=80):
    """Eval-mode YOLO11 oriented-box model (ultralytics yolo11{scale}-obb.yaml)."""
    _check_scale(scale)
    return DetectionModel(YOLO11_OBB, scale, nc).eval()


# ----------------------------------------------------------------------------------------------
# ultralytics 8.4: YOLO26 (cfg/models/26/yolo26.yaml) and YOLOv10 (cfg/models/v10/yolov10{n,s,m,b,l,x}.yaml)
# ----------------------------------------------------------------------------------------------

YOLO26 = {
    "end2end": True,
    "reg_max": 1,
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
        [-1, 1, SPPF, [1024, 5, 3, True, False]],  # 9: yaml [1024, 5, 3, True]; False = 8.4's cv1 without SiLU
        [-1, 2, C2PSA, [1024]],  # 10
    ],
    "head": [
        [-1, 1, *UP],
        [[-1, 6], 1, Concat, [1]],
        [-1, 2, C3k2, [512, True]],  # 13
        [-1, 1, *UP],
        [[-1, 4], 1, Concat, [1]],
        [-1, 2, C3k2, [256, True]],  # 16 (P3/8-small)
        [-1, 1, Conv, [256, 3, 2]],
        [[-1, 13], 1, Concat, [1]],
        [-1, 2, C3k2, [512, True]],  # 19 (P4/16-medium)
        [-1, 1, Conv, [512, 3, 2]],
        [[-1, 10], 1, Concat, [1]],
        [-1, 1, C3k2, [1024, True, 0.5, True]],  # 22 (P5/32-large)
        [[16, 19, 22], 1, Detect, ["nc"]],
    ],
}

YOLOV10N = {  # yolov10n.yaml
    "scales": {"n": [0.33, 0.25, 1024]},
    "backbone": [
        [-1, 1, Conv, [64, 3, 2]],  # 0-P1/2
        [-1, 1, Conv, [128, 3, 2]],  # 1-P2/4
        [-1, 3, C2f, [128, True]],
        [-1, 1, Conv, [256, 3, 2]],  # 3-P3/8
        [-1, 6, C2f, [256, True]],
        [-1, 1, SCDown, [512, 3, 2]],  # 5-P4/16
        [-1, 6, C2f, [512, True]],
        [-1, 1, SCDown, [1024, 3, 2]],  # 7-P5/32
        [-1, 3, C2f, [1024, True]],
        [-1, 1, SPPF, [1024, 5]],  # 9
        [-1, 1, PSA, [1024]],  # 10
    ],
    "head": [
        [-1, 1, *UP],
        [[-1, 6], 1, Concat, [1]],
        [-1, 3, C2f, [512]],  # 13
        [-1, 1, *UP],
        [[-1, 4], 1, Concat, [1]],
        [-1, 3, C2f, [256]],  # 16 (P3/8-small)
        [-1, 1, Conv, [256, 3, 2]],
        [[-1, 13], 1, Concat, [1]],
        [-1, 3, C2f, [512]],  # 19 (P4/16-medium)
        [-1, 1, SCDown, [512, 3, 2]],
        [[-1, 10], 1, Concat, [1]],
        [-1, 3, C2fCIB, [1024, True, True]],  # 22 (P5/32-large)
        [[16, 19, 22], 1, v10Detect, ["nc"]],
    ],
}


def _v10(scale, gains, rows):
    """yolov10{scale}.yaml = yolov10n.yaml with its own scale and the layers in `rows` ({index: (module, args)})."""
    layers = YOLOV10N["backbone"] + YOLOV10N["head"]
    layers = [[f, n, *rows[i]] if i in rows else [f, n, m, a] for i, (f, n, m, a) in enumerate(layers)]
    return {"scales": {scale: gains}, "backbone": layers[:11], "head": layers[11:]}


_CIB512, _CIB1024 = (C2fCIB, [512, True]), (C2fCIB, [1024, True])
YOLOV10 = {
    "n": YOLOV10N,
    "s": _v10("s", [0.33, 0.50, 1024], {8: (C2fCIB, [1024, True, True])}),
    "m": _v10("m", [0.67, 0.75, 768], {8: _CIB1024, 19: _CIB512, 22: _CIB1024}),
    "b": _v10("b", [0.67, 1.00, 512], {8: _CIB1024, 13: _CIB512, 19: _CIB512, 22: _CIB1024}),
    "l": _v10("l", [1.00, 1.00, 512], {8: _CIB1024, 13: _CIB512, 19: _CIB512, 22: _CIB1024}),
    "x": _v10("x", [1.00, 1.25, 512], {6: _CIB512, 8: _CIB1024, 13: _CIB512, 19: _CIB512, 22: _CIB1024}),
}


def yolo26(scale="n", nc=80):
    """Eval-mode YOLO26 detection model (ultralytics 8.4 yolo26{scale}.yaml); end2end (one-to-one) by default."""
    _check_scale(scale)
    return DetectionModel(YOLO26, scale, nc).eval()


def yolov10(scale="n", nc=80):
    """Eval-mode YOLOv10 detection model (ultralytics yolov10{scale}.yaml, scale in n/s/m/b/l/x)."""
    if scale not in YOLOV10:
        raise ValueError(f"scale must be one of n/s/m/b/l/x, got {scale!r}")
    return DetectionModel(YOLOV10[scale], scale, nc).eval()


YOLO26_OBB = {**YOLO26, "head": YOLO26["head"][:-1] + [[[16, 19, 22], 1, OBB26, ["nc", 1]]]}  # yolo26-obb.yaml


def yolo26_obb(scale="n", nc=80):
    """Eval-mode YOLO26 oriented-box model (ultralytics 8.4 yolo26{scale}-obb.yaml); end2end (one-to-one) by default:
    ``model.model[-1].postprocess(model(x).permute(0, 2, 1))`` is the end-to-end output."""
    _check_scale(scale)
    return DetectionModel(YOLO26_OBB, scale, nc).eval()
# ----------------------------------------------------------------------------------------------
# Pose and classify (ultralytics/nn/modules/head.py Pose, Classify; cfg/models/{v8,11}/*-{pose,cls}.yaml)
# ----------------------------------------------------------------------------------------------


class Pose(Detect):
    """Detect + cv4 keypoint branch (one2one_cv4 with end2end); eval output [B, 4 + nc + K * D, A]: keypoints
    decoded channel by channel (ultralytics' non-export kpts_decode): x, y = (raw * 2 + anchor - 0.5) * stride,
    visibility sigmoid."""

    def __init__(self, nc=80, kpt_shape=(17, 3), ch=(), legacy=True, reg_max=16, end2end=False):
        super().__init__(nc, ch, legacy, reg_max, end2end)
        self.kpt_shape = kpt_shape
        self.nk = kpt_shape[0] * kpt_shape[1]
        c4 = max(ch[0] // 4, self.nk)
        self.cv4 = nn.ModuleList(nn.Sequential(Conv(x, c4, 3), Conv(c4, c4, 3), nn.Conv2d(c4, self.nk, 1)) for x in ch)
        if end2end:
            self.one2one_cv4 = copy.deepcopy(self.cv4)

    @property
    def one2many(self):
        return dict(box_head=self.cv2, cls_head=self.cv3, pose_head=self.cv4)

    @property
    def one2one(self):
        return dict(box_head=self.one2one_cv2, cls_head=self.one2one_cv3, pose_head=self.one2one_cv4)

    def forward_head(self, x, box_head, cls_head, pose_head):
        preds = super().forward_head(x, box_head, cls_head)
        bs = x[0].shape[0]
        preds["kpts"] = torch.cat([pose_head[i](x[i]).view(bs, self.nk, -1) for i in range(self.nl)], 2)
        return preds

    def _inference(self, x):
        anchors, strides = (t.transpose(0, 1) for t in make_anchors(x["feats"], self.stride, 0.5))
        return torch.cat([super()._inference(x), self.kpts_decode(x["kpts"], anchors, strides)], 1)

    def kpts_decode(self, kpts, anchors, strides):
        ndim = self.kpt_shape[1]
        y = kpts.clone()
        if ndim == 3:
            y[:, 2::ndim] = y[:, 2::ndim].sigmoid()
        y[:, 0::ndim] = (y[:, 0::ndim] * 2.0 + (anchors[0] - 0.5)) * strides
        y[:, 1::ndim] = (y[:, 1::ndim] * 2.0 + (anchors[1] - 0.5)) * strides
        return y


class RealNVP(nn.Module):
    """YOLO26's keypoint flow model (residual log-likelihood estimation, a training loss): 6 affine couplings in 2-D.
    Its weights are in the checkpoints; inference does not run it."""

    @staticmethod
    def nets():
        return nn.Sequential(nn.Linear(2, 64), nn.SiLU(), nn.Linear(64, 64), nn.SiLU(), nn.Linear(64, 2), nn.Tanh())

    @staticmethod
    def nett():
        return nn.Sequential(nn.Linear(2, 64), nn.SiLU(), nn.Linear(64, 64), nn.SiLU(), nn.Linear(64, 2))

    def __init__(self):
        super().__init__()
        self.register_buffer("loc", torch.zeros(2))
        self.register_buffer("cov", torch.eye(2))
        self.register_buffer("mask", torch.tensor([[0, 1], [1, 0]] * 3, dtype=torch.float32))
        self.s = nn.ModuleList([self.nets() for _ in range(len(self.mask))])
        self.t = nn.ModuleList([self.nett() for _ in range(len(self.mask))])


class Pose26(Pose):
    """YOLO26 pose head: cv4 is two Convs of c4 = max(ch[0] // 4, K * (D + 2)) channels feeding cv4_kpts (the K * D
    keypoint values) and cv4_sigma (2K, training only), plus the flow model; keypoints decode as
    (raw + anchor) * stride."""

    def __init__(self, nc=80, kpt_shape=(17, 3), ch=(), legacy=True, reg_max=16, end2end=False):
        super().__init__(nc, kpt_shape, ch, legacy, reg_max, end2end)
        self.flow_model = RealNVP()
        c4 = max(ch[0] // 4, kpt_shape[0] * (kpt_shape[1] + 2))
        self.cv4 = nn.ModuleList(nn.Sequential(Conv(x, c4, 3), Conv(c4, c4, 3)) for x in ch)
        self.cv4_kpts = nn.ModuleList(nn.Conv2d(c4, self.nk, 1) for _ in ch)
        self.nk_sigma = kpt_shape[0] * 2
        self.cv4_sigma = nn.ModuleList(nn.Conv2d(c4, self.nk_sigma, 1) for _ in ch)
        if end2end:
            self.one2one_cv4 = copy.deepcopy(self.cv4)
            self.one2one_cv4_kpts = copy.deepcopy(self.cv4_kpts)
            self.one2one_cv4_sigma = copy.deepcopy(self.cv4_sigma)

    @property
    def one2many(self):
        return dict(box_head=self.cv2, cls_head=self.cv3, pose_head=self.cv4, kpts_head=self.cv4_kpts)

    @property
    def one2one(self):
        return dict(box_head=self.one2one_cv2, cls_head=self.one2one_cv3, pose_head=self.one2one_cv4,
                    kpts_head=self.one2one_cv4_kpts)

    def forward_head(self, x, box_head, cls_head, pose_head, kpts_head):
        preds = Detect.forward_head(self, x, box_head, cls_head)
        bs = x[0].shape[0]
        preds["kpts"] = torch.cat([kpts_head[i](pose_head[i](x[i])).view(bs, self.nk, -1) for i in range(self.nl)], 2)
        return preds

    def kpts_decode(self, kpts, anchors, strides):
        ndim = self.kpt_shape[1]
        y = kpts.clone()
        if ndim == 3:
            y[:, 2::ndim] = y[:, 2::ndim].sigmoid()
        y[:, 0::ndim] = (y[:, 0::ndim] + anchors[0]) * strides
        y[:, 1::ndim] = (y[:, 1::ndim] + anchors[1]) * strides
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


def yolo26_pose(scale="n", nc=80, kpt_shape=(17, 3)):
    """Eval-mode YOLO26 pose model (ultralytics 8.4 yolo26{scale}-pose.yaml: Pose26, nc 80, kpt_shape [17, 3])."""
    _check_scale(scale)
    cfg = YOLO26
    return DetectionModel({**cfg, "head": cfg["head"][:-1] + [[[16, 19, 22], 1, Pose26, ["nc", tuple(kpt_shape)]]]},
                          scale, nc).eval()


def yolo26_cls(scale="n", nc=1000):
    """Eval-mode YOLO26 classification model (yolo26{scale}-cls.yaml: yolo11-cls's graph and scales)."""
    _check_scale(scale)
    return DetectionModel(YOLO11_CLS, scale, nc).eval()


# ----------------------------------------------------------------------------------------------
# YOLO26 segmentation (ultralytics 8.4 head.py Segment26, block.py Proto26, cfg/models/26/yolo26-seg.yaml)
# ----------------------------------------------------------------------------------------------


class Proto26(Proto):
    """Prototypes from all three levels: P4, P5 through 1x1 Convs to P3's channels (feat_refine), nearest-upsampled by
    2 and 4 and added to P3, a 3x3 Conv (feat_fuse), then Proto(c_, c_, c2). semseg: training-only semantic branch."""

    def __init__(self, ch=(), c_=256, c2=32, nc=80):
        super().__init__(c_, c_, c2)
        self.feat_refine = nn.ModuleList(Conv(x, ch[0], k=1) for x in ch[1:])
        self.feat_fuse = Conv(ch[0], c_, k=3)
        self.semseg = nn.Sequential(Conv(ch[0], c_, k=3), Conv(c_, c_, k=3), nn.Conv2d(c_, nc, 1))

    def forward(self, x):
        feat = x[0]
        for i, f in enumerate(self.feat_refine):
            feat = feat + torch.nn.functional.interpolate(f(x[i + 1]), scale_factor=2 ** (i + 1), mode="nearest")
        p = super().forward(self.feat_fuse(feat))
        return (p, self.semseg(feat)) if self.training else p


class Segment26(Detect):
    """Detect (reg_max 1, end2end) + mask-coefficient branch cv4 (and one2one_cv4) + Proto26; eval output
    ([B, 4 + nc + nm, A] of the selected branch, protos [B, nm, H / 4, W / 4]); ``postprocess`` on the first one's
    permute(0, 2, 1) gives ultralytics' end-to-end [B, max_det, 6 + nm] (x1, y1, x2, y2, score, class, coefficients)."""

    def __init__(self, nc=80, nm=32, npr=256, ch=(), legacy=True, reg_max=16, end2end=False):
        super().__init__(nc, ch, legacy, reg_max, end2end)
        self.nm, self.npr = nm, npr
        self.proto = Proto26(ch, npr, nm, nc)
        c4 = max(ch[0] // 4, nm)
        self.cv4 = nn.ModuleList(nn.Sequential(Conv(x, c4, 3), Conv(c4, c4, 3), nn.Conv2d(c4, nm, 1)) for x in ch)
        if end2end:
            self.one2one_cv4 = copy.deepcopy(self.cv4)

    @property
    def one2many(self):
        return dict(box_head=self.cv2, cls_head=self.cv3, mask_head=self.cv4)

    @property
    def one2one(self):
        return dict(box_head=self.one2one_cv2, cls_head=self.one2one_cv3, mask_head=self.one2one_cv4)

    def forward_head(self, x, box_head, cls_head, mask_head):
        preds = super().forward_head(x, box_head, cls_head)
        bs = x[0].shape[0]
        preds["mask_coefficient"] = torch.cat([mask_head[i](x[i]).view(bs, self.nm, -1) for i in range(self.nl)], 2)
        return preds

    def _inference(self, x):
        return torch.cat([super()._inference(x), x["mask_coefficient"]], 1)

    def forward(self, x):
        y = super().forward(x)
        return y if self.training else (y, self.proto(x))

    def postprocess(self, preds):
        """[B, A, 4 + nc + nm] -> [B, min(max_det, A), 6 + nm]: the top-k rows carrying their coefficients."""
        boxes, scores, coeffs = preds.split([4, self.nc, self.nm], dim=-1)
        scores, conf, idx = self.get_topk_index(scores, self.max_det)
        boxes = boxes.gather(dim=1, index=idx.repeat(1, 1, 4))
        coeffs = coeffs.gather(dim=1, index=idx.repeat(1, 1, self.nm))
        return torch.cat([boxes, scores, conf, coeffs], dim=-1)


YOLO26_SEG = {**YOLO26, "head": YOLO26["head"][:-1] + [[[16, 19, 22], 1, Segment26, ["nc", 32, 256]]]}


def yolo26_seg(scale="n", nc=80):
    """Eval-mode YOLO26 segmentation model (ultralytics 8.4 yolo26{scale}-seg.yaml); end2end (one-to-one) by default."""
    _check_scale(scale)
    return DetectionModel(YOLO26_SEG, scale, nc).eval()
