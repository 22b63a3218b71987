"""The YOLO tasks, one file each: its end-to-end wrapper(s) (preprocess -> model -> post-processing in one engine),
its outputs and their meanings (`TaskSpec`), and the registration of its families. Importing this package registers
them all, in this order (the order `trtnn build --help` and errors list the names)."""
from .detect import DETECT, DETECT_NMS_FREE, DETECT_V5, End2End, TopKEnd2End, decode_v5, decode_v8  # isort: skip
from .segment import (SEGMENT, SEGMENT_NMS_FREE, SegmentEnd2End, SegmentTopKEnd2End, crop_mask,  # isort: skip
                      detection_masks)
from .pose import POSE, POSE_NMS_FREE, PoseEnd2End, PoseTopKEnd2End  # isort: skip
from .obb import (OBB, OBB_NMS_FREE, OBBEnd2End, OBBTopKEnd2End, RotatedNMS, batch_probiou, decode_obb,  # isort: skip
                  regularize_rboxes, scale_rboxes)
from .classify import CLASSIFY, ClassifyEnd2End  # isort: skip

__all__ = ["CLASSIFY", "DETECT", "DETECT_NMS_FREE", "DETECT_V5", "OBB", "OBB_NMS_FREE", "POSE", "POSE_NMS_FREE",
           "SEGMENT", "SEGMENT_NMS_FREE", "ClassifyEnd2End", "End2End", "OBBEnd2End", "OBBTopKEnd2End", "PoseEnd2End",
           "PoseTopKEnd2End", "RotatedNMS", "SegmentEnd2End", "SegmentTopKEnd2End", "TopKEnd2End", "batch_probiou",
           "crop_mask", "decode_obb", "decode_v5", "decode_v8", "detection_masks", "regularize_rboxes",
           "scale_rboxes"]
