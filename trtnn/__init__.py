"""trtnn: write TensorRT networks by hand the way you write PyTorch models — no ONNX in between."""
from . import functional, layers
from .build import Engine, Input, Network, build, build_network, define
from .checkpoint import load_checkpoint, save_checkpoint
from .errors import (BackendError, BuildError, CheckpointError, ConfigError, FileError, InputError, ShapeError, StateDictError, TrtnnError,
                     UnsupportedError)
from .layers import ModuleDict, ModuleList, Sequential
from .module import Module
from .parameter import Parameter
from .tensor import Tensor

from . import debug, models, quant, reference  # noqa: E402  (they build on the names above)

__version__ = "0.1.0"

__all__ = [
    "BackendError", "BuildError", "CheckpointError", "ConfigError", "FileError", "Engine", "Input", "InputError", "Module", "ModuleDict",
    "ModuleList", "Network", "Parameter", "Sequential", "ShapeError", "StateDictError", "Tensor", "TrtnnError",
    "UnsupportedError", "build", "build_network", "debug", "define", "functional", "layers", "load_checkpoint",
    "models", "quant", "reference", "save_checkpoint",
]

# codegen: PyTorch model -> editable trtnn code
from . import codegen  # noqa: E402

__all__ += ["codegen"]
