"""From a trtnn Module to a TensorRT network (`define`) and an engine (`build`), with Q/DQ placement (`quantize/`)."""
from .define import Input, Network, TensorInfo, define, profile_count
from .engine import Engine, build, build_network
from .lifecycle import BuildOptions

__all__ = ["BuildOptions", "Engine", "Input", "Network", "TensorInfo", "build", "build_network", "define",
           "profile_count"]
