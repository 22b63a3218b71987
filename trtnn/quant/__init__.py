"""INT8/FP8 calibration on the CPU: `calibrate` runs data through the CPU executor of the fp32 network and returns
per-tensor amax values (minmax, percentile, entropy, mse), optionally cached in a readable JSON file."""
from .cache import Calibration
from .calibrator import Collected, activation_tensors, calibrate, collect
from .data import PREPROCESS, ImageData, centernet_preprocess, image_data, unet_preprocess, yolo_preprocess
from .methods import METHODS, compute_amax
from .stats import TensorStats

__all__ = ["Calibration", "Collected", "ImageData", "METHODS", "PREPROCESS", "TensorStats", "activation_tensors",
           "calibrate", "centernet_preprocess", "collect", "compute_amax", "image_data", "unet_preprocess",
           "yolo_preprocess"]
