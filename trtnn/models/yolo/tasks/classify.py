"""YOLO classification end to end inside the engine (ultralytics' classify preprocessing, softmax, top 5), its
outputs and the classification families' registration.

Outputs: probs [B, nc] float32 (the model's softmax), top5_classes [B, k] int32 and top5_scores [B, k] float32 with
k = min(5, nc), best first, equal scores in class order (ultralytics `Probs.top5`). The in-engine preprocessing
(`ClassifyPreprocess`, ultralytics' `classify_transforms`) is in trtnn.models.vision.preprocess.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import torch

from .... import functional as F
from ....compile import Input
from ....errors import ConfigError, ShapeError
from ....graph.module import Module
from ....graph.tensor import Tensor
from ...registry import StateDict, TaskSpec, numel
from ...vision.end2end import ImageEnd2End
from ...vision.host import classify_preprocess
from ...vision.inputs import batched_input, dynamic_image_input
from ...vision.ops import f32, stable_topk
from ...vision.preprocess import ClassifyPreprocess
from ..model import yolo11_cls, yolo26_cls, yolov8_cls
from ..spec import first_key, register_yolo

TOPK = 5


class ClassifyEnd2End(ImageEnd2End):
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
        probs = f32(self.model(x))
        top = stable_topk(probs, min(TOPK, probs.shape[1]))
        return {"probs": probs, "top5_classes": F.cast(top, torch.int32), "top5_scores": F.gather(probs, 1, top)}


# ---- outputs and registration --------------------------------------------------------------------------------
CLASSIFY = TaskSpec("classify", {"probs": "class probabilities (fp32 [B, nc], softmax)",
                                 "top5_classes": "the 5 most probable class ids (int32 [B, 5]), best first (ties: "
                                                 "lower id)",
                                 "top5_scores": "their probabilities (fp32 [B, 5])"},
                    {"output": "[B, nc]: class probabilities (softmax)"},
                    "image batch, resized (shorter side) and centre-cropped to imgsz by the caller", classify_preprocess)


def cls_config(state: StateDict) -> Dict[str, Any]:
    """nc = rows of the Classify head's Linear (its bias)."""
    key = first_key(state, r"model\.\d+\.linear\.bias")
    return {"nc": numel(state, key)} if key else {}


def cls_end2end(model: Module, o: Dict[str, Any]) -> ClassifyEnd2End:
    """The registry's ClassifyEnd2End from the CLI's options (src_size, layout, bgr; no thresholds)."""
    if o["runtime_thresholds"] or o["scale_to_orig"]:
        raise ConfigError("--runtime-thresholds and --orig-size are for detection engines: a classification engine "
                          "has no thresholds and no boxes to map back")
    if o["src_size"] and not o["layout"]:
        raise ConfigError("--src-size resizes uint8 images in the engine: add --preprocess")
    src = o["src_size"]
    pre = ClassifyPreprocess(o["layout"], o["bgr"], src, o["imgsz"] if src else None) if o["layout"] else None
    return ClassifyEnd2End(model, pre)


for _lineage, _factory in (("yolov8", yolov8_cls), ("yolo11", yolo11_cls), ("yolo26", yolo26_cls)):
    register_yolo(_lineage, CLASSIFY, _factory, suffix="-cls", config=cls_config, imgsz=(224, 224),
                  num_classes=lambda model: model.model[-1].linear.out_features,
                  end2end=cls_end2end, end2end_defaults={"src_size": None},
                  end2end_note="classification engines output all class probabilities and the top 5: no --conf, "
                               "--iou, --max-det, --pre-nms-topk or --orig-size")
