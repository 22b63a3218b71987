"""Engines executed on a GPU agree with the CPU executor (skipped where no supported GPU exists)."""
import pytest
import torch

import trtnn
import trtnn.nn as nn
from trtnn.reference import Executor


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.SiLU(), nn.MaxPool2d(2))


def test_runner_refuses_without_gpu():
    ok, why = trtnn.backend.runtime_status()
    if ok:
        pytest.skip("this machine can run engines")
    from trtnn.runtime import Runner

    with pytest.raises(trtnn.BackendError, match="cannot execute TensorRT engines here"):
        Runner(b"not an engine")


@pytest.mark.gpu
@pytest.mark.parametrize("dtype,tol", [("fp32", 1e-4), ("fp16", 1e-2)])
def test_gpu_matches_cpu_executor(dtype, tol):
    from trtnn.runtime import Runner

    model = _net()
    inputs = [trtnn.Input("x", (2, 3, 32, 32))]
    x = torch.randn(2, 3, 32, 32)
    want = Executor(trtnn.define(model, inputs, dtype=dtype).network)({"x": x})["output"]
    got = Runner(trtnn.build(model, inputs, dtype=dtype))({"x": x})["output"].cpu()
    assert got.shape == want.shape
    assert ((got - want).abs().max() / want.abs().max()).item() <= tol


@pytest.mark.gpu
def test_gpu_runner_input_errors():
    from trtnn.runtime import Runner

    runner = Runner(trtnn.build(_net(), [trtnn.Input("x", (1, 3, 8, 8))]))
    with pytest.raises(trtnn.InputError, match=r"input 'x': expected shape \(1, 3, 8, 8\), got \(1, 3, 9, 8\)"):
        runner({"x": torch.zeros(1, 3, 9, 8)})
