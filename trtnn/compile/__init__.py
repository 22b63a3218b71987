"""From a trtnn Module to a TensorRT network (`define`) and an engine (`build`), with Q/DQ placement (`quantize/`)."""
from .. import functional  # noqa: F401  (it installs trtnn.Tensor's operators, which the forward passes use)
from .define import Input, Network, TensorInfo, define, profile_count
from .engine import Engine, build, build_network
from .lifecycle import BuildOptions
from .precision import Precision

__all__ = ["BuildOptions", "Engine", "Input", "Network", "Precision", "TensorInfo", "build", "build_network", "define",
           "profile_count"]
