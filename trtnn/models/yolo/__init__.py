"""The ultralytics YOLO family (YOLOv5, YOLOv8, YOLO11, YOLO26, YOLOv10; detect, segment, pose, OBB and classify)
whose state_dicts are the originals': blocks and heads (common, v10, segment26, pose, obb, classify), layer graphs
(graphs), DetectionModel and the factories (model); each task's end-to-end wrappers, outputs and registration in
`tasks/`."""
from .classify import Classify
from .common import (C2PSA, DFL, SPPF, Attention, Bottleneck, C2f, C3, C3k, C3k2, Concat, Conv, Detect, DWConv,
                     Proto, PSABlock, Segment, V5Detect)
from .model import (DetectionModel, parse_model, yolo11, yolo11_cls, yolo11_obb, yolo11_pose, yolo11_seg, yolo26,
                    yolo26_cls, yolo26_obb, yolo26_pose, yolo26_seg, yolov5, yolov8, yolov8_cls, yolov8_obb,
                    yolov8_pose, yolov8_seg, yolov10)
from .obb import OBB, OBB26, dist2rbox
from .pose import Pose, Pose26, RealNVP
from .segment26 import Proto26, Segment26
from .v10 import CIB, PSA, C2fCIB, RepVGGDW, SCDown, v10Detect

__all__ = [
    "C2PSA", "CIB", "DFL", "OBB", "OBB26", "PSA", "SPPF", "Attention", "Bottleneck", "C2f", "C2fCIB", "C3", "C3k",
    "C3k2", "Classify", "Concat", "Conv", "Detect", "DWConv", "DetectionModel", "PSABlock", "Pose", "Pose26", "Proto",
    "Proto26", "RealNVP", "RepVGGDW", "SCDown", "Segment", "Segment26", "V5Detect", "dist2rbox", "parse_model",
    "v10Detect", "yolo11", "yolo11_cls", "yolo11_obb", "yolo11_pose", "yolo11_seg", "yolo26", "yolo26_cls",
    "yolo26_obb", "yolo26_pose", "yolo26_seg", "yolov5", "yolov8", "yolov8_cls", "yolov8_obb", "yolov8_pose",
    "yolov8_seg", "yolov10",
]
