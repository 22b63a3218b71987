"""Reference predict-time post-processing of ultralytics 8.4 oriented-box (OBB) models, in plain torch.

* :func:`batch_probiou` -- ``ultralytics.utils.metrics.batch_probiou``: boxes as 2-D Gaussians (mean (cx, cy),
  covariance R diag(w^2 / 12, h^2 / 12) R^T); probiou = 1 - sqrt(1 - exp(-Bhattacharyya distance) + eps), the
  distance clamped to [eps, 100].
* :func:`fast_nms` -- ``TorchNMS.fast_nms(iou_func=batch_probiou)``: sort by score (here **stable**: equal scores
  keep their input order), P = probiou matrix with ``triu_(diagonal=1)``, keep column i iff no entry is
  ``>= iou_thres``: every earlier box suppresses, kept or not.
* :func:`obb_non_max_suppression` -- ``non_max_suppression(rotated=True)`` on ``[B, 4 + nc + 1, A]``: best class
  (or every class with multi_label) > conf, xy shifted by class * 7680 unless agnostic, fast_nms, first max_det.
* :func:`regularize_rboxes` and :func:`scale_rboxes` -- ``ops.regularize_rboxes`` and
  ``ops.scale_boxes(xywh=True)`` (8.4: x / y gains from ratio_pad, no clipping).

Detections per image: :class:`RDetections` (rboxes ``[n, 5]`` xywhr, scores ``[n]``, classes ``[n]`` int64).
"""

import math
from typing import NamedTuple

import torch

MAX_WH = 7680


class RDetections(NamedTuple):
    rboxes: torch.Tensor  # [n, 5] cx, cy, w, h, angle
    scores: torch.Tensor  # [n]
    classes: torch.Tensor  # [n] int64


def covariance(boxes):
    """(a, b, c) of each xywhr box [N, 5], each [N, 1]."""
    a, b = boxes[:, 2:3].pow(2) / 12, boxes[:, 3:4].pow(2) / 12
    cos, sin = boxes[:, 4:5].cos(), boxes[:, 4:5].sin()
    return a * cos.pow(2) + b * sin.pow(2), a * sin.pow(2) + b * cos.pow(2), (a - b) * cos * sin


def batch_probiou(obb1, obb2, eps=1e-7):
    """[N, 5] x [M, 5] xywhr -> [N, M] probabilistic IoU."""
    x1, y1 = obb1[:, 0:1], obb1[:, 1:2]
    x2, y2 = obb2[:, 0][None], obb2[:, 1][None]
    a1, b1, c1 = covariance(obb1)
    a2, b2, c2 = (t.squeeze(-1)[None] for t in covariance(obb2))
    den = (a1 + a2) * (b1 + b2) - (c1 + c2).pow(2) + eps
    t1 = (((a1 + a2) * (y1 - y2).pow(2) + (b1 + b2) * (x1 - x2).pow(2)) / den) * 0.25
    t2 = (((c1 + c2) * (x2 - x1) * (y1 - y2)) / den) * 0.5
    dets = (a1 * b1 - c1.pow(2)).clamp(0) * (a2 * b2 - c2.pow(2)).clamp(0)
    t3 = (((a1 + a2) * (b1 + b2) - (c1 + c2).pow(2)) / (4 * dets.sqrt() + eps) + eps).log() * 0.5
    bd = (t1 + t2 + t3).clamp(eps, 100.0)
    return 1 - (1.0 - (-bd).exp() + eps).sqrt()


def fast_nms(boxes, scores, iou_thres):
    """Kept indices (int64, in score order) of rotated Fast-NMS."""
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.int64)
    order = torch.sort(scores, descending=True, stable=True).indices
    ious = batch_probiou(boxes[order], boxes[order]).triu_(diagonal=1)
    pick = torch.nonzero((ious >= iou_thres).sum(0) <= 0).squeeze(-1)
    return order[pick]


def obb_non_max_suppression(prediction, conf_thres=0.25, iou_thres=0.7, max_det=300, agnostic=False,
                            multi_label=False):
    """Per image RDetections of an OBB export output [B, 4 + nc + 1, A] (xywh, class scores, angle)."""
    nc = prediction.shape[1] - 5
    out = []
    for x in prediction.transpose(-1, -2):
        x = x[x[:, 4:4 + nc].amax(1) > conf_thres]
        box, cls, angle = x[:, :4], x[:, 4:4 + nc], x[:, -1:]
        if multi_label:
            i, j = torch.where(cls > conf_thres)
            x = torch.cat((box[i], cls[i, j, None], j[:, None].float(), angle[i]), 1)
        else:
            conf, j = cls.max(1, keepdim=True)
            x = torch.cat((box, conf, j.float(), angle), 1)[conf.view(-1) > conf_thres]
        c = x[:, 5:6] * (0 if agnostic else MAX_WH)
        keep = fast_nms(torch.cat((x[:, :2] + c, x[:, 2:4], x[:, -1:]), -1), x[:, 4], iou_thres)[:max_det]
        x = x[keep]
        out.append(RDetections(torch.cat((x[:, :4], x[:, -1:]), -1), x[:, 4], x[:, 5].long()))
    return out


def regularize_rboxes(rboxes):
    """w, h swapped where angle mod pi >= pi / 2; angle mod pi / 2."""
    x, y, w, h, t = rboxes.unbind(-1)
    swap = t % math.pi >= math.pi / 2
    return torch.stack([x, y, torch.where(swap, h, w), torch.where(swap, w, h), t % (math.pi / 2)], -1)


def scale_rboxes(rboxes, ratio_pad):
    """ultralytics 8.4 scale_boxes(xywh=True) with ratio_pad ((gain_y, gain_x), (pad_x, pad_y)): x, w / gain_x,
    y, h / gain_y after removing the pad from x, y; angle kept; no clipping. Works on a copy."""
    (gain_y, gain_x), (pad_x, pad_y) = ratio_pad
    out = rboxes.clone()
    out[:, 0] -= pad_x
    out[:, 1] -= pad_y
    out[:, [0, 2]] /= gain_x
    out[:, [1, 3]] /= gain_y
    return out
