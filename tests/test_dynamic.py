"""Dynamic batch: ops and shipped models defined with a -1 batch dim run at several batch sizes and build engines."""
import pytest
import torch

import trtnn
import trtnn.nn as nn
from harness import TORCH, Fn, rel_err
from trtnn.reference import Executor

g = torch.Generator().manual_seed(3)
W = torch.randn(6, 4, 3, 3, generator=g)
WL = torch.randn(5, 11, generator=g)
WT = torch.randn(4, 3, 3, 3, generator=g)

CASES = {
    "conv_pool": lambda F, x: F.max_pool2d(F.relu(F.conv2d(x, W, padding=1)), 2, ceil_mode=True),
    "interpolate_size": lambda F, x: F.interpolate(x, size=(5, 7), mode="bilinear", align_corners=False),
    "interpolate_scale": lambda F, x: F.interpolate(x, scale_factor=2),
    "pad": lambda F, x: F.pad(x, (1, 2, 0, 1), mode="replicate"),
    "getitem": lambda F, x: x[:, 1:, ::2, -3:],
    "getitem_none_int": lambda F, x: x[:, None, 2, :, 0],
    "chunk_split": lambda F, x: [*x.chunk(2, 1), *x.split([3, 8], 3)],
    "view_batch": lambda F, x: x.view(x.shape[0], -1) if F is not TORCH else x.view(x.shape[0], -1),
    "flatten": lambda F, x: F.flatten(x, 1),
    "flatten_mid": lambda F, x: F.flatten(x, 1, 2),
    "squeeze_unsqueeze": lambda F, x: x[:, :1].squeeze(1).unsqueeze(1),
    "expand": lambda F, x: x[:, :, :1].expand(-1, -1, 3, -1),
    "linear_softmax": lambda F, x: F.softmax(F.linear(x, WL), dim=-1),
    "cat_sum": lambda F, x: F.cat([x, x * 2], 1).sum((2, 3)),
    "adaptive": lambda F, x: F.adaptive_avg_pool2d(x, (2, 3)),
    "expand_as_dynamic": lambda F, x: torch.ones(1, 4, 1, 11).expand_as(x) * x if F is TORCH
    else F.expand_as(F.constant(torch.ones(1, 4, 1, 11), x), x) * x,
}


def _run_dynamic(fn, shape, batches, module=None, **define_kw):
    spec = trtnn.Input("x", (-1, *shape[1:]), min_shape=(1, *shape[1:]), max_shape=(max(batches), *shape[1:]))
    module = module or Fn(lambda x: fn(trtnn.functional, x))
    net = trtnn.define(module, [spec], **define_kw)
    ex = Executor(net)
    outs = {b: ex({"x": torch.randn(b, *shape[1:], generator=g)}) for b in batches}
    return net, ex, outs


@pytest.mark.parametrize("name", list(CASES))
def test_op_with_dynamic_batch(name):
    fn = CASES[name]
    spec = trtnn.Input("x", (-1, 4, 6, 11), min_shape=(1, 4, 6, 11), max_shape=(3, 4, 6, 11))
    net = trtnn.define(Fn(lambda x: fn(trtnn.functional, x)), [spec])
    assert all(o.shape[0] == -1 for o in net.outputs)
    ex = Executor(net)
    for b in (1, 3):
        x = torch.randn(b, 4, 6, 11, generator=g)
        want = fn(TORCH, x)
        want = want if isinstance(want, list) else [want]
        got = list(ex({"x": x}).values())
        for gg, w in zip(got, want):
            assert gg.shape == w.shape
            assert rel_err(gg, w) <= 1e-5
    assert trtnn.build_network(net).nbytes > 0


# ---- dynamic height/width (any dim): every op group, executor vs torch at two shapes of one network -------------
HW = [(6, 11), (9, 8)]  # two shapes of one dynamic network: odd/even, non-square
HW_EVEN = [(6, 10), (8, 4)]


def _sdpa(F, x):
    return F.scaled_dot_product_attention(x, x * 0.5, x + 1, is_causal=True)


# name -> (fn(F, x), input shape with -1 for the dynamic dims, the two concrete shapes' varying dims)
DYN_CASES = {
    "conv_relu_maxpool": (lambda F, x: F.max_pool2d(F.relu(F.conv2d(x, W, padding=1)), 2), (2, 4, -1, -1), HW),
    "max_pool2d_ceil_pad": (lambda F, x: F.max_pool2d(x, 2, 2, 1, ceil_mode=True), (2, 4, -1, -1), HW),
    "max_pool2d_k3s2p1": (lambda F, x: F.max_pool2d(x, 3, 2, 1), (2, 4, -1, -1), HW),
    "avg_pool2d_ceil_include": (lambda F, x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True), (2, 4, -1, -1), HW),
    "avg_pool2d_ceil_exclude": (lambda F, x: F.avg_pool2d(x, 2, 2, 1, True, False), (2, 4, -1, -1), HW),
    "avg_pool2d_divisor": (lambda F, x: F.avg_pool2d(x, 3, 1, 1, divisor_override=5), (2, 4, -1, -1), HW),
    "max_pool1d": (lambda F, x: F.max_pool1d(x, 3, 2, 1, ceil_mode=True), (2, 4, -1), [(9,), (12,)]),
    "avg_pool1d": (lambda F, x: F.avg_pool1d(x, 2), (2, 4, -1), [(9,), (12,)]),
    "max_pool3d": (lambda F, x: F.max_pool3d(x, 2, ceil_mode=True), (1, 2, -1, -1, 5), [(3, 4), (5, 7)]),
    "avg_pool3d": (lambda F, x: F.avg_pool3d(x, (1, 2, 2)), (1, 2, -1, -1, 5), [(3, 4), (5, 7)]),
    "adaptive_avg_pool2d": (lambda F, x: F.adaptive_avg_pool2d(x, (2, 3)), (2, 4, -1, -1), HW),
    "adaptive_avg_pool2d_1": (lambda F, x: F.adaptive_avg_pool2d(x, 1), (2, 4, -1, -1), HW),
    "adaptive_avg_pool2d_none": (lambda F, x: F.adaptive_avg_pool2d(x, (None, 4)), (2, 4, -1, -1), HW),
    "adaptive_max_pool2d": (lambda F, x: F.adaptive_max_pool2d(x, (4, 3)), (2, 4, -1, -1), HW),
    "adaptive_avg_pool1d": (lambda F, x: F.adaptive_avg_pool1d(x, 5), (2, 4, -1), [(9,), (12,)]),
    "adaptive_max_pool1d": (lambda F, x: F.adaptive_max_pool1d(x, 4), (2, 4, -1), [(9,), (7,)]),
    "adaptive_avg_pool3d": (lambda F, x: F.adaptive_avg_pool3d(x, (2, 3, None)), (1, 2, -1, -1, 5), [(3, 4), (5, 7)]),
    "adaptive_max_pool3d": (lambda F, x: F.adaptive_max_pool3d(x, 2), (1, 2, -1, -1, 5), [(3, 4), (5, 7)]),
    "interpolate_size": (lambda F, x: F.interpolate(x, size=(5, 7), mode="bilinear"), (2, 4, -1, -1), HW),
    "interpolate_nearest_x2": (lambda F, x: F.interpolate(x, scale_factor=2), (2, 4, -1, -1), HW),
    "interpolate_bilinear_1_5": (lambda F, x: F.interpolate(x, scale_factor=1.5, mode="bilinear"), (2, 4, -1, -1), HW),
    "interpolate_bicubic_recompute": (lambda F, x: F.interpolate(x, scale_factor=3, mode="bicubic",
                                                                 recompute_scale_factor=True), (2, 4, -1, -1), HW),
    "interpolate_area": (lambda F, x: F.interpolate(x, size=(4, 3), mode="area"), (2, 4, -1, -1), HW),
    "interpolate_linear": (lambda F, x: F.interpolate(x, scale_factor=2, mode="linear", align_corners=True),
                           (2, 4, -1), [(9,), (5,)]),
    "pad_constant": (lambda F, x: F.pad(x, (1, 2, 3, 0), value=0.5), (2, 4, -1, -1), HW),
    "pad_reflect": (lambda F, x: F.pad(x, (2, 1, 1, 2), mode="reflect"), (2, 4, -1, -1), HW),
    "pad_replicate": (lambda F, x: F.pad(x, (2, 1, 1, 2), mode="replicate"), (2, 4, -1, -1), HW),
    "pad_circular": (lambda F, x: F.pad(x, (2, 1, 1, 2), mode="circular"), (2, 4, -1, -1), HW),
    "pad_crop": (lambda F, x: F.pad(x, (-1, 2, 0, -2)), (2, 4, -1, -1), HW),
    "narrow": (lambda F, x: [F.narrow(x, 2, 1, 3), F.narrow(x, 3, -4, 2)], (2, 4, -1, -1), HW),
    "split_sections": (lambda F, x: list(F.split(x, [1, 3], 1)) + list(x[:, :, :4].split([1, 3], 2)),
                       (2, 4, -1, -1), HW),
    "chunk": (lambda F, x: list(F.chunk(x, 3, 2)) + list(F.chunk(x, 2, 3)), (2, 4, -1, -1), [(6, 11), (9, 8)]),
    "glu": (lambda F, x: F.glu(x, -1), (2, 4, -1, -1), HW_EVEN),
    "getitem": (lambda F, x: [x[:, :, 1:-1, ::2], x[:, :, -3:, 2], x[..., -1], x[:, 1, 10:, :-20]],
                (2, 4, -1, -1), HW),
    "flip": (lambda F, x: F.flip(x, (2, 3)), (2, 4, -1, -1), HW),
    "roll": (lambda F, x: [F.roll(x, (2, -3), (2, 3)), F.roll(x, 5)], (2, 4, -1, -1), HW),
    "repeat_tile": (lambda F, x: [x.repeat(1, 2, 2, 3), F.tile(x, (2, 1))], (2, 4, -1, -1), HW),
    "pixel_shuffle": (lambda F, x: F.pixel_shuffle(x, 2), (2, 4, -1, -1), HW),
    "pixel_unshuffle": (lambda F, x: F.pixel_unshuffle(x, 2), (2, 4, -1, -1), HW_EVEN),
    "channel_shuffle": (lambda F, x: F.channel_shuffle(x, 2), (2, 4, -1, -1), HW),
    "flatten_unflatten": (lambda F, x: F.unflatten(F.flatten(x, 2), 2, (-1, 2)), (2, 4, -1, -1), HW_EVEN),
    "tril_triu": (lambda F, x: [F.tril(x, 1), F.triu(x, -2)], (2, 4, -1, -1), HW),
    "masked_fill": (lambda F, x: x.masked_fill(x > 0.5, -1.0), (2, 4, -1, -1), HW),
    "sdpa_causal": (_sdpa, (2, 4, -1, -1), HW),
    "softmax_reduce": (lambda F, x: [F.softmax(x, -1), x.sum(2), x.amax((2, 3))], (2, 4, -1, -1), HW),
    "norms": (lambda F, x: [F.group_norm(x, 2), F.instance_norm(x), F.local_response_norm(x, 3)], (2, 4, -1, -1), HW),
    "cumsum_topk": (lambda F, x: [F.cumsum(x, 3), F.topk(x, 2, 3).values], (2, 4, -1, -1), HW),
    "conv_transpose": (lambda F, x: F.conv_transpose2d(x, WT, stride=2, output_padding=1), (2, 4, -1, -1), HW),
    "conv1d_conv3d": (lambda F, x: F.conv1d(x, W[:, :, 1], padding=2, dilation=2), (2, 4, -1), [(9,), (5,)]),
}

def _concrete(shape, dims):
    it = iter(dims)
    return tuple(next(it) if d < 0 else d for d in shape)


@pytest.mark.parametrize("name", list(DYN_CASES))
def test_op_with_dynamic_dims(name):
    fn, shape, shapes = DYN_CASES[name]
    lo = tuple(min(s[i] for s in shapes) for i in range(len(shapes[0])))
    hi = tuple(max(s[i] for s in shapes) for i in range(len(shapes[0])))
    spec = trtnn.Input("x", shape, min_shape=_concrete(shape, lo), max_shape=_concrete(shape, hi))
    net = trtnn.define(Fn(lambda x: fn(trtnn.functional, x)), [spec])
    ex = Executor(net)
    for dims in shapes:
        x = torch.randn(_concrete(shape, dims), generator=g)
        want = fn(TORCH, x)
        want = want if isinstance(want, list) else [want]
        got = list(ex({"x": x}).values())
        assert len(got) == len(want)
        for gg, w in zip(got, want):
            assert gg.shape == w.shape, (dims, gg.shape, w.shape)
            assert rel_err(gg, w) <= 1e-5, dims


@pytest.mark.parametrize("name", ["unet", "yolov8n", "yolov5n", "yolo11n"])
def test_models_with_dynamic_batch(name):
    import refmodels

    make_ref = {"unet": lambda: refmodels.unet(3, 2, False), "yolov8n": lambda: refmodels.yolov8("n", nc=3),
                "yolov5n": lambda: refmodels.yolov5("n", nc=3), "yolo11n": lambda: refmodels.yolo11("n", nc=3)}[name]
    ref = refmodels.randomize_bn(make_ref(), 0).eval()
    mine = trtnn.models.get(name)(**({} if name == "unet" else {"nc": 3}))
    mine.load_state_dict(ref.state_dict())
    shape = (1, 3, 45, 67) if name == "unet" else (1, 3, 64, 96)
    spec = trtnn.Input("x", (-1, *shape[1:]), min_shape=shape, max_shape=(2, *shape[1:]))
    net = trtnn.define(mine, [spec])
    ex = Executor(net)
    x = torch.rand(2, *shape[1:], generator=g)
    with torch.inference_mode():
        want = ref(x)
        want = want[0] if isinstance(want, (tuple, list)) else want
    got = next(iter(ex({"x": x}).values()))
    assert got.shape == want.shape
    assert rel_err(got, want) <= 1e-4
    one = next(iter(ex({"x": x[:1]}).values()))
    assert rel_err(one, want[:1]) <= 1e-4
    assert trtnn.build_network(net).nbytes > 0


def test_end2end_dynamic_batch_equals_static():
    """Dynamic-batch detections equal static-batch ones at the same batch size (those are checked against the
    reference NMS in test_detect). Across batch sizes CPU conv kernels round differently (~1e-6), which can
    legitimately flip a near-threshold box, so each batch size is compared with its own static network."""
    import refmodels
    from trtnn.models.yolo.tasks import End2End
    from trtnn.models.vision import Preprocess

    ref = refmodels.randomize_bn(refmodels.yolov8("n", nc=80), 0).eval()
    mine = trtnn.models.get("yolov8n")()
    mine.load_state_dict(ref.state_dict())
    e2e = End2End(mine, conf=0.05, preprocess=Preprocess(), scale_to_orig=True)
    images = (torch.rand(3, 96, 128, 3, generator=g) * 255).to(torch.uint8)
    orig = torch.tensor([[480, 640], [300, 400], [96, 128]], dtype=torch.int32)
    net = trtnn.define(e2e, e2e.inputs((96, 128), max_batch=4))
    assert [o.shape for o in net.outputs] == [(-1, 1), (-1, 300, 4), (-1, 300), (-1, 300)]
    dyn = Executor(net)
    for b in (3, 1):
        feed = {"images": images[:b], "orig_size": orig[:b]}
        static = Executor(trtnn.define(e2e, e2e.inputs((96, 128), batch=b)))(feed)
        got = dyn(feed)
        assert int(static["num_dets"].sum()) > 0
        for k in static:
            assert torch.equal(got[k], static[k]), (b, k)
    assert trtnn.build_network(net).nbytes > 0


def test_centernet_dynamic_batch_equals_static():
    """CenterNet with a dynamic batch: DLA-34 (DCN) heads equal the static network's at each batch size (to CPU
    kernel rounding: 3x3 peak tests on such near-flat random heatmaps would flip on it), and the end-to-end
    detections of a small stand-in model are the same (same classes and counts, values to rounding)."""
    import refmodels
    from refmodels.centernet import centernet_dla34_dcn
    from test_models_centernet import randomize_offsets
    from trtnn.models.centernet import CtdetEnd2End
    from trtnn.models.vision import ctdet_preprocess

    torch.manual_seed(0)
    ref = refmodels.randomize_bn(centernet_dla34_dcn(num_classes=4), 0).eval()
    randomize_offsets(ref, 1)
    dla = trtnn.models.get("centernet_dla34")(num_classes=4)
    dla.load_state_dict(ref.state_dict())
    gen = torch.Generator().manual_seed(5)  # this test's data, whatever ran before
    x = torch.rand(3, 3, 64, 96, generator=gen)
    dyn = Executor(trtnn.define(dla, [trtnn.Input("x", (-1, 3, 64, 96), min_shape=(1, 3, 64, 96),
                                                  opt_shape=(4, 3, 64, 96), max_shape=(4, 3, 64, 96))]))
    for b in (3, 1):
        static = Executor(trtnn.define(dla, [trtnn.Input("x", (b, 3, 64, 96))]))({"x": x[:b]})
        got = dyn({"x": x[:b]})
        assert all(rel_err(got[k], static[k]) <= 1e-5 for k in ("hm", "wh", "reg"))

    class Tiny(trtnn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, stride=4, padding=1)

        def forward(self, x):
            y = self.conv(x)
            return {"hm": y[:, :4], "wh": y[:, 4:6].abs() * 4, "reg": y[:, 6:].sigmoid()}

    e2e = CtdetEnd2End(Tiny(), K=20, conf=0.2, preprocess=ctdet_preprocess(), scale_to_orig=True)
    images = (torch.rand(3, 64, 96, 3, generator=gen) * 255).to(torch.uint8)
    orig = torch.tensor([[480, 640], [300, 400], [64, 96]], dtype=torch.int32)
    net = trtnn.define(e2e, e2e.inputs((64, 96), max_batch=4))
    assert [o.shape for o in net.outputs] == [(-1, 1), (-1, 20, 4), (-1, 20), (-1, 20)]
    dyn = Executor(net)
    for b in (3, 1):
        feed = {"images": images[:b], "orig_size": orig[:b]}
        static = Executor(trtnn.define(e2e, e2e.inputs((64, 96), batch=b)))(feed)
        got = dyn(feed)
        assert int(static["num_dets"].min()) > 0
        for k in ("num_dets", "det_classes"):
            assert torch.equal(got[k], static[k]), (b, k)
        for k in ("det_boxes", "det_scores"):  # CPU kernels may round the last bit differently per shape
            assert torch.allclose(got[k], static[k], rtol=1e-5, atol=1e-5), (b, k)


def test_preprocess_runs_the_model_in_the_compute_dtype():
    from trtnn.models.yolo.tasks import End2End
    from trtnn.models.vision import Preprocess

    e2e = End2End(trtnn.models.get("yolov8n")(), preprocess=Preprocess())
    inputs = e2e.inputs((64, 64))
    half = trtnn.build(e2e, inputs, dtype="fp16", output_dtype="fp32")
    full = trtnn.build(e2e, inputs, dtype="fp32")
    assert half.nbytes < 0.7 * full.nbytes, (half.nbytes, full.nbytes)  # weights halve; NMS constants stay
    net = trtnn.define(e2e, inputs, dtype="fp16")
    convs = [net.network.get_layer(i) for i in range(net.network.num_layers)
             if net.network.get_layer(i).type == trtnn.backend.get().LayerType.CONVOLUTION]
    assert convs and all(c.get_output(0).dtype == trtnn.backend.get().DataType.HALF for c in convs)


def test_runtime_thresholds_stay_fp32_in_fp16_engines():
    from trtnn.models.yolo.tasks import End2End

    e2e = End2End(trtnn.models.get("yolov8n")(), runtime_thresholds=True)
    net = trtnn.define(e2e, e2e.inputs((64, 64)), dtype="fp16")
    trt = trtnn.backend.get()
    network = net.network
    types = {network.get_input(i).name: network.get_input(i).dtype for i in range(network.num_inputs)}
    assert types == {"images": trt.DataType.FLOAT, "conf_thres": trt.DataType.FLOAT, "iou_thres": trt.DataType.FLOAT}
    consumers = [network.get_layer(i) for i in range(network.num_layers)
                 if any(network.get_layer(i).get_input(j) is not None and network.get_layer(i).get_input(j).name ==
                        "conf_thres" for j in range(network.get_layer(i).num_inputs))]
    assert consumers and all(c.type != trt.LayerType.CAST or c.get_output(0).dtype == trt.DataType.FLOAT
                             for c in consumers)  # never rounded to fp16 on the way in


DYN_GROUPS = {
    "pooling": ["conv_relu_maxpool", "max_pool2d_ceil_pad", "avg_pool2d_ceil_include", "avg_pool2d_divisor",
                "adaptive_avg_pool2d", "adaptive_max_pool2d", "adaptive_avg_pool2d_none"],
    "resize": ["interpolate_size", "interpolate_nearest_x2", "interpolate_bilinear_1_5",
               "interpolate_bicubic_recompute", "interpolate_area"],
    "shape": ["pad_constant", "pad_reflect", "pad_circular", "narrow", "split_sections", "chunk", "getitem", "flip",
              "roll", "repeat_tile"],
    "rearrange_masking_attention": ["pixel_shuffle", "channel_shuffle", "tril_triu", "masked_fill", "sdpa_causal",
                                    "norms", "cumsum_topk", "conv_transpose"],
}


@pytest.mark.parametrize("group", list(DYN_GROUPS))
def test_op_group_engine_with_dynamic_dims(group):
    """One TensorRT-RTX engine per op group, with dynamic height and width (and what it computes matches torch)."""
    names = DYN_GROUPS[group]
    spec = trtnn.Input("x", (2, 4, -1, -1), min_shape=(2, 4, 6, 8), opt_shape=(2, 4, 8, 10),
                       max_shape=(2, 4, 9, 11))
    net = trtnn.define(Fn(lambda x: [y for n in names for y in _as_list(DYN_CASES[n][0](trtnn.functional, x))]),
                       [spec])
    x = torch.randn(2, 4, 7, 10, generator=g)
    want = [y for n in names for y in _as_list(DYN_CASES[n][0](TORCH, x))]
    got = list(Executor(net)({"x": x}).values())
    assert [tuple(t.shape) for t in got] == [tuple(t.shape) for t in want]
    assert all(rel_err(a, b) <= 1e-5 for a, b in zip(got, want))
    engine = trtnn.build_network(net)
    assert engine.nbytes > 0 and engine.inputs[0].shape == (2, 4, -1, -1)


def _as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


# ---- several optimization profiles -------------------------------------------------------------------------------
TWO = [((1, 3, 8, 8), (1, 3, 16, 16), (2, 3, 16, 16)), ((1, 3, 32, 24), (4, 3, 48, 48), (8, 3, 64, 64))]


def test_input_with_several_profiles_builds_and_the_executor_selects_like_tensorrt():
    inp = trtnn.Input("x", (-1, 3, -1, -1), profiles=TWO)
    assert inp.profile(1) == TWO[1] and inp.min_shape is None
    assert inp.describe() == ("x: -1x3x-1x-1 fp32; profile 0: min 1x3x8x8 opt 1x3x16x16 max 2x3x16x16; "
                              "profile 1: min 1x3x32x24 opt 4x3x48x48 max 8x3x64x64")
    net = trtnn.define(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)), [inp])
    ex = Executor(net)
    assert ex.num_profiles == 2
    assert [ex.select_profile({"x": s}) for s in [(2, 3, 9, 16), (3, 3, 40, 24), (1, 3, 16, 16)]] == [0, 1, 0]
    assert ex({"x": torch.randn(5, 3, 33, 27, generator=g)})["output"].shape == (5, 4, 16, 13)
    with pytest.raises(trtnn.InputError) as e:
        ex({"x": torch.randn(3, 3, 16, 16, generator=g)})
    assert str(e.value) == (
        "the input shapes fit none of the network's 2 optimization profiles: profile 0: input 'x': shape "
        "(3, 3, 16, 16) is outside the network's profile (min (1, 3, 8, 8), max (2, 3, 16, 16)): dim 0 is 3, "
        "allowed 1..2; profile 1: input 'x': shape (3, 3, 16, 16) is outside the network's profile "
        "(min (1, 3, 32, 24), max (8, 3, 64, 64)): dim 2 is 16, allowed 32..64")
    engine = trtnn.build_network(net)
    assert engine.profiles == [{"x": [list(s) for s in p]} for p in TWO]
    assert "profiles=[{'x': [[1, 3, 8, 8]" in repr(engine)


def test_one_profile_outside_names_the_dim_value_and_range():
    net = trtnn.define(nn.ReLU(), [trtnn.Input("x", (-1, 3, -1), min_shape=(1, 3, 4), max_shape=(2, 3, 9))])
    with pytest.raises(trtnn.InputError, match=r"input 'x': shape \(2, 3, 10\) is outside the network's profile "
                                               r"\(min \(1, 3, 4\), max \(2, 3, 9\)\): dim 2 is 10, allowed 4\.\.9$"):
        Executor(net)({"x": torch.zeros(2, 3, 10)})


@pytest.mark.parametrize("kwargs, cls, fragments", [
    (dict(profiles=[((2, 3), (1, 3), (4, 3))]), trtnn.ShapeError, ["input 'x'", "profile 0: dimension 0",
                                                                   "min 2, opt 1, max 4"]),
    (dict(profiles=[((1, 3), (4, 3)), ((5, 3), (9, 3), (8, 3))]), trtnn.ShapeError,
     ["profile 1: dimension 0 needs min <= opt <= max, got min 5, opt 9, max 8"]),
    (dict(profiles=[((1, 4), (4, 4))]), trtnn.ShapeError, ["profile 0: min_shape (1, 4) does not fit shape (-1, 3)"]),
    (dict(profiles=[((1, 3), (4, 3))], min_shape=(1, 3), max_shape=(4, 3)), trtnn.ConfigError,
     ["profiles and min/opt/max_shape both given"]),
    (dict(profiles=[]), trtnn.ConfigError, ["non-empty list of (min, opt, max)"]),
    (dict(profiles=[((1, 3),)]), trtnn.ConfigError, ["profiles[0] must be (min, opt, max) or (min, max)"]),
    (dict(profiles=[((1, 3), (4, 3)), ((1, 3), (4, 3))]), trtnn.ConfigError, ["profiles[1] repeats profile 0"]),
])
def test_bad_profiles(kwargs, cls, fragments):
    with pytest.raises(cls) as e:
        trtnn.Input("x", (-1, 3), **kwargs)
    assert all(f in str(e.value) for f in fragments), str(e.value)


def test_inputs_with_different_profile_counts_are_refused():
    a = trtnn.Input("a", (-1, 3), profiles=[((1, 3), (2, 3)), ((3, 3), (4, 3))])
    b = trtnn.Input("b", (-1, 3), profiles=[((1, 3), (2, 3)), ((3, 3), (4, 3)), ((5, 3), (6, 3))])
    c = trtnn.Input("c", (-1, 3), min_shape=(1, 3), max_shape=(9, 3))
    assert trtnn.compile.profile_count([a, c]) == 2
    with pytest.raises(trtnn.ConfigError, match="different numbers of profiles"):
        trtnn.build(Fn(lambda a, b: a + b), [a, b])


def test_cli_repeated_min_opt_max_groups_make_profiles(tmp_path, capsys):
    from trtnn import cli

    base = ["build", "test_cli:tiny", "--input", "x:-1x3x-1x-1", "-o", tmp_path / "p.plan"]
    two = ["--min", "x:1x3x8x8", "--max", "x:2x3x16x16", "--min", "x:1x3x32x32", "--opt", "x:2x3x48x48",
           "--max", "x:4x3x64x64"]
    # --opt given for one profile only: unpaired
    assert cli.main([str(a) for a in base + two]) == 2
    assert "input 'x': 2 --min, 1 --opt and 2 --max; each optimization profile takes one --min and one --max" \
        in capsys.readouterr().err
    two.insert(2, "--opt"), two.insert(3, "x:1x3x16x16")
    assert cli.main([str(a) for a in base + two]) == 0
    out = capsys.readouterr().out
    assert "x [profile 0]: min 1x3x8x8  opt 1x3x16x16  max 2x3x16x16" in out
    assert "x [profile 1]: min 1x3x32x32  opt 2x3x48x48  max 4x3x64x64" in out
    # a duplicate --min for one input (the second used to win silently)
    assert cli.main([str(a) for a in base + ["--min", "x:1x3x8x8", "--min", "x:2x3x8x8", "--max", "x:4x3x8x8"]]) == 2
    assert "input 'x': 2 --min and 1 --max" in capsys.readouterr().err


# ---- whole networks with a dynamic height and width: equal to static networks at 3 shapes --------------------
class ReadmeNet(nn.Module):
    """The README's network: Conv-BN-ReLU-MaxPool."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        return self.pool(trtnn.functional.relu(self.bn(self.conv(x))))


def _randomized(model, seed=0):
    gen = torch.Generator().manual_seed(seed)
    state = {k: (torch.rand(v.shape, generator=gen) + 0.5 if "var" in k else torch.randn(v.shape, generator=gen))
             if v.is_floating_point() else v for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    return model


def _same_as_static(model, c, shapes, batches=(1, 2), tol=1e-6):
    """A network with dynamic batch, height and width equals static networks at `shapes` (H, W) on the executor,
    and builds an engine with TensorRT-RTX."""
    lo = (min(batches), c, min(h for h, _ in shapes), min(w for _, w in shapes))
    hi = (max(batches), c, max(h for h, _ in shapes), max(w for _, w in shapes))
    net = trtnn.define(model, [trtnn.Input("x", (-1, c, -1, -1), min_shape=lo, max_shape=hi)])
    dyn = Executor(net)
    for (h, w), b in zip(shapes, [max(batches), min(batches), max(batches)]):
        x = torch.randn(b, c, h, w, generator=g)
        static = Executor(trtnn.define(model, [trtnn.Input("x", (b, c, h, w))]))({"x": x})
        got = dyn({"x": x})
        for k in static:
            assert got[k].shape == static[k].shape, (h, w, k)
            assert rel_err(got[k], static[k]) <= tol, (h, w, k, rel_err(got[k], static[k]))
    engine = trtnn.build_network(net)
    assert engine.inputs[0].shape == (-1, c, -1, -1) and engine.profiles == [{"x": [list(lo), list(hi), list(hi)]}]


def test_readme_net_dynamic_hw_equals_static():
    _same_as_static(_randomized(ReadmeNet()), 3, [(32, 32), (17, 45), (64, 24)])


def test_resnet18_dynamic_hw_equals_static():
    from examples.resnet import resnet18

    _same_as_static(_randomized(resnet18(num_classes=10)), 3, [(64, 64), (33, 95), (96, 40)])


def test_unet_dynamic_hw_equals_static_including_the_pad_to_match_path():
    """Odd sizes make UNet's up-sampled maps smaller than the skip connections: the padding is computed in the
    engine from the runtime sizes."""
    from trtnn.models.unet import UNet

    _same_as_static(_randomized(UNet(3, 2, bilinear=False)), 3, [(32, 32), (37, 45), (48, 19)])


# ---- shipped families with a dynamic batch AND height/width: equal to static networks at 3 shapes ----------------
def _plausible(model, seed=0):
    """`model` with random weights that keep activations in range (fan-in scaled kernels, BN near identity); the
    DFL's fixed arange kernel is kept."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for k, v in model.state_dict().items():
        if not v.is_floating_point() or ".dfl." in k:
            state[k] = v
        elif "running_var" in k:
            state[k] = torch.rand(v.shape, generator=gen) + 0.5
        elif v.dim() <= 1:
            state[k] = (1.0 if k.endswith("weight") else 0.0) + 0.1 * torch.randn(v.shape, generator=gen)
        else:
            state[k] = torch.randn(v.shape, generator=gen) / max(v[0].numel(), 1) ** 0.5
    model.load_state_dict(state)
    return model


SHAPES = [(2, 64, 32), (1, 32, 32), (2, 32, 96)]  # (batch, h, w): non-square both ways and the extremes
# one per family and task; the YOLO task heads the end-to-end test below runs (yolov8n, v8 seg / obb, yolo26 pose /
# obb) are compared there, decoded outputs included
RAW = ["yolov5n", "yolo11n", "yolov10n", "yolo26n", "yolo11n-pose", "yolo11n-cls", "yolo26n-seg", "centernet_res18",
       "centernet_dla34", "centernet_dlav0_34", "unet_bilinear"]


@pytest.mark.parametrize("name", RAW)
def test_family_raw_dynamic_batch_and_hw_equals_static(name):
    """Anchors, strides, grids, DCN sampling grids and UNet's padding are computed in the engine from the runtime
    shapes: the dynamic network's outputs equal static networks' (bit-identical but for the CPU kernels' summation
    order on some shapes: <= 1e-6)."""
    kw = {"num_classes": 3} if name.startswith("centernet") else {} if name.startswith("unet") else {"nc": 3}
    model = _plausible(trtnn.models.get(name)(**kw))
    spec = trtnn.Input("x", (-1, 3, -1, -1), min_shape=(1, 3, 32, 32), opt_shape=(2, 3, 64, 64),
                       max_shape=(2, 3, 64, 96))
    dyn = Executor(trtnn.define(model, [spec]))
    for b, h, w in SHAPES:
        x = torch.rand(b, 3, h, w, generator=g)
        static = Executor(trtnn.define(model, [trtnn.Input("x", (b, 3, h, w))]))({"x": x})
        got = dyn({"x": x})
        assert list(got) == list(static)
        for k in static:
            assert got[k].shape == static[k].shape and torch.isfinite(static[k]).all(), (name, k, b, h, w)
            assert rel_err(got[k], static[k]) <= 1e-6, (name, k, b, h, w, rel_err(got[k], static[k]))


# ---- what stays static is refused naming the op, the tensor and the dim ------------------------------------------
@pytest.mark.parametrize("fn, cls, fragments", [
    (lambda F, x: F.split(x, 2, 2), trtnn.UnsupportedError, ["split of 'x'", "along dim 2", "dynamic",
                                                             "section sizes as a list"]),
    (lambda F, x: F.interpolate(x, scale_factor=1.5, recompute_scale_factor=True), trtnn.UnsupportedError,
     ["recompute_scale_factor=True", "'x'", "dim 2 is dynamic"]),
    (lambda F, x: F.interpolate(x, scale_factor=0.5, mode="area"), trtnn.UnsupportedError,
     ["mode='area' with scale_factor", "'x'", "dim 2 is dynamic", "give size="]),
    (lambda F, x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, divisor_override=4), trtnn.UnsupportedError,
     ["avg_pool2d with divisor_override and ceil_mode=True", "'x'", "dim 2 is dynamic"]),
    (lambda F, x: F.group_norm(x.permute(0, 2, 1, 3), 2), trtnn.ShapeError,
     ["group_norm", "static C (dim 1", "per channel"]),
])
def test_static_only_refused_with_the_dim(fn, cls, fragments):
    spec = trtnn.Input("x", (2, 4, -1, -1), min_shape=(2, 4, 4, 4), max_shape=(2, 4, 9, 9))
    with pytest.raises(cls) as e:
        trtnn.define(Fn(lambda x: fn(trtnn.functional, x)), [spec])
    assert all(f in str(e.value) for f in fragments), str(e.value)


def test_image_size_rules_checked_against_the_profile():
    from trtnn.models.vision import Preprocess
    from trtnn.models.yolo.tasks import End2End

    e2e = End2End(trtnn.models.get("yolov8n")(nc=3), preprocess=Preprocess())
    with pytest.raises(trtnn.ShapeError, match=r"input 'images' dim 1 \(height\): the min 40 is not a multiple of "
                                               r"the model's stride 32; the next valid value is 64"):
        e2e.inputs((128, 160), min_imgsz=(40, 32))
    with pytest.raises(trtnn.ShapeError, match=r"dim 2 \(width\): the max 150 .* next valid value is 160"):
        e2e.inputs((128, 150), min_imgsz=(32, 32))
    images = e2e.inputs((128, 160), max_batch=4, min_imgsz=(32, 64))[0]
    assert images.shape == (-1, -1, -1, 3) and images.profile() == ((1, 32, 64, 3), (4, 128, 160, 3),
                                                                    (4, 128, 160, 3))


def _e2e(name):
    from trtnn.models.centernet import CtdetEnd2End
    from trtnn.models.vision import Preprocess, ctdet_preprocess
    from trtnn.models.yolo.tasks import (End2End, OBBEnd2End, OBBTopKEnd2End, PoseEnd2End, PoseTopKEnd2End,
                                         SegmentEnd2End, SegmentTopKEnd2End, TopKEnd2End)

    if name.startswith("centernet"):
        model = _plausible(trtnn.models.get(name)(num_classes=3), 1)
        return CtdetEnd2End(model, K=20, conf=0.05, preprocess=ctdet_preprocess(), scale_to_orig=True)
    model = _plausible(trtnn.models.get(name.split(":")[0])(nc=3), 1)
    kw = dict(conf=0.05, preprocess=Preprocess(), scale_to_orig=True)
    return {
        "yolov8n": lambda: End2End(model, **kw), "yolov5n": lambda: End2End(model, kind="v5", **kw),
        "yolov10n": lambda: TopKEnd2End(model, **kw), "yolo26n": lambda: TopKEnd2End(model, **kw),
        "yolov8n-seg": lambda: SegmentEnd2End(model, **kw), "yolo26n-seg:proto": lambda: SegmentTopKEnd2End(
            model, mask_resolution="proto", **kw),
        "yolo11n-pose": lambda: PoseEnd2End(model, (17, 3), **kw),
        "yolo26n-pose": lambda: PoseTopKEnd2End(model, (17, 3), **kw),
        "yolov8n-obb": lambda: OBBEnd2End(model, **kw), "yolo26n-obb": lambda: OBBTopKEnd2End(model, **kw),
    }[name]()


E2E = ["yolov8n", "yolov5n", "yolov8n-seg", "yolo26n-seg:proto", "yolo11n-pose", "yolo26n-pose", "yolov8n-obb",
       "yolo26n-obb", "centernet_res18"]  # yolo26n's top-k: in yolo26n-seg's


@pytest.mark.parametrize("name", E2E)
def test_family_end2end_dynamic_batch_and_hw_equals_static(name):
    """Preprocess, decode, NMS / top-k, boxes (keypoints, masks) back to the original images, with a dynamic batch
    and image size: the same detections as static networks at 3 sizes (uint8 NHWC images, extremes included);
    32x32 gives fewer anchors than max_det / pre_nms_topk (the padded top-k path)."""
    e2e = _e2e(name)
    net = trtnn.define(e2e, e2e.inputs((64, 96), max_batch=2, min_imgsz=(32, 32)))
    assert net.inputs[0].shape == (-1, -1, -1, 3) and net.outputs[0].shape == (-1, 1)
    dyn = Executor(net)
    found = 0
    for b, h, w in SHAPES:
        feed = {"images": (torch.rand(b, h, w, 3, generator=g) * 255).to(torch.uint8),
                "orig_size": torch.tensor([[480, 640], [300, 400]][:b], dtype=torch.int32)}
        static = Executor(trtnn.define(e2e, e2e.inputs((h, w), batch=b)))(feed)
        got = dyn(feed)
        assert list(got) == list(static)
        for k in static:
            assert torch.equal(got[k], static[k]), (name, k, b, h, w)
        found += int(static["num_dets"].sum())
    assert found > 0
    if name in ("yolov8n", "yolov8n-seg", "centernet_res18"):
        engine = trtnn.build_network(net)
        assert engine.inputs[0].shape == (-1, -1, -1, 3)
        assert engine.profiles[0]["images"] == [[1, 32, 32, 3], [2, 64, 96, 3], [2, 64, 96, 3]]


def test_classify_end2end_dynamic_hw_equals_static():
    from trtnn.models.vision import ClassifyPreprocess
    from trtnn.models.yolo.tasks import ClassifyEnd2End

    e2e = ClassifyEnd2End(_plausible(trtnn.models.get("yolo11n-cls")(nc=7)), ClassifyPreprocess())
    dyn = Executor(trtnn.define(e2e, e2e.inputs((64, 96), max_batch=2, min_imgsz=(32, 32))))
    for b, h, w in SHAPES:
        images = (torch.rand(b, h, w, 3, generator=g) * 255).to(torch.uint8)
        static = Executor(trtnn.define(e2e, e2e.inputs((h, w), batch=b)))({"images": images})
        got = dyn({"images": images})
        assert all(torch.equal(got[k], static[k]) for k in static)
    with pytest.raises(trtnn.ShapeError, match="dynamic image size cannot be resized from the fixed src_hw"):
        ClassifyEnd2End(e2e.model, ClassifyPreprocess(src_hw=(80, 80), crop_hw=(64, 64))).inputs(
            (64, 64), min_imgsz=(32, 32))


def test_readme_dynamic_command_builds_the_readme_net(tmp_path):
    """The README's dynamic-shape command, on the README's own network (Conv-BN-ReLU-MaxPool)."""
    import os
    import re
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    readme = open(os.path.join(root, "README.md")).read()
    net_src = re.search(r"```python\n(.*?)\ntorch_net = ", readme, re.S).group(1)
    (tmp_path / "mynet.py").write_text(net_src + "\n\ndef make():\n    return Net()\n")
    cmd = re.search(r"^trtnn (build mynet:make --input x:-1x3x-1x-1 .*)$", readme, re.M).group(1).split()
    cmd[cmd.index("-o") + 1] = str(tmp_path / "m.plan")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), root, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-m", "trtnn.cli", *cmd], capture_output=True, text=True, timeout=600,
                         env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "input  x: -1x3x-1x-1 fp32" in out.stdout and "output output: -1x16x-1x-1 fp32" in out.stdout
    assert "range  x: min 1x3x224x224  opt 4x3x320x320  max 8x3x640x640" in out.stdout


@pytest.mark.parametrize("batch_first", [True, False])
def test_transformer_layers_with_dynamic_batch_and_sequence(batch_first):
    """trtnn.nn layers (MultiheadAttention inside TransformerEncoderLayer, causal mask from the runtime length) with
    a dynamic batch and sequence length, against torch at two shapes of one network."""
    from ops_harness import randomized

    ref = randomized(torch.nn.TransformerEncoderLayer(16, 2, 32, batch_first=batch_first, dropout=0.0))
    mine = nn.TransformerEncoderLayer(16, 2, 32, batch_first=batch_first, dropout=0.0)
    mine.load_state_dict(ref.state_dict())
    mha_ref = randomized(torch.nn.MultiheadAttention(16, 4, batch_first=True))
    mha = nn.MultiheadAttention(16, 4, batch_first=True)
    mha.load_state_dict(mha_ref.state_dict())

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer, self.mha = mine, mha

        def forward(self, x):
            y = self.layer(x)
            z = y if batch_first else trtnn.functional.transpose(y, 0, 1)
            return y, self.mha(z, z, z, need_weights=False)[0]

    shape = (-1, -1, 16)
    net = trtnn.define(Net(), [trtnn.Input("x", shape, min_shape=(1, 1, 16), max_shape=(12, 12, 16))])
    ex = Executor(net)
    for n, length in ((2, 7), (3, 12)):
        x = torch.randn((n, length, 16) if batch_first else (length, n, 16), generator=g)
        with torch.no_grad():
            y = ref(x)
            z = y if batch_first else y.transpose(0, 1)
            want = [y, mha_ref(z, z, z, need_weights=False)[0]]
        got = list(ex({"x": x}).values())
        for a, b in zip(got, want):
            assert a.shape == b.shape and rel_err(a, b) <= 1e-5
