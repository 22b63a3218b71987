"""The CPU executor on hand-built networks: layers and settings the ONNX parser does not produce."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ref_util import Net, t, trt
from trtnn.errors import ShapeError, UnsupportedError
from trtnn.reference import Executor, run


# ---------------------------------------------------------------- quantize / dequantize
def test_int8_per_tensor_round_half_even_and_clamp():
    n = Net()
    x = n.input("x", (10,))
    q = n.net.add_quantize(x, n.const(np.float32(0.5)), trt.int8)
    dq = n.net.add_dequantize(q.get_output(0), n.const(np.float32(0.5)), trt.float32)
    n.output(q.get_output(0), dq.get_output(0))
    # x/scale = 0.5 1.5 2.5 -0.5 -1.5 -2.5 3.49 1000 -1000 -64.2
    x_val = t([0.25, 0.75, 1.25, -0.25, -0.75, -1.25, 1.745, 500.0, -500.0, -32.1])
    qv, dqv = n.run(x_val)
    assert qv.dtype == torch.int8
    assert qv.tolist() == [0, 2, 2, 0, -2, -2, 3, 127, -128, -64]
    assert dqv.tolist() == [0.0, 1.0, 1.0, 0.0, -1.0, -1.0, 1.5, 63.5, -64.0, -32.0]


def test_int8_per_channel_axis():
    n = Net()
    w = n.input("w", (2, 3))
    scale = n.const(np.array([0.5, 2.0], np.float32))
    q = n.net.add_quantize(w, scale, trt.int8)
    q.axis = 0
    dq = n.net.add_dequantize(q.get_output(0), scale, trt.float32)
    dq.axis = 0
    n.output(q.get_output(0), dq.get_output(0))
    qv, dqv = n.run(t([[0.75, -0.25, 100.0], [3.0, 5.0, -300.0]]))
    assert qv.tolist() == [[2, 0, 127], [2, 2, -128]]
    assert dqv.tolist() == [[1.0, 0.0, 63.5], [4.0, 4.0, -256.0]]


def test_fp8_quantize_saturates_and_rounds_to_even():
    n = Net()
    x = n.input("x", (4,))
    q = n.net.add_quantize(x, n.const(np.float32(1.0)), trt.fp8)
    dq = n.net.add_dequantize(q.get_output(0), n.const(np.float32(2.0)), trt.float32)
    n.output(dq.get_output(0))
    (out,) = n.run(t([1000.0, -1000.0, 17.0, 0.3]))
    # 448 = e4m3 max; 17 is halfway between 16 and 18 -> even mantissa 16; 0.3 -> 0.3125 (nearest e4m3)
    assert out.tolist() == [896.0, -896.0, 32.0, 0.625]


def test_qdq_int8_conv_with_kernel_and_bias_inputs():
    """Explicit-quantization conv: int8 weights -> per-channel DQ -> kernel input; bias as input tensor."""
    n = Net()
    x = n.input("x", (1, 2, 3, 3))
    act_scale = n.const(np.float32(0.5))
    qx = n.net.add_quantize(x, act_scale, trt.int8)
    dx = n.net.add_dequantize(qx.get_output(0), act_scale, trt.float32)
    w_scale = n.const(np.array([0.1, 1.0], np.float32))
    dw = n.net.add_dequantize(n.const(np.array([[[[10]], [[-20]]], [[[1]], [[2]]]], np.int8)), w_scale, trt.float32)
    dw.axis = 0
    conv = n.net.add_convolution_nd(dx.get_output(0), 2, (1, 1), trt.Weights(), trt.Weights())
    conv.set_input(1, dw.get_output(0))
    conv.set_input(2, n.const(np.array([0.5, -1.0], np.float32)))
    n.output(conv.get_output(0))
    xv = torch.full((1, 2, 3, 3), 0.3)
    xv[0, 1] = 0.76  # quantizes to 2 * 0.5 = 1.0 (0.3 -> 0.5: 0.6 rounds to 1)
    (out,) = n.run(xv)
    # channel 0: 1.0 * 0.5 - 2.0 * 1.0 + 0.5 = -1.0; channel 1: 0.5 * 1 + 1.0 * 2 - 1.0 = 1.5
    assert torch.allclose(out[0, :, 0, 0], t([-1.0, 1.5]))
    assert torch.allclose(out[0, 0], torch.full((3, 3), -1.0))


def test_fp8_weights_constant():
    n = Net()
    w = torch.tensor([0.5, -3.0, 448.0, 0.015625], dtype=torch.float8_e4m3fn)
    n.keep.append(w)
    c = n.net.add_constant((4,), trt.Weights(trt.fp8, w.data_ptr(), 4))
    dq = n.net.add_dequantize(c.get_output(0), n.const(np.float32(2.0)), trt.float32)
    n.output(dq.get_output(0))
    (out,) = n.run()
    assert out.tolist() == [1.0, -6.0, 896.0, 0.03125]


# ---------------------------------------------------------------- NMS
def test_nms_layer_crafted_boxes():
    n = Net()
    boxes = n.input("boxes", (1, 5, 4))
    scores = n.input("scores", (1, 5, 2))
    layer = n.net.add_nms(boxes, scores, n.const(np.int32(2)))
    layer.set_input(3, n.const(np.float32(0.5)))
    layer.set_input(4, n.const(np.float32(0.1)))
    n.output(layer.get_output(0), layer.get_output(1))
    b = t([[[0, 0, 10, 10],     # 0
            [1, 1, 11, 11],     # 1: IoU(0,1) = 81/119 = 0.68 -> suppressed by 0 in class 0
            [20, 20, 30, 30],   # 2
            [10, 10, 0, 0],     # 3: box 0 with swapped corners (IoU 1 with box 0)
            [0, 0, 10, 5]]])    # 4: IoU(0,4) = 0.5 -> kept (IoU <= threshold keeps)
    s = t([[[0.9, 0.05], [0.8, 0.7], [0.3, 0.6], [0.2, 0.65], [0.4, 0.01]]])
    sel, count = n.run(b, s)
    assert sel.dtype == torch.int32 and count.dtype == torch.int32
    # selection order: descending score over the batch; class 0: 0 then 4 (2 per class max, 2 would be third);
    # class 1: 1 (0.7), 3 (0.65, IoU(1,3)=0.68 -> suppressed), 2 (0.6)
    assert sel.tolist() == [[0, 0, 0], [0, 1, 1], [0, 1, 2], [0, 0, 4]]
    assert int(count) == 4


def test_nms_center_sizes_and_topk_limit():
    n = Net()
    boxes = n.input("boxes", (1, 3, 1, 4))
    scores = n.input("scores", (1, 3, 1))
    layer = n.net.add_nms(boxes, scores, n.const(np.int32(10)))
    layer.bounding_box_format = trt.BoundingBoxFormat.CENTER_SIZES
    layer.topk_box_limit = 2
    n.output(layer.get_output(0), layer.get_output(1))
    b = t([[[[5, 5, 10, 10]], [[50, 50, 4, 4]], [[5, 5, 10, 10]]]])
    sel, count = n.run(b, t([[[0.5], [0.9], [0.3]]]))
    # default IoU threshold 0: only disjoint boxes survive; top-K 2 drops box 2 before selection anyway
    assert sel.tolist() == [[0, 0, 1], [0, 0, 0]] and int(count) == 2


# ---------------------------------------------------------------- loops and conditionals
@pytest.mark.parametrize("reverse,axis", [(False, 0), (True, 0), (False, 1)])
def test_loop_cumulative_sum(reverse, axis):
    """Running sum over the rows (axis 0) or columns (axis 1) of x via a recurrence."""
    n = Net()
    x = n.input("x", (4, 3) if axis == 0 else (3, 4))
    loop = n.net.add_loop()
    it = loop.add_iterator(x, axis, reverse)
    rec = loop.add_recurrence(n.const(np.zeros(3, np.float32)))
    acc = n.net.add_elementwise(rec.get_output(0), it.get_output(0), trt.ElementWiseOperation.SUM)
    rec.set_input(1, acc.get_output(0))
    last = loop.add_loop_output(rec.get_output(0), trt.LoopOutput.LAST_VALUE)
    seq = loop.add_loop_output(acc.get_output(0), trt.LoopOutput.CONCATENATE, 1)
    seq.set_input(1, n.const(np.int32(4)))
    rev = loop.add_loop_output(acc.get_output(0), trt.LoopOutput.REVERSE, 0)
    rev.set_input(1, n.const(np.int32(5)))  # one more slot than iterations: the tail is undefined (zeros here)
    n.output(last.get_output(0), seq.get_output(0), rev.get_output(0))
    rows = torch.arange(12, dtype=torch.float32).reshape(4, 3) ** 2
    xv = rows if axis == 0 else rows.T.contiguous()
    lastv, seqv, revv = n.run(xv)
    src = rows.flip(0) if reverse else rows
    assert torch.equal(lastv, rows.sum(0))
    assert torch.equal(seqv, src.cumsum(0).T)
    assert torch.equal(revv[:4], src.cumsum(0).flip(0)) and revv.shape == (5, 3)


def test_while_loop_with_count_output():
    n = Net()
    x = n.input("x", ())
    loop = n.net.add_loop()
    rec = loop.add_recurrence(x)
    steps = loop.add_recurrence(n.const(np.int32(0)))
    cond = n.net.add_elementwise(rec.get_output(0), n.const(np.float32(10.0)), trt.ElementWiseOperation.LESS)
    loop.add_trip_limit(cond.get_output(0), trt.TripLimit.WHILE)
    doubled = n.net.add_elementwise(rec.get_output(0), n.const(np.float32(2.0)), trt.ElementWiseOperation.PROD)
    rec.set_input(1, doubled.get_output(0))
    inc = n.net.add_elementwise(steps.get_output(0), n.const(np.int32(1)), trt.ElementWiseOperation.SUM)
    steps.set_input(1, inc.get_output(0))
    n.output(loop.add_loop_output(rec.get_output(0), trt.LoopOutput.LAST_VALUE).get_output(0),
             loop.add_loop_output(steps.get_output(0), trt.LoopOutput.LAST_VALUE).get_output(0))
    value, count = n.run(t(1.5))
    assert float(value) == 12.0 and int(count) == 3  # 1.5 -> 3 -> 6 -> 12
    value, count = n.run(t(11.0))
    assert float(value) == 11.0 and int(count) == 0


def test_nested_loop_and_conditional_inside():
    """Outer loop over rows; inner counted loop adds the row 2 times; an if-conditional picks x or -x."""
    n = Net()
    x = n.input("x", (3, 2))
    flag = n.input("flag", (), trt.bool)
    outer = n.net.add_loop()
    row = outer.add_iterator(x).get_output(0)
    inner = n.net.add_loop()
    inner.add_trip_limit(n.const(np.int32(2)), trt.TripLimit.COUNT)
    acc = inner.add_recurrence(n.const(np.zeros(2, np.float32)))
    added = n.net.add_elementwise(acc.get_output(0), row, trt.ElementWiseOperation.SUM)
    acc.set_input(1, added.get_output(0))
    twice = inner.add_loop_output(acc.get_output(0), trt.LoopOutput.LAST_VALUE).get_output(0)
    cond = n.net.add_if_conditional()
    cond.set_condition(flag)
    inp = cond.add_input(twice).get_output(0)
    neg = n.net.add_unary(inp, trt.UnaryOperation.NEG).get_output(0)
    picked = cond.add_output(inp, neg).get_output(0)
    out = outer.add_loop_output(picked, trt.LoopOutput.CONCATENATE, 0)
    out.set_input(1, n.const(np.int32(3)))
    n.output(out.get_output(0))
    xv = t([[1, 2], [3, 4], [5, 6]])
    assert torch.equal(n.run(xv, torch.tensor(True))[0], 2 * xv)
    assert torch.equal(n.run(xv, torch.tensor(False))[0], -2 * xv)


# ---------------------------------------------------------------- resize
@pytest.mark.parametrize("rounding,expected", [
    ("FLOOR", [0, 0, 1, 1, 2, 3]), ("CEIL", [0, 1, 2, 2, 3, 3]),
    ("HALF_UP", [0, 1, 1, 2, 3, 3]), ("HALF_DOWN", [0, 0, 1, 2, 2, 3]),
])
def test_resize_nearest_rounding(rounding, expected):
    # half-pixel source coordinates for 4 -> 6: -0.17 0.5 1.17 1.83 2.5 3.17
    n = Net()
    x = n.input("x", (1, 4))
    r = n.net.add_resize(x)
    r.shape = (1, 6)
    r.resize_mode = trt.InterpolationMode.NEAREST
    r.coordinate_transformation = trt.ResizeCoordinateTransformation.HALF_PIXEL
    r.nearest_rounding = getattr(trt.ResizeRoundMode, rounding)
    n.output(r.get_output(0))
    (out,) = n.run(t([[10, 20, 30, 40]]))
    assert out[0].tolist() == [10.0 * (i + 1) for i in expected]


def test_resize_linear_transforms_and_single_pixel():
    xv = t([[10, 20, 30, 40]])
    results = {}
    for name, transform, size, selector in [
        ("asym", "ASYMMETRIC", 8, "FORMULA"), ("align", "ALIGN_CORNERS", 7, "FORMULA"),
        ("one_formula", "HALF_PIXEL", 1, "FORMULA"), ("one_upper", "HALF_PIXEL", 1, "UPPER"),
    ]:
        n = Net()
        r = n.net.add_resize(n.input("x", (1, 4)))
        r.shape = (1, size)
        r.resize_mode = trt.InterpolationMode.LINEAR
        r.coordinate_transformation = getattr(trt.ResizeCoordinateTransformation, transform)
        r.selector_for_single_pixel = getattr(trt.ResizeSelector, selector)
        n.output(r.get_output(0))
        results[name] = n.run(xv)[0][0].tolist()
    assert results["asym"] == [10, 15, 20, 25, 30, 35, 40, 40]
    assert results["align"] == [10, 15, 20, 25, 30, 35, 40]
    assert results["one_formula"] == [25.0]  # (0 + 0.5) * 4 - 0.5 = 1.5
    assert results["one_upper"] == [10.0]


def test_resize_scales_and_shape_tensor_and_cubic():
    n = Net()
    x = n.input("x", (1, 1, 3, 3))
    r = n.net.add_resize(x)
    r.set_input(1, n.const(np.array([1, 1, 5, 6], np.int32)))
    r.resize_mode = trt.InterpolationMode.CUBIC
    r.coordinate_transformation = trt.ResizeCoordinateTransformation.ALIGN_CORNERS
    r.cubic_coeff = -0.75
    n.output(r.get_output(0))
    xv = torch.arange(9, dtype=torch.float32).reshape(1, 1, 3, 3)
    (out,) = n.run(xv)
    ref = F.interpolate(xv, size=(5, 6), mode="bicubic", align_corners=True)
    assert torch.allclose(out, ref, atol=1e-5)


# ---------------------------------------------------------------- slice
@pytest.mark.parametrize("mode,expected", [
    ("WRAP", [3, 4, 0, 1, 2, 3, 4, 0, 1]), ("CLAMP", [0, 0, 0, 1, 2, 3, 4, 4, 4]),
    ("FILL", [9, 9, 0, 1, 2, 3, 4, 9, 9]), ("REFLECT", [2, 1, 0, 1, 2, 3, 4, 3, 2]),
])
def test_slice_modes(mode, expected):
    n = Net()
    x = n.input("x", (5,))
    s = n.net.add_slice(x, (-2,), (9,), (1,))
    s.mode = getattr(trt.SampleMode, mode)
    if mode == "FILL":
        s.set_input(4, n.const(np.float32(9)))
    n.output(s.get_output(0))
    assert n.run(t([0, 1, 2, 3, 4]))[0].tolist() == expected


def test_slice_negative_stride_and_dynamic_start():
    n = Net()
    x = n.input("x", (3, 5))
    a = n.net.add_slice(x, (2, 4), (3, 3), (-1, -2))
    b = n.net.add_slice(x, (0, 0), (2, 2), (1, 1))
    b.set_input(1, n.const(np.array([1, 3], np.int64)))
    n.output(a.get_output(0), b.get_output(0))
    xv = torch.arange(15, dtype=torch.float32).reshape(3, 5)
    av, bv = n.run(xv)
    assert torch.equal(av, xv.flip(0)[:, [4, 2, 0]])
    assert torch.equal(bv, xv[1:3, 3:5])


# ---------------------------------------------------------------- elementwise
def test_elementwise_broadcast_and_integer_semantics():
    n = Net()
    a = n.input("a", (2, 1, 3))
    b = n.input("b", (1, 4, 1))
    i = n.input("i", (4,), trt.int32)
    j = n.input("j", (4,), trt.int32)
    ew = trt.ElementWiseOperation
    outs = [n.net.add_elementwise(a, b, ew.SUB).get_output(0),
            n.net.add_elementwise(a, b, ew.GREATER).get_output(0),
            n.net.add_elementwise(i, j, ew.FLOOR_DIV).get_output(0),
            n.net.add_elementwise(i, j, ew.DIV).get_output(0),
            n.net.add_elementwise(i, j, ew.POW).get_output(0)]
    gt = n.net.add_elementwise(i, j, ew.GREATER).get_output(0)
    eq = n.net.add_elementwise(i, j, ew.EQUAL).get_output(0)
    outs.append(n.net.add_elementwise(gt, eq, ew.XOR).get_output(0))
    n.output(*outs)
    av, bv = t([[[1, 2, 3]], [[4, 5, 6]]]), t([[[0], [1], [2], [3]]])
    sub, greater, fdiv, div, pw, xor = n.run(av, bv, t([7, -7, 2, -2], torch.int32), t([2, 2, 2, 3], torch.int32))
    assert sub.shape == (2, 4, 3) and torch.equal(sub, av - bv)
    assert greater.dtype == torch.bool and torch.equal(greater, av > bv)
    assert fdiv.dtype == torch.int32 and fdiv.tolist() == [3, -4, 1, -1]
    assert div.tolist() == [3, -3, 1, 0]
    assert pw.tolist() == [49, 49, 4, -8]
    assert xor.tolist() == [True, False, True, False]


def test_elementwise_rank_mismatch_is_unsupported():
    n = Net()
    a, b = n.input("a", (2, 3)), n.input("b", (3,))
    try:
        layer = n.net.add_elementwise(a, b, trt.ElementWiseOperation.SUM)
    except Exception:
        pytest.skip("this TensorRT refuses different ranks at definition time")
    if layer is None:
        pytest.skip("this TensorRT refuses different ranks at definition time")
    n.output(layer.get_output(0))
    with pytest.raises(UnsupportedError, match="rank"):
        Executor(n.net)


# ---------------------------------------------------------------- scale, pooling, padding
def test_scale_channel_uniform_and_nd():
    n = Net()
    x = n.input("x", (1, 2, 2, 2))
    sc, sh, pw = (np.array(v, np.float32) for v in ([2.0, 3.0], [1.0, -1.0], [2.0, 1.0]))
    n.keep += [sc, sh, pw]
    ch = n.net.add_scale(x, trt.ScaleMode.CHANNEL, sh, sc, pw)
    u_shift, u_scale = np.array([0.5], np.float32), np.array([-1.0], np.float32)
    n.keep += [u_shift, u_scale]
    uni = n.net.add_scale(x, trt.ScaleMode.UNIFORM, u_shift, u_scale, None)
    y = n.input("y", (2, 3))
    nd_scale = np.array([10.0, 100.0, 1000.0], np.float32)
    n.keep.append(nd_scale)
    nd = n.net.add_scale_nd(y, trt.ScaleMode.CHANNEL, None, nd_scale, None, 1)
    n.output(ch.get_output(0), uni.get_output(0), nd.get_output(0))
    xv = torch.arange(8, dtype=torch.float32).reshape(1, 2, 2, 2)
    a, b, c = n.run(xv, torch.ones(2, 3))
    assert torch.equal(a[0, 0], (xv[0, 0] * 2 + 1) ** 2) and torch.equal(a[0, 1], xv[0, 1] * 3 - 1)
    assert torch.equal(b, -xv + 0.5)
    assert c.tolist() == [[10.0, 100.0, 1000.0]] * 2


def test_pooling_blend_round_up_and_exclusion():
    n = Net()
    x = n.input("x", (1, 1, 3, 3))
    blend = n.net.add_pooling_nd(x, trt.PoolingType.MAX_AVERAGE_BLEND, (2, 2))
    blend.blend_factor = 0.25
    up = n.net.add_pooling_nd(x, trt.PoolingType.AVERAGE, (2, 2))
    up.stride_nd = (2, 2)
    up.padding_mode = trt.PaddingMode.EXPLICIT_ROUND_UP
    up.pre_padding = (1, 0)
    up.average_count_excludes_padding = True
    inc = n.net.add_pooling_nd(x, trt.PoolingType.AVERAGE, (2, 2))
    inc.stride_nd = (2, 2)
    inc.pre_padding = (1, 1)
    inc.average_count_excludes_padding = False
    n.output(blend.get_output(0), up.get_output(0), inc.get_output(0))
    xv = torch.arange(1, 10, dtype=torch.float32).reshape(1, 1, 3, 3)
    b, u, i = n.run(xv)
    # windows of [[1,2,3],[4,5,6],[7,8,9]]: max 5,6,8,9; avg 3,4,6,7
    assert b[0, 0].tolist() == [[0.25 * 5 + 0.75 * 3, 0.25 * 6 + 0.75 * 4], [0.25 * 8 + 0.75 * 6, 0.25 * 9 + 0.75 * 7]]
    # rows padded on top by 1, ceil mode: row windows {pad,1}, {2,3}; cols {0,1}, {2, overhang}
    assert u[0, 0].tolist() == [[1.5, 3.0], [6.0, 7.5]]
    # explicit padding counts as zeros: windows {pad,pad,pad,1}, {pad,pad,2,3}, {pad,4,pad,7}, {5,6,8,9}
    assert i[0, 0].tolist() == [[0.25, 1.25], [2.75, 7.0]]


def test_padding_layer_pad_and_crop():
    n = Net()
    x = n.input("x", (1, 1, 2, 3))
    p = n.net.add_padding_nd(x, (1, -1), (0, 2))
    n.output(p.get_output(0))
    xv = torch.arange(6, dtype=torch.float32).reshape(1, 1, 2, 3)
    (out,) = n.run(xv)
    assert out[0, 0].tolist() == [[0, 0, 0, 0], [1, 2, 0, 0], [4, 5, 0, 0]]


# ---------------------------------------------------------------- shuffle, gather, misc
def test_shuffle_transpose_reshape_placeholder():
    n = Net()
    x = n.input("x", (2, 3, 4))
    s = n.net.add_shuffle(x)
    s.first_transpose = (2, 0, 1)
    s.reshape_dims = (0, -1)
    s.second_transpose = (1, 0)
    d = n.net.add_shuffle(x)
    d.set_input(1, n.const(np.array([0, 4, 3], np.int64)))
    z = n.net.add_shuffle(n.input("e", (0, 2)))
    z.zero_is_placeholder = False
    z.reshape_dims = (2, 0)
    n.output(s.get_output(0), d.get_output(0), z.get_output(0))
    xv = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    a, b, c = n.run(xv, torch.zeros(0, 2))
    assert torch.equal(a, xv.permute(2, 0, 1).reshape(4, 6).T)
    assert torch.equal(b, xv.reshape(2, 4, 3))
    assert c.shape == (2, 0)


def test_gather_modes():
    n = Net()
    data = n.input("data", (2, 3, 4))
    d = n.net.add_gather(data, n.const(np.array([[2, 0], [1, 1]], np.int32)), 2)
    d.num_elementwise_dims = 1
    e = n.net.add_gather_v2(data, n.const(np.array([[[3], [0], [1]], [[2], [2], [0]]], np.int32)),
                            trt.GatherMode.ELEMENT)
    e.axis = 2
    nd = n.net.add_gather_v2(data, n.const(np.array([[1, 2], [0, -1]], np.int32)), trt.GatherMode.ND)
    n.output(d.get_output(0), e.get_output(0), nd.get_output(0))
    xv = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    dv, ev, ndv = n.run(xv)
    assert torch.equal(dv, torch.stack([xv[0][:, [2, 0]], xv[1][:, [1, 1]]]))
    assert ev[:, :, 0].tolist() == [[3, 4, 9], [14, 18, 20]]
    assert torch.equal(ndv, torch.stack([xv[1, 2], xv[0, 2]]))


def test_fill_onehot_nonzero_cumulative_einsum():
    n = Net()
    lin = n.net.add_fill((2, 3), trt.FillOperation.LINSPACE, trt.float32)
    lin.set_input(1, n.const(np.float32(1.0)))
    lin.set_input(2, n.const(np.array([10.0, 1.0], np.float32)))
    idx = n.input("idx", (3,), trt.int32)
    oh = n.net.add_one_hot(idx, n.const(np.array([0.0, 5.0], np.float32)), n.const(np.int32(4)), 0)
    nz = n.net.add_non_zero(n.input("m", (2, 3)))
    x = n.input("x", (2, 3))
    cs = n.net.add_cumulative(x, n.const(np.int32(1)), trt.CumulativeOperation.SUM, True, True)
    es = n.net.add_einsum([x, x], "ij,kj->ik")
    n.output(lin.get_output(0), oh.get_output(0), nz.get_output(0), cs.get_output(0), es.get_output(0))
    xv = t([[1, 2, 3], [4, 5, 6]])
    linv, ohv, nzv, csv, esv = n.run(t([2, -1, 7], torch.int32), t([[0, 1, 0], [2, 0, 3]]), xv)
    assert linv.tolist() == [[1, 2, 3], [11, 12, 13]]
    assert ohv.tolist() == [[0, 0, 0], [0, 0, 0], [5, 0, 0], [0, 5, 0]]  # -1 wraps to 3, 7 is out of range
    assert nzv.tolist() == [[0, 1, 1], [1, 0, 2]]
    assert csv.tolist() == [[5, 3, 0], [11, 6, 0]]  # exclusive + reverse
    assert torch.equal(esv, xv @ xv.T)


def test_topk_dynamic_k_matmul_vector_reduce_softmax():
    n = Net()
    x = n.input("x", (2, 5))
    k = n.net.add_topk(x, trt.TopKOperation.MIN, 1, 1 << 1)
    k.set_input(1, n.const(np.int32(2)))
    v = n.input("v", (5,))
    mv = n.net.add_matrix_multiply(x, trt.MatrixOperation.NONE, v, trt.MatrixOperation.VECTOR)
    mt = n.net.add_matrix_multiply(x, trt.MatrixOperation.TRANSPOSE, x, trt.MatrixOperation.NONE)
    red = n.net.add_reduce(x, trt.ReduceOperation.PROD, 0b11, False)
    sm = n.net.add_softmax(x)
    sm.axes = 1 << 0
    n.output(k.get_output(0), k.get_output(1), mv.get_output(0), mt.get_output(0), red.get_output(0), sm.get_output(0))
    xv = t([[3, 1, 4, 1.5, 5], [9, 2, 6, 5, 3]])
    vals, idx, mvv, mtv, redv, smv = n.run(xv, t([1, 0, 0, 0, 2]))
    assert vals.tolist() == [[1, 1.5], [2, 3]] and idx.dtype == torch.int32 and idx.tolist() == [[1, 3], [1, 4]]
    assert mvv.tolist() == [13, 15]
    assert torch.equal(mtv, xv.T @ xv)
    assert float(redv) == float(xv.prod())
    assert torch.allclose(smv, torch.softmax(xv, 0))


def test_grid_sample_squeeze_unsqueeze_concat_cast():
    n = Net()
    x = n.input("x", (1, 1, 2, 2))
    grid = n.input("g", (1, 1, 2, 2))
    gs = n.net.add_grid_sample(x, grid)
    gs.interpolation_mode = trt.InterpolationMode.LINEAR
    gs.align_corners = True
    gs.sample_mode = trt.SampleMode.FILL
    sq = n.net.add_squeeze(x, n.const(np.array([0, 1], np.int64)))
    un = n.net.add_unsqueeze(sq.get_output(0), n.const(np.array([-1], np.int64)))
    cat = n.net.add_concatenation([un.get_output(0), un.get_output(0)])
    cat.axis = 2
    cast = n.net.add_cast(cat.get_output(0), trt.int32)
    n.output(gs.get_output(0), cast.get_output(0))
    xv = t([[[[1, 2], [3, 4]]]])
    g = t([[[[-1, -1], [0, 0]]]])
    gsv, cv = n.run(xv, g)
    assert gsv.tolist() == [[[[1.0, 2.5]]]]
    assert cv.dtype == torch.int32 and cv.tolist() == [[[1, 1], [2, 2]], [[3, 3], [4, 4]]]


def test_cast_float_to_int_truncates_and_saturates():
    n = Net()
    x = n.input("x", (7,))
    n.output(n.net.add_cast(x, trt.int32).get_output(0), n.net.add_cast(x, trt.uint8).get_output(0))
    i32, u8 = n.run(t([1.9, -1.9, float("nan"), float("inf"), float("-inf"), 3e9, 300.0]))
    assert i32.tolist() == [1, -1, 0, 2**31 - 1, -2**31, 2**31 - 1, 300]
    assert u8.tolist() == [1, 0, 0, 255, 0, 255, 255]


def _act_ref(kind: str, x: torch.Tensor, a: float, b: float) -> torch.Tensor:
    """TensorRT's activation formulas, written out independently of the executor."""
    return {
        "RELU": lambda: x.clamp(min=0), "SIGMOID": lambda: 1 / (1 + torch.exp(-x)), "TANH": lambda: torch.tanh(x),
        "LEAKY_RELU": lambda: torch.where(x >= 0, x, a * x),
        "ELU": lambda: torch.where(x >= 0, x, a * (torch.exp(x) - 1)),
        "SELU": lambda: b * torch.where(x >= 0, x, a * (torch.exp(x) - 1)), "SOFTSIGN": lambda: x / (1 + x.abs()),
        "SOFTPLUS": lambda: a * torch.log(torch.exp(b * x) + 1), "CLIP": lambda: x.clamp(a, b),
        "HARD_SIGMOID": lambda: (a * x + b).clamp(0, 1), "SCALED_TANH": lambda: a * torch.tanh(b * x),
        "THRESHOLDED_RELU": lambda: torch.where(x > a, x, 0.0),
        "GELU_ERF": lambda: 0.5 * x * (1 + torch.erf(x / 2 ** 0.5)),
        "GELU_TANH": lambda: 0.5 * x * (1 + torch.tanh((2 / torch.pi) ** 0.5 * (x + 0.044715 * x ** 3))),
    }[kind]()


def test_every_activation_type_with_alpha_beta():
    kinds = list(trt.ActivationType.__members__)
    n = Net()
    x = n.input("x", (9,))
    for kind in kinds:
        layer = n.net.add_activation(x, getattr(trt.ActivationType, kind))
        layer.alpha, layer.beta = 0.3, 0.7
        n.output(layer.get_output(0))
    xv = t([-3, -1, -0.5, -0.1, 0, 0.2, 0.31, 1, 2.5])
    for kind, out in zip(kinds, n.run(xv)):
        ref = _act_ref(kind, xv.double(), 0.3, 0.7).float()
        assert torch.allclose(out, ref, atol=1e-6), kind


_UNARY_REF = {
    "EXP": np.exp, "LOG": np.log, "SQRT": np.sqrt, "RECIP": lambda v: 1 / v, "ABS": np.abs, "NEG": np.negative,
    "SIN": np.sin, "COS": np.cos, "TAN": np.tan, "SINH": np.sinh, "COSH": np.cosh, "ASIN": np.arcsin,
    "ACOS": np.arccos, "ATAN": np.arctan, "ASINH": np.arcsinh, "ACOSH": lambda v: np.arccosh(v + 1),
    "ATANH": np.arctanh, "CEIL": np.ceil, "FLOOR": np.floor, "SIGN": np.sign, "ROUND": np.round,
}


def test_every_float_unary_operation():
    n = Net()
    x = n.input("x", (6,))
    one = n.const(np.ones(6, np.float32))
    for op in _UNARY_REF:
        src = x if op != "ACOSH" else n.net.add_elementwise(x, one, trt.ElementWiseOperation.SUM).get_output(0)
        n.output(n.net.add_unary(src, getattr(trt.UnaryOperation, op)).get_output(0))
    xv = np.array([0.1, 0.5, 0.25, 0.75, 2.5, 0.9], np.float32)  # ROUND: 0.5 -> 0, 2.5 -> 2 (half to even)
    for op, out in zip(_UNARY_REF, n.run(torch.from_numpy(xv))):
        with np.errstate(invalid="ignore"):  # 2.5 is outside asin/acos/atanh: NaN on both sides
            ref = _UNARY_REF[op](xv.astype(np.float64))
        assert np.allclose(out.numpy(), ref, rtol=1e-6, atol=1e-7, equal_nan=True), op


def test_bool_unary_and_erf_isinf_isnan():
    n = Net()
    x = n.input("x", (4,))
    b = n.input("b", (2,), trt.bool)
    outs = [n.net.add_unary(x, getattr(trt.UnaryOperation, op)).get_output(0) for op in ("ERF", "ISINF", "ISNAN")]
    outs.append(n.net.add_unary(b, trt.UnaryOperation.NOT).get_output(0))
    n.output(*outs)
    erf, isinf, isnan, not_b = n.run(t([0.5, float("inf"), float("nan"), -1.0]), torch.tensor([True, False]))
    assert abs(float(erf[0]) - 0.5204998778) < 1e-6 and float(erf[1]) == 1.0
    assert isinf.tolist() == [False, True, False, False] and isnan.tolist() == [False, False, True, False]
    assert not_b.tolist() == [False, True]


@pytest.mark.parametrize("mode,pads", [("SAME_UPPER", (1, 2)), ("SAME_LOWER", (2, 1))])
def test_conv_same_padding_modes(mode, pads):
    n = Net()
    x = n.input("x", (1, 1, 5, 5))
    w = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    n.keep.append(w)
    conv = n.net.add_convolution_nd(x, 1, (4, 4), w, None)
    conv.padding_mode = getattr(trt.PaddingMode, mode)
    n.output(conv.get_output(0))
    xv = torch.arange(25, dtype=torch.float32).reshape(1, 1, 5, 5)
    (out,) = n.run(xv)
    # total padding (5 - 1) + 4 - 5 = 3: SAME_UPPER puts the odd one after, SAME_LOWER before
    a, b = pads
    assert torch.equal(out, F.conv2d(F.pad(xv, (a, b, a, b)), torch.from_numpy(w)))


def test_random_fill_bounds():
    n = Net()
    f = n.net.add_fill((1000,), trt.FillOperation.RANDOM_UNIFORM, trt.float32)
    f.alpha, f.beta = -2.0, 3.0
    n.output(f.get_output(0))
    (out,) = n.run()
    assert out.shape == (1000,) and float(out.min()) >= -2.0 and float(out.max()) <= 3.0 and float(out.std()) > 1.0


# ---------------------------------------------------------------- dtypes and API
def test_bf16_weights_computed_in_bf16():
    n = Net()
    x = n.input("x", (1, 2, 3, 3), trt.bfloat16)
    w = torch.tensor([1.0, 1.0 / 256], dtype=torch.bfloat16).reshape(1, 2, 1, 1)
    n.keep.append(w)
    conv = n.net.add_convolution_nd(x, 1, (1, 1), trt.Weights(trt.bfloat16, w.data_ptr(), w.numel()),
                                    trt.Weights(trt.bfloat16))
    n.output(conv.get_output(0))
    xv = torch.ones((1, 2, 3, 3), dtype=torch.bfloat16)
    (out,) = n.run(xv)
    assert out.dtype == torch.bfloat16
    assert torch.equal(out, F.conv2d(xv, w))
    assert (out == 1.0).all()  # 1 + 1/256 is a tie between bf16 neighbours 1 and 1+1/128: rounds to even (fp32: 1.0039)


def test_fp16_constant_and_half_compute():
    n = Net()
    x = n.input("x", (3,), trt.float16)
    c = n.const(np.array([60000.0, 1.0, 0.0001], np.float16))
    s = n.net.add_elementwise(x, c, trt.ElementWiseOperation.SUM)
    n.output(s.get_output(0))
    (out,) = n.run(torch.tensor([60000.0, 2048.0, 1.0], dtype=torch.float16))
    assert out.dtype == torch.float16
    assert torch.isinf(out[0]) and float(out[1]) == 2048.0 and float(out[2]) == 1.0  # fp16 overflow / rounding


def test_keep_all_run_and_input_specs():
    n = Net()
    x = n.input("x", (-1, 2))
    r = n.net.add_activation(x, trt.ActivationType.RELU)
    r.name = "relu"
    e = n.net.add_unary(r.get_output(0), trt.UnaryOperation.EXP)
    n.output(e.get_output(0))
    ex = Executor(n.net)
    assert ex.input_specs == [("x", (-1, 2), torch.float32)]
    xv = t([[-1, 0], [1, 2], [3, -4]])
    alls = ex({"x": xv.numpy()}, keep_all=True)
    assert torch.equal(alls[r.get_output(0).name], xv.clamp(min=0))
    assert list(alls)[-1] == e.get_output(0).name
    assert torch.equal(run(n.net, [xv])[e.get_output(0).name], xv.clamp(min=0).exp())


def test_runtime_failure_names_the_layer():
    n = Net()
    x = n.input("x", (-1, 3))
    add = n.net.add_elementwise(x, n.const(np.ones((4, 3), np.float32)), trt.ElementWiseOperation.SUM)
    add.name = "bias_add"
    n.output(add.get_output(0))
    assert n.run(torch.zeros(1, 3))[0].shape == (4, 3)
    with pytest.raises(ShapeError, match=r"layer 'bias_add' \(ELEMENTWISE\) failed"):
        n.run(torch.zeros(2, 3))


def test_unsupported_layer_names_layer_and_kind():
    n = Net()
    x = n.input("x", (1, 2, 3))
    bounds = n.input("b", (1, 2, 1), trt.int32)
    layer = n.net.add_ragged_softmax(x, bounds)
    layer.name = "my_ragged"
    n.output(layer.get_output(0))
    with pytest.raises(UnsupportedError, match="my_ragged.*RAGGED_SOFTMAX"):
        Executor(n.net)


def test_element_gather_with_indices_larger_than_data_is_refused():
    import trtnn
    import trtnn.functional as F
    import trtnn.nn as nn
    from trtnn.reference import Executor

    class Bad(nn.Module):
        def forward(self, x, i):
            return F.gather(x, 1, i)

    net = trtnn.define(Bad(), [trtnn.Input("x", (-1, 5), min_shape=(1, 5), max_shape=(4, 5)),
                               trtnn.Input("i", (-1, 2), torch.int32, min_shape=(1, 2), max_shape=(4, 2))])
    with pytest.raises(trtnn.ShapeError, match=r"ELEMENT gather: indices \(3, 2\) exceed data \(1, 5\) outside axis 1"):
        Executor(net)({"x": torch.zeros(1, 5), "i": torch.zeros(3, 2, dtype=torch.int32)})
