"""Image preprocessing on the host (NumPy and OpenCV): each vision family's own pipeline, BGR uint8 image (as OpenCV
reads it) -> float32 CHW array of the raw model's input, for calibration folders and evaluation. The same pipelines
inside the engine are in trtnn.models.vision.preprocess; each task's `TaskSpec.preprocess` names its own.

- letterbox (every YOLO detect / segment / pose / OBB family): ultralytics' LetterBox (`letterbox`, scaleup=True) to
  imgsz, BGR -> RGB, / 255.
- classify (YOLO -cls): ultralytics' classify transforms: the shorter side resized to the input's (bilinear), a
  centre crop, BGR -> RGB, / 255 (no mean/std).
- unet (milesial/Pytorch-UNet predict.py): resized to the input size (cv2 INTER_CUBIC in place of PIL's BICUBIC),
  BGR -> RGB, / 255 when any pixel is above 1 (as its `preprocess` does).
- centernet (xingyizhou/CenterNet, --fix_res test pre_process): the affine warp of get_affine_transform (centre of
  the image, scale = its longer side, no rotation) to the input size with cv2.warpAffine (linear), then
  (x / 255 - mean) / std with the COCO mean/std, channels kept in BGR.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Tuple

import numpy as np

from ...errors import ConfigError
from .preprocess import COCO_MEAN, COCO_STD

HostPreprocess = Callable[[np.ndarray, Tuple[int, int]], np.ndarray]  # (BGR uint8 HxWx3, (h, w)) -> float32 CHW


def opencv() -> Any:
    """The cv2 module; ConfigError saying how to install it when it is missing."""
    try:
        import cv2  # optional dependency: only image reading needs it
    except ImportError:
        raise ConfigError("reading images needs OpenCV: pip install opencv-python-headless") from None
    return cv2


def letterbox(image: np.ndarray, new_shape: Tuple[int, int], scaleup: bool = True, color: int = 114
              ) -> Tuple[np.ndarray, Tuple[Tuple[float, float], Tuple[int, int]]]:
    """ultralytics' LetterBox(auto=False, center=True): resize keeping the aspect ratio (bilinear, to round(w * r) x
    round(h * r); r <= 1 unless scaleup, as its validator uses it), pad to new_shape (h, w) with `color`, borders
    round(d - 0.1) / round(d + 0.1). Returns the image and its ratio_pad ((new_h / h, new_w / w), (left, top))."""
    cv2 = opencv()
    h, w = image.shape[:2]
    r = min(new_shape[0] / h, new_shape[1] / w)
    if not scaleup:
        r = min(r, 1.0)
    new_w, new_h = int(round(w * r)), int(round(h * r))
    if (new_w, new_h) != (w, h):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    dw, dh = (new_shape[1] - new_w) / 2, (new_shape[0] - new_h) / 2
    top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
    left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
    image = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(color,) * 3)
    return image, ((new_h / h, new_w / w), (left, top))


def yolo_preprocess(image: np.ndarray, imgsz: Tuple[int, int]) -> np.ndarray:
    """ultralytics: letterbox (scaleup=True, pad 114) to imgsz, BGR -> RGB, CHW, / 255."""
    boxed, _ = letterbox(image, imgsz, scaleup=True)
    return np.ascontiguousarray(boxed[:, :, ::-1].transpose(2, 0, 1), dtype=np.float32) / 255.0


def unet_preprocess(image: np.ndarray, imgsz: Tuple[int, int]) -> np.ndarray:
    """milesial's UNet: resize to the input size (bicubic), BGR -> RGB, CHW, / 255 if any value is above 1."""
    resized = opencv().resize(image, (imgsz[1], imgsz[0]), interpolation=opencv().INTER_CUBIC)
    chw = np.ascontiguousarray(resized[:, :, ::-1].transpose(2, 0, 1)).astype(np.float32)
    return chw / 255.0 if (chw > 1).any() else chw


def centernet_affine(height: int, width: int, imgsz: Tuple[int, int]) -> np.ndarray:
    """CenterNet's get_affine_transform(c, s, 0, (out_w, out_h)) with c = the image centre and s = its longer side:
    maps the centre to the output centre, scaling by out_w / s on both axes (2x3 matrix for cv2.warpAffine)."""
    out_h, out_w = imgsz
    s = float(max(height, width))
    c = np.array([width / 2.0, height / 2.0], np.float32)
    src = np.array([c, c + [0.0, -0.5 * s], c + [-0.5 * s, -0.5 * s]], np.float32)
    d = np.array([out_w * 0.5, out_h * 0.5], np.float32)
    dst = np.array([d, d + [0.0, -0.5 * out_w], d + [-0.5 * out_w, -0.5 * out_w]], np.float32)
    return opencv().getAffineTransform(src, dst)


def centernet_preprocess(image: np.ndarray, imgsz: Tuple[int, int]) -> np.ndarray:
    """CenterNet: affine warp to the input size, (x / 255 - COCO mean) / COCO std in BGR, CHW."""
    cv2 = opencv()
    trans = centernet_affine(image.shape[0], image.shape[1], imgsz)
    warped = cv2.warpAffine(image, trans, (imgsz[1], imgsz[0]), flags=cv2.INTER_LINEAR)
    norm = (warped / 255.0 - np.array(COCO_MEAN)) / np.array(COCO_STD)
    return np.ascontiguousarray(norm.transpose(2, 0, 1), dtype=np.float32)


def classify_preprocess(image: np.ndarray, imgsz: Tuple[int, int]) -> np.ndarray:
    """ultralytics' classify: shorter side resized to the input's (bilinear), centre crop to imgsz, BGR -> RGB, CHW,
    / 255."""
    h, w = image.shape[:2]
    scale = max(imgsz[0] / h, imgsz[1] / w)
    size = (max(imgsz[1], round(w * scale)), max(imgsz[0], round(h * scale)))
    resized = opencv().resize(image, size, interpolation=opencv().INTER_LINEAR)
    top, left = (size[1] - imgsz[0]) // 2, (size[0] - imgsz[1]) // 2
    crop = resized[top:top + imgsz[0], left:left + imgsz[1]]
    return np.ascontiguousarray(crop[:, :, ::-1].transpose(2, 0, 1), dtype=np.float32) / 255.0


PREPROCESS: Dict[str, HostPreprocess] = {  # the shipped pipelines by name (calibration caches record it)
    "letterbox": yolo_preprocess, "classify": classify_preprocess, "unet": unet_preprocess,
    "centernet": centernet_preprocess}


def preprocess_name(fn: HostPreprocess) -> str:
    """A pipeline's name: its key in PREPROCESS, else its qualified name."""
    return next((name for name, f in PREPROCESS.items() if f is fn), getattr(fn, "__qualname__", "custom"))
