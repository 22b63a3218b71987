"""F.deform_conv2d / nn.DeformConv2d against the PyTorch reference of DCNv2's sampling rule (torchvision.ops
semantics): shapes, values, groups, fp16, BatchNorm folding, a real engine build, and error messages."""
import pytest
import torch

import trtnn
import trtnn.functional as F
import trtnn.nn as nn
from harness import define_and_run, rel_err
from refmodels.centernet import deform_conv2d_ref


def deform_ref(x, offset, weight, bias=None, stride=1, padding=0, dilation=1, mask=None):
    """The PyTorch reference (DCNv2's CUDA sampling rule, tests/refmodels/centernet.py), in float64."""
    dbl = (lambda t: None if t is None else t.double())  # noqa: E731
    return deform_conv2d_ref(x.double(), offset.double(), dbl(mask), weight.double(), dbl(bias), stride, padding,
                             dilation).float()


class Deform(trtnn.Module):
    def __init__(self, weight, bias=None, **kw):
        super().__init__()
        self.conv = nn.DeformConv2d(weight.shape[1] * kw.pop("groups", 1), weight.shape[0], weight.shape[2:],
                                    bias=bias is not None, **kw)
        self.conv.weight.data = weight
        if bias is not None:
            self.conv.bias.data = bias

    def forward(self, x, offset, mask=None):
        return self.conv(x, offset, mask)


def _out_hw(h, w, k, stride, padding, dilation):
    return ((h + 2 * padding - dilation * (k - 1) - 1) // stride + 1, (w + 2 * padding - dilation * (k - 1) - 1) // stride + 1)


CASES = {  # name -> (stride, padding, dilation, weight groups, offset groups, with mask)
    "dcnv2": (1, 1, 1, 1, 1, True),
    "stride2": (2, 1, 1, 1, 1, True),
    "dilation2": (1, 2, 2, 1, 1, True),
    "no_mask": (1, 1, 1, 1, 1, False),
    "groups": (1, 1, 1, 2, 1, True),
    "offset_groups": (1, 0, 1, 1, 2, True),
}


@pytest.mark.parametrize("name", list(CASES))
def test_deform_conv2d_matches_dcnv2_sampling(name):
    stride, padding, dilation, groups, og, with_mask = CASES[name]
    g = torch.Generator().manual_seed(0)
    n, c, h, w, o = 2, 4, 7, 9, 6
    ho, wo = _out_hw(h, w, 3, stride, padding, dilation)
    x = torch.randn(n, c, h, w, generator=g)
    weight, bias = torch.randn(o, c // groups, 3, 3, generator=g), torch.randn(o, generator=g)
    offset = torch.randn(n, 2 * og * 9, ho, wo, generator=g) * 3  # many samples land beyond the borders
    mask = torch.rand(n, og * 9, ho, wo, generator=g) if with_mask else None
    model = Deform(weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)
    inputs = [x, offset] + ([mask] if with_mask else [])
    net, (got,) = define_and_run(model, inputs)
    want = deform_ref(x, offset, weight, bias, stride, padding, dilation, mask)
    assert tuple(got.shape) == (n, o, ho, wo)
    assert rel_err(got, want) <= 1e-5


def test_zero_offsets_equal_conv2d_and_integer_offsets_shift():
    g = torch.Generator().manual_seed(1)
    x, weight = torch.randn(1, 3, 6, 8, generator=g), torch.randn(5, 3, 3, 3, generator=g)
    zero = torch.zeros(1, 18, 6, 8)
    _, (got,) = define_and_run(Deform(weight, padding=1), [x, zero])
    assert rel_err(got, torch.nn.functional.conv2d(x, weight, padding=1)) <= 1e-5
    shift = zero.clone()
    shift[:, 1::2] = 1.0  # every tap reads one pixel to the right: out[w] = sum_j W[j] x[w + j], 0 beyond the border
    _, (got,) = define_and_run(Deform(weight, padding=1), [x, shift])
    want = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (0, 2)), weight, padding=(1, 0))
    assert rel_err(got, want) <= 1e-5


def test_fp16_and_batchnorm_folds_into_the_sum():
    class DCNBN(trtnn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.DeformConv2d(4, 8, 3, padding=1)
            self.bn = nn.BatchNorm2d(8)

        def forward(self, x, offset, mask):
            return self.bn(self.conv(x, offset, mask))

    g = torch.Generator().manual_seed(2)
    m = DCNBN()
    m.load_state_dict({"conv.weight": torch.randn(8, 4, 3, 3, generator=g), "conv.bias": torch.randn(8, generator=g),
                       "bn.weight": torch.rand(8, generator=g) + 0.5, "bn.bias": torch.randn(8, generator=g),
                       "bn.running_mean": torch.randn(8, generator=g), "bn.running_var": torch.rand(8, generator=g) + 0.5,
                       "bn.num_batches_tracked": torch.tensor(0)})
    x, off, mask = torch.randn(1, 4, 8, 8, generator=g), torch.randn(1, 18, 8, 8, generator=g), torch.rand(1, 9, 8, 8)
    s = m.state_dict()
    y = deform_ref(x, off, s["conv.weight"], s["conv.bias"], padding=1, mask=mask)
    want = torch.nn.functional.batch_norm(y, s["bn.running_mean"], s["bn.running_var"], s["bn.weight"], s["bn.bias"])
    trt = trtnn.backend.get()
    for dtype, tol in (("fp32", 1e-5), ("fp16", 1e-2)):
        net, (got,) = define_and_run(m, [x, off, mask], dtype=dtype)
        kinds = [net.network.get_layer(i).type for i in range(net.network.num_layers)]
        assert trt.LayerType.SCALE not in kinds and kinds.count(trt.LayerType.GRID_SAMPLE) == 1
        assert rel_err(got.float(), want) <= tol
    engine = trtnn.build(m, [trtnn.Input("x", x.shape), trtnn.Input("offset", off.shape), trtnn.Input("mask", mask.shape)],
                         dtype="fp16", progress=False)
    assert engine.nbytes > 0


def test_bad_offset_shape_names_the_tensor_and_expected_shape():
    class Bad(trtnn.Module):
        def forward(self, x, offset):
            return F.deform_conv2d(x, offset, torch.zeros(2, 3, 3, 3), padding=1)

    with pytest.raises(trtnn.ShapeError, match=r"need an offset \[N, 2\*G\*9, 5, 5\].*'offset' \(1, 9, 5, 5\)"):
        trtnn.define(Bad(), [trtnn.Input("x", (1, 3, 5, 5)), trtnn.Input("offset", (1, 9, 5, 5))])


def test_compare_reports_a_dcn_module_folded_into_its_batchnorm():
    """debug.compare on DCN -> BN (CenterNet's DeformConv): the DCN module's output went into the folded 1x1 sum,
    so its row is FOLDED (not MISSING) and the BatchNorm's row passes against the PyTorch original."""
    from refmodels import randomize_bn
    from refmodels.centernet import DeformConv as TorchDeformConv
    from trtnn.debug.compare import compare
    from trtnn.models.centernet import DeformConv

    torch.manual_seed(0)
    ref = randomize_bn(TorchDeformConv(4, 6), seed=1).eval()
    with torch.no_grad():
        ref.conv.conv_offset_mask.weight.normal_(0, 0.3)  # real offsets, not DCNv2's zero init
    mine = DeformConv(4, 6)
    mine.load_state_dict(ref.state_dict(), strict=True)
    report = compare(mine, ref, torch.rand(1, 4, 9, 9), print_report=False)
    assert report.row("conv").status == "FOLDED" and report.row("actf.0").status == "PASS"
    assert report.counts()["MISSING"] == 0 and report.first_failure is None
