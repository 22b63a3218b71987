"""The graph core: BatchNorm folding in trtnn.graph.fold (Network.folded, weight_hooks, re-emission), a Tensor that
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


def run_with_hooks(model, x, hooks, fold_bn=True):
    """Define `model` in a build context whose folder has `hooks`, finalize, run it on the CPU executor."""
    ctx = BuildContext(fold_bn=fold_bn)
    ctx.register_model(model)
    ctx.folder.weight_hooks.extend(hooks)
    ctx.mark_output(model(ctx.add_input("x", tuple(x.shape), torch.float32)), "y")
    ctx.finalize()
    return Executor(ctx.network)({"x": x})["y"]


def test_network_folded_names_conv_and_batchnorm_calls():
    m, _ = loaded()
    assert trtnn.define(m, [trtnn.Input("x", (1, 2, 5, 5))]).folded == {"conv": "bn"}
    assert trtnn.define(m, [trtnn.Input("x", (1, 2, 5, 5))], fold_bn=False).folded == {}


@pytest.mark.parametrize("bias", [True, False])
def test_weight_hook_sees_folded_kernel_and_replaces_it(bias):
    m, ref = loaded(bias)
    x = torch.randn(1, 2, 5, 5)
    seen = []

    def double(name, kernel, b):
        seen.append((name, kernel.clone(), None if b is None else b.clone()))
        return kernel * 2, b * 2

    got = run_with_hooks(m, x, [double])
    scale = ref.bn.weight / torch.sqrt(ref.bn.running_var + ref.bn.eps)
    conv_bias = ref.conv.bias if bias else torch.zeros(3)
    want_kernel = ref.conv.weight * scale[:, None, None, None]
    want_bias = (conv_bias - ref.bn.running_mean) * scale + ref.bn.bias
    [(name, kernel, b)] = seen
    assert name == "conv + bn"
    assert kernel.dtype == torch.float32 and torch.allclose(kernel, want_kernel.detach(), atol=1e-6)
    assert torch.allclose(b, want_bias.detach(), atol=1e-6)
    assert torch.allclose(got, 2 * ref(x).detach(), atol=1e-5)  # both doubled: the output doubles


def test_weight_hooks_run_in_order_on_unfolded_convolutions():
    m, ref = loaded(bias=False)
    x = torch.randn(1, 2, 5, 5)
    names = []

    def record(name, kernel, b):
        names.append((name, b))
        return kernel, b

    got = run_with_hooks(m, x, [record, lambda n, k, b: (k * 0, b)], fold_bn=False)
    assert names == [("conv", None)]  # no bias and nothing folded: the original weights, bias None
    shift = ref.bn.bias - ref.bn.running_mean * ref.bn.weight / torch.sqrt(ref.bn.running_var + ref.bn.eps)
    assert torch.allclose(got, shift.detach().reshape(1, 3, 1, 1).expand(1, 3, 5, 5), atol=1e-6)


def test_reused_conv_output_is_re_emitted_and_hooked_too():
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
    names = []
    got = run_with_hooks(m, x, [lambda n, k, b: (names.append(n), (k, b))[1]])
    assert len(names) == 2 and names[0] == "inner.conv + inner.bn"
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
