"""Image preprocessing inside the engine: uint8 images (as a camera or OpenCV gives them) -> the model's input, as
Modules placed before the model by the end-to-end wrappers. The same pipelines on the host (NumPy / OpenCV, for
calibration and evaluation) are in trtnn.models.vision.host.

- `Preprocess`: layout (NHWC / NCHW) and channel order (BGR / RGB) to the model's, / 255, optional mean / std
  (YOLO detect / segment / pose / OBB: RGB / 255 of the letterboxed image; CenterNet: `ctdet_preprocess`).
- `ClassifyPreprocess`: ultralytics' classify_transforms for predict. uint8 images (NHWC or NCHW, BGR or RGB) ->
  RGB; with `src_hw`, images of that size are resized (shortest side to the crop size keeping the aspect, long side
  int(size * long / short); a non-square crop size: resized to it) with bilinear, antialiased interpolation and
  rounded back to integers, as torchvision's `Resize` does, then centre-cropped (torchvision's `CenterCrop`
  offsets); then / 255 (ultralytics' classify mean 0, std 1). The resize and crop are two constant matrices, one per
  axis, computed at definition time.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import torch

from ... import dtypes
from ... import functional as F
from ...errors import ConfigError, ShapeError
from ...graph.module import Module
from ...graph.tensor import Tensor
from .ops import f32


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


def resize_crop_sizes(src_hw: Tuple[int, int], crop_hw: Tuple[int, int]) -> Tuple[Tuple[int, int], Tuple[int, int]]:
    """((resized h, w), (crop top, left)) of torchvision Resize + CenterCrop as ultralytics' classify_transforms
    composes them: a square crop resizes the shortest side, a non-square one resizes to crop_hw."""
    (h0, w0), (ch, cw) = src_hw, crop_hw
    if ch != cw:
        size = (ch, cw)
    elif h0 <= w0:
        size = (ch, int(ch * w0 / h0))
    else:
        size = (int(cw * h0 / w0), cw)
    return size, (int(round((size[0] - ch) / 2.0)), int(round((size[1] - cw) / 2.0)))


def _axis_matrix(n_in: int, n_out: int, start: int, n_crop: int) -> torch.Tensor:
    """[n_in, n_crop]: column j = weights of the input samples for resized sample start + j (bilinear, antialiased,
    half-pixel centres: torch's interpolate applied to each unit impulse)."""
    impulses = torch.eye(n_in, dtype=torch.float64).reshape(n_in, 1, 1, n_in)
    w = torch.nn.functional.interpolate(impulses, size=(1, n_out), mode="bilinear", align_corners=False,
                                        antialias=True)
    return w[:, 0, 0, start:start + n_crop].float()


class ClassifyPreprocess(Preprocess):
    """uint8 images -> RGB float NCHW / 255; with src_hw and crop_hw, images of (h, w) = src_hw are resized and
    centre-cropped to crop_hw (the network's size) as ultralytics' classify_transforms does (see the module
    docstring)."""

    def __init__(self, layout: str = "NHWC", bgr: bool = True, src_hw: Optional[Sequence[int]] = None,
                 crop_hw: Optional[Sequence[int]] = None, dtype: Any = None) -> None:
        super().__init__(layout, bgr, dtype=dtype)
        for name, hw in (("src_hw", src_hw), ("crop_hw", crop_hw)):
            if hw is not None and not (isinstance(hw, (tuple, list)) and len(hw) == 2
                                       and all(isinstance(v, int) and v > 0 for v in hw)):
                raise ConfigError(f"ClassifyPreprocess: {name} must be (height, width) > 0, got {hw!r}")
        if (src_hw is None) != (crop_hw is None):
            raise ConfigError("ClassifyPreprocess: give both src_hw and crop_hw (resize and crop), or neither")
        self.src_hw = None if src_hw is None else tuple(src_hw)
        self.crop_hw = None if crop_hw is None else tuple(crop_hw)

    def resize_crop(self, x: Tensor) -> Tensor:
        """x [B, 3, *src_hw] float (0..255) -> [B, 3, *crop_hw], rounded to integers."""
        (rh, rw), (top, left) = resize_crop_sizes(self.src_hw, self.crop_hw)
        rows = _axis_matrix(self.src_hw[0], rh, top, self.crop_hw[0]).t().contiguous()  # [crop h, h]
        cols = _axis_matrix(self.src_hw[1], rw, left, self.crop_hw[1])  # [w, crop w]
        y = F.matmul(F.matmul(F.constant(rows, x), x), F.constant(cols, x))
        return F.clamp(F.round(y), 0.0, 255.0)

    def forward(self, images: Tensor) -> Tensor:
        if self.src_hw is None:
            return super().forward(images)
        x = f32(images)
        if self.layout == "NHWC":
            x = x.permute(0, 3, 1, 2)
        if tuple(x.shape[2:]) != self.src_hw:
            raise ShapeError(f"ClassifyPreprocess: images of {tuple(x.shape[2:])}, expected src_hw {self.src_hw}")
        if self.bgr:
            x = x[:, [2, 1, 0]]
        return (self.resize_crop(x) / 255).to(self.dtype or F.compute_dtype(images))


# CenterNet normalizes OpenCV (BGR) images with these, in BGR order (src/lib/opts.py, coco).
COCO_MEAN = (0.40789654, 0.44719302, 0.47026115)
COCO_STD = (0.28863828, 0.27408164, 0.27809835)


def ctdet_preprocess(layout: str = "NHWC", bgr: bool = True) -> Preprocess:
    """uint8 images -> CenterNet's input: BGR channel order, (x / 255 - mean) / std with the COCO mean/std."""
    return Preprocess(layout, bgr=bgr, mean=COCO_MEAN, std=COCO_STD, model_bgr=True)
