"""YOLOv8, YOLO11 and YOLOv5 detection (and YOLOv8 / YOLO11 segmentation) models whose state_dicts are the originals'."""
from .common import (C2PSA, DFL, SPPF, Attention, Bottleneck, C2f, C3, C3k, C3k2, Concat, Conv, Detect, DWConv,
                     Proto, PSABlock, Segment, V5Detect)
from .model import DetectionModel, parse_model, yolo11, yolo11_seg, yolov5, yolov8, yolov8_seg

__all__ = [
    "C2PSA", "DFL", "SPPF", "Attention", "Bottleneck", "C2f", "C3", "C3k", "C3k2", "Concat", "Conv", "Detect",
    "DWConv", "DetectionModel", "PSABlock", "Proto", "Segment", "V5Detect", "parse_model", "yolo11", "yolo11_seg",
    "yolov5", "yolov8", "yolov8_seg",
]

# oriented boxes
from .obb import OBB, dist2rbox  # noqa: E402
from .model import yolo11_obb, yolov8_obb  # noqa: E402

__all__ += ["OBB", "dist2rbox", "yolo11_obb", "yolov8_obb"]

# YOLO26 and YOLOv10 (NMS-free, one-to-one heads)
from .model import yolo26, yolov10  # noqa: E402
from .v10 import CIB, PSA, C2fCIB, RepVGGDW, SCDown, v10Detect  # noqa: E402

__all__ += ["CIB", "PSA", "C2fCIB", "RepVGGDW", "SCDown", "v10Detect", "yolo26", "yolov10"]

# YOLO26 oriented boxes
from .obb import OBB26  # noqa: E402
from .model import yolo26_obb  # noqa: E402

__all__ += ["OBB26", "yolo26_obb"]
# pose and classify
from .classify import Classify  # noqa: E402
from .model import yolo11_cls, yolo11_pose, yolo26_cls, yolo26_pose, yolov8_cls, yolov8_pose  # noqa: E402
from .pose import Pose, Pose26, RealNVP  # noqa: E402

__all__ += ["Classify", "Pose", "Pose26", "RealNVP", "yolo11_cls", "yolo11_pose", "yolo26_cls", "yolo26_pose",
            "yolov8_cls", "yolov8_pose"]
