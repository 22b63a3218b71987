"""Ready-made trtnn models whose state_dicts are the original projects' (load their checkpoints with strict=True).

    model = trtnn.models.get("yolov8n")(nc=80)     # == trtnn.models.yolov8("n", nc=80)
    unet = trtnn.models.get("unet")(n_classes=1)    # UNet factories take UNet's keyword arguments
    model = trtnn.models.from_checkpoint("yolov8n", "yolov8n.pt")   # class count read off the file
    trtnn.models.spec("yolov8n").imgsz                               # the family's defaults (see ModelSpec)
    trtnn.models.spec("yolov8n-seg").task.outputs                    # what its engines output (see TaskSpec)

Layout: `vision/` (what every vision family shares: preprocessing, inputs, boxes, NMS, top-k, data sets), `yolo/`
(blocks, heads, graphs; `yolo/tasks/` one file per task), `centernet/`, `unet`, `resnet`, and the `registry`.
"""
from __future__ import annotations

from typing import Callable

from ..graph.module import Module
from .registry import (SPECS, ModelSpec, RegisteredModels, TaskSpec, create, describe_model, from_checkpoint,
                       register, sidecar_meanings, spec)
from .yolo import (yolo11, yolo11_cls, yolo11_obb, yolo11_pose, yolo11_seg, yolo26, yolo26_cls, yolo26_obb,
                   yolo26_pose, yolo26_seg, yolov5, yolov8, yolov8_cls, yolov8_obb, yolov8_pose, yolov8_seg, yolov10)
from .yolo import tasks  # registers the YOLO families first (each task file registers its own)  # isort: skip
from .unet import UNet  # registers unet  # isort: skip
from .centernet import centernet_dla34, centernet_dlav0_34, centernet_resnet  # registers centernet  # isort: skip
from . import resnet  # isort: skip

MODELS = RegisteredModels()  # registered name -> factory, live


def get(name: str) -> Callable[..., Module]:
    """The factory registered as `name` (e.g. 'yolov8n', 'yolo11s', 'yolov5m', 'unet', 'unet_bilinear')."""
    return spec(name).variants[name]


__all__ = ["MODELS", "SPECS", "ModelSpec", "TaskSpec", "UNet", "centernet_dla34", "centernet_dlav0_34",
           "centernet_resnet", "create", "describe_model", "from_checkpoint", "get", "register", "resnet",
           "sidecar_meanings", "spec", "tasks", "yolo11", "yolo11_cls", "yolo11_obb", "yolo11_pose", "yolo11_seg", "yolo26", "yolo26_cls",
           "yolo26_obb", "yolo26_pose", "yolo26_seg", "yolov5", "yolov8", "yolov8_cls", "yolov8_obb", "yolov8_pose",
           "yolov8_seg", "yolov10"]
