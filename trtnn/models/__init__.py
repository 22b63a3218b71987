"""Ready-made trtnn models whose state_dicts are the original projects' (load their checkpoints with strict=True).

    model = trtnn.models.get("yolov8n")(nc=80)     # == trtnn.models.yolov8("n", nc=80)
    unet = trtnn.models.get("unet")(n_classes=1)    # UNet factories take UNet's keyword arguments
    model = trtnn.models.from_checkpoint("yolov8n", "yolov8n.pt")   # class count read off the file
    trtnn.models.spec("yolov8n").imgsz                               # the family's defaults (see ModelSpec)
"""
from __future__ import annotations

from typing import Callable, Dict

from ..graph.module import Module
from .centernet import centernet_dla34, centernet_dlav0_34, centernet_resnet
from .registry import SPECS, ModelSpec, from_checkpoint, register, spec
from .unet import UNet
from .yolo import (yolo11, yolo11_cls, yolo11_obb, yolo11_pose, yolo11_seg, yolo26, yolo26_cls, yolo26_obb,
                   yolo26_pose, yolov5, yolov8, yolov8_cls, yolov8_obb, yolov8_pose, yolov8_seg, yolov10)
from . import specs as _specs  # noqa: F401  (registers the shipped families)

MODELS: Dict[str, Callable[..., Module]] = {name: s.variants[name] for name, s in SPECS.items()}


def get(name: str) -> Callable[..., Module]:
    """The factory registered as `name` (e.g. 'yolov8n', 'yolo11s', 'yolov5m', 'unet', 'unet_bilinear')."""
    return spec(name).variants[name]


__all__ = ["MODELS", "SPECS", "ModelSpec", "UNet", "centernet_dla34", "centernet_dlav0_34", "centernet_resnet",
           "from_checkpoint", "get", "register", "spec",
           "yolo11", "yolo11_cls", "yolo11_obb", "yolo11_pose", "yolo11_seg", "yolo26", "yolo26_cls",
           "yolo26_obb", "yolo26_pose", "yolov5", "yolov8", "yolov8_cls", "yolov8_obb", "yolov8_pose",
           "yolov8_seg", "yolov10"]


# ---- YOLO26 segmentation ----
from .yolo import yolo26_seg  # noqa: E402

__all__ += ["yolo26_seg"]
