"""Accuracy evaluation on the CPU: detection mAP as ultralytics defines it, and YOLO-format data sets."""
from .detection import DetectionMetrics, ap_from_pr, box_iou, match_predictions
from .run import evaluate_end2end
from .yolo_data import YoloImages, read_labels

__all__ = ["DetectionMetrics", "evaluate_end2end", "YoloImages", "ap_from_pr", "box_iou", "match_predictions", "read_labels"]
