"""What every vision family shares: image preprocessing in the engine (`preprocess`) and on the host (`host`), the
engines' image and threshold inputs (`inputs`), box geometry and the letterbox (`boxes`), NMS (`nms`), the NMS-free
top-k (`topk`), small tensor helpers (`ops`), the end-to-end wrapper base (`end2end`) and image data sets (`data`)."""
from .boxes import letterbox_geometry, scale_boxes, xywh2xyxy
from .data import IMAGE_SUFFIXES, Batch, YoloImages, image_files, read_labels
from .end2end import ImageEnd2End
from .host import (PREPROCESS, centernet_affine, centernet_preprocess, classify_preprocess, letterbox, opencv,
                   preprocess_name, unet_preprocess, yolo_preprocess)
from .inputs import (MEANINGS, batched_input, check_extra_inputs, check_image_range, dynamic_image_input, image_inputs,
                     model_stride)
from .nms import MAX_PRE_NMS, MAX_WH, NMS, OUTPUT_NAMES, first_kept, pad_candidates
from .ops import Threshold, arange, f32, input_hw, row_mask, stable_topk, threshold
from .preprocess import COCO_MEAN, COCO_STD, ClassifyPreprocess, Preprocess, ctdet_preprocess, resize_crop_sizes
from .topk import TopK

__all__ = ["COCO_MEAN", "COCO_STD", "IMAGE_SUFFIXES", "MAX_PRE_NMS", "MAX_WH", "MEANINGS", "NMS", "OUTPUT_NAMES",
           "PREPROCESS", "Batch", "ClassifyPreprocess", "ImageEnd2End", "Preprocess", "Threshold", "TopK",
           "YoloImages", "arange", "batched_input", "centernet_affine", "centernet_preprocess", "check_extra_inputs",
           "check_image_range", "classify_preprocess", "ctdet_preprocess", "dynamic_image_input", "f32", "first_kept",
           "image_files", "image_inputs", "input_hw", "letterbox", "letterbox_geometry", "model_stride", "opencv",
           "pad_candidates", "preprocess_name", "read_labels", "resize_crop_sizes", "row_mask", "scale_boxes",
           "stable_topk", "threshold", "unet_preprocess", "xywh2xyxy", "yolo_preprocess"]
