"""YOLOv8, YOLO11 and YOLOv5 detection models whose state_dicts are the originals'."""
from .common import (C2PSA, DFL, SPPF, Attention, Bottleneck, C2f, C3, C3k, C3k2, Concat, Conv, Detect, DWConv,
                     PSABlock, V5Detect)
from .model import DetectionModel, parse_model, yolo11, yolov5, yolov8

__all__ = [
    "C2PSA", "DFL", "SPPF", "Attention", "Bottleneck", "C2f", "C3", "C3k", "C3k2", "Concat", "Conv", "Detect",
    "DWConv", "DetectionModel", "PSABlock", "V5Detect", "parse_model", "yolo11", "yolov5", "yolov8",
]
