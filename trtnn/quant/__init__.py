"""INT8/FP8 by explicit quantization, calibrated on the CPU.

Calibration: `calibrate` runs data through the CPU executor of the fp32 network and returns per-tensor amax values
(minmax, percentile, entropy, mse), optionally cached in a readable JSON file (calibrator.py, stats.py, methods.py,
cache.py, data.py). Quantization: Q/DQ placement (placement.py), Q/DQ arithmetic (qdq.py), quantizer ranges
(ranges.py), QAT checkpoints' weights and ranges (qat/: from_qat, qat_calibration), excluded and kept modules (selection.py); by default the INT8/FP8 policy measured on the calibration data
(sensitivity.py: layers kept in fp16, method per tensor, for a budget on the task outputs).
"""
from .cache import Calibration
from .calibrator import Collected, activation_tensors, calibrate, collect, is_end2end
from .data import ImageData, image_data
from ..models.vision.host import (PREPROCESS, centernet_preprocess, classify_preprocess, unet_preprocess,
                                  yolo_preprocess)
from .methods import DEFAULT_METHODS, METHODS, compute_amax
from .sensitivity import DEFAULT_BUDGET, Policy, choose_policy, policy_path
from ..compile.quantize.placement import Quantizer
from .qat import QAT_KEYS, QATRanges, from_qat, qat_calibration
from ..compile.quantize.qdq import quantize, scale_of, weight_amax
from ..compile.quantize.ranges import Ranges, as_ranges, for_end2end
from ..compile.quantize.selection import paths_for_end2end
from .stats import TensorStats

__all__ = ["Calibration", "Collected", "DEFAULT_BUDGET", "DEFAULT_METHODS", "Policy", "choose_policy", "is_end2end", "policy_path", "ImageData", "METHODS", "PREPROCESS", "QAT_KEYS", "QATRanges", "Quantizer", "Ranges",
           "TensorStats", "activation_tensors", "as_ranges", "calibrate", "centernet_preprocess", "collect",
           "classify_preprocess", "compute_amax", "for_end2end", "from_qat", "image_data", "paths_for_end2end", "qat_calibration",
           "quantize", "scale_of", "unet_preprocess", "weight_amax",
           "yolo_preprocess"]
