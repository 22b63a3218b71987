"""The graph core: BatchNorm folding in trtnn.graph.fold (Network.folded, final weights, re-emission), a Tensor that
holds only its handle, and trtnn.functional as a package that installs Tensor's methods."""
import ast
import pathlib

import pytest
import torch
import torch.nn as tnn

import trtnn
import trtnn.functional as F
import trtnn.nn as nn
from trtnn.graph.context import BuildContext
from trtnn.reference import Executor
from trtnn.reference.common import typed, weights_tensor

ROOT = pathlib.Path(trtnn.__file__).parent


class ConvBn(nn.Module):
    def __init__(self, bias=True):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1, bias=bias)
        self.bn = nn.BatchNorm2d(3)

    def forward(self, x):
        return self.bn(self.conv(x))


def loaded(bias=True, seed=0):
    """A trtnn ConvBn and its torch twin with the same random weights and BatchNorm statistics."""
    torch.manual_seed(seed)
    ref = tnn.Sequential()
    ref.conv, ref.bn = tnn.Conv2d(2, 3, 3, padding=1, bias=bias), tnn.BatchNorm2d(3).eval()
    ref.bn.running_mean.normal_()
    ref.bn.running_var.uniform_(0.5, 2)
    ref.bn.weight.data.normal_()
    m = ConvBn(bias)
    m.load_state_dict(ref.state_dict())
    return m, ref


def run_defined(model, x, fold_bn=True):
    """Define `model` in a build context, finalize, run it on the CPU executor: (output, [(name, kernel, bias)] of
    every convolution layer, bias None when it has none)."""
    ctx = BuildContext(fold_bn=fold_bn)
    ctx.register_model(model)
    ctx.mark_output(model(ctx.add_input("x", tuple(x.shape), torch.float32)), "y")
    ctx.finalize()
    convs = []
    for i in range(ctx.network.num_layers):
        kind, layer = typed(ctx.network.get_layer(i))
        if kind == "CONVOLUTION":
            convs.append((layer.name, weights_tensor(layer.kernel), weights_tensor(layer.bias)))
    return Executor(ctx.network)({"x": x})["y"], convs


def test_network_folded_names_conv_and_batchnorm_calls():
    m, _ = loaded()
    assert trtnn.define(m, [trtnn.Input("x", (1, 2, 5, 5))]).folded == {"conv": "bn"}
    assert trtnn.define(m, [trtnn.Input("x", (1, 2, 5, 5))], fold_bn=False).folded == {}


@pytest.mark.parametrize("bias", [True, False])
def test_folded_convolution_holds_the_folded_kernel_and_bias(bias):
    m, ref = loaded(bias)
    x = torch.randn(1, 2, 5, 5)
    got, [(name, kernel, b)] = run_defined(m, x)
    scale = ref.bn.weight / torch.sqrt(ref.bn.running_var + ref.bn.eps)
    conv_bias = ref.conv.bias if bias else torch.zeros(3)
    want_kernel = ref.conv.weight * scale[:, None, None, None]
    want_bias = (conv_bias - ref.bn.running_mean) * scale + ref.bn.bias
    assert name == "conv + bn"
    assert kernel.dtype == torch.float32 and torch.allclose(kernel.reshape(want_kernel.shape), want_kernel.detach(),
                                                            atol=1e-6)
    assert torch.allclose(b, want_bias.detach(), atol=1e-6)
    assert torch.allclose(got, ref(x).detach(), atol=1e-5)


def test_unfolded_convolution_keeps_the_original_weights():
    m, ref = loaded(bias=False)
    x = torch.randn(1, 2, 5, 5)
    got, convs = run_defined(m, x, fold_bn=False)
    assert [(n, b) for n, _, b in convs] == [("conv", None)]  # no bias and nothing folded: bias None
    assert torch.equal(convs[0][1].reshape(ref.conv.weight.shape), ref.conv.weight.detach())
    assert torch.allclose(got, ref(x).detach(), atol=1e-5)


def test_reused_conv_output_is_re_emitted():
    class Reuse(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = ConvBn(bias=True)

        def forward(self, x):
            y = self.inner.conv(x)
            return self.inner.bn(y) + y  # the fold took y's layer: y is re-emitted as a second convolution

    m = Reuse()
    m.inner, ref = loaded()
    x = torch.randn(1, 2, 5, 5)
    got, convs = run_defined(m, x)
    assert len(convs) == 2 and convs[0][0] == "inner.conv + inner.bn"
    assert torch.equal(convs[1][1].reshape(ref.conv.weight.shape), ref.conv.weight.detach())  # the original
    with torch.no_grad():
        y = ref.conv(x)
        assert torch.allclose(got, ref.bn(y) + y, atol=1e-5)


def test_conv_output_taken_by_a_fold_cannot_be_used_after_the_forward_pass():
    kept = []

    class Keep(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3)

        def forward(self, x):
            kept.append(self.conv(x))
            return self.bn(kept[0])

    trtnn.define(Keep(), [trtnn.Input("x", (1, 2, 4, 4))])
    with pytest.raises(trtnn.TrtnnError, match="folded into the following BatchNorm.*fold_bn=False"):
        kept[0].trt


def test_tensor_holds_only_its_handle_context_and_caches():
    assert trtnn.Tensor.__slots__ == ("_trt", "ctx", "_shape", "_dtype", "__weakref__")


def test_tensor_module_does_not_import_functional():
    tree = ast.parse((ROOT / "graph" / "tensor.py").read_text())
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [name for name in imported if "functional" in name or "importlib" in name]


def test_functional_exports_every_name_in_all_and_tensor_methods_call_it():
    assert [n for n in F.__all__ if not callable(getattr(F, n))] == []
    ctx = BuildContext()
    x = ctx.add_input("x", (2, 3), torch.float32)
    assert (x + 1).shape == (2, 3) and (1 - x).shape == (2, 3) and x.view(3, 2).shape == (3, 2)
    assert x.view((6,)).shape == (6,) and x.half().dtype == torch.float16 and [t.shape for t in x] == [(3,), (3,)]
    assert F.compute_dtype(x) == torch.float32
