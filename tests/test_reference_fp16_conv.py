"""The CPU executor's fp16/bf16 (de)convolutions: fp16 inputs and weights, products summed and the bias added in
fp32, the output rounded once to the reduced dtype (what TensorRT's fp16 kernels compute)."""
import pytest
import torch
import torch.nn.functional as F

import trtnn
import trtnn.nn as nn


class Convs(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(16, 8, 3, padding=1)
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)

    def forward(self, x):
        return self.up(self.conv(x))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_reduced_precision_convolutions_accumulate_in_fp32(dtype):
    torch.manual_seed(0)
    model = Convs()
    state = {k: torch.randn_like(v) * 0.1 for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    x = torch.randn(1, 16, 12, 12)
    net = trtnn.define(model, [trtnn.Input("x", tuple(x.shape))], dtype=dtype, debug_outputs=["conv"])
    out = trtnn.reference.Executor(net)({"x": x})
    w = {k: v.to(dtype).float() for k, v in state.items()}  # the network's weights, rounded to the reduced dtype
    conv = F.conv2d(x.to(dtype).float(), w["conv.weight"], w["conv.bias"], padding=1).to(dtype)
    up = F.conv_transpose2d(conv.float(), w["up.weight"], w["up.bias"], stride=2).to(dtype)
    assert out["conv"].dtype == dtype and torch.equal(out["conv"], conv)
    assert torch.equal(out["output"], up.float())
