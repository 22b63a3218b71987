"""Reference predict-time pose post-processing (ultralytics PosePredictor on the export output), plain torch.

:func:`pose_non_max_suppression` -- ultralytics ``ops.non_max_suppression(pred, conf, iou, nc=nc)`` on
``[B, 4 + nc + K * D, A]``: the keypoint channels ride along with each box (best class per box, kept if > conf,
class-aware NMS with torchvision semantics and a stable order among equal scores, see detect_postprocess), then
``pred_kpts = pred[:, 6:].view(n, K, D)``. :func:`scale_keypoints` maps (x, y) back to the original image as
``scale_boxes`` maps the boxes (the letterbox's ratio_pad: separate x / y gains, integer borders) and clips them
(ultralytics ``clip_coords``).
"""

from typing import NamedTuple

import torch

from .detect_postprocess import MAX_NMS, batched_nms, xywh2xyxy


class PoseDetections(NamedTuple):
    boxes: torch.Tensor  # [n, 4] x1, y1, x2, y2
    scores: torch.Tensor  # [n]
    classes: torch.Tensor  # [n] int64
    keypoints: torch.Tensor  # [n, K, D]


def pose_non_max_suppression(prediction, nc, kpt_shape, conf_thres=0.25, iou_thres=0.7, max_det=300,
                             max_nms=MAX_NMS):
    out = []
    for x in prediction.transpose(-1, -2):  # [A, 4 + nc + nk]
        box, cls, kpt = x[:, :4], x[:, 4:4 + nc], x[:, 4 + nc:]
        conf, j = cls.max(1, keepdim=True)
        x = torch.cat((xywh2xyxy(box), conf, j.to(x.dtype), kpt), 1)[conf.view(-1) > conf_thres]
        x = x[torch.sort(x[:, 4], descending=True, stable=True).indices[:max_nms]]
        x = x[batched_nms(x[:, :4], x[:, 4], x[:, 5], iou_thres)[:max_det]]
        out.append(PoseDetections(x[:, :4], x[:, 4], x[:, 5].long(), x[:, 6:].view(len(x), *kpt_shape)))
    return out


def scale_keypoints(kpts, img0_shape, ratio_pad):
    """(x, y) of kpts [n, K, D] mapped back with ratio_pad ((gain_y, gain_x), (pad_x, pad_y)) and clipped to
    img0_shape (h, w); works on a copy."""
    (gain_y, gain_x), (pad_x, pad_y) = ratio_pad
    kpts = kpts.clone()
    kpts[..., 0] = ((kpts[..., 0] - pad_x) / gain_x).clamp(0, img0_shape[1])
    kpts[..., 1] = ((kpts[..., 1] - pad_y) / gain_y).clamp(0, img0_shape[0])
    return kpts
