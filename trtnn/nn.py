"""`import trtnn.nn as nn` reads like `import torch.nn as nn`: modules, Parameter and functional in one place."""
from . import functional
from .layers import *  # noqa: F401,F403
from .layers import __all__ as _layers
from .graph.module import Module
from .graph.parameter import Parameter

__all__ = ["Module", "Parameter", "functional", *_layers]
