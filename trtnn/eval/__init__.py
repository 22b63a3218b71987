"""Accuracy evaluation on the CPU: detection and mask mAP as ultralytics defines them, and YOLO-format data sets."""
from .detection import DetectionMetrics, ap_from_pr, box_iou, match_predictions
from .run import evaluate_end2end, evaluate_segment_end2end, score_batch
from .segmentation import SegmentationMetrics, mask_iou, read_polygons
from ..models.vision.data import YoloImages, read_labels

__all__ = ["DetectionMetrics", "evaluate_end2end", "YoloImages", "ap_from_pr", "box_iou", "match_predictions", "read_labels",
           "SegmentationMetrics", "evaluate_segment_end2end", "mask_iou", "read_polygons", "score_batch"]
