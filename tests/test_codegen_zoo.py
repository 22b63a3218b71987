"""trtnn.codegen on the patterns of public model zoos (tests/corpus/zoo_patterns.py, one model per failure class of
issue 17): each round-trips, and the generated code says what it fixed; generated code is shape-generic."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

import trtnn
from corpus import zoo_patterns
from trtnn.codegen import full_state_dict, generate_code, load_source, round_trip
from trtnn.reference import Executor

HERE = Path(zoo_patterns.__file__).name


def _case(name: str):
    torch.manual_seed(0)
    model, inputs = zoo_patterns.CASES[name]()
    return zoo_patterns.randomize(model), inputs


def _line(text: str) -> int:
    return next(i for i, t in enumerate(Path(zoo_patterns.__file__).read_text().splitlines(), 1) if text in t)


@pytest.mark.parametrize("name", list(zoo_patterns.CASES))
def test_round_trip(name: str) -> None:
    model, inputs = _case(name)
    code = generate_code(model, inputs)
    assert not code.unmapped
    result = round_trip(code.source, model, inputs, build=False)
    assert result.max_rel_err <= 1e-5, result.max_rel_err
    # no literal tensor of more than a few elements anywhere in the code
    assert not [t for t in re.findall(r"torch\.tensor\((\[.*?\])", code.source, re.S) if t.count(",") >= 16]


def test_list_arguments_and_returns_are_tensors_of_the_network() -> None:
    model, inputs = _case("list_args")
    src = generate_code(model, inputs).source
    assert "    def forward(self, features):\n" in src  # the decoder's list argument is an input
    assert "blocks_0 = self.blocks[0](features[::-1][0], features[::-1][1:][0])" in src
    assert "torch.tensor(" not in src
    assert "return {'mask': head, 'deepest': encoder[-1]}" in src
    star = generate_code(*_case("star_args")).source
    assert "    def forward(self, *features):\n" in star and "list_1 = list(features)" not in star


def test_placeholder_names_and_star_arguments_round_trip() -> None:
    src = generate_code(*_case("input_named")).source
    assert "    def forward(self, input):\n        gelu = F.gelu(input, approximate='tanh')" in src
    src = generate_code(*_case("args_kwargs")).source
    assert "    def forward(self, x, *args, **kwargs):\n        conv = self.conv(x)" in src  # empty: ignored
    assert "    def forward(self, *args, **kwargs):\n        conv = self.conv(args[0])" in src
    assert "getitem_2 = kwargs['temb'][:, :, None, None]" in src and "embedded = self.embedded(block, temb=proj)" in src


def test_containers_and_composites() -> None:
    src = generate_code(*_case("sequential_model")).source
    assert "class Residual(nn.Sequential):" in src and "class Sequential(nn.Sequential):" in src
    assert "        super().__init__(\n            nn.Conv2d(4, 4, 3, padding=1),\n            nn.ReLU(),\n" in src
    assert "add = x + _1" in src
    src = generate_code(*_case("composites")).source
    assert "UnsupportedModule" not in src
    assert "class SqueezeExcitation(nn.Module):\n    \"\"\"Generated from torchvision.ops.misc.SqueezeExcitation" in src
    assert "permute = F.permute(x, [0, 2, 3, 1])" in src
    src = generate_code(*_case("instance_norm")).source
    assert "self.norm = nn.InstanceNorm2d(4)\n        self.norm_affine = nn.InstanceNorm2d(4, affine=True)" in src


def test_type_checks_take_the_tensor_branch() -> None:
    src = generate_code(*_case("type_checks")).source
    assert "cat = F.cat([conv, skip], dim=1)" in src and "mul = cat * 2" in src


def test_ops_parameter_computations_and_buffers() -> None:
    model, inputs = _case("ops")
    code = generate_code(model, inputs)
    src = code.source
    # weight standardization: computed once, at define time, on the parameter's value
    assert "reshape = self.weight.data.reshape(1, 4, -1)" in src
    assert "batch_norm = torch.nn.functional.batch_norm(" in src and "training=True" in src
    assert "conv2d = F.conv2d(x, reshape_as, self.bias, (1, 1), (1, 1))" in src
    assert "getitem = self.attention_biases.data[:, self.attention_bias_idxs]" in src
    assert "norm = (conv * conv).sum(1, keepdim=True).sqrt()" in src
    assert "clamp_min = norm.clamp(min=1e-06)" in src
    assert "addcmul = truediv + 0.5 * gamma * truediv" in src
    assert "reshape_as = flatten_2.reshape(addcmul.shape)" in src
    # the non-persistent index buffer has no short recipe: an ordinary buffer, loaded with the weights
    assert code.buffers == ["bias.attention_bias_idxs"]
    assert "self.register_buffer('attention_bias_idxs', torch.zeros((9, 9), dtype=torch.int64))" in src
    net = load_source(src).make_model()
    with pytest.raises(trtnn.StateDictError, match="attention_bias_idxs"):
        net.load_state_dict(model.state_dict(), strict=True)
    net.load_state_dict(full_state_dict(model), strict=True)


def test_fixed_keyword_argument_is_marked_and_listed() -> None:
    code = generate_code(*_case("keyword_only"))
    line = _line("def forward(self, x, *, scale=2.0):")
    comment = f"# specialized at trace time (corpus/{HERE}:{line}): arguments fixed to their traced values: scale=3.0"
    assert "    def forward(self, x, *, scale=3.0):\n        " + comment in code.source
    assert code.specialized == [f"corpus/{HERE}:{line}): arguments fixed to their traced values: scale=3.0"]


def test_repeated_decisions_are_marked_once() -> None:
    code = generate_code(*_case("list_args"))
    line = _line("x = block(x, skips[i] if i < len(skips) else None)")
    assert code.source.count(f"({'corpus/' + HERE}:{line})") == 1


@pytest.mark.parametrize("name,sizes", [("list_args", (32, 64)), ("composites", (8, 12))])
def test_generated_code_is_shape_generic(name: str, sizes: tuple) -> None:
    """Generated at one size, defined at another: sizes are read from the tensors at define time."""
    model, (x,) = _case(name)
    code = generate_code(model, (torch.randn(1, 3, sizes[0], sizes[0]),))
    net_module = load_source(code.source).make_model()
    net_module.load_state_dict(model.state_dict(), strict=True)
    for h, w in ((sizes[1], sizes[1]), (sizes[0], sizes[1])):
        x = torch.randn(1, 3, h, w)
        net = trtnn.define(net_module, [trtnn.Input("x", tuple(x.shape))])
        got = list(Executor(net.network)({"x": x}).values())
        with torch.no_grad():
            ref = model(x)
        ref = list(ref.values()) if isinstance(ref, dict) else [ref]
        for g, r in zip(got, ref):
            assert g.shape == r.shape
            torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-4)


def test_cli_verify_failure_is_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from trtnn.cli import main

    out = tmp_path / "unmappable_gen.py"
    assert main(["codegen", "test_codegen:Unmappable", "--input", "x:1x3x6x6", "--verify", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "verify failed: UnsupportedError: torch.lgamma (called at test_codegen.py:" in err
    assert "Traceback" not in err and len([e for e in err.splitlines() if e.startswith("verify")]) == 1
    # a rewrite over the file codegen wrote is fine; a tolerance the result misses is a failure too
    assert main(["codegen", "corpus.unet:UNet", "--input", "x:1x3x16x16", "--verify", "--tol", "1e-30", "-o",
                 str(out)]) == 1
    assert "verify failed: CPU executor vs torch: max relative error" in capsys.readouterr().err
