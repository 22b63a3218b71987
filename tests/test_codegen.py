"""trtnn.codegen: PyTorch model -> editable trtnn code, round trips over the corpus (tests/corpus), placeholders
for what trtnn lacks, and the generated examples kept in sync."""
from __future__ import annotations

import importlib
import os
import re
from pathlib import Path

import pytest
import torch
import torch.nn as tnn

import trtnn
from trtnn.codegen import generate, generate_code, load_source, round_trip

CORPUS = ["resnet", "mobilenet", "efficientnet", "convnext", "vit", "swin", "diffusion", "unet", "yolo", "audio",
          "cnn3d"]
EXAMPLES = Path(__file__).parent.parent / "examples" / "generated"


def corpus(name: str, **kw):
    torch.manual_seed(0)
    return importlib.import_module(f"corpus.{name}").make(**kw)


@pytest.mark.parametrize("name", CORPUS)
def test_round_trip(name: str) -> None:
    model, inputs = corpus(name)
    code = generate_code(model, inputs)
    assert not code.unmapped
    result = round_trip(code.source, model, inputs, build=True)
    assert result.max_rel_err <= 1e-5, result.max_rel_err
    assert result.engine is not None and result.engine.nbytes > 0


def test_one_class_per_module_type_with_constructor_arguments() -> None:
    model, inputs = corpus("resnet", layers=(3, 2, 2, 2))
    code = generate_code(model, inputs)
    src = code.source
    # nine Bottlenecks, one class: the downsample branch (None in most) is a constructor argument
    assert code.classes == ["Bottleneck", "ResNet"]
    assert "def __init__(self, in_channels, out_channels, stride, out_channels_2, downsample=None):" in src
    assert "self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=stride, padding=1, bias=False)" in src
    assert "downsample = self.downsample(x) if self.downsample is not None else x" in src
    calls = re.findall(r"^ +(Bottleneck\(.*)$", src, re.M)
    assert calls[:4] == ["Bottleneck(8, 8, 1, 32, downsample=nn.Sequential(", "Bottleneck(32, 8, 1, 32),",
                         "Bottleneck(32, 8, 1, 32),", "Bottleneck(32, 16, 2, 64, downsample=nn.Sequential("]
    assert len(calls) == 9
    assert "self.conv1 = nn.Conv2d(3, 8, 7, stride=2, padding=3, bias=False)" in src
    assert "self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)" in src
    assert "self.layer1 = nn.Sequential(\n" in src
    module = load_source(src)
    net = module.make_model()
    assert list(net.state_dict()) == list(model.state_dict())  # same keys in the same order


def test_forward_reads_like_torch_code() -> None:
    model, inputs = corpus("vit")
    src = generate(model, inputs)
    assert "class EncoderBlock(nn.Module):" in src and "class Mlp(nn.Module):" in src
    assert "self.self_attention = nn.MultiheadAttention(32, 4, batch_first=True)" in src
    assert "class_token = F.constant(self.class_token, x)" in src
    assert "cat = F.cat([expand, permute], dim=1)" in src
    assert "add = cat + self.pos_embedding" in src
    assert "getitem_2 = ln[:, 0]" in src and "head = self.head(getitem_2)" in src


class ShapeBranch(tnn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = tnn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        if x.shape[-1] % 2 == 0:
            y = y * 2
        return y.flatten(1)


def test_shape_dependent_control_flow_is_marked() -> None:
    src = generate(ShapeBranch(), torch.randn(1, 3, 8, 8))
    line = next(i for i, text in enumerate(Path(__file__).read_text().splitlines(), 1) if "% 2 == 0" in text)
    assert f"# specialized at trace time (test_codegen.py:{line}) `if x.shape[-1] % 2 == 0:`: took the branch True" \
        in src
    assert "mul = conv * 2" in src


class Unmappable(tnn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = tnn.Conv2d(3, 4, 3)
        self.rnn = tnn.GRU(4, 4, batch_first=True)

    def forward(self, x):
        y = torch.lgamma(self.conv(x))
        seq, _ = self.rnn(y.flatten(2).transpose(1, 2))
        return seq


def test_unmapped_ops_are_listed_and_raise_at_define_time() -> None:
    model = Unmappable()
    code = generate_code(model, torch.randn(1, 3, 6, 6))
    here = Path(__file__).name
    lgamma_line = next(i for i, t in enumerate(Path(__file__).read_text().splitlines(), 1) if "torch.lgamma(" in t)
    rnn_line = lgamma_line + 1
    assert [(u.op, u.where) for u in code.unmapped] == [
        ("torch.lgamma", f"{here}:{lgamma_line}"), ("torch.nn.GRU (trtnn.nn has no GRU)", f"{here}:{rnn_line}")]
    assert "  - torch.lgamma  at test_codegen.py" in code.source  # listed at the top of the file
    net = load_source(code.source).make_model()
    net.load_state_dict(model.state_dict(), strict=True)  # the GRU placeholder holds the GRU's weights
    with pytest.raises(trtnn.UnsupportedError, match=rf"torch.lgamma \(called at {here}:{lgamma_line}\)"):
        trtnn.define(net, [trtnn.Input("x", (1, 3, 6, 6))])
    src = re.sub(r"unsupported\('torch.lgamma', '[^']*'\)", "F.relu", code.source)  # the user replaces it
    with pytest.raises(trtnn.UnsupportedError, match="torch.nn.GRU"):
        trtnn.define(load_source(src).make_model(), [trtnn.Input("x", (1, 3, 6, 6))])


def test_class_name_and_factory() -> None:
    model, inputs = corpus("unet")
    code = generate_code(model, inputs, class_name="MyUNet")
    assert code.root == "MyUNet" and "def make_model() -> MyUNet:" in code.source
    assert "class UNet" not in code.source


@pytest.mark.parametrize("name", ["resnet", "vit"])
def test_examples_in_sync(name: str) -> None:
    """examples/generated/<name>.py is what codegen writes today (TRTNN_REGENERATE=1 rewrites them)."""
    model, inputs = corpus(name)
    src = generate(model, inputs)
    path = EXAMPLES / f"{name}.py"
    if os.environ.get("TRTNN_REGENERATE"):
        path.write_text(src)
    assert path.read_text() == src, f"{path} is stale: rerun with TRTNN_REGENERATE=1"
    assert re.search(r"^def make_model\(\)", src, re.M)


def test_cli_codegen_writes_and_verifies(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from trtnn.cli import main

    out, weights = tmp_path / "unet_gen.py", tmp_path / "unet.pt"
    torch.save(importlib.import_module("corpus.unet").UNet().state_dict(), weights)
    assert main(["codegen", "corpus.unet:UNet", "--input", "x:1x3x32x32", "--weights", str(weights), "--verify",
                 "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "wrote" in printed and "3 classes (DoubleConv, Up, UNet)" in printed
    assert float(re.search(r"max relative error (\S+)", printed).group(1)) <= 1e-5
    assert "class UNet(nn.Module):" in out.read_text()


def test_long_lines_are_wrapped_without_changing_the_code() -> None:
    import ast
    import textwrap

    from trtnn.codegen.format import tidy

    line = "        y = f(x, [" + ", ".join(str(i) for i in range(60)) + "], name='a, b', " + \
           ", ".join(f"k{i}=g(z[{i}], 1)" for i in range(12)) + ")"
    out = tidy(line).split("\n")
    assert len(out) > 2 and all(len(t) <= 120 for t in out)
    assert ast.dump(ast.parse(textwrap.dedent("\n".join(out)))) == ast.dump(ast.parse(line.strip()))


def test_cli_codegen_lists_what_it_could_not_map(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from trtnn.cli import main

    out = tmp_path / "unmappable.py"
    assert main(["codegen", "test_codegen:Unmappable", "--input", "x:1x3x6x6", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "not mapped: torch.lgamma at test_codegen.py:" in err and "not mapped: torch.nn.GRU" in err
    assert "unsupported('torch.lgamma'" in out.read_text()  # the file is written all the same


def test_module_list_loops_and_subclassed_torch_layers() -> None:
    model, inputs = corpus("convnext")
    src = generate(model, inputs)
    assert "        stages = stem\n        for stage in self.stages:\n            stages = stage(stages)\n" in src
    assert "mean = stages.mean([-2, -1])" in src
    # a user subclass of nn.LayerNorm with its own forward is traced like any user module
    assert "class LayerNorm2d(nn.Module):\n" in src and "self.weight = nn.Parameter((8,))" in src
    assert "layer_norm = F.layer_norm(permute, (8,), weight=self.weight, bias=self.bias, eps=1e-06)" in src


class _SizeDependent(tnn.Module):
    """Sizes read from the input in every way torch code does: unpacked x.shape, x.size(d), x.shape[d],
    x.shape[-2:], in view, reshape and interpolate(size=)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = tnn.Conv2d(3, 8, 3, padding=1)
        self.proj = tnn.Conv2d(8, 4, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        y = torch.nn.functional.max_pool2d(torch.relu(self.conv(x)), 2)
        y = torch.nn.functional.interpolate(y, size=x.shape[-2:], mode="nearest")
        z = self.proj(y)
        att = torch.softmax(z.view(b, z.shape[1], -1), dim=-1).reshape(b, 4, h, w) + z
        tokens = att.flatten(2).transpose(1, 2)
        return att * 2, tokens.mean(1), att.view(att.size(0), -1).sum(1)


def test_generated_code_is_shape_generic_and_builds_dynamic() -> None:
    """Sizes are read from the tensors at define time (F.sym_size / F.sym_shape), not frozen at the example's: the
    generated network defines with a dynamic batch, height and width and equals torch at two sizes."""
    from trtnn.reference import Executor

    torch.manual_seed(0)
    model = _SizeDependent().eval()
    code = generate_code(model, torch.randn(1, 3, 16, 24))
    assert "16" not in code.source.split("def forward")[1] and "24" not in code.source.split("def forward")[1]
    assert "size=F.sym_shape(x)[-2:]" in code.source
    assert "reshape = softmax.reshape(F.sym_size(x, 0), 4, F.sym_size(x, 2), F.sym_size(x, 3))" in code.source
    assert "view_1 = add.view(F.sym_size(add, 0), -1)" in code.source
    generated = load_source(code.source).make_model()
    generated.load_state_dict(model.state_dict(), strict=True)
    spec = trtnn.Input("x", (-1, 3, -1, -1), min_shape=(1, 3, 8, 8), max_shape=(3, 3, 32, 40))
    net = trtnn.define(generated, [spec])
    assert [tuple(o.shape) for o in net.outputs] == [(-1, 4, -1, -1), (-1, 4), (-1,)]
    run = Executor(net)
    for shape in ((2, 3, 16, 24), (3, 3, 32, 8)):
        x = torch.randn(*shape)
        want = model(x)
        got = run({"x": x})
        for k, ref in zip(got, want):
            assert got[k].shape == ref.shape and torch.allclose(got[k], ref, rtol=1e-4, atol=1e-5), (shape, k)
    trtnn.build_network(net)  # TensorRT-RTX builds it with the dynamic profile


def test_generated_vit_runs_with_a_dynamic_batch() -> None:
    """The corpus ViT (class token `expand(x.shape[0], -1, -1)`, patch tokens `reshape(x.shape[0], c, -1)`):
    generated code defines with a dynamic batch and equals torch at batches 1 and 3."""
    from trtnn.reference import Executor

    model, inputs = corpus("vit")
    generated = load_source(generate(model, inputs)).make_model()
    generated.load_state_dict(model.state_dict(), strict=True)
    c, h, w = inputs.shape[1:] if isinstance(inputs, torch.Tensor) else inputs[0].shape[1:]
    net = trtnn.define(generated, [trtnn.Input("x", (-1, c, h, w), min_shape=(1, c, h, w), max_shape=(4, c, h, w))])
    run = Executor(net)
    for b in (1, 3):
        x = torch.randn(b, c, h, w)
        got, want = next(iter(run({"x": x}).values())), model(x)
        assert got.shape == want.shape and torch.allclose(got, want, rtol=1e-4, atol=1e-5), b
