"""Images in, engine inputs out: each family's geometry (YOLO letterbox, classify resize + centre crop, CenterNet's
affine warp, UNet's resize) into the engine's image input (uint8 in its layout when it preprocesses inside, else
float CHW as the family's own pipeline makes it), `orig_size` filled, and instance masks mapped back."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..errors import ConfigError
from ..eval.yolo_data import letterbox
from ..quant.data import PREPROCESS, centernet_affine
from .bindings import TensorSpec
from .drawing import cv2_module

Geometry = Optional[Tuple[Tuple[float, float], Tuple[int, int]]]  # letterbox ratio_pad, None for other warps


def family_of(metadata: Dict[str, Any]) -> str:
    """'letterbox' | 'classify' | 'centernet' | 'unet', from the metadata's target model name and task."""
    target, task = str(metadata.get("target") or ""), metadata.get("task")
    if target.startswith("centernet"):
        return "centernet"
    if task == "classify":
        return "classify"
    if task == "semantic-segment" or target.startswith("unet"):
        return "unet"
    return "letterbox"


def image_hw(spec: TensorSpec, metadata: Dict[str, Any], profile_opt: Optional[Sequence[int]] = None) -> Tuple[int, int]:
    shape = list(spec.shape)
    if spec.dtype == torch.uint8 and shape[-1] == 3:
        h, w = shape[1], shape[2]
    else:
        h, w = shape[2], shape[3]
    if h > 0 and w > 0:
        return h, w
    if metadata.get("imgsz"):
        return tuple(int(v) for v in metadata["imgsz"])  # type: ignore[return-value]
    if profile_opt is not None:
        return (profile_opt[1], profile_opt[2]) if spec.dtype == torch.uint8 and profile_opt[-1] == 3 \
            else (profile_opt[2], profile_opt[3])
    raise ConfigError(f"input '{spec.name}' {spec.shape} has a dynamic image size and the engine metadata no imgsz")


def prepare(images: Sequence[np.ndarray], spec: TensorSpec, metadata: Dict[str, Any], hw: Tuple[int, int]
            ) -> Tuple[torch.Tensor, List[np.ndarray], List[Geometry]]:
    """(image batch for input `spec`, the images as the engine sees them (BGR uint8), their letterbox geometry)."""
    cv2 = cv2_module()
    family = family_of(metadata)
    layout = str((metadata.get("inputs") or [{}])[0].get("layout") or "")
    seen, geometry, arrays = [], [], []
    for img in images:
        if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ConfigError(f"images must be HxWx3 BGR uint8 arrays (as cv2.imread gives), got "
                              f"{getattr(img, 'dtype', type(img).__name__)} {getattr(img, 'shape', '')}")
        if spec.dtype != torch.uint8:  # float input: the family's own pipeline (normalization included)
            arrays.append(PREPROCESS[family](img, hw))
            geo: Geometry = letterbox(img, hw, scaleup=True)[1] if family == "letterbox" else None
            seen.append(letterbox(img, hw, scaleup=True)[0] if family == "letterbox" else
                        cv2.resize(img, (hw[1], hw[0])))
            geometry.append(geo)
            continue
        if family == "letterbox":
            boxed, geo = letterbox(img, hw, scaleup=True)
        elif family == "centernet":
            boxed, geo = cv2.warpAffine(img, centernet_affine(img.shape[0], img.shape[1], hw), (hw[1], hw[0]),
                                        flags=cv2.INTER_LINEAR), None
        else:
            boxed, geo = cv2.resize(img, (hw[1], hw[0]), interpolation=cv2.INTER_LINEAR), None
        seen.append(boxed)
        geometry.append(geo)
        pixels = boxed[:, :, ::-1] if "RGB" in layout else boxed
        arrays.append(pixels.transpose(2, 0, 1) if len(spec.shape) == 4 and spec.shape[1] == 3 else pixels)
    batch = torch.from_numpy(np.ascontiguousarray(np.stack(arrays)))
    return batch.to(spec.dtype), seen, geometry


def orig_sizes(images: Sequence[np.ndarray]) -> torch.Tensor:
    return torch.tensor([img.shape[:2] for img in images], dtype=torch.int32)


def masks_to_original(masks: np.ndarray, geometry: Geometry, orig_hw: Tuple[int, int]) -> np.ndarray:
    """Instance masks at the network input (or prototype) size, cropped to the letterboxed content and resized to
    the original image (nearest)."""
    if masks.size == 0 or masks.shape[1:] == tuple(orig_hw):
        return masks
    cv2 = cv2_module()
    out = []
    for m in masks.astype(np.uint8):
        if geometry is not None:
            (ry, rx), (left, top) = geometry
            scale_y = m.shape[0] / (orig_hw[0] * ry + 2 * top)
            scale_x = m.shape[1] / (orig_hw[1] * rx + 2 * left)
            y0, x0 = int(round(top * scale_y)), int(round(left * scale_x))
            m = m[y0:m.shape[0] - y0 or None, x0:m.shape[1] - x0 or None]
        out.append(cv2.resize(m, (orig_hw[1], orig_hw[0]), interpolation=cv2.INTER_NEAREST) > 0)
    return np.stack(out)
