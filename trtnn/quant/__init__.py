"""INT8/FP8 by explicit quantization, calibrated on the CPU.

Calibration: `calibrate` runs data through the CPU executor of the fp32 network and returns per-tensor amax values
(minmax, percentile, entropy, mse), optionally cached in a readable JSON file (calibrator.py, stats.py, methods.py,
cache.py, data.py), and by default the INT8/FP8 policy measured on it (sensitivity.py: layers kept in fp16, method
per tensor, for a budget on the task outputs). Quantization: Q/DQ placement (placement.py), Q/DQ arithmetic (qdq.py), quantizer ranges
(ranges.py), QAT checkpoints' ranges (qat.py), excluded and kept modules (selection.py).
"""
from .cache import Calibration
from .calibrator import Collected, activation_tensors, calibrate, collect, is_end2end
from .data import (PREPROCESS, ImageData, centernet_preprocess, classify_preprocess, image_data, unet_preprocess,
                   yolo_preprocess)
from .methods import DEFAULT_METHOD, METHODS, compute_amax
from .sensitivity import DEFAULT_BUDGET, Policy, choose_policy, policy_path
from ..compile.quantize.placement import Quantizer
from .qat import QAT_KEYS, qat_calibration
from ..compile.quantize.qdq import quantize, scale_of, weight_amax
from ..compile.quantize.ranges import Ranges, as_ranges, for_end2end
from ..compile.quantize.selection import paths_for_end2end
from .stats import TensorStats

__all__ = ["Calibration", "Collected", "DEFAULT_BUDGET", "DEFAULT_METHOD", "ImageData", "METHODS", "Policy", "PREPROCESS", "QAT_KEYS", "Quantizer", "Ranges",
           "TensorStats", "activation_tensors", "as_ranges", "calibrate", "centernet_preprocess", "choose_policy", "collect",
           "classify_preprocess", "compute_amax", "for_end2end", "image_data", "is_end2end", "paths_for_end2end", "policy_path", "qat_calibration",
           "quantize", "scale_of", "unet_preprocess", "weight_amax",
           "yolo_preprocess"]
