"""Faithful PyTorch reference implementations of the original projects trtnn mirrors.

Written for trtnn's tests (no ultralytics / torchvision dependency):

* :mod:`.unet` -- milesial/Pytorch-UNet ``UNet``.
* :mod:`.yolo` -- ultralytics YOLOv8 / YOLO11 detection and segmentation, YOLO26 / YOLOv10 detection (8.4),
  ultralytics/yolov5 v7.0 detection.
* :mod:`.centernet` -- xingyizhou/CenterNet ctdet models (msra_resnet, pose_dla_dcn with a pure-torch DCNv2,
  dlav0) and ``ctdet_decode``.
* :mod:`.detect_postprocess` -- the originals' predict-time NMS and letterbox box mapping.

Module trees (and so ``state_dict`` keys) match the originals exactly; see
the reference facts (module trees, parameter counts) and tests/data/keys/*.keys.
"""

from .centernet import (
    DCN,
    DLASeg,
    DLASegV0,
    PoseResNet,
    centernet_dla34_dcn,
    centernet_dlav0_34,
    centernet_resnet,
    ctdet_decode,
    ctdet_detect,
    deform_conv2d_ref,
)
from .unet import UNet, unet
from .yolo import randomize_bn, yolo11, yolo11_seg, yolo26, yolov5, yolov8, yolov8_seg, yolov10

__all__ = [
    "UNet", "unet", "yolov8", "yolo11", "yolov5", "yolov8_seg", "yolo11_seg", "yolo26", "yolov10", "randomize_bn",
    "PoseResNet", "DLASeg", "DLASegV0", "DCN", "deform_conv2d_ref",
    "centernet_resnet", "centernet_dla34_dcn", "centernet_dlav0_34", "ctdet_decode", "ctdet_detect",
]

from .yolo import yolo11_cls, yolo11_pose, yolo26_cls, yolo26_pose, yolov8_cls, yolov8_pose  # noqa: E402

__all__ += ["yolov8_pose", "yolo11_pose", "yolo26_pose", "yolov8_cls", "yolo11_cls", "yolo26_cls"]

from .yolo import yolo26_seg  # noqa: E402

__all__ += ["yolo26_seg"]
