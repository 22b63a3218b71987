"""CPU reference executor: runs any TensorRT INetworkDefinition layer by layer with PyTorch CPU ops.

    ex = Executor(network)          # compile once
    outs = ex({"x": array})         # dict output name -> torch.Tensor
    alls = ex(inputs, keep_all=True)
"""
from .executor import Executor, run

__all__ = ["Executor", "run"]
