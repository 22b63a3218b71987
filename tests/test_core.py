"""Module API, state_dict loading, naming, BN folding, dtypes and plan sizes, build options, error messages."""
import os

import numpy as np
import pytest
import torch
import torch.nn as tnn

import trtnn
import trtnn.functional as F
import trtnn.nn as nn
from harness import define_and_run, rel_err


class Block(nn.Module):
    def __init__(self, c_in, c_out, groups=1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False, groups=groups)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.bn1(self.conv1(x)))


class Net(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.backbone = nn.Sequential()
        self.backbone.append(Block(3, width))
        self.backbone.append(Block(width, width))
        self.head = nn.Conv2d(width, 2, 1)

    def forward(self, x):
        y = self.backbone(x)
        return self.head(y + x[:, :1])


class TorchBlock(tnn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv1 = tnn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn1 = tnn.BatchNorm2d(c_out)
        self.act = tnn.ReLU()

    def forward(self, x):
        return self.act(self.bn1(self.conv1(x)))


class TorchNet(tnn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.backbone = tnn.Sequential(TorchBlock(3, width), TorchBlock(width, width))
        self.head = tnn.Conv2d(width, 2, 1)

    def forward(self, x):
        return self.head(self.backbone(x) + x[:, :1])


def torch_net(width=8):
    torch.manual_seed(0)
    ref = TorchNet(width).eval()
    for m in ref.modules():
        if isinstance(m, tnn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.normal_()
            m.bias.data.normal_()
    return ref


# ---- state_dict -------------------------------------------------------------------------------------------
def test_state_dict_keys_and_loading_match_torch():
    ref, mine = torch_net(), Net()
    assert list(mine.state_dict()) == list(ref.state_dict())
    assert mine.load_state_dict(ref.state_dict()) == ([], [])
    np.testing.assert_array_equal(mine.backbone[1].bn1.running_var.numpy(), ref.backbone[1].bn1.running_var.numpy())
    x = torch.randn(1, 3, 10, 12)
    _, (got,) = define_and_run(mine, [x])
    assert rel_err(got, ref(x).detach()) <= 1e-5


def test_load_state_dict_accepts_numpy():
    ref, mine = torch_net(), Net()
    mine.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    assert torch.equal(mine.head.weight.data, ref.head.weight.data)


def test_strict_loading_lists_missing_and_unexpected_keys():
    sd = torch_net().state_dict()
    del sd["head.bias"]
    sd["head.extra"] = torch.zeros(1)
    mine = Net()
    before = mine.head.weight.data.clone()
    with pytest.raises(trtnn.StateDictError) as e:
        mine.load_state_dict(sd)
    assert "missing keys (1): head.bias" in str(e.value)
    assert "unexpected keys (1): head.extra" in str(e.value)
    assert e.value.missing_keys == ["head.bias"] and e.value.unexpected_keys == ["head.extra"]
    assert torch.equal(mine.head.weight.data, before)  # nothing half-loaded
    result = mine.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["head.bias"] and result.unexpected_keys == ["head.extra"]


def test_ignore_patterns():
    sd = {k: v for k, v in torch_net().state_dict().items() if "num_batches_tracked" not in k}
    assert Net().load_state_dict(sd, ignore=["*.num_batches_tracked"]) == ([], [])


def test_shape_mismatch_names_key_expected_and_got():
    sd = torch_net().state_dict()
    sd["backbone.1.conv1.weight"] = torch.zeros(8, 8, 5, 5)
    with pytest.raises(trtnn.StateDictError, match=r"size mismatch for 'backbone.1.conv1.weight': expected shape "
                                                   r"\(8, 8, 3, 3\), got \(8, 8, 5, 5\)"):
        Net().load_state_dict(sd)


def test_dtype_mismatch_names_key():
    sd = torch_net().state_dict()
    sd["head.weight"] = torch.zeros(2, 8, 1, 1, dtype=torch.int32)
    with pytest.raises(trtnn.StateDictError, match=r"dtype mismatch for 'head.weight': expected fp32, got int32"):
        Net().load_state_dict(sd)


def test_flat_wts_style_values_are_reshaped():
    sd = {k: v.flatten() if v.dim() else v for k, v in torch_net().state_dict().items()}
    mine = Net()
    mine.load_state_dict(sd)
    assert tuple(mine.head.weight.shape) == (2, 8, 1, 1)


def test_module_traversal_and_to_half():
    mine = Net()
    names = [n for n, _ in mine.named_modules()]
    assert names[:4] == ["", "backbone", "backbone.0", "backbone.0.conv1"]
    assert [n for n, _ in mine.named_children()] == ["backbone", "head"]
    assert sum(p.numel() for p in mine.parameters()) == sum(p.numel() for p in torch_net().parameters())
    assert [n for n, _ in mine.named_buffers()][:3] == [
        "backbone.0.bn1.running_mean", "backbone.0.bn1.running_var", "backbone.0.bn1.num_batches_tracked"]
    mine.half()
    assert mine.head.weight.dtype == torch.float16
    assert mine.backbone[0].bn1.num_batches_tracked.dtype == torch.int64


def test_containers():
    seq = nn.Sequential(nn.ReLU(), nn.Sigmoid())
    assert len(seq) == 2 and isinstance(seq[1], nn.Sigmoid) and isinstance(seq[-1], nn.Sigmoid)
    ml = nn.ModuleList([nn.ReLU()])
    ml.append(nn.Tanh())
    md = nn.ModuleDict({"a": nn.ReLU()})
    assert list(dict(ml.named_children())) == ["0", "1"] and "a" in md


# ---- naming -------------------------------------------------------------------------------------------------
def test_layer_and_tensor_names_are_module_paths():
    net = trtnn.define(Net(), [trtnn.Input("x", (1, 3, 8, 8))])
    layers = net.layer_names()
    assert "backbone.0.conv1 + backbone.0.bn1" in layers
    assert "backbone.1.act" in layers and "head" in layers
    assert "add" in layers and "getitem" in layers  # ops of the root module are named by the op alone
    assert net.module_outputs["backbone.0.bn1"] == ["backbone.0.bn1"]
    assert net.module_outputs["backbone.1"] == ["backbone.1.act"]  # passes its child's tensor through
    assert net.module_outputs["head"] == ["output"]  # renamed to the network output it became


def test_repeated_module_calls_get_unique_names():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.m = nn.MaxPool2d(3, 1, 1)

        def forward(self, x):
            return self.m(self.m(x))

    net = trtnn.define(Twice(), [trtnn.Input("x", (1, 2, 5, 5))])
    assert net.layer_names() == ["m", "m#1"]


# ---- BN folding --------------------------------------------------------------------------------------------
def _layer_types(net):
    return [net.network.get_layer(i).type for i in range(net.network.num_layers)]


def test_bn_folding_removes_scale_layers_and_keeps_values():
    trt = trtnn.backend.get()
    ref = torch_net()
    mine = Net()
    mine.load_state_dict(ref.state_dict())
    x = torch.randn(1, 3, 9, 7)
    folded, (a,) = define_and_run(mine, [x])
    plain, (b,) = define_and_run(mine, [x], fold_bn=False)
    assert trt.LayerType.SCALE not in _layer_types(folded)
    assert _layer_types(plain).count(trt.LayerType.SCALE) == 2
    assert folded.outputs[0].shape == plain.outputs[0].shape == (1, 2, 9, 7)
    want = ref(x).detach()
    assert rel_err(a, want) <= 1e-5 and rel_err(b, want) <= 1e-5


def test_bn_not_folded_into_conv_whose_output_is_reused():
    class Reuse(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 3, padding=1)
            self.bn = nn.BatchNorm2d(2)

        def forward(self, x):
            y = self.conv(x)
            return self.bn(y) + y  # y is needed unfolded after the BN took it

    m = Reuse()
    ref_conv, ref_bn = tnn.Conv2d(2, 2, 3, padding=1), tnn.BatchNorm2d(2).eval()
    ref_bn.running_var.uniform_(0.5, 2)
    ref_bn.running_mean.normal_()
    m.conv.load_state_dict(ref_conv.state_dict())
    m.bn.load_state_dict(ref_bn.state_dict())
    x = torch.randn(1, 2, 6, 6)
    _, (got,) = define_and_run(m, [x])
    y = ref_conv(x)
    assert rel_err(got, (ref_bn(y) + y).detach()) <= 1e-5



@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
def test_folded_network_holds_no_original_conv_weights(dtype):
    """The network keeps only the folded weights: a checkpoint's conv weights are freed with the model (the peak
    memory of a build is one copy of the weights, not two)."""
    import gc
    import weakref

    ref = torch_net()
    x = torch.randn(1, 3, 9, 7)
    model = Net()
    arrays = {k: v.numpy().copy() for k, v in ref.state_dict().items()}  # the storage behind each loaded tensor
    model.load_state_dict({k: torch.from_numpy(a) for k, a in arrays.items()}, assign=True)
    originals = [weakref.ref(a) for k, a in arrays.items() if k.endswith("conv1.weight")]
    assert len(originals) >= 2
    del arrays
    net = trtnn.define(model, [trtnn.Input("x", x.shape)], dtype=dtype)
    del model
    gc.collect()
    assert [r() is None for r in originals] == [True] * len(originals)
    from trtnn.reference import Executor

    got = Executor(net)({"x": x})[net.outputs[0].name]
    assert rel_err(got.float(), ref(x).detach()) <= (1e-5 if dtype == "fp32" else 1e-2)

# ---- dtypes, plan sizes, build options ----------------------------------------------------------------------
def _wide_net():
    m = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
                      nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.Conv2d(128, 128, 3, padding=1))
    return m


@pytest.mark.parametrize("dtype", ["fp16", "bf16"])
def test_half_precision_plans_are_about_half_the_size(dtype):
    inputs = [trtnn.Input("x", (1, 3, 32, 32))]
    m = _wide_net()
    fp32 = trtnn.build(m, inputs, dtype="fp32")
    half = trtnn.build(m, inputs, dtype=dtype)
    assert fp32.nbytes > 4 * 220_000  # ~222k weights in fp32
    assert 0.4 < half.nbytes / fp32.nbytes < 0.65, (half.nbytes, fp32.nbytes)
    assert half.outputs[0].dtype == torch.float32  # output cast back to the input's dtype


def test_input_and_output_dtypes_selectable():
    m = _wide_net()
    net = trtnn.define(m, [trtnn.Input("x", (1, 3, 8, 8), "fp16")], dtype="fp16", output_dtype="fp16")
    assert net.network.get_input(0).dtype == trtnn.backend.get().DataType.HALF
    assert net.outputs[0].dtype == torch.float16


def test_several_named_outputs_and_save(tmp_path):
    class Two(nn.Module):
        def forward(self, x):
            return {"probs": F.softmax(x, 1), "best": F.argmax(x, 1)}

    engine = trtnn.build(Two(), [trtnn.Input("logits", (2, 5))], workspace=1 << 26)
    assert [(o.name, o.shape, o.dtype) for o in engine.outputs] == [
        ("probs", (2, 5), torch.float32), ("best", (2,), torch.int64)]
    path = tmp_path / "two.plan"
    engine.save(str(path))
    assert path.read_bytes() == engine.serialize()
    assert [p for p in os.listdir(tmp_path)] == ["two.plan"]  # no temp file left behind


def test_dynamic_batch_builds():
    inp = trtnn.Input("x", (-1, 3, 8, 8), min_shape=(1, 3, 8, 8), opt_shape=(2, 3, 8, 8), max_shape=(4, 3, 8, 8))
    engine = trtnn.build(Block(3, 4), [inp])
    assert engine.outputs[0].shape == (-1, 4, 8, 8)
    with pytest.raises(trtnn.ShapeError, match="input 'x' has dynamic shape"):
        trtnn.build(Block(3, 4), [trtnn.Input("x", (-1, 3, 8, 8))])


def test_build_error_carries_tensorrt_messages():
    trt = trtnn.backend.get()
    if not trtnn.backend.is_rtx():
        pytest.skip("full TensorRT builds INMSLayer; the failing case is TensorRT-RTX's CPU build")
    net = trtnn.define(nn.Identity(), [trtnn.Input("boxes", (1, 10, 4))])
    boxes = net.network.get_input(0)
    scores = net.network.add_input("scores", trt.float32, (1, 10, 3))
    nms = net.network.add_nms(boxes, scores, net.network.add_constant((), np.array(5, np.int32)).get_output(0))
    net.network.mark_output(nms.get_output(0))
    with pytest.raises(trtnn.BuildError, match="NMS") as e:
        trtnn.build_network(net)
    assert e.value.messages


# ---- bad input: errors name the module path and the user's line ------------------------------------------------
class BadGroups(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block(3, 6)
        self.proj = nn.Conv2d(6, 4, 1)

    def forward(self, x):
        x = self.block(x)
        return F.conv2d(x, torch.zeros(4, 4, 1, 1), groups=4)  # wrong: 6 channels, weight expects 16


def test_error_names_module_path_and_user_line():
    with pytest.raises(trtnn.ShapeError) as e:
        trtnn.define(BadGroups(), [trtnn.Input("x", (1, 3, 8, 8))])
    msg = str(e.value)
    assert "input 'block.act' has 6 channels, weight (4, 4, 1, 1) with groups=4 expects 16" in msg
    assert "test_core.py" in msg and "F.conv2d(x, torch.zeros(4, 4, 1, 1), groups=4)" in msg


def test_groups_must_divide_channels():
    with pytest.raises(trtnn.ShapeError, match="groups=4 must divide in_channels=6 and out_channels=8"):
        nn.Conv2d(6, 8, 3, groups=4)


def test_kernel_larger_than_padded_input_names_module():
    m = nn.Sequential(nn.Conv2d(3, 4, 7))
    with pytest.raises(trtnn.ShapeError, match=r"kernel \(7, 7\).*larger than the padded input") as e:
        trtnn.define(m, [trtnn.Input("x", (1, 3, 5, 5))])
    assert "in module '0'" in str(e.value)


def test_unsupported_op_and_dtype():
    m = nn.Sequential(nn.MaxPool2d(3, dilation=2))
    with pytest.raises(trtnn.UnsupportedError, match="dilation") as e:
        trtnn.define(m, [trtnn.Input("x", (1, 3, 9, 9))])
    assert "in module '0'" in str(e.value)
    with pytest.raises(trtnn.UnsupportedError, match="unsupported dtype 'fp64'"):
        trtnn.define(m, [trtnn.Input("x", (1, 3, 9, 9), "fp64")])


def test_broadcast_error_names_tensors():
    class Bad(nn.Module):
        def forward(self, x, y):
            return x + y

    with pytest.raises(trtnn.ShapeError, match=r"cannot be broadcast.*'a' \(2, 3\), 'b' \(2, 4\)"):
        trtnn.define(Bad(), [trtnn.Input("a", (2, 3)), trtnn.Input("b", (2, 4))])


def test_tensor_used_as_bool_is_explained():
    class Branchy(nn.Module):
        def forward(self, x):
            return x if x.sum() > 0 else -x

    with pytest.raises(trtnn.ShapeError, match="used as a Python bool"):
        trtnn.define(Branchy(), [trtnn.Input("x", (2,))])


def test_progress_monitor_and_log_bridge(capfd, caplog):
    trtnn.build(Block(3, 4), [trtnn.Input("x", (1, 3, 8, 8))], progress=True)
    err = capfd.readouterr().err
    assert "Building" in err or "it/s" in err or "%" in err  # tqdm bars driven by TensorRT's phases
    if not trtnn.backend.is_rtx():
        return
    net = trtnn.define(nn.Identity(), [trtnn.Input("boxes", (1, 10, 4))])
    trt = trtnn.backend.get()
    scores = net.network.add_input("scores", trt.float32, (1, 10, 3))
    k = net.network.add_constant((), np.array(5, np.int32)).get_output(0)
    net.network.mark_output(net.network.add_nms(net.network.get_input(0), scores, k).get_output(0))
    with caplog.at_level("ERROR", logger="trtnn.tensorrt"), pytest.raises(trtnn.BuildError):
        trtnn.build_network(net)
    assert any(r.name == "trtnn.tensorrt" and "NMS" in r.getMessage() for r in caplog.records)


def test_load_copies_unless_assign():
    sd = torch_net().state_dict()
    mine = Net()
    mine.load_state_dict(sd)
    sd["head.bias"].add_(1.0)  # editing the source afterwards must not leak into the model
    assert not torch.equal(mine.head.bias.data, sd["head.bias"])
    mine.load_state_dict(sd, assign=True)
    assert mine.head.bias.data.data_ptr() == sd["head.bias"].data_ptr()


def test_weights_live_as_long_as_the_network():
    """TensorRT keeps raw pointers into the weight arrays: they must outlive the Network/context wrapper and be
    freed with the INetworkDefinition itself."""
    import gc
    import weakref

    from trtnn.reference import Executor

    m = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
    net = trtnn.define(m, [trtnn.Input("x", (1, 3, 8, 8))])
    kept = [weakref.ref(t) for t in net.ctx._keep]
    network = net.network
    del net
    gc.collect()
    assert kept and all(r() is not None for r in kept)
    out = Executor(network)({"x": torch.ones(1, 3, 8, 8)})["output"]
    assert out.shape == (1, 8, 6, 6) and bool(torch.isfinite(out).all())
    del network
    gc.collect()
    assert all(r() is None for r in kept)


def test_wrong_number_of_inputs_is_explained():
    with pytest.raises(trtnn.TrtnnError, match=r"Block.forward cannot take the 2 network input\(s\) 'a', 'b'"):
        trtnn.define(Block(3, 4), [trtnn.Input("a", (1, 3, 8, 8)), trtnn.Input("b", (1, 3, 8, 8))])


def test_python_errors_in_forward_are_annotated_with_the_module():
    class Typo(nn.Module):
        def forward(self, x):
            return x.nonexistent_method()

    m = nn.Sequential(Block(3, 4), Typo())
    with pytest.raises(AttributeError) as e:
        trtnn.define(m, [trtnn.Input("x", (1, 3, 8, 8))])
    assert getattr(e.value, "__notes__", None) == ["in trtnn module '1' (Typo.forward)"]


def test_assigning_a_module_or_parameter_over_a_plain_attribute_replaces_it():
    """As in torch: `self.down = None` then `self.down = nn.MaxPool2d(2)` (CenterNet's DLA Tree does this)."""
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.down, self.w = None, None
            self.down = nn.MaxPool2d(2)
            self.w = trtnn.Parameter(torch.ones(2))

    m = M()
    assert isinstance(m.down, nn.MaxPool2d) and isinstance(m.w, trtnn.Parameter)
    assert [n for n, _ in m.named_modules()] == ["", "down"] and list(m.state_dict()) == ["w"]
