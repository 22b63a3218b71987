"""trtnn.models.centernet (xingyizhou/CenterNet ctdet: res_18, res_101, dla_34 with DCNv2, dlav0_34).

(a) state_dict keys, order and shapes equal tests/data/keys/centernet_*.keys (the released checkpoints'; dla_34: as
    CenterNet's create_model('dla_34') builds it, with the ImageNet classifier base.fc).
(b) trainable parameter counts: MODELS.md (res_18, res_101, dla_34 DCN + base.fc); dlav0_34: the sum over its keys
    file.
(c) trtnn.define at 1x3x128x128: outputs hm/wh/reg at stride 4, layers named by module path, every BatchNorm
    folded into its conv (the DCN's too) except those after PoseResNet's ConvTranspose2d layers.
(d) the registry's factories and their heads / head_conv / num_classes arguments.
(e) numerics vs the PyTorch references in tests/refmodels/centernet.py (BN statistics randomized; DCN offsets made
    non-zero, else DCNv2's zero-initialized conv_offset_mask would leave every sample on the grid), run by the CPU
    executor in fp32. Metric: max|a - b| / max|b| per head, bound 1e-4.
"""
import math
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

import trtnn  # noqa: E402
import trtnn.nn as nn  # noqa: E402
from trtnn.models import MODELS, get  # noqa: E402
from trtnn.models.centernet import DCN, DLASeg, DLASegV0, PoseResNet  # noqa: E402
from trtnn.reference import Executor  # noqa: E402
from harness import parse_keys  # noqa: E402

TOL = 1e-4
KEYS = {"centernet_res18": "centernet_res18", "centernet_res101": "centernet_res101",
        "centernet_dla34": "centernet_dla34", "centernet_dlav0_34": "centernet_dlav0_34"}
BN_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


def keys_params(name: str) -> int:
    """Trainable parameters listed in a keys file (everything but BatchNorm's buffers)."""
    return sum(math.prod(shape) for key, shape in parse_keys(KEYS[name]) if not key.endswith(BN_BUFFERS))


# ------------------------------------------------------------------------------------------- (a) state_dict
@pytest.mark.parametrize("name", list(KEYS))
def test_state_dict_keys(name):
    got = [(k, tuple(v.shape)) for k, v in get(name)().state_dict().items()]
    assert got == parse_keys(KEYS[name])


def test_fc_in_both_dla_bases():
    """Both DLA bases keep the ImageNet classifier their checkpoints hold (dlav0 in __init__, dla_34 from
    create_model's pretrained load), so CenterNet's own checkpoints load with load_state_dict(strict=True)."""
    for name in ("centernet_dlav0_34", "centernet_dla34"):
        assert get(name)().state_dict()["base.fc.weight"].shape == (1000, 512, 1, 1)
    assert not hasattr(get("centernet_dla34")().base, "avgpool")  # pose_dla_dcn's DLA has no avgpool


def test_original_training_checkpoint_loads_strictly():
    """A state_dict of the original's keys (base.fc included, as its training writes) loads strictly, without the
    CLI's key dropping; one without base.fc (an older trtnn export) still loads through the registry."""
    ref = get("centernet_dla34")(num_classes=3)
    state = ref.state_dict()
    assert [k for k, _ in parse_keys("centernet_dla34")] == list(state)
    get("centernet_dla34")(num_classes=3).load_state_dict(state, strict=True)
    lacking = {k: v for k, v in state.items() if not k.startswith("base.fc")}
    model = trtnn.models.create("centernet_dla34", lacking)
    assert model.heads == {"hm": 3, "wh": 2, "reg": 2} and "base.fc.weight" in model.state_dict()


# ------------------------------------------------------------------------------------------- (b) params
PARAMS = {"centernet_res18": 15_820_372, "centernet_res101": 53_435_476, "centernet_dla34": 19_675_892 + 513_000,
          "centernet_dlav0_34": 18_474_476}  # dla34: MODELS.md + base.fc's 513,000; dlav0: 17,961,476 + 513,000


@pytest.mark.parametrize("name", list(PARAMS))
def test_param_count(name):
    assert sum(p.numel() for p in get(name)().parameters()) == PARAMS[name] == keys_params(name)


# ------------------------------------------------------------------------------------------- (c) network
@pytest.mark.parametrize("name,paths", [
    ("centernet_res18", ["layer4.1", "deconv_layers.0", "deconv_layers", "hm.2"]),
    ("centernet_res101", ["layer3.22.conv3", "deconv_layers.8", "reg"]),
    ("centernet_dla34", ["base.level5", "dla_up.ida_0.proj_1", "dla_up.ida_0.proj_1.conv.conv_offset_mask",
                         "dla_up.ida_2.node_3", "ida_up.up_2", "ida_up.node_2", "wh"]),
    ("centernet_dlav0_34", ["base.level3.tree2.root", "dla_up.ida_1.up_2", "dla_up.ida_2.node_3", "hm"]),
])
def test_define(name, paths):
    model = get(name)()
    net = trtnn.define(model, [trtnn.Input("x", (1, 3, 128, 128))])
    assert [(o.name, tuple(o.shape)) for o in net.outputs] == [
        ("hm", (1, 80, 32, 32)), ("wh", (1, 2, 32, 32)), ("reg", (1, 2, 32, 32))]
    assert set(paths) <= set(net.module_outputs)
    layers = [net.network.get_layer(i).name for i in range(net.network.num_layers)]
    for path in paths:
        assert any(n == path or n.startswith((path + ".", path + ":", path + " + ")) for n in layers), path
    bns = {p for p, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)}
    unfolded = {f"deconv_layers.{i}" for i in (1, 4, 7)} if name.startswith("centernet_res") else set()
    assert set(net.folded.values()) == bns - unfolded


# ------------------------------------------------------------------------------------------- (d) registry
def test_registry():
    assert {"centernet_res18", "centernet_res101", "centernet_dla34", "centernet_dlav0_34"} <= set(MODELS)
    assert isinstance(get("centernet_res18")(), PoseResNet) and isinstance(get("centernet_dla34")(), DLASeg)
    assert isinstance(get("centernet_dlav0_34")(), DLASegV0)
    assert isinstance(get("centernet_dla34")().dla_up.ida_0.proj_1.conv, DCN)
    m = get("centernet_res18")(num_classes=3)
    assert m.heads == {"hm": 3, "wh": 2, "reg": 2} and m.hm[2].out_channels == 3 and m.hm[0].out_channels == 64
    m = get("centernet_dla34")(heads={"hm": 1, "wh": 2}, head_conv=0)
    assert list(m.heads) == ["hm", "wh"] and isinstance(m.hm, nn.Conv2d) and m.hm.out_channels == 1
    net = trtnn.define(get("centernet_dlav0_34")(num_classes=5, head_conv=32), [trtnn.Input("x", (1, 3, 64, 96))])
    assert [(o.name, tuple(o.shape)) for o in net.outputs] == [
        ("hm", (1, 5, 16, 24)), ("wh", (1, 2, 16, 24)), ("reg", (1, 2, 16, 24))]


# ------------------------------------------------------------------------------------------- (e) numerics
NUMERICS = {  # name -> (reference factory name and args, input shape)
    "centernet_res18": (("centernet_resnet", 18), (1, 3, 128, 128)),
    "centernet_res101": (("centernet_resnet", 101), (1, 3, 64, 64)),
    "centernet_dla34": (("centernet_dla34_dcn",), (1, 3, 128, 128)),
    "centernet_dlav0_34": (("centernet_dlav0_34",), (1, 3, 128, 128)),
}


@torch.no_grad()
def randomize_offsets(model: torch.nn.Module, seed: int) -> None:
    """Offsets of about +-1.2 px (fractional, some samples off the map) and masks away from 0.5."""
    g = torch.Generator().manual_seed(seed)
    for name, m in model.named_modules():
        if name.endswith("conv_offset_mask"):
            m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 2 / math.sqrt(m.weight[0].numel()))
            m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.5)


@pytest.mark.parametrize("name", list(NUMERICS))
def test_numerics_vs_reference(name):
    from refmodels import centernet as rc
    from refmodels import randomize_bn

    (factory, *args), shape = NUMERICS[name]
    torch.manual_seed(0)  # the reference's own initialization
    ref = randomize_bn(getattr(rc, factory)(*args), seed=1).eval()
    randomize_offsets(ref, seed=2)
    model = get(name)()
    model.load_state_dict(ref.state_dict(), strict=True)
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(0))
    net = trtnn.define(model, [trtnn.Input("x", shape)])
    out = Executor(net.network)({"x": x})
    with torch.no_grad():
        (y,) = ref(x)
    assert list(out) == list(y) == ["hm", "wh", "reg"]
    for head in y:
        assert out[head].shape == y[head].shape == (1, y[head].shape[1], shape[2] // 4, shape[3] // 4)
        err = ((out[head].double() - y[head].double()).abs().max() / y[head].double().abs().max()).item()
        assert err <= TOL, f"{head}: relative error {err:.3g}"


@pytest.mark.parametrize("dtype,tol", [("fp16", 1e-2), ("bf16", 2e-2)])
def test_dla34_dcn_half_precision_vs_reference(dtype, tol):
    """fp16/bf16 engines keep DCN sample positions in fp32: heads within half-precision error of the fp32 original."""
    from refmodels import randomize_bn
    from refmodels.centernet import centernet_dla34_dcn

    torch.manual_seed(0)
    ref = randomize_bn(centernet_dla34_dcn(), seed=1).eval()
    randomize_offsets(ref, seed=2)
    model = get("centernet_dla34")()
    model.load_state_dict(ref.state_dict(), strict=True)
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    net = trtnn.define(model, [trtnn.Input("x", x.shape)], dtype=dtype)
    trt = trtnn.backend.get()
    convs = [net.network.get_layer(i) for i in range(net.network.num_layers)]
    convs = [layer for layer in convs if layer.type == trt.LayerType.CONVOLUTION]
    want = trt.DataType.HALF if dtype == "fp16" else trt.DataType.BF16
    assert len(convs) > 50 and all(layer.get_output(0).dtype == want for layer in convs)
    out = Executor(net)({"x": x})
    with torch.no_grad():
        (y,) = ref(x)
    for head in y:
        err = ((out[head].double() - y[head].double()).abs().max() / y[head].double().abs().max()).item()
        assert err <= tol, f"{head}: relative error {err:.3g}"
