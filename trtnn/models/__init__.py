"""Ready-made trtnn models whose state_dicts are the original projects' (load their checkpoints with strict=True).

    model = trtnn.models.get("yolov8n")(nc=80)     # == trtnn.models.yolov8("n", nc=80)
    unet = trtnn.models.get("unet")(n_classes=1)    # UNet factories take UNet's keyword arguments
    model.load_state_dict(state_dict)
"""
from __future__ import annotations

from functools import partial
from typing import Callable, Dict

from ..module import Module
from .centernet import centernet_dla34, centernet_dlav0_34, centernet_resnet
from .unet import UNet
from .yolo import yolo11, yolov5, yolov8

MODELS: Dict[str, Callable[..., Module]] = {
    "unet": partial(UNet, n_channels=3, n_classes=2, bilinear=False),
    "unet_bilinear": partial(UNet, n_channels=3, n_classes=2, bilinear=True),
    **{f"yolov8{s}": partial(yolov8, s) for s in "nsmlx"},
    **{f"yolo11{s}": partial(yolo11, s) for s in "nsmlx"},
    **{f"yolov5{s}": partial(yolov5, s) for s in "nsmlx"},
    "centernet_res18": partial(centernet_resnet, 18),  # CenterNet factories take heads, head_conv, num_classes
    "centernet_res101": partial(centernet_resnet, 101),
    "centernet_dla34": centernet_dla34,
    "centernet_dlav0_34": centernet_dlav0_34,
}


def get(name: str) -> Callable[..., Module]:
    """The factory registered as `name` (e.g. 'yolov8n', 'yolo11s', 'yolov5m', 'unet', 'unet_bilinear')."""
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(MODELS)}") from None


__all__ = ["MODELS", "UNet", "centernet_dla34", "centernet_dlav0_34", "centernet_resnet", "get", "yolo11", "yolov5",
           "yolov8"]
