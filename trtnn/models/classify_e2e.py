"""End-to-end YOLO classification inside the engine: ultralytics' classify preprocessing, softmax, top 5.

Outputs: probs [B, nc] float32 (the model's softmax), top5_classes [B, k] int32 and top5_scores [B, k] float32 with
k = min(5, nc), best first, equal scores in class order (ultralytics `Probs.top5`).

Preprocessing (`ClassifyPreprocess`), as ultralytics' `classify_transforms` for predict: uint8 images (NHWC or
NCHW, BGR or RGB) -> RGB; with `src_hw`, images of that size are resized (shortest side to the crop size keeping the
aspect, long side int(size * long / short); a non-square crop size: resized to it) with bilinear, antialiased
interpolation and rounded back to integers, as torchvision's `Resize` does, then centre-cropped (torchvision's
`CenterCrop` offsets); then / 255 (ultralytics' classify mean 0, std 1). The resize and crop are two constant
matrices, one per axis, computed at definition time.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

from .. import functional as F
from ..compile import Input
from ..errors import ConfigError, ShapeError
from ..graph.module import Module
from ..graph.tensor import Tensor
from .detect import Preprocess, _f32, _stable_topk, batched_input, dynamic_image_input

TOPK = 5


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
        x = _f32(images)
        if self.layout == "NHWC":
            x = x.permute(0, 3, 1, 2)
        if tuple(x.shape[2:]) != self.src_hw:
            raise ShapeError(f"ClassifyPreprocess: images of {tuple(x.shape[2:])}, expected src_hw {self.src_hw}")
        if self.bgr:
            x = x[:, [2, 1, 0]]
        return (self.resize_crop(x) / 255).to(self.dtype or F.compute_dtype(images))


class ClassifyEnd2End(Module):
    """preprocess -> classification model ([B, nc] probabilities) -> {probs, top5_classes, top5_scores}.

    Input `images`: uint8 in the preprocess layout (of its src_hw when it resizes, else of the network's size),
    else float NCHW."""

    def __init__(self, model: Module, preprocess: Optional[ClassifyPreprocess] = None) -> None:
        super().__init__()
        self.preprocess = preprocess
        self.model = model

    def inputs(self, imgsz: Tuple[int, int], batch: int = 1, max_batch: Optional[int] = None,
               min_imgsz: Optional[Tuple[int, int]] = None) -> List[Input]:
        """The `images` input for a network of (h, w) = imgsz (a dynamic batch of 1..max_batch if given; a dynamic
        height and width from min_imgsz to imgsz if given, without the preprocess' resize)."""
        pre = self.preprocess
        if min_imgsz is not None and pre is not None and pre.src_hw is not None:
            raise ShapeError(f"ClassifyEnd2End: a dynamic image size cannot be resized from the fixed src_hw "
                             f"{pre.src_hw}; drop src_hw/crop_hw (the classifier pools any size) or min_imgsz")
        if pre is None:
            images = batched_input("images", (3, *imgsz), "fp32", batch, max_batch)
        else:
            if pre.crop_hw is not None and pre.crop_hw != tuple(imgsz):
                raise ShapeError(f"ClassifyEnd2End: the preprocess crops to {pre.crop_hw}, the network's size is "
                                 f"{tuple(imgsz)}")
            h, w = pre.src_hw or imgsz
            images = batched_input("images", (h, w, 3) if pre.layout == "NHWC" else (3, h, w), torch.uint8, batch,
                                   max_batch)
        if min_imgsz is not None:
            images = dynamic_image_input(images, min_imgsz, imgsz, 32, pre is not None and pre.layout == "NHWC")
        return [images]

    def forward(self, images: Tensor) -> Dict[str, Tensor]:
        x = images if self.preprocess is None else self.preprocess(images)
        probs = _f32(self.model(x))
        top = _stable_topk(probs, min(TOPK, probs.shape[1]))
        return {"probs": probs, "top5_classes": F.cast(top, torch.int32), "top5_scores": F.gather(probs, 1, top)}
