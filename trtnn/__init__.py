"""trtnn: write TensorRT networks by hand the way you write PyTorch models — no ONNX in between.

The names below are loaded on first use (PEP 562), so `import trtnn` — and the `trtnn` command's --help, --version
and info — start without importing torch or TensorRT.
"""
from importlib import import_module
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, List

from .version import __version__ as __version__

# public name -> the module defining it
_EXPORTS = {
    **dict.fromkeys(("BuildOptions", "Engine", "Input", "Network", "Precision", "build", "build_network", "define"),
                    ".compile"),
    **dict.fromkeys(("BackendError", "BuildError", "CheckpointError", "ConfigError", "FileError", "InputError",
                     "ShapeError", "StateDictError", "TrtnnError", "UnsupportedError"), ".errors"),
    "Module": ".graph.module", "Parameter": ".graph.parameter", "Tensor": ".graph.tensor",
    "load_checkpoint": ".io.checkpoint", "save_checkpoint": ".io.checkpoint",
    **dict.fromkeys(("ModuleDict", "ModuleList", "Sequential"), ".layers"),
}

__all__ = [
    "BackendError", "BuildError", "BuildOptions", "CheckpointError", "ConfigError", "Engine", "FileError", "Input", "InputError",
    "Module", "ModuleDict", "ModuleList", "Network", "Parameter", "Precision", "Sequential", "ShapeError",
    "StateDictError", "Tensor", "TrtnnError", "UnsupportedError", "build", "build_network", "codegen", "debug",
    "define", "functional", "load_checkpoint", "models", "nn", "quant", "reference", "save_checkpoint",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        if _EXPORTS[name] != ".errors":
            import_module(".functional", __name__)  # it installs trtnn.Tensor's operators, which forward passes use
        return getattr(import_module(_EXPORTS[name], __name__), name)
    if not name.startswith("_") and find_spec(f"{__name__}.{name}") is not None:  # codegen, debug, models, nn...
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'trtnn' has no attribute {name!r}")


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what the names above are, for type checkers and IDEs
    from . import codegen, debug, functional, models, nn, quant, reference
    from .compile import BuildOptions, Engine, Input, Network, Precision, build, build_network, define
    from .errors import (BackendError, BuildError, CheckpointError, ConfigError, FileError, InputError, ShapeError,
                         StateDictError, TrtnnError, UnsupportedError)
    from .graph.module import Module
    from .graph.parameter import Parameter
    from .graph.tensor import Tensor
    from .io.checkpoint import load_checkpoint, save_checkpoint
    from .layers import ModuleDict, ModuleList, Sequential
