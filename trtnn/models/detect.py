"""End-to-end YOLO detection inside the engine: preprocess, decode and class-aware greedy NMS from standard layers.

No INMSLayer and no plugin (TensorRT-RTX's CPU builder rejects INMSLayer, TensorRT 11 dropped the NMS plugins), so
the network builds with TensorRT-RTX and full TensorRT alike. Outputs use EfficientNMS' layout and names:
num_dets [B, 1] int32, det_boxes [B, max_det, 4] (x1, y1, x2, y2), det_scores [B, max_det], det_classes
[B, max_det] int32; rows past num_dets are zero. Results equal the originals' predict-time NMS with torchvision
semantics and a stable order among equal scores (tests/refmodels/detect_postprocess.py).

NMS, per image of N boxes and C classes:
1. each box's best class (the first maximum, as torch.max) and score;
2. the K = min(N, pre_nms_topk) best boxes ordered by (score desc, index asc), exactly also with ties: TopK on
   unique keys, then a rank sort by pairwise comparison;
3. S[j, i] = "box j suppresses box i": j before i, same class, IoU > iou (IoU as torchvision computes it, on boxes
   shifted by class * 7680 as the originals do);
4. keep = valid & !any_j(keep[j] & S[j, i]), a triangular system solved by fixed-point iteration in one while-loop
   (unique solution, reached after at most K + 1 iterations; in practice the depth of suppression chains, a handful);
5. the first max_det kept boxes; num_dets = min(#kept, max_det).
Exact when the top K boxes hold max_det kept ones or all boxes above conf; K is at most 3840 (TensorRT's TopK).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch

from .. import dtypes
from .. import functional as F
from ..compile import Input
from ..errors import ShapeError, require_fraction
from ..graph.module import Module
from ..graph.tensor import Tensor

MAX_WH = 7680  # class offset of the originals' batched NMS
MAX_PRE_NMS = 3840  # TensorRT TopK limit
OUTPUT_NAMES = ("num_dets", "det_boxes", "det_scores", "det_classes")
Threshold = Union[float, Tensor]


def _f32(x: Tensor) -> Tensor:
    return F.cast(x, torch.float32)


def _arange(n: Any, like: Tensor, shape: Sequence[int]) -> Tensor:
    """arange(n) in fp32 reshaped to `shape` (-1 for n): a constant, or filled in the engine when n is a runtime
    size (F.sym_size)."""
    if isinstance(n, Tensor):
        return F.arange(n, dtype=torch.float32).reshape(tuple(shape))
    return F.constant(torch.arange(n, dtype=torch.float32).reshape(tuple(shape)), like, torch.float32)


def input_hw(x: Tensor, axes: Tuple[int, int] = (2, 3)) -> Tuple[Any, Any]:
    """(h, w) of the network input x (dims `axes`: NCHW by default): ints, or [1, 1] int32 runtime sizes where they
    are dynamic."""
    return tuple(v if isinstance(v, int) else F.cast(v, torch.int32).reshape(1, 1)
                 for v in (F.sym_size(x, axes[0]), F.sym_size(x, axes[1])))


def _threshold(t: Threshold) -> Threshold:
    return _f32(t) if isinstance(t, Tensor) else float(t)


def batched_input(name: str, shape: Sequence[int], dtype: Any, batch: int = 1, max_batch: Optional[int] = None) -> Input:
    """Input(name, (batch, *shape)), or with a dynamic batch 1..max_batch (optimized for max_batch)."""
    if max_batch is None:
        return Input(name, (batch, *shape), dtype)
    return Input(name, (-1, *shape), dtype, min_shape=(1, *shape), opt_shape=(max_batch, *shape),
                 max_shape=(max_batch, *shape))


def image_inputs(preprocess: Optional["Preprocess"], imgsz: Tuple[int, int], scale_to_orig: bool, batch: int = 1,
                 max_batch: Optional[int] = None, thresholds: Sequence[str] = (),
                 min_imgsz: Optional[Tuple[int, int]] = None, stride: int = 32) -> List[Input]:
    """A detector's inputs in forward's order: `images` (uint8 in the preprocess layout, else float NCHW) of (h, w) =
    imgsz, the runtime `thresholds` (fp32 [1] each, e.g. 'conf_thres', 'iou_thres'), and with scale_to_orig its
    `orig_size` [B, 2] (h, w) int32 input. With `min_imgsz`, the height and width are dynamic from min_imgsz to
    imgsz (optimized for imgsz), both multiples of `stride` (checked: an error names the dim and the next valid
    value)."""
    h, w = imgsz
    if preprocess is None:
        specs = [("images", (3, h, w), "fp32")]
    else:
        specs = [("images", (h, w, 3) if preprocess.layout == "NHWC" else (3, h, w), torch.uint8)]
    if scale_to_orig:
        specs.append(("orig_size", (2,), torch.int32))
    out = [batched_input(name, shape, dt, batch, max_batch) for name, shape, dt in specs]
    if min_imgsz is not None:
        out[0] = dynamic_image_input(out[0], min_imgsz, imgsz, stride, preprocess is not None
                                     and preprocess.layout == "NHWC")
    out[1:1] = [Input(name, (1,), "fp32", cast=False) for name in thresholds]
    return out


def dynamic_image_input(images: Input, min_imgsz: Tuple[int, int], imgsz: Tuple[int, int], stride: int,
                        nhwc: bool = False) -> Input:
    """`images` (static or dynamic batch) with its height and width dynamic from min_imgsz to imgsz."""
    axes = (1, 2) if nhwc else (2, 3)
    check_image_range(images.name, min_imgsz, imgsz, stride, axes)
    static = images.shape
    lo, _, hi = images.profile() if images.is_dynamic else (static,) * 3
    shape, lo, hi = list(static), list(lo), list(hi)
    for a, small, big in zip(axes, min_imgsz, imgsz):
        shape[a], lo[a], hi[a] = -1, small, big
    return Input(images.name, shape, images.dtype, min_shape=lo, opt_shape=hi, max_shape=hi)


def check_image_range(name: str, lo_hw: Sequence[int], hi_hw: Sequence[int], stride: int,
                      axes: Sequence[int] = (2, 3), what: str = "the model") -> None:
    """ShapeError unless every min/max height and width is a positive multiple of `stride` with min <= max; the
    message names the dim and the next valid value."""
    for side, a, lo, hi in zip(("height", "width"), axes, lo_hw, hi_hw):
        for which, v in (("min", lo), ("max", hi)):
            if v < 1 or v % stride:
                up = max(stride, -(-v // stride) * stride)
                raise ShapeError(f"input '{name}' dim {a} ({side}): the {which} {v} is not a multiple of {what}'s "
                                 f"stride {stride}; the next valid value is {up}")
        if lo > hi:
            raise ShapeError(f"input '{name}' dim {a} ({side}): min {lo} > max {hi}")


def model_stride(model: Any) -> int:
    """The largest stride of a YOLO model (its `stride` attribute; 32 when it has none)."""
    stride = getattr(model, "stride", None)
    return int(max(stride.tolist() if isinstance(stride, torch.Tensor) else [stride])) if stride is not None else 32


def check_extra_inputs(owner: Module, extra: Sequence[Tensor], want: int) -> None:
    """ShapeError unless an end-to-end wrapper's forward got `want` inputs after the images (see its `inputs()`)."""
    if len(extra) != want:
        name = type(owner).__name__
        raise ShapeError(f"{name} takes images plus {want} extra input(s) (see {name}.inputs), got {len(extra)}")


# ---- preprocessing -----------------------------------------------------------------------------------------
class Preprocess(Module):
    """uint8 images (NHWC or NCHW, BGR or bgr=False RGB) -> NCHW in the model's channel order (RGB, or BGR with
    model_bgr=True): x / 255, then (x - mean) / std if given (in the model's order); in `dtype`, by default the
    network's compute dtype (so a fp16 build runs the model in fp16)."""

    def __init__(self, layout: str = "NHWC", bgr: bool = True, mean: Optional[Sequence[float]] = None,
                 std: Optional[Sequence[float]] = None, dtype: Any = None, model_bgr: bool = False) -> None:
        super().__init__()
        if layout not in ("NHWC", "NCHW"):
            raise ShapeError(f"Preprocess layout must be 'NHWC' or 'NCHW', got {layout!r}")
        if (mean is None) != (std is None):
            raise ShapeError("Preprocess: give both mean and std, or neither")
        self.layout, self.bgr, self.dtype = layout, bgr, None if dtype is None else dtypes.to_torch(dtype)
        self.model_bgr = model_bgr
        self.mean = None if mean is None else torch.tensor(mean, dtype=torch.float32).reshape(1, -1, 1, 1)
        self.std = None if std is None else torch.tensor(std, dtype=torch.float32).reshape(1, -1, 1, 1)

    def forward(self, images: Tensor) -> Tensor:
        x = images.to(self.dtype or F.compute_dtype(images))
        if self.layout == "NHWC":
            x = x.permute(0, 3, 1, 2)
        if self.bgr != self.model_bgr:
            x = x[:, [2, 1, 0]]
        x = x / 255
        if self.mean is not None:
            x = (x - self.mean) / self.std
        return x


# ---- decoding ------------------------------------------------------------------------------------------------
def xywh2xyxy(xywh: Tensor) -> Tensor:
    """(cx, cy, w, h) -> (x1, y1, x2, y2) along the last dim."""
    xy, half = xywh[..., :2], xywh[..., 2:4] / 2
    return F.cat([xy - half, xy + half], -1)


def decode_v8(pred: Tensor) -> Tuple[Tensor, Tensor]:
    """YOLOv8/11 raw output [B, 4 + nc, A] -> boxes x1y1x2y2 [B, A, 4], class scores [B, A, nc] (fp32)."""
    x = _f32(pred).permute(0, 2, 1)
    return xywh2xyxy(x[..., :4]), x[..., 4:]


def decode_v5(pred: Tensor, conf: Threshold = 0.25) -> Tuple[Tensor, Tensor]:
    """YOLOv5 raw output [B, N, 5 + nc] -> boxes x1y1x2y2 [B, N, 4], scores obj * cls [B, N, nc] (fp32).

    YOLOv5 keeps a box only if obj > conf (and obj * cls > conf): rows with obj <= conf get scores -inf.
    """
    x = _f32(pred)
    obj = x[..., 4:5]
    scores = F.where(F.gt(obj, _threshold(conf)), x[..., 5:] * obj, float("-inf"))
    return xywh2xyxy(x[..., :4]), scores


# ---- NMS -----------------------------------------------------------------------------------------------------------
def _stable_topk(x: Tensor, k: int) -> Tensor:
    """Indices [B, k] of the k largest of x [B, N], ordered by (value desc, index asc) whatever TopK does with ties."""
    n = F.sym_size(x, 1)
    idx = _arange(n, x, (1, -1))
    sel = None
    if isinstance(n, Tensor) or k < n:  # the exact set: all values above the k-th, then the lowest indices equal
        kth = F.topk(x, k).values[:, k - 1:k]  # to it (unique keys)
        nf = _f32(n).reshape(1, 1) if isinstance(n, Tensor) else n
        key = F.where(x > kth, 2 * nf - idx, F.where(F.eq(x, kth), nf - idx, -1.0))
        sel = F.topk(key, k).indices
        x, idx = F.gather(x, 1, sel), F.gather(F.expand_as(idx, x), 1, sel)
    xi, xj, ii, ij = x.unsqueeze(2), x.unsqueeze(1), idx.unsqueeze(2), idx.unsqueeze(1)
    ahead = (xj > xi) | (F.eq(xj, xi) & (ij < ii))  # [B, i, j]: j comes before i
    rank = F.sum(_f32(ahead), -1)
    order = F.topk(rank, k, largest=False).indices
    return order if sel is None else F.gather(sel, 1, order)


def _suppression(boxes: Tensor, classes: Tensor, iou: Threshold) -> Tensor:
    """[B, K, K] fp16 0/1, [b, j, i] = 1 when box j (earlier) suppresses box i: j < i, same class, IoU > iou."""
    k = boxes.shape[1]
    x1, y1, x2, y2 = (boxes[..., t] for t in range(4))
    area = (x2 - x1) * (y2 - y1)

    def pair(v: Tensor, op: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
        return op(v.unsqueeze(2), v.unsqueeze(1))

    w = F.clamp(pair(x2, F.minimum) - pair(x1, F.maximum), min=0.0)
    h = F.clamp(pair(y2, F.minimum) - pair(y1, F.maximum), min=0.0)
    inter = w * h
    overlap = inter / (pair(area, F.add) - inter) > iou
    earlier = F.constant(torch.ones(k, k, dtype=torch.bool).triu(1).reshape(1, k, k), boxes, torch.bool)
    return F.cast(overlap & F.eq(classes.unsqueeze(2), classes.unsqueeze(1)) & earlier, torch.float16)


def _row_mask(num_dets: Tensor, rows: int) -> Tensor:
    """[B, rows] bool: row r < num_dets."""
    return _arange(rows, num_dets, (1, rows)) < _f32(num_dets)


class NMS(Module):
    """Greedy class-aware NMS (torchvision semantics) with EfficientNMS-style outputs.

    forward(boxes [B, N, 4] x1y1x2y2, scores [B, N, C], conf=None, iou=None): `conf` / `iou` tensors (0-D or [1])
    override the build-time thresholds. Candidates are the boxes whose best score is > conf, with that (first best)
    class, as ultralytics predicts; with multi_label=True every (box, class) pair whose score is > conf, in box-major
    order, as ultralytics' validator does (mAP measured that way). A candidate suppresses later candidates of its
    class whose IoU with it is > iou.
    """

    def __init__(self, conf: float = 0.25, iou: float = 0.7, max_det: int = 300, pre_nms_topk: int = 1000,
                 multi_label: bool = False) -> None:
        super().__init__()
        require_fraction(conf, "conf", "NMS")
        require_fraction(iou, "iou", "NMS")
        if not 1 <= pre_nms_topk <= MAX_PRE_NMS:
            raise ShapeError(f"pre_nms_topk must be in [1, {MAX_PRE_NMS}] (TensorRT TopK), got {pre_nms_topk}")
        if max_det < 1:
            raise ShapeError(f"max_det must be positive, got {max_det}")
        self.conf, self.iou, self.max_det, self.pre_nms_topk = conf, iou, max_det, pre_nms_topk
        self.multi_label = multi_label

    def extra_repr(self) -> str:
        return (f"conf={self.conf}, iou={self.iou}, max_det={self.max_det}, pre_nms_topk={self.pre_nms_topk}"
                + (", multi_label=True" if self.multi_label else ""))

    def _candidates(self, boxes: Tensor, scores: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """(boxes [B, M, D], scores [B, M], classes [B, M] float, box index [B, M] float) of the candidate boxes or
        (box, class) pairs; D = 4, or 5 for rotated boxes."""
        _, n, c = scores.shape
        d = boxes.shape[2]
        if self.multi_label and n < 0:  # pair p = (box p // c, class p % c), p counted in the engine
            pairs = scores.reshape(-1, F.sym_size(scores, 1) * c)
            p = _arange(F.sym_size(pairs, 1), pairs, (1, -1))
            index = F.floor(p / c)
            classes, index = F.expand_as(p - index * c, pairs), F.expand_as(index, pairs)
            return F.expand(boxes.unsqueeze(2), (-1, -1, c, d)).reshape(-1, F.sym_size(pairs, 1), d), pairs, \
                classes, index
        if self.multi_label:  # pair p = (box p // c, class p % c)
            pairs = scores.reshape(-1, n * c)
            classes = F.expand_as(F.constant((torch.arange(n * c) % c).float().reshape(1, n * c), scores), pairs)
            index = F.expand_as(F.constant((torch.arange(n * c) // c).float().reshape(1, n * c), scores), pairs)
            return F.expand(boxes.unsqueeze(2), (-1, n, c, d)).reshape(-1, n * c, d), pairs, classes, index
        best = F.amax(scores, -1)
        first_max = F.where(F.eq(scores, best.unsqueeze(2)), _arange(c, scores, (1, 1, c)), float(c))
        return boxes, best, F.amin(first_max, -1), F.expand_as(_arange(F.sym_size(scores, 1), scores, (1, -1)), best)

    def forward(self, boxes: Tensor, scores: Tensor, conf: Optional[Threshold] = None,
                iou: Optional[Threshold] = None, with_index: bool = False) -> Dict[str, Tensor]:
        """with_index=True adds det_index [B, max_det] int32: the box (row of `boxes`) each detection came from."""
        if boxes.ndim != 3 or boxes.shape[2] != 4 or scores.ndim != 3 or scores.shape[:2] != boxes.shape[:2]:
            raise ShapeError(f"NMS expects boxes [B, N, 4] and scores [B, N, C], got {boxes.shape} and {scores.shape}")
        conf = _threshold(self.conf if conf is None else conf)
        iou = _threshold(self.iou if iou is None else iou)
        boxes, best, classes, index = self._ranked(boxes, scores)
        valid = F.cast(best > conf, torch.float16).unsqueeze(1)  # [B, 1, K]
        suppress = _suppression(boxes + classes.unsqueeze(2) * MAX_WH, classes, iou)
        keep = F.fixed_point(lambda kp: F.where(F.matmul(kp, suppress) > 0, 0.0, valid), valid)
        return first_kept(_f32(keep.squeeze(1)), self.max_det, boxes, best, classes, index if with_index else None)

    def _ranked(self, boxes: Tensor, scores: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """The pre_nms_topk best candidates, best first (stable): boxes [B, K, D], scores [B, K], classes [B, K]
        float and the index of their box [B, K] float."""
        boxes, best, classes, index = self._candidates(_f32(boxes), _f32(scores))
        b, n = best.shape
        if n < 0:  # a runtime count: pre_nms_topk rows of score -inf appended (never kept), so TopK's k is fixed
            boxes, best, classes, index = pad_candidates(self.pre_nms_topk, boxes, best, classes, index)
        k = min(n, self.pre_nms_topk) if n >= 0 else self.pre_nms_topk
        order = _stable_topk(best, k)
        ranked = F.gather(boxes, 1, F.expand(order.unsqueeze(2), (b, k, boxes.shape[2])))
        return ranked, F.gather(best, 1, order), F.gather(classes, 1, order), F.gather(index, 1, order)


def pad_candidates(k: int, boxes: Tensor, scores: Tensor, *rest: Tensor) -> Tuple[Tensor, ...]:
    """k more rows after a runtime number of candidates (boxes [B, N, D] zero, scores [B, N] -inf, the other [B, N]
    zero): a top-k of k then always has k rows, and the padding ranks after every real candidate (index asc)."""
    return (F.pad(boxes, (0, 0, 0, k)), F.pad(scores, (0, k), value=float("-inf")), *(F.pad(t, (0, k)) for t in rest))


def first_kept(keep: Tensor, max_det: int, boxes: Tensor, scores: Tensor, classes: Tensor,
               index: Optional[Tensor] = None) -> Dict[str, Tensor]:
    """The first max_det rows of (boxes [B, K, D], scores, classes) where keep [B, K] (0/1) is 1, zero-padded, as
    num_dets, det_boxes, det_scores, det_classes (and det_index [B, max_det] int32 from `index` when given)."""
    b, k, d = boxes.shape
    m = min(max_det, k)
    first = F.topk(keep * (k - _arange(k, keep, (1, k))), m).indices  # kept rows, in order
    num_dets = F.minimum(F.sum(keep, -1, keepdim=True), float(max_det))
    rows = _row_mask(num_dets, m)
    pad = max_det - m

    def rows_of(t: Tensor) -> Tensor:
        return F.pad(F.where(rows, F.gather(t, 1, first), 0.0), (0, pad))

    det_boxes = F.where(rows.unsqueeze(2), F.gather(boxes, 1, F.expand(first.unsqueeze(2), (b, m, d))), 0.0)
    out = {"num_dets": F.cast(num_dets, torch.int32), "det_boxes": F.pad(det_boxes, (0, 0, 0, pad)),
           "det_scores": rows_of(scores), "det_classes": F.cast(rows_of(classes), torch.int32)}
    if index is not None:
        out["det_index"] = F.cast(rows_of(index), torch.int32)
    return out


# ---- back to the original image --------------------------------------------------------------------------------
def _round_half_even_div(num: Tensor, den: Tensor) -> Tensor:
    """round(num / den) with ties to even, as Python's round, for non-negative int32 num and positive den: exact."""
    q = F.floor_divide(num, den)
    twice_rem = (num - q * den) * 2
    up = (twice_rem > den) | (F.eq(twice_rem, den) & F.eq(q - F.floor_divide(q, 2) * 2, 1))
    return q + F.cast(up, torch.int32)


def letterbox_geometry(orig_size: Tensor, input_hw: Tuple[Any, Any]) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """What ultralytics' LetterBox(auto=False, scaleup=True) did to images of orig_size [B, 2] (h, w) to fill
    input_hw (ints, or runtime sizes: see `input_hw`): the resized size (new_h, new_w) = round(h * r), round(w * r) with r = min(H / h, W / w), and the
    top/left borders round(dh - 0.1), round(dw - 0.1) = floor((H - new_h) / 2), floor((W - new_w) / 2).
    Computed in int32, so it is exact (r's side is the one with W * h <= H * w). Returns [B, 1] int32 each:
    new_h, new_w, top, left."""
    size = F.cast(orig_size, torch.int32)
    h0, w0 = size[:, 0:1], size[:, 1:2]
    h1, w1 = input_hw
    width_limits = (h0 * w1) <= (w0 * h1)  # W / w <= H / h
    new_w = F.where(width_limits, w1, _round_half_even_div(w0 * h1, h0))
    new_h = F.where(width_limits, _round_half_even_div(h0 * w1, w0), h1)
    return new_h, new_w, F.floor_divide(h1 - new_h, 2), F.floor_divide(w1 - new_w, 2)


def scale_boxes(boxes: Tensor, orig_size: Tensor, input_hw: Tuple[Any, Any], yolov5: bool = False) -> Tensor:
    """Map x1y1x2y2 boxes [B, M, 4] from the letterboxed network input (h, w) = input_hw back to the original
    images, orig_size [B, 2] (h, w), and clip them.

    Ultralytics (8.4 `scale_boxes` with the ratio_pad its LetterBox produces): separate x and y factors
    new_w / w0 and new_h / h0 from the rounded resize, integer borders (see `letterbox_geometry`): the exact
    inverse of the letterbox. yolov5=True keeps yolov5's own mapping: one gain min(h1 / h0, w1 / w0) and fractional
    padding."""
    size = _f32(orig_size)
    h0, w0 = size[:, 0:1], size[:, 1:2]
    h1, w1 = input_hw
    if yolov5:
        gain = F.minimum(h1 / h0, w1 / w0)
        pad_x, pad_y, gain_x, gain_y = (w1 - w0 * gain) / 2, (h1 - h0 * gain) / 2, gain, gain
    else:
        new_h, new_w, top, left = (_f32(t) for t in letterbox_geometry(orig_size, input_hw))
        pad_x, pad_y, gain_x, gain_y = left, top, new_w / w0, new_h / h0
    pad = F.cat([pad_x, pad_y, pad_x, pad_y], -1).unsqueeze(1)
    gain = F.cat([gain_x, gain_y, gain_x, gain_y], -1).unsqueeze(1)
    limit = F.cat([w0, h0, w0, h0], -1).unsqueeze(1)
    return F.minimum(F.clamp((boxes - pad) / gain, min=0.0), limit)


# ---- end to end ------------------------------------------------------------------------------------------------------
class End2End(Module):
    """preprocess -> raw YOLO model -> decode -> NMS, returning {num_dets, det_boxes, det_scores, det_classes}.

    kind 'v8' (YOLOv8 / YOLO11 output [B, 4 + nc, A]; defaults iou 0.7, max_det 300) or 'v5' ([B, N, 5 + nc];
    iou 0.45, max_det 1000). Network inputs, in the order `inputs()` lists them: images (uint8 when `preprocess`
    is given, else float NCHW), then conf_thres and iou_thres (fp32 [1]) if runtime_thresholds, then orig_size
    (int32 [B, 2], (h, w)) if scale_to_orig: boxes are then mapped back to the original images and clipped.
    """

    DEFAULTS = {"v8": (0.7, 300), "v5": (0.45, 1000)}

    def __init__(self, model: Module, kind: str = "v8", conf: float = 0.25, iou: Optional[float] = None,
                 max_det: Optional[int] = None, preprocess: Optional[Preprocess] = None,
                 runtime_thresholds: bool = False, scale_to_orig: bool = False, pre_nms_topk: int = 1000,
                 multi_label: bool = False) -> None:
        super().__init__()
        if kind not in self.DEFAULTS:
            raise ShapeError(f"End2End kind must be 'v8' or 'v5', got {kind!r}")
        d_iou, d_max = self.DEFAULTS[kind]
        self.kind, self.runtime_thresholds, self.scale_to_orig = kind, runtime_thresholds, scale_to_orig
        self.preprocess = preprocess
        self.model = model
        self.nms = NMS(conf, d_iou if iou is None else iou, d_max if max_det is None else max_det, pre_nms_topk,
                       multi_label)

    def inputs(self, imgsz: Tuple[int, int], batch: int = 1, max_batch: Optional[int] = None,
               min_imgsz: Optional[Tuple[int, int]] = None) -> List[Input]:
        """The network inputs for images of (h, w) = imgsz, in forward's order; a dynamic batch of 1..max_batch
        when `max_batch` is given, a dynamic height and width from min_imgsz to imgsz when `min_imgsz` is."""
        return image_inputs(self.preprocess, imgsz, self.scale_to_orig, batch, max_batch,
                            ("conf_thres", "iou_thres") if self.runtime_thresholds else (), min_imgsz,
                            model_stride(self.model))

    def _thresholds(self, extra: Sequence[Tensor]) -> Tuple[Optional[Tensor], Optional[Tensor]]:
        """(conf, iou) inputs when runtime_thresholds (else None, None), after checking the count of extra inputs."""
        check_extra_inputs(self, extra, 2 * self.runtime_thresholds + self.scale_to_orig)
        return tuple(extra[:2]) if self.runtime_thresholds else (None, None)

    def _boxes_to_orig(self, out: Dict[str, Tensor], orig_size: Tensor, input_hw: Tuple[Any, Any]) -> None:
        """det_boxes mapped back to the original images (rows past num_dets stay zero)."""
        scaled = scale_boxes(out["det_boxes"], orig_size, input_hw, yolov5=self.kind == "v5")
        rows = _row_mask(out["num_dets"], self.nms.max_det).unsqueeze(2)
        out["det_boxes"] = F.where(rows, scaled, 0.0)

    def forward(self, images: Tensor, *extra: Tensor) -> Dict[str, Tensor]:
        conf, iou = self._thresholds(extra)
        x = images if self.preprocess is None else self.preprocess(images)
        raw = self.model(x)
        if self.kind == "v8":
            boxes, scores = decode_v8(raw)
        else:
            boxes, scores = decode_v5(raw, self.nms.conf if conf is None else conf)
        out = self.nms(boxes, scores, conf, iou)
        if self.scale_to_orig:
            self._boxes_to_orig(out, extra[-1], input_hw(x))
        return out
