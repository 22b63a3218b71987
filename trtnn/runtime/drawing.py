"""Results drawn on images, ultralytics-style: a box per detection in its class colour with "name 0.87" on a filled
label, instance masks blended at 50 %, keypoints as dots (with the COCO skeleton for 17 keypoints), rotated boxes as
polygons, the top-5 classes as text, semantic masks blended. Needs OpenCV (`pip install opencv-python-headless`)."""
from __future__ import annotations

import colorsys
from typing import Any, Tuple

import numpy as np

from ..errors import ConfigError
from .results import Results

MASK_ALPHA = 0.5
SKELETON = ((15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8), (7, 9),
            (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6))  # COCO keypoint pairs (0-based)


def cv2_module() -> Any:
    try:
        import cv2  # optional: only drawing and image files need OpenCV
    except ImportError:
        raise ConfigError("drawing results needs OpenCV: pip install opencv-python-headless") from None
    return cv2


def color(index: int) -> Tuple[int, int, int]:
    """A distinct, saturated BGR colour per class id (golden-ratio hues), the same on every run."""
    r, g, b = colorsys.hsv_to_rgb((index * 0.618033988749895) % 1.0, 0.85, 0.95)
    return int(b * 255), int(g * 255), int(r * 255)


def draw(image: np.ndarray, result: Results, line_width: int = 0, labels: bool = True) -> np.ndarray:
    """A copy of `image` (HxWx3 BGR uint8, in the coordinates of `result`) with `result` drawn on it."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ConfigError(f"draw expects an HxWx3 BGR uint8 image, got {got}")
    cv2 = cv2_module()
    out = image.copy()
    lw = line_width or max(round(sum(image.shape[:2]) / 2 * 0.003), 2)
    if result.semantic is not None:
        _blend(out, result.semantic, lambda c: color(int(c)), skip_zero=True)
        return out
    if result.probs is not None:
        for k, i in enumerate(result.top5):
            text = f"{result.names.get(i, str(i))} {result.probs[i]:.2f}"
            cv2.putText(out, text, (lw * 4, (k + 1) * lw * 12), 0, lw / 3, (255, 255, 255), max(lw - 1, 1),
                        cv2.LINE_AA)
        return out
    if result.masks is not None:
        for k in range(len(result))[::-1]:
            _blend(out, result.masks[k], lambda _: color(int(result.classes[k])))
    for k in range(len(result)):
        c = color(int(result.classes[k]))
        box = result.boxes[k]
        if len(box) == 5:
            corners = cv2.boxPoints(((float(box[0]), float(box[1])), (float(box[2]), float(box[3])),
                                     float(np.degrees(box[4]))))
            cv2.polylines(out, [np.round(corners).astype(np.int32)], True, c, lw, cv2.LINE_AA)
            anchor = tuple(int(v) for v in corners[np.argmin(corners[:, 1])])
        else:
            p1, p2 = (int(box[0]), int(box[1])), (int(box[2]), int(box[3]))
            cv2.rectangle(out, p1, p2, c, lw, cv2.LINE_AA)
            anchor = p1
        if labels:
            _label(cv2, out, f"{result.labels[k]} {result.scores[k]:.2f}", anchor, c, lw)
        if result.keypoints is not None:
            _keypoints(cv2, out, result.keypoints[k], lw)
    return out


def _blend(out: np.ndarray, mask: np.ndarray, colour_of: Any, skip_zero: bool = False) -> None:
    """Blend `mask` (bool [H, W], or class ids) into `out` at MASK_ALPHA; the mask is resized to the image if needed."""
    if mask.shape != out.shape[:2]:
        cv2 = cv2_module()
        mask = cv2.resize(mask.astype(np.uint8), (out.shape[1], out.shape[0]), interpolation=cv2.INTER_NEAREST)
    if mask.dtype == bool:
        where = mask
        if where.any():
            out[where] = (out[where] * (1 - MASK_ALPHA) + np.array(colour_of(1)) * MASK_ALPHA).round().astype(np.uint8)
        return
    for c in np.unique(mask):
        if skip_zero and c == 0:
            continue
        where = mask == c
        out[where] = (out[where] * (1 - MASK_ALPHA) + np.array(colour_of(c)) * MASK_ALPHA).round().astype(np.uint8)


def _label(cv2: Any, out: np.ndarray, text: str, anchor: Tuple[int, int], c: Tuple[int, int, int], lw: int) -> None:
    scale, thick = lw / 3, max(lw - 1, 1)
    w, h = cv2.getTextSize(text, 0, fontScale=scale, thickness=thick)[0]
    above = anchor[1] - h >= 3
    p2 = (anchor[0] + w, anchor[1] - h - 3 if above else anchor[1] + h + 3)
    cv2.rectangle(out, anchor, p2, c, -1, cv2.LINE_AA)
    text_color = (0, 0, 0) if sum(c) / 3 > 150 else (255, 255, 255)
    cv2.putText(out, text, (anchor[0], anchor[1] - 2 if above else anchor[1] + h + 2), 0, scale, text_color, thick,
                cv2.LINE_AA)


def _keypoints(cv2: Any, out: np.ndarray, kpts: np.ndarray, lw: int, conf: float = 0.5) -> None:
    radius = max(lw, 2)
    visible = kpts[:, 2] >= conf if kpts.shape[1] == 3 else np.ones(len(kpts), bool)
    if len(kpts) == 17:
        for a, b in SKELETON:
            if visible[a] and visible[b]:
                cv2.line(out, tuple(int(v) for v in kpts[a, :2]), tuple(int(v) for v in kpts[b, :2]),
                         color(a + 40), max(lw // 2, 1), cv2.LINE_AA)
    for j, (x, y) in enumerate(kpts[:, :2]):
        if visible[j]:
            cv2.circle(out, (int(x), int(y)), radius, color(j + 20), -1, cv2.LINE_AA)
