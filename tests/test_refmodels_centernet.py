"""Checks of the CenterNet reference (tests/refmodels/centernet.py) against the original's facts.

Keys/shapes come from tests/data/keys/centernet_*.keys, parameter counts from MODELS.md. The pure-torch DCNv2
(deform_conv2d_ref) is checked against F.conv2d, shifted convs, a hand-computed bilinear case and a literal
scalar-loop transcription of DCNv2's CUDA im2col kernel; ctdet_decode against hand-made heatmaps.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from refmodels import (
    centernet_dla34_dcn,
    centernet_dlav0_34,
    centernet_resnet,
    ctdet_decode,
    ctdet_detect,
    deform_conv2d_ref,
    randomize_bn,
)
from refmodels import centernet as cn
from test_refmodels import build_meta
from harness import parse_keys

BUILDERS = {
    "centernet_res18": lambda: centernet_resnet(18),
    "centernet_res101": lambda: centernet_resnet(101),
    "centernet_dla34_dcn": centernet_dla34_dcn,
    "centernet_dlav0_34": centernet_dlav0_34,
}
BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
KEYS = {"centernet_dla34_dcn": "centernet_dla34"}  # create_model('dla_34')'s keys: with base.fc


def parse_keys_of(name):
    return parse_keys(KEYS.get(name, name))


# ---------------------------------------------------------------------------------- (a) keys and params


@pytest.mark.parametrize("name", list(BUILDERS))
def test_state_dict_keys_and_shapes(name):
    model = build_meta(BUILDERS[name])
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == parse_keys_of(name)  # keys, shapes, order


def _keys_file_params(name):
    return sum(math.prod(s) for k, s in parse_keys_of(name) if not k.endswith(BUFFERS))


PARAMS = {
    "centernet_res18": 15_820_372,  # MODELS.md
    "centernet_res101": 53_435_476,  # MODELS.md
    "centernet_dla34_dcn": 19_675_892 + 513_000,  # MODELS.md (without base.fc) + base.fc
    "centernet_dlav0_34": 18_474_476,  # = the keys file's parameters, including base.fc (513,000)
}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_param_count(name):
    model = build_meta(BUILDERS[name])
    n = sum(p.numel() for p in model.parameters())
    assert n == PARAMS[name] == _keys_file_params(name)
    assert len(list(model.parameters())) == sum(1 for k, _ in parse_keys_of(name) if not k.endswith(BUFFERS))


def test_structure_details():
    dcn = build_meta(centernet_dla34_dcn)
    assert dcn.base.fc.weight.shape == (1000, 512, 1, 1)
    v0 = build_meta(centernet_dlav0_34)
    assert v0.base.fc.weight.shape == (1000, 512, 1, 1)
    assert isinstance(v0.dla_up.ida_0.proj_0, cn.Identity) and isinstance(v0.dla_up.ida_0.up_0, cn.Identity)
    up = dcn.ida_up.up_2  # x4: kernel 8, stride 4, padding 2, depthwise
    assert (up.kernel_size, up.stride, up.padding, up.groups) == ((8, 8), (4, 4), (2, 2), 64)
    conv = dcn.dla_up.ida_0.proj_1.conv
    assert conv.conv_offset_mask.out_channels == 27 and conv.conv_offset_mask.padding == (1, 1)
    res = build_meta(lambda: centernet_resnet(18))
    d = res.deconv_layers[0]
    assert (d.kernel_size, d.stride, d.padding, d.output_padding, d.bias) == ((4, 4), (2, 2), (1, 1), (0, 0), None)
    assert centernet_resnet(18, num_classes=3).hm[2].out_channels == 3


def test_up_weights_are_bilinear():
    up = cn._depthwise_up(2, 2)
    k = torch.tensor([0.25, 0.75, 0.75, 0.25])
    assert torch.allclose(up.weight, (k[:, None] * k[None, :]).expand(2, 1, 4, 4))
    x = torch.ones(1, 2, 5, 5)
    y = up(x)  # bilinear upsampling of a constant is constant away from the border
    assert y.shape == (1, 2, 10, 10) and torch.allclose(y[..., 1:-1, 1:-1], torch.ones(()))


# ---------------------------------------------------------------------------------- (b) outputs


@pytest.mark.parametrize("name", list(BUILDERS))
def test_output_shapes(name):
    torch.manual_seed(0)
    model = _random_offsets(randomize_bn(BUILDERS[name](), seed=0), 0).eval()  # offsets: exercise the DCNs
    with torch.no_grad():
        out = model(torch.rand(1, 3, 128, 128))
    assert isinstance(out, list) and len(out) == 1 and list(out[0]) == ["hm", "wh", "reg"]
    assert out[0]["hm"].shape == (1, 80, 32, 32)
    assert out[0]["wh"].shape == (1, 2, 32, 32) and out[0]["reg"].shape == (1, 2, 32, 32)
    assert all(torch.isfinite(t).all() for t in out[0].values())
    det = ctdet_detect(out[-1], K=100)
    assert det.shape == (1, 100, 6) and torch.all(det[0, :-1, 4] >= det[0, 1:, 4])


def _random_offsets(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, cn.DCN):
                m.conv_offset_mask.weight.copy_(torch.randn(m.conv_offset_mask.weight.shape, generator=g) * 0.01)
                m.conv_offset_mask.bias.copy_(torch.randn(m.conv_offset_mask.bias.shape, generator=g) * 0.5)
    return model


def test_dla_dcn_dataflow_written_out():
    """pose_dla_dcn's DLAUp / IDAUp recursion, spelled out level by level (L2..L5 = strides 4..32)."""
    model = _random_offsets(randomize_bn(centernet_dla34_dcn(), seed=1), 7).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        out = model(x)[0]
        _, _, L2, L3, L4, L5 = model.base(x)
        u = model.dla_up
        A = u.ida_0.node_1(u.ida_0.up_1(u.ida_0.proj_1(L5)) + L4)  # 256 @ s16
        B1 = u.ida_1.node_1(u.ida_1.up_1(u.ida_1.proj_1(L4)) + L3)  # 128 @ s8
        B2 = u.ida_1.node_2(u.ida_1.up_2(u.ida_1.proj_2(A)) + B1)
        C1 = u.ida_2.node_1(u.ida_2.up_1(u.ida_2.proj_1(L3)) + L2)  # 64 @ s4
        C2 = u.ida_2.node_2(u.ida_2.up_2(u.ida_2.proj_2(B1)) + C1)
        C3 = u.ida_2.node_3(u.ida_2.up_3(u.ida_2.proj_3(B2)) + C2)
        v = model.ida_up  # over dla_up's [C3 (s4), B2 (s8), A (s16)]
        D1 = v.node_1(v.up_1(v.proj_1(B2)) + C3)
        D2 = v.node_2(v.up_2(v.proj_2(A)) + D1)
        assert D2.shape == (1, 64, 16, 16)
        for head in ("hm", "wh", "reg"):
            torch.testing.assert_close(out[head], getattr(model, head)(D2))


def test_dlav0_dataflow_written_out():
    """dlav0's DLAUp / IDAUp: nodes are convs on cat([previous node, projected + upsampled level])."""
    model = randomize_bn(centernet_dlav0_34(), seed=2).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        out = model(x)[0]
        _, _, L2, L3, L4, L5 = model.base(x)
        u = model.dla_up
        A = u.ida_0.node_1(torch.cat([L4, u.ida_0.up_1(u.ida_0.proj_1(L5))], 1))  # 256 @ s16
        B1 = u.ida_1.node_1(torch.cat([L3, u.ida_1.up_1(u.ida_1.proj_1(L4))], 1))  # 128 @ s8
        B2 = u.ida_1.node_2(torch.cat([B1, u.ida_1.up_2(u.ida_1.proj_2(A))], 1))
        C1 = u.ida_2.node_1(torch.cat([L2, u.ida_2.up_1(u.ida_2.proj_1(L3))], 1))  # 64 @ s4
        C2 = u.ida_2.node_2(torch.cat([C1, u.ida_2.up_2(u.ida_2.proj_2(B1))], 1))
        C3 = u.ida_2.node_3(torch.cat([C2, u.ida_2.up_3(u.ida_2.proj_3(B2))], 1))
        assert C3.shape == (1, 64, 16, 16)
        for head in ("hm", "wh", "reg"):
            torch.testing.assert_close(out[head], getattr(model, head)(C3))


def test_dcn_module_wiring():
    """conv_offset_mask output -> (o1, o2, mask logits) chunks -> offset cat(o1, o2), mask sigmoid."""
    torch.manual_seed(0)
    m = cn.DCN(3, 4, kernel_size=3, stride=1, padding=1)
    x = torch.randn(2, 3, 7, 6, dtype=torch.float64)
    m = m.double()
    with torch.no_grad():
        m.bias.normal_()
        # the original zero-initialises conv_offset_mask: zero offsets, mask = sigmoid(0) = 0.5
        torch.testing.assert_close(m(x), 0.5 * F.conv2d(x, m.weight, None, 1, 1) + m.bias.view(1, -1, 1, 1))
        b = torch.randn(27, dtype=torch.float64)
        m.conv_offset_mask.bias.copy_(b)
        off = b[:18].view(1, 18, 1, 1).expand(2, 18, 7, 6)
        mask = torch.sigmoid(b[18:]).view(1, 9, 1, 1).expand(2, 9, 7, 6)
        torch.testing.assert_close(m(x), deform_conv2d_ref(x, off, mask, m.weight, m.bias, 1, 1, 1))


# ---------------------------------------------------------------------------------- (c) deform_conv2d_ref


CONFIGS = [  # (H, W, k, stride, padding, dilation)
    (7, 9, 3, 1, 1, 1),
    (8, 7, 3, 2, 1, 1),
    (9, 9, 3, 1, 2, 2),
    (10, 11, 3, 2, 0, 1),
    (6, 8, 1, 1, 0, 1),
    (9, 8, 3, 2, 3, 2),
]


def _out_hw(H, W, k, s, p, d):
    return (H + 2 * p - d * (k - 1) - 1) // s + 1, (W + 2 * p - d * (k - 1) - 1) // s + 1


@pytest.mark.parametrize("H,W,k,s,p,d", CONFIGS)
def test_dcn_zero_offsets_is_conv(H, W, k, s, p, d):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, H, W, generator=g)
    w = torch.randn(5, 3, k, k, generator=g)
    b = torch.randn(5, generator=g)
    Ho, Wo = _out_hw(H, W, k, s, p, d)
    off = torch.zeros(2, 2 * k * k, Ho, Wo)
    mask = torch.ones(2, k * k, Ho, Wo)
    got = deform_conv2d_ref(x, off, mask, w, b, s, p, d)
    torch.testing.assert_close(got, F.conv2d(x, w, b, s, p, d), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("H,W,k,s,p,d", CONFIGS)
def test_dcn_integer_offsets_is_shifted_conv(H, W, k, s, p, d):
    """Tap (i, j) with integer offset (dy_k, dx_k) reads x[h + dy_k, w + dx_k], zero beyond the borders:
    a sum over taps of 1x1 convs on a shifted window of a zero-padded input."""
    g = torch.Generator().manual_seed(2)
    x = torch.randn(1, 2, H, W, generator=g, dtype=torch.float64)
    w = torch.randn(3, 2, k, k, generator=g, dtype=torch.float64)
    Ho, Wo = _out_hw(H, W, k, s, p, d)
    shifts = torch.randint(-3, 4, (k * k, 2), generator=g)
    off = shifts.to(torch.float64).view(1, 2 * k * k, 1, 1).expand(1, 2 * k * k, Ho, Wo)
    mask = torch.ones(1, k * k, Ho, Wo, dtype=torch.float64)
    got = deform_conv2d_ref(x, off, mask, w, None, s, p, d)
    M = p + 3 + d * k
    X = F.pad(x, (M, M, M, M))
    ref = torch.zeros(1, 3, Ho, Wo, dtype=torch.float64)
    for i in range(k):
        for j in range(k):
            dy, dx = shifts[i * k + j].tolist()  # channel 2k is dy, 2k + 1 is dx
            r0, c0 = M - p + i * d + dy, M - p + j * d + dx
            ref += F.conv2d(X[:, :, r0:, c0:], w[:, :, i:i + 1, j:j + 1], stride=s)[..., :Ho, :Wo]
    torch.testing.assert_close(got, ref)
    # the same shift for every tap is a conv of the shifted input
    off1 = torch.tensor([1.0, -2.0], dtype=torch.float64).repeat(k * k).view(1, -1, 1, 1).expand(1, -1, Ho, Wo)
    xs = torch.zeros_like(x)
    xs[..., : H - 1, 2:] = x[..., 1:, : W - 2]  # xs[h, w] = x[h + 1, w - 2]
    ref1 = F.conv2d(xs, w, None, s, p, d)
    got1 = deform_conv2d_ref(x, off1, mask, w, None, s, p, d)
    if p == 0:  # with padding the DCN also reads real pixels through the padded border, a plain shift doesn't
        torch.testing.assert_close(got1, ref1)


def test_dcn_hand_computed_bilinear():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])  # 1x1x2x2
    w = torch.ones(1, 1, 1, 1)
    # 1x1 kernel, stride 1, pad 0 -> output 2x2; offsets (dy, dx) per output pixel
    dy = torch.tensor([[0.5, 0.25], [-1.5, -2.0]])
    dx = torch.tensor([[0.5, 0.5], [0.0, -0.5]])
    off = torch.stack((dy, dx))[None]  # [1, 2, 2, 2]
    mask = torch.ones(1, 1, 2, 2)
    got = deform_conv2d_ref(x, off, mask, w, torch.zeros(1))[0, 0]
    # (0,0) samples (0.5, 0.5): mean of all four = 2.5
    # (0,1) samples (0.25, 1.5): w_high = 2 is outside -> 0.75*0.5*2 + 0.25*0.5*4 = 1.25
    # (1,0) samples (-0.5, 0.0): h_low = -1 outside, only x[0,0] with weight 0.5 -> 0.5
    # (1,1) samples (-1.0, 0.5): h > -1 fails -> 0
    torch.testing.assert_close(got, torch.tensor([[2.5, 1.25], [0.5, 0.0]]))
    # just inside the upper limits: (1.0, 1.0) is x[1,1] exactly; (1.5, 1.0) keeps only the low row
    off2 = torch.tensor([[[[0.0]], [[0.0]]]]).expand(1, 2, 2, 2).clone()
    off2[0, 0, 0, 0], off2[0, 1, 0, 0] = 1.0, 1.0  # (0,0) + (1, 1) -> (1, 1)
    off2[0, 0, 1, 1] = 0.5  # (1,1) + (0.5, 0) -> (1.5, 1): 0.5 * 4
    off2[0, 0, 0, 1] = 1.0  # (0,1) + (1.0, 0) -> (1, 1)
    off2[0, 1, 1, 0] = -0.999  # (1,0) + (0, -0.999) -> (1, -0.999): 0.001 * 3
    got2 = deform_conv2d_ref(x, off2, mask, w)[0, 0]
    torch.testing.assert_close(got2, torch.tensor([[4.0, 4.0], [0.001 * 3, 2.0]]), rtol=1e-4, atol=1e-5)
    # mask multiplies each sample
    m = torch.tensor([[[[0.5, 2.0], [1.0, 0.0]]]])
    torch.testing.assert_close(deform_conv2d_ref(x, off, m, w)[0, 0], torch.tensor([[1.25, 2.5], [0.5, 0.0]]))


def _dcn_cuda_loops(x, off, mask, w, b, s, p, d):
    """Literal scalar transcription of modulated_deformable_im2col_gpu_kernel + dmcn_im2col_bilinear + GEMM."""
    B, C, H, W = x.shape
    O, _, kh, kw = w.shape
    Ho, Wo = off.shape[2:]
    X, OF, MK, WT = x.tolist(), off.tolist(), mask.tolist(), w.tolist()

    def bilinear(img, h, ww):
        h_low, w_low = math.floor(h), math.floor(ww)
        h_high, w_high = h_low + 1, w_low + 1
        lh, lw = h - h_low, ww - w_low
        hh, hw = 1 - lh, 1 - lw
        v1 = img[h_low][w_low] if h_low >= 0 and w_low >= 0 else 0.0
        v2 = img[h_low][w_high] if h_low >= 0 and w_high <= W - 1 else 0.0
        v3 = img[h_high][w_low] if h_high <= H - 1 and w_low >= 0 else 0.0
        v4 = img[h_high][w_high] if h_high <= H - 1 and w_high <= W - 1 else 0.0
        return hh * hw * v1 + hh * lw * v2 + lh * hw * v3 + lh * lw * v4

    out = torch.zeros(B, O, Ho, Wo, dtype=torch.float64)
    for bb in range(B):
        for ho in range(Ho):
            for wo in range(Wo):
                col = []
                for c in range(C):
                    for i in range(kh):
                        for j in range(kw):
                            k = i * kw + j
                            h = ho * s - p + i * d + OF[bb][2 * k][ho][wo]
                            ww = wo * s - p + j * d + OF[bb][2 * k + 1][ho][wo]
                            val = bilinear(X[bb][c], h, ww) if (h > -1 and ww > -1 and h < H and ww < W) else 0.0
                            col.append(val * MK[bb][k][ho][wo])
                for o in range(O):
                    wf = [WT[o][c][i][j] for c in range(C) for i in range(kh) for j in range(kw)]
                    out[bb, o, ho, wo] = sum(a * v for a, v in zip(wf, col)) + float(b[o])
    return out


@pytest.mark.parametrize("H,W,k,s,p,d", CONFIGS[:4])
def test_dcn_random_fractional_offsets_match_cuda_loops(H, W, k, s, p, d):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 2, H, W, generator=g, dtype=torch.float64)
    w = torch.randn(3, 2, k, k, generator=g, dtype=torch.float64)
    b = torch.randn(3, generator=g, dtype=torch.float64)
    Ho, Wo = _out_hw(H, W, k, s, p, d)
    off = (torch.rand(2, 2 * k * k, Ho, Wo, generator=g, dtype=torch.float64) - 0.5) * 6  # many samples off-edge
    mask = torch.rand(2, k * k, Ho, Wo, generator=g, dtype=torch.float64)
    got = deform_conv2d_ref(x, off, mask, w, b, s, p, d)
    torch.testing.assert_close(got, _dcn_cuda_loops(x, off, mask, w, b, s, p, d))
    # fp32 agrees with fp64
    got32 = deform_conv2d_ref(x.float(), off.float(), mask.float(), w.float(), b.float(), s, p, d)
    torch.testing.assert_close(got32, got.float(), rtol=1e-4, atol=1e-4)


def test_dcn_mask_is_linear():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(1, 3, 8, 8, generator=g)
    w = torch.randn(4, 3, 3, 3, generator=g)
    b = torch.randn(4, generator=g)
    off = torch.randn(1, 18, 8, 8, generator=g) * 2
    mask = torch.rand(1, 9, 8, 8, generator=g)
    base = deform_conv2d_ref(x, off, mask, w, b, 1, 1, 1) - b.view(1, 4, 1, 1)
    scaled = deform_conv2d_ref(x, off, 0.3 * mask, w, b, 1, 1, 1) - b.view(1, 4, 1, 1)
    torch.testing.assert_close(scaled, 0.3 * base, rtol=1e-5, atol=1e-5)
    zero = deform_conv2d_ref(x, off, torch.zeros_like(mask), w, b, 1, 1, 1)
    torch.testing.assert_close(zero, b.view(1, 4, 1, 1).expand_as(zero))
    # per-tap masks: zeroing tap k equals dropping that tap's weights
    m2 = mask.clone()
    m2[:, 4] = 0
    w2 = w.clone()
    w2[:, :, 1, 1] = 0
    torch.testing.assert_close(deform_conv2d_ref(x, off, m2, w, b, 1, 1, 1), deform_conv2d_ref(x, off, mask, w2, b, 1, 1, 1))


def test_dcn_deformable_groups():
    """dg = 2: channels [0, C/2) use offsets/mask of group 0, the rest group 1."""
    g = torch.Generator().manual_seed(5)
    x = torch.randn(1, 4, 6, 6, generator=g, dtype=torch.float64)
    w = torch.randn(3, 4, 3, 3, generator=g, dtype=torch.float64)
    off = torch.randn(1, 36, 6, 6, generator=g, dtype=torch.float64)
    mask = torch.rand(1, 18, 6, 6, generator=g, dtype=torch.float64)
    got = deform_conv2d_ref(x, off, mask, w, None, 1, 1, 1)
    ref = deform_conv2d_ref(x[:, :2], off[:, :18], mask[:, :9], w[:, :2], None, 1, 1, 1) + deform_conv2d_ref(
        x[:, 2:], off[:, 18:], mask[:, 9:], w[:, 2:], None, 1, 1, 1)
    torch.testing.assert_close(got, ref)


# ---------------------------------------------------------------------------------- (d) decode


def test_ctdet_decode_hand_case():
    heat = torch.zeros(1, 3, 16, 16)
    heat[0, 0, 4, 5] = 0.9  # peak, class 0
    heat[0, 0, 4, 6] = 0.8  # its neighbour: suppressed
    heat[0, 0, 5, 5] = 0.85  # suppressed
    heat[0, 2, 10, 3] = 0.7  # peak, class 2
    heat[0, 1, 12, 12] = 0.5  # peak, class 1
    heat[0, 1, 13, 13] = 0.45  # diagonal neighbour: suppressed
    heat[0, 2, 4, 6] = 0.3  # same place as a class-0 non-peak but another class: a peak of its own
    wh = torch.zeros(1, 2, 16, 16)
    reg = torch.zeros(1, 2, 16, 16)
    wh[0, :, 4, 5] = torch.tensor([4.0, 2.0])
    reg[0, :, 4, 5] = torch.tensor([0.25, 0.5])
    wh[0, :, 10, 3] = torch.tensor([2.0, 6.0])
    reg[0, :, 10, 3] = torch.tensor([0.5, 0.0])
    wh[0, :, 12, 12] = torch.tensor([1.0, 1.0])
    wh[0, :, 4, 6] = torch.tensor([3.0, 3.0])
    dets = ctdet_decode(heat, wh, reg, K=6)
    assert dets.shape == (1, 6, 6)
    expected = torch.tensor([
        [5.25 - 2, 4.5 - 1, 5.25 + 2, 4.5 + 1, 0.9, 0],
        [3.5 - 1, 10 - 3, 3.5 + 1, 10 + 3, 0.7, 2],
        [12 - 0.5, 12 - 0.5, 12 + 0.5, 12 + 0.5, 0.5, 1],
        [6 - 1.5, 4 - 1.5, 6 + 1.5, 4 + 1.5, 0.3, 2],
    ])
    torch.testing.assert_close(dets[0, :4], expected)
    assert dets[0, 4:, 4].eq(0).all()  # suppressed neighbours (0.85, 0.8, 0.45) never appear
    # without reg the centre is the cell + 0.5
    d2 = ctdet_decode(heat, wh, None, K=3)
    torch.testing.assert_close(d2[0, 0, :4], torch.tensor([5.5 - 2, 4.5 - 1, 5.5 + 2, 4.5 + 1]))


def test_ctdet_decode_batch_and_detect():
    torch.manual_seed(0)
    hm = torch.full((2, 4, 8, 8), -10.0)
    hm[0, 3, 2, 7] = 3.0
    hm[1, 1, 6, 0] = 1.0
    out = {"hm": hm, "wh": torch.rand(2, 2, 8, 8) * 4, "reg": torch.rand(2, 2, 8, 8)}
    dets = ctdet_detect(out, K=5)
    assert dets.shape == (2, 5, 6)
    assert dets[0, 0, 4].item() == pytest.approx(torch.sigmoid(torch.tensor(3.0)).item())
    assert dets[0, 0, 5].item() == 3 and dets[1, 0, 5].item() == 1
    cx = (dets[1, 0, 0] + dets[1, 0, 2]) / 2
    assert cx.item() == pytest.approx(0 + out["reg"][1, 0, 6, 0].item())
    assert torch.equal(hm, out["hm"])  # not modified in place


def test_topk_two_stage_equals_flat_topk():
    """With distinct scores the per-class-then-overall top-K equals the commented-out flat top-K of the original."""
    g = torch.Generator().manual_seed(6)
    heat = torch.rand(2, 5, 9, 7, generator=g)
    K = 20
    scores, inds, clses, ys, xs = cn._topk(heat, K=K)
    s, idx = torch.topk(heat.view(2, -1), K)
    torch.testing.assert_close(scores, s)
    assert torch.equal(clses.long(), idx // 63) and torch.equal(inds, idx % 63)
    assert torch.equal(ys.long(), (idx % 63) // 7) and torch.equal(xs.long(), idx % 7)
    assert clses.dtype == torch.int32 and ys.dtype == torch.float32


def test_nms_keeps_plateaus():
    heat = torch.zeros(1, 1, 5, 5)
    heat[0, 0, 2, 2] = heat[0, 0, 2, 3] = 0.6  # equal neighbours: both are maxima of their window
    heat[0, 0, 0, 0] = 0.2  # next to 0.3: suppressed
    heat[0, 0, 1, 0] = 0.3  # a local maximum (0.6 is outside its 3x3 window)
    heat[0, 0, 3, 3] = 0.5  # next to 0.6: suppressed
    kept = cn._nms(heat)
    expected = torch.zeros(1, 1, 5, 5)
    expected[0, 0, 2, 2] = expected[0, 0, 2, 3] = 0.6
    expected[0, 0, 1, 0] = 0.3
    assert torch.equal(kept, expected)
