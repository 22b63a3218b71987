"""Test helper: build small TensorRT networks by hand for the CPU executor tests."""
from __future__ import annotations

from typing import Any, List

import numpy as np
import torch

from trtnn import backend

trt = backend.get()


class Net:
    """A strongly typed network plus everything that must stay alive with it (builder, weight arrays)."""

    def __init__(self) -> None:
        self.builder = trt.Builder(backend.logger())
        self.net = self.builder.create_network(backend.network_flags())
        self.keep: List[Any] = []

    def input(self, name: str, shape, dtype=None):
        return self.net.add_input(name, dtype if dtype is not None else trt.float32, tuple(shape))

    def const(self, value, dtype=None):
        arr = np.array(value, dtype=dtype)  # a fresh C-ordered copy (0-D stays 0-D)
        self.keep.append(arr)
        return self.net.add_constant(arr.shape, arr).get_output(0)

    def output(self, *tensors):
        for t in tensors:
            self.net.mark_output(t)
        return tensors[0] if len(tensors) == 1 else tensors

    def run(self, *inputs, keep_all: bool = False):
        from trtnn.reference import Executor

        outs = Executor(self.net)(list(inputs), keep_all=keep_all)
        return outs if keep_all else list(outs.values())


def t(values, dtype=torch.float32) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype)
