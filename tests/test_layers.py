"""Each layer module: torch's state_dict keys, load from the torch module, same outputs; engines build."""
import pytest
import torch
import torch.nn as tnn

import trtnn
import trtnn.nn as nn
from harness import define_and_run, rel_err

g = torch.Generator().manual_seed(1)

PAIRS = {
    "Conv2d": (lambda m: m.Conv2d(4, 6, 3, stride=2, padding=1), (1, 4, 9, 9)),
    "Conv2d_reflect": (lambda m: m.Conv2d(4, 6, 3, padding=1, padding_mode="reflect", bias=False), (1, 4, 9, 9)),
    "Conv2d_groups": (lambda m: m.Conv2d(4, 8, (3, 1), padding=(1, 0), groups=4), (1, 4, 7, 7)),
    "ConvTranspose2d": (lambda m: m.ConvTranspose2d(4, 3, 4, stride=2, padding=1), (1, 4, 6, 5)),
    "BatchNorm2d": (lambda m: m.BatchNorm2d(4, eps=1e-3), (2, 4, 5, 5)),
    "Linear": (lambda m: m.Linear(5, 3), (2, 5)),
    "MaxPool2d": (lambda m: m.MaxPool2d(3, 2, 1, ceil_mode=True), (1, 2, 10, 9)),
    "AvgPool2d": (lambda m: m.AvgPool2d(3, 2, 1, count_include_pad=False), (1, 2, 10, 9)),
    "AdaptiveAvgPool2d": (lambda m: m.AdaptiveAvgPool2d((2, 3)), (1, 2, 7, 9)),
    "Upsample_nearest": (lambda m: m.Upsample(scale_factor=2), (1, 2, 3, 4)),
    "Upsample_bilinear_ac": (lambda m: m.Upsample(scale_factor=2, mode="bilinear", align_corners=True), (1, 2, 3, 4)),
    "ReLU": (lambda m: m.ReLU(inplace=True), (2, 8)),
    "ReLU6": (lambda m: m.ReLU6(), (2, 8)),
    "LeakyReLU": (lambda m: m.LeakyReLU(0.1), (2, 8)),
    "ELU": (lambda m: m.ELU(0.7), (2, 8)),
    "SiLU": (lambda m: m.SiLU(), (2, 8)),
    "Sigmoid": (lambda m: m.Sigmoid(), (2, 8)),
    "Tanh": (lambda m: m.Tanh(), (2, 8)),
    "Hardswish": (lambda m: m.Hardswish(), (2, 8)),
    "Hardsigmoid": (lambda m: m.Hardsigmoid(), (2, 8)),
    "Mish": (lambda m: m.Mish(), (2, 8)),
    "GELU": (lambda m: m.GELU(), (2, 8)),
    "Softmax": (lambda m: m.Softmax(dim=1), (2, 8)),
    "Dropout": (lambda m: m.Dropout(0.3), (2, 8)),
    "Flatten": (lambda m: m.Flatten(), (2, 3, 4)),
    "Identity": (lambda m: m.Identity(), (2, 3)),
    "Sequential": (lambda m: m.Sequential(m.Conv2d(3, 4, 1), m.BatchNorm2d(4), m.ReLU()), (1, 3, 4, 4)),
}


def _randomize(module: tnn.Module) -> None:
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if t.dtype.is_floating_point:
                t.copy_(torch.rand(t.shape, generator=g) + 0.5 if "var" in name else torch.randn(t.shape, generator=g))


@pytest.mark.parametrize("name", list(PAIRS))
def test_layer_matches_torch(name):
    make, shape = PAIRS[name]
    ref, mine = make(tnn).eval(), make(nn)
    _randomize(ref)
    assert [(k, tuple(v.shape)) for k, v in ref.state_dict().items()] == \
           [(k, tuple(v.shape)) for k, v in mine.state_dict().items()]
    assert mine.load_state_dict(ref.state_dict()) == ([], [])
    x = torch.randn(shape, generator=g)
    net, (got,) = define_and_run(mine, [x])
    want = ref(x).detach()
    assert tuple(got.shape) == tuple(want.shape)
    assert rel_err(got, want) <= 1e-5
    assert trtnn.build_network(net).nbytes > 0


def test_repr_matches_torch():
    for name in ("Conv2d", "ConvTranspose2d", "BatchNorm2d", "Linear", "Sequential", "LeakyReLU", "Flatten"):
        make, _ = PAIRS[name]
        assert repr(make(nn)) == repr(make(tnn)), name
