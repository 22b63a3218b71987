"""Make tests/data/modelopt_qat_{int8,fp8}.pt with NVIDIA ModelOpt (run in a separate venv: torch 2.14.1 and
nvidia-modelopt; never a trtnn dependency):

    python -m venv /work/venv-modelopt && /work/venv-modelopt/bin/pip install torch==2.14.1 nvidia-modelopt
    /work/venv-modelopt/bin/python tools/make_modelopt_qat.py

A small network (conv-BN-ReLU, conv-BN, residual add, max pooling, concat, adaptive average pooling, linear) is
quantized by `mtq.quantize` with INT8_DEFAULT_CFG and FP8_DEFAULT_CFG (calibrated on 8 noise batches, then 10 QAT
steps), and saved as {"state_dict" (weights and every `_amax`), "x" (a fresh input), "y" (ModelOpt's fake-quant
output on it), "modelopt", "torch", "config"}: plain tensors, loadable with torch.load(weights_only=True).
"""
import os
import sys

import torch
import torch.nn as nn

import modelopt
import modelopt.torch.quantization as mtq


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1, self.act1 = nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU()
        self.conv2, self.bn2 = nn.Conv2d(16, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)
        self.pool = nn.MaxPool2d(2)
        self.conv3 = nn.Conv2d(32, 16, 1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        y = self.act1(self.bn1(self.conv1(x)))
        z = self.bn2(self.conv2(y)) + y
        z = self.pool(torch.cat([z, y], 1))
        return self.fc(self.gap(self.conv3(z)).flatten(1))


def make(config_name):
    torch.manual_seed(0)
    model = Small()
    g = torch.Generator().manual_seed(1)
    data = [torch.randn(4, 3, 16, 16, generator=g) for _ in range(8)]
    model.train()
    for x in data:  # BatchNorm statistics that are not the identity
        model(x)
    model.eval()

    def forward_loop(m):
        for x in data:
            m(x)

    model = mtq.quantize(model, getattr(mtq, config_name), forward_loop)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for x in data + data[:2]:  # a few QAT steps (BatchNorm kept in eval: running statistics frozen)
        loss = model(x).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        y = model(x)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    mtq.print_quant_summary(model)
    return {"state_dict": state, "x": x, "y": y, "modelopt": modelopt.__version__, "torch": str(torch.__version__),
            "config": config_name}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data")
    for name, cfg in (("int8", "INT8_DEFAULT_CFG"), ("fp8", "FP8_DEFAULT_CFG")):
        path = os.path.join(out, f"modelopt_qat_{name}.pt")
        torch.save(make(cfg), path)
        print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
