"""trtnn: write TensorRT networks by hand the way you write PyTorch models — no ONNX in between."""
from . import functional, nn
from .compile import BuildOptions, Engine, Input, Network, build, build_network, define
from .errors import (BackendError, BuildError, CheckpointError, ConfigError, FileError, InputError, ShapeError,
                     StateDictError, TrtnnError, UnsupportedError)
from .graph.module import Module
from .graph.parameter import Parameter
from .graph.tensor import Tensor
from .io.checkpoint import load_checkpoint, save_checkpoint
from .layers import ModuleDict, ModuleList, Sequential

# the feature packages come after the core names: the model files build on `trtnn.Module` and friends
from . import codegen, debug, models, quant, reference  # isort: skip

__version__ = "0.1.0"

__all__ = [
    "BackendError", "BuildError", "BuildOptions", "CheckpointError", "ConfigError", "Engine", "FileError", "Input", "InputError",
    "Module", "ModuleDict", "ModuleList", "Network", "Parameter", "Sequential", "ShapeError", "StateDictError",
    "Tensor", "TrtnnError", "UnsupportedError", "build", "build_network", "codegen", "debug", "define", "functional",
    "load_checkpoint", "models", "nn", "quant", "reference", "save_checkpoint",
]
