"""Reference predict-time post-processing of the YOLO originals, in plain torch (no torchvision).

* :func:`nms` -- ``torchvision.ops.nms`` semantics: visit boxes by score, descending; keep a box
  and suppress every later box whose IoU with it is **strictly greater** than ``iou_thres``;
  IoU = inter / (area_a + area_b - inter), areas (x2 - x1) * (y2 - y1) (no +1); a NaN IoU
  (two zero-area boxes) suppresses nothing. Returned indices are in visiting order.
  Ties: torchvision leaves the order of equal scores to its (unstable) sort; here the sort is
  **stable**, so among equal scores the lower input index is visited (and kept) first.
* :func:`batched_nms` -- class-aware NMS with the originals' class-offset trick: boxes are
  shifted by ``class * max_wh`` (max_wh = 7680) so boxes of different classes never overlap.
* :func:`v8_non_max_suppression` -- ultralytics ``ops.non_max_suppression`` for v8 / YOLO11
  export output ``[B, 4 + nc, A]`` (single label per box: its best class, kept if > conf).
* :func:`v5_non_max_suppression` -- yolov5 v7.0 ``utils/general.py non_max_suppression`` for
  ``[B, N, 5 + nc]``: obj > conf, score = obj * cls, best class per box, kept if score > conf.
* :func:`letterbox_params`, :func:`scale_boxes`, :func:`clip_boxes` -- letterbox geometry and
  mapping boxes back to the original image (ultralytics ``ops.scale_boxes`` / yolov5 variant).

The NMS functions return, per image, a :class:`Detections` (boxes ``[n, 4]`` x1y1x2y2,
scores ``[n]``, classes ``[n]`` int64), best score first, at most ``max_det`` rows.
"""

from typing import NamedTuple

import torch

MAX_WH = 7680  # (pixels) class offset for batched NMS, as in both originals
MAX_NMS = 30000  # max boxes handed to NMS


class Detections(NamedTuple):
    boxes: torch.Tensor  # [n, 4] x1, y1, x2, y2 (input-image pixels)
    scores: torch.Tensor  # [n]
    classes: torch.Tensor  # [n] int64


def xywh2xyxy(x):
    """(cx, cy, w, h) -> (x1, y1, x2, y2), last dim."""
    y = torch.empty_like(x)
    xy, wh = x[..., :2], x[..., 2:4] / 2
    y[..., :2] = xy - wh
    y[..., 2:4] = xy + wh
    return y


def box_iou(box, boxes):
    """IoU of one xyxy box against ``boxes`` [n, 4], computed as torchvision's NMS kernel does."""
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    w = (torch.minimum(box[2], boxes[:, 2]) - torch.maximum(box[0], boxes[:, 0])).clamp(min=0)
    h = (torch.minimum(box[3], boxes[:, 3]) - torch.maximum(box[1], boxes[:, 1])).clamp(min=0)
    inter = w * h
    return inter / (area + areas - inter)


def nms(boxes, scores, iou_thres):
    """Greedy NMS (torchvision.ops.nms semantics, stable tie order). Returns kept indices, int64."""
    order = torch.sort(scores, descending=True, stable=True).indices
    boxes = boxes[order]
    suppressed = torch.zeros(len(order), dtype=torch.bool, device=boxes.device)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        rest = boxes[i + 1 :]
        suppressed[i + 1 :] |= box_iou(boxes[i], rest) > iou_thres
    return order[torch.tensor(keep, dtype=torch.long, device=boxes.device)]


def batched_nms(boxes, scores, classes, iou_thres, agnostic=False):
    """Class-aware NMS via the originals' offset trick (boxes + class * MAX_WH)."""
    c = classes.to(boxes.dtype)[:, None] * (0 if agnostic else MAX_WH)
    return nms(boxes + c, scores, iou_thres)


def _finish(x, iou_thres, max_det, agnostic):
    """x: [n, 6] (x1, y1, x2, y2, score, class) after filtering -> Detections."""
    i = batched_nms(x[:, :4], x[:, 4], x[:, 5], iou_thres, agnostic)[:max_det]
    x = x[i]
    return Detections(x[:, :4], x[:, 4], x[:, 5].long())


def v8_non_max_suppression(prediction, conf_thres=0.25, iou_thres=0.7, max_det=300, agnostic=False, max_nms=MAX_NMS,
                           multi_label=False):
    """ultralytics (YOLOv8 / YOLO11) NMS on export output ``[B, 4 + nc, A]`` (xywh, cls scores): predict's (best class
    per box) or, with multi_label, its validator's (every (box, class) pair above conf, box-major)."""
    nc = prediction.shape[1] - 4
    xc = prediction[:, 4 : 4 + nc].amax(1) > conf_thres  # candidates
    prediction = prediction.transpose(-1, -2).clone()  # [B, A, 4 + nc]
    prediction[..., :4] = xywh2xyxy(prediction[..., :4])
    out = []
    for xi, x in enumerate(prediction):
        x = x[xc[xi]]
        box, cls = x.split((4, nc), 1)
        if multi_label:
            i, j = torch.where(cls > conf_thres)
            x = torch.cat((box[i], cls[i, j, None], j[:, None].to(x.dtype)), 1)
        else:
            conf, j = cls.max(1, keepdim=True)  # best class only
            x = torch.cat((box, conf, j.to(x.dtype)), 1)[conf.view(-1) > conf_thres]
        if x.shape[0] > max_nms:  # keep the max_nms best
            x = x[torch.sort(x[:, 4], descending=True, stable=True).indices[:max_nms]]
        out.append(_finish(x, iou_thres, max_det, agnostic))
    return out


def v5_non_max_suppression(prediction, conf_thres=0.25, iou_thres=0.45, max_det=1000, agnostic=False, max_nms=MAX_NMS):
    """yolov5 v7.0 detect.py NMS on ``[B, N, 5 + nc]`` (cx, cy, w, h, obj, cls...)."""
    xc = prediction[..., 4] > conf_thres  # candidates: objectness
    out = []
    for xi, x in enumerate(prediction):
        x = x[xc[xi]].clone()
        x[:, 5:] *= x[:, 4:5]  # conf = obj_conf * cls_conf
        box = xywh2xyxy(x[:, :4])
        conf, j = x[:, 5:].max(1, keepdim=True)  # best class only
        x = torch.cat((box, conf, j.to(x.dtype)), 1)[conf.view(-1) > conf_thres]
        x = x[torch.sort(x[:, 4], descending=True, stable=True).indices[:max_nms]]  # sort by confidence
        out.append(_finish(x, iou_thres, max_det, agnostic))
    return out


# ----------------------------------------------------------------------------------------------
# Letterbox geometry
# ----------------------------------------------------------------------------------------------


def letterbox_params(shape, new_shape=(640, 640), auto=False, stride=32, scaleup=True):
    """Geometry of ultralytics LetterBox / yolov5 letterbox (centred, pad value 114).

    shape, new_shape: (h, w). Returns (ratio, (dw, dh), new_unpad (w, h), (top, bottom, left, right))
    where dw, dh are the fractional half-paddings the originals return and (top, ...) the integer borders.
    """
    if isinstance(new_shape, int):
        new_shape = (new_shape, new_shape)
    r = min(new_shape[0] / shape[0], new_shape[1] / shape[1])
    if not scaleup:
        r = min(r, 1.0)
    new_unpad = int(round(shape[1] * r)), int(round(shape[0] * r))
    dw, dh = new_shape[1] - new_unpad[0], new_shape[0] - new_unpad[1]
    if auto:  # minimum rectangle
        dw, dh = dw % stride, dh % stride
    dw, dh = dw / 2, dh / 2
    top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
    left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
    return r, (dw, dh), new_unpad, (top, bottom, left, right)


def clip_boxes(boxes, shape):
    """Clamp xyxy boxes to an image of shape (h, w), in place; returns boxes."""
    boxes[..., 0].clamp_(0, shape[1])
    boxes[..., 1].clamp_(0, shape[0])
    boxes[..., 2].clamp_(0, shape[1])
    boxes[..., 3].clamp_(0, shape[0])
    return boxes


def letterbox_ratio_pad(shape, new_shape=(640, 640)):
    """The ratio_pad ultralytics' validator passes to scale_boxes for a LetterBox'ed image: ((new_h / h0,
    new_w / w0) of the rounded resize, (left, top) borders)."""
    _, _, (new_w, new_h), (top, _, left, _) = letterbox_params(shape, new_shape)
    return (new_h / shape[0], new_w / shape[1]), (left, top)


def scale_boxes(img1_shape, boxes, img0_shape, ratio_pad=None, yolov5=False):
    """Map xyxy boxes from the letterboxed image (img1_shape (h, w)) back to the original (img0_shape), clipped.

    ultralytics 8.4: without ratio_pad, gain = min(h1 / h0, w1 / w0) and pad = round((w1 - round(w0 * gain)) / 2
    - 0.1) (likewise y); with ratio_pad = ((gain_y, gain_x), (pad_x, pad_y)) separate x and y factors.
    yolov5 (``yolov5=True``): pad = ((w1 - w0 * gain) / 2, ...) left fractional. Works on a copy.
    """
    boxes = boxes.clone()
    if ratio_pad is not None:
        (gain_y, gain_x), pad = ratio_pad
    else:
        gain_y = gain_x = min(img1_shape[0] / img0_shape[0], img1_shape[1] / img0_shape[1])
        if yolov5:
            pad = (img1_shape[1] - img0_shape[1] * gain_x) / 2, (img1_shape[0] - img0_shape[0] * gain_x) / 2
        else:
            pad = (round((img1_shape[1] - round(img0_shape[1] * gain_x)) / 2 - 0.1),
                   round((img1_shape[0] - round(img0_shape[0] * gain_x)) / 2 - 0.1))
    boxes[..., [0, 2]] -= pad[0]
    boxes[..., [1, 3]] -= pad[1]
    boxes[..., [0, 2]] /= gain_x
    boxes[..., [1, 3]] /= gain_y
    return clip_boxes(boxes, img0_shape)


def end2end_detections(postprocessed, conf_thres=0.25, max_det=300):
    """ultralytics ``non_max_suppression`` on an end-to-end output ``[B, k, 6]`` (YOLOv10 / YOLO26
    ``Detect.postprocess``): no NMS, the rows with score > conf, at most max_det."""
    return [Detections(p[:, :4], p[:, 4], p[:, 5].long()) for p in (x[x[:, 4] > conf_thres][:max_det]
                                                                   for x in postprocessed)]
