"""What every end-to-end engine outputs, per task: the one place these meanings are written (the engine sidecar
`<engine>.json` and the README's table are made from it).

Detections are fixed-size, EfficientNMS-style: rows past `num_dets` are zero. Boxes are in network-input pixels, or
in original-image pixels when the engine has an `orig_size` input (ultralytics' `scale_boxes` mapping).
"""
from __future__ import annotations

from typing import Dict

INPUTS: Dict[str, str] = {
    "conf_thres": "confidence threshold (fp32 [1]), read at run time",
    "iou_thres": "NMS IoU threshold (fp32 [1]), read at run time",
    "orig_size": "(h, w) of each original image (int32 [B, 2]): boxes, keypoints and masks are mapped back to it",
}

_DETECT: Dict[str, str] = {
    "num_dets": "detections per image (int32 [B, 1]); rows past it are zero",
    "det_boxes": "x1, y1, x2, y2 per detection (fp32 [B, max_det, 4]), in network-input pixels (original-image "
                 "pixels when the engine has an orig_size input)",
    "det_scores": "confidence per detection (fp32 [B, max_det]), sorted high to low",
    "det_classes": "class id per detection (int32 [B, max_det]), an index into names",
}

OUTPUTS: Dict[str, Dict[str, str]] = {
    "detect": _DETECT,
    "segment": {**_DETECT, "det_masks": "instance mask per detection (uint8 [B, max_det, H, W], 0/1): ultralytics' "
                                        "process_mask (coefficients x prototypes, bilinear upsampling, cropped to "
                                        "the box, logit > 0), at the input size or the prototypes' (H/4, W/4)"},
    "pose": {**_DETECT, "det_keypoints": "keypoints per detection (fp32 [B, max_det, K, 3]): x, y in the boxes' "
                                         "pixels, visibility (sigmoid)"},
    "obb": {**_DETECT, "det_boxes": "rotated box per detection (fp32 [B, max_det, 5]): cx, cy, w, h, angle in "
                                    "radians in [0, pi/2) (ultralytics' regularized xywhr)"},
    "classify": {"probs": "class probabilities (fp32 [B, nc], softmax)",
                 "top5_classes": "the 5 most probable class ids (int32 [B, 5]), best first (ties: lower id)",
                 "top5_scores": "their probabilities (fp32 [B, 5])"},
    "semantic-segment": {},  # UNet: see RAW_OUTPUTS["unet"]
}


_YOLO = "cx, cy, w, h (network-input pixels), class scores (sigmoid)"
_NMS_FREE = "[B, 4 + nc, anchors] of the one-to-one head: x1, y1, x2, y2 (network-input pixels), class scores"
RAW_OUTPUTS: Dict[str, Dict[str, str]] = {  # family -> output name -> meaning, for engines without --end2end
    "yolov8": {"output": f"[B, 4 + nc, anchors]: {_YOLO}; decode and NMS are the caller's"},
    "yolov5": {"output": "[B, anchors, 5 + nc]: cx, cy, w, h (network-input pixels), objectness, class scores "
                         "(sigmoid); decode and NMS are the caller's"},
    "yolo26": {"output": f"{_NMS_FREE} (sigmoid); ultralytics' top-k is the caller's"},
    "yolov8-seg": {"output0": f"[B, 4 + nc + 32, anchors]: {_YOLO}, 32 mask coefficients",
                   "output1": "[B, 32, H/4, W/4]: mask prototypes"},
    "yolov8-pose": {"output": f"[B, 4 + nc + K * 3, anchors]: {_YOLO}, keypoints x, y (pixels), visibility"},
    "yolov8-obb": {"output": f"[B, 4 + nc + 1, anchors]: {_YOLO}, angle (radians)"},
    "yolov8-cls": {"output": "[B, nc]: class probabilities (softmax)"},
    "unet": {"output": "logits [B, n_classes, H, W]", "logits": "logits [B, n_classes, H, W]",
             "mask": "class per pixel (argmax; one class: sigmoid > 0.5)"},
    "centernet": {"hm": "class heatmaps [B, nc, H/4, W/4] before the sigmoid", "wh": "box width, height (output "
                  "pixels) at each location", "reg": "sub-pixel offset of each centre"},
}
RAW_OUTPUTS.update({"yolo11": RAW_OUTPUTS["yolov8"], "yolov10": RAW_OUTPUTS["yolo26"],
                    **{f"{v}-{t}": RAW_OUTPUTS[f"yolov8-{t}"] for v in ("yolo11", "yolo26") for t in
                       ("seg", "pose", "obb", "cls")}})
IMAGE_INPUTS = {"unet": "resized to imgsz by the caller",
                "centernet": "affine-warped to imgsz (image centre, longer side) by the caller"}


def meaning(task: str, name: str) -> str:
    """What output or input `name` of an end-to-end engine of `task` holds ('' when not documented here)."""
    return OUTPUTS.get(task, {}).get(name) or INPUTS.get(name, "")
