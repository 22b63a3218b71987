"""The bad-input catalogue: every user-facing edge (API, CLI, checkpoints, files, CPU executor) refuses bad input with
a trtnn error of the right kind whose message names the thing, and leaves no file behind or changed.

Each case runs in a fresh folder (also the working directory) after its set-up wrote the files it needs; the test
fails with SILENT (accepted), UNCLEAR (wrong class, message without the names, a traceback) or LEFTOVER (a file
appeared, vanished or changed).
"""
from __future__ import annotations

import contextlib
import io
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Sequence, Tuple, Type

import numpy as np
import pytest
import torch

import trtnn
import trtnn.functional as F
import trtnn.nn as nn
import trtnn.eval  # read_polygons (trtnn does not import its eval package itself)
from harness import Fn, Tiny
from trtnn import errors as E
from trtnn.reference import Executor

ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0


class CliExit(Exception):
    """A CLI run that ended with a non-zero exit code: the code and what it printed on stderr."""

    def __init__(self, code: int, stderr: str) -> None:
        super().__init__(stderr)
        self.code, self.stderr = code, stderr


@dataclass
class Case:
    id: str
    run: Callable[[Path], Any]
    error: Type[BaseException]
    fragments: Sequence[str]
    setup: Callable[[Path], None] = field(default=lambda tmp: None)


CASES: list = []


def case(id: str, error: Type[BaseException], *fragments: str, setup: Callable[[Path], None] = lambda tmp: None):
    def register(fn: Callable[[Path], Any]) -> Callable[[Path], Any]:
        CASES.append(Case(id, fn, error, fragments, setup))
        return fn
    return register


def cli(*argv: str) -> Callable[[Path], Any]:
    """A CLI run in-process; a non-zero exit raises CliExit."""
    def run(tmp: Path) -> None:
        from trtnn.cli import main

        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main([a.replace("{tmp}", str(tmp)) for a in argv])
            except SystemExit as e:  # argparse
                code = e.code if isinstance(e.code, int) else 2
        if code:
            raise CliExit(code, err.getvalue())
    return run


def cli_case(id: str, argv: Sequence[str], *fragments: str, setup: Callable[[Path], None] = lambda tmp: None) -> None:
    CASES.append(Case(id, cli(*argv), CliExit, fragments, setup))


# ---- fixtures written by set-ups ---------------------------------------------------------------------------------
def tiny_state() -> Dict[str, torch.Tensor]:
    torch.manual_seed(0)
    ref = torch.nn.Sequential()
    ref.conv, ref.bn = torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4)
    return dict(ref.state_dict())


def write_ckpt(name: str, state: Callable[[], Dict[str, Any]] = tiny_state) -> Callable[[Path], None]:
    return lambda tmp: trtnn.save_checkpoint(state(), tmp / name)


def write_bytes(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda tmp: (tmp / name).write_bytes(data)


def truncated(name: str, keep: float = 0.6) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        trtnn.save_checkpoint(tiny_state(), tmp / ("full" + Path(name).suffix))
        data = (tmp / ("full" + Path(name).suffix)).read_bytes()
        (tmp / ("full" + Path(name).suffix)).unlink()
        (tmp / name).write_bytes(data[: int(len(data) * keep)])
    return setup


def yolo_weights(tmp: Path) -> None:
    trtnn.save_checkpoint(trtnn.models.yolov8("n", nc=2).state_dict(), tmp / "w.pt")


def defined(model: trtnn.Module, *inputs: trtnn.Input) -> trtnn.Network:
    return trtnn.define(model, list(inputs))


X = trtnn.Input("x", (1, 3, 8, 8))
DYN_X = trtnn.Input("x", (-1, 3, -1, -1), min_shape=(1, 3, 8, 8), max_shape=(4, 3, 32, 32))


def in_forward(fn: Callable[[trtnn.Tensor], Any], shape: Tuple[int, ...] = (1, 3, 8, 8)) -> Callable[[Path], Any]:
    return lambda tmp: trtnn.define(Fn(fn), [trtnn.Input("x", shape)])


def loaded(state: Callable[[], Dict[str, Any]], **kw: Any) -> Callable[[Path], Any]:
    return lambda tmp: Tiny().load_state_dict(state(), **kw)


def edited(**changes: Any) -> Callable[[], Dict[str, Any]]:
    def state() -> Dict[str, Any]:
        s = tiny_state()
        for key, fn in changes.items():
            s[key.replace("__", ".")] = fn(s[key.replace("__", ".")])
        return s
    return state


def nan_at(t: torch.Tensor) -> torch.Tensor:
    t = t.clone()
    t.view(-1)[1] = float("nan")
    return t


def inf_at(t: torch.Tensor) -> torch.Tensor:
    t = t.clone()
    t.view(-1)[0] = float("inf")
    return t


# ---- API: module registration ---------------------------------------------------------------------------------------
case("register_parameter dotted name", E.TrtnnError, "a.b", ".")(
    lambda tmp: trtnn.Module().register_parameter("a.b", trtnn.Parameter((2,))))
case("register_parameter empty name", E.TrtnnError, "empty")(
    lambda tmp: trtnn.Module().register_parameter("", trtnn.Parameter((2,))))
case("register_parameter non-string name", E.TrtnnError, "string", "int")(
    lambda tmp: trtnn.Module().register_parameter(3, trtnn.Parameter((2,))))
case("register_parameter a torch tensor", E.TrtnnError, "'w'", "Parameter")(
    lambda tmp: trtnn.Module().register_parameter("w", torch.zeros(2)))
case("register_buffer not a tensor", E.TrtnnError, "'b'", "str")(
    lambda tmp: trtnn.Module().register_buffer("b", "zeros"))
case("register_buffer over an attribute", E.TrtnnError, "'forward'", "already exists")(
    lambda tmp: trtnn.Module().register_buffer("forward", torch.zeros(2)))
case("add_module a torch module", E.ConfigError, "Module.c", "torch.nn", "trtnn.nn")(
    lambda tmp: trtnn.Module().add_module("c", torch.nn.Conv2d(3, 3, 1)))
case("add_module dotted name", E.TrtnnError, "a.b")(lambda tmp: trtnn.Module().add_module("a.b", nn.ReLU()))
case("setattr a torch module", E.ConfigError, "Module.conv", "Conv2d", "trtnn.nn")(
    lambda tmp: setattr(trtnn.Module(), "conv", torch.nn.Conv2d(3, 3, 1)))
case("setattr a torch Parameter", E.ConfigError, "Module.w", "trtnn.nn.Parameter")(
    lambda tmp: setattr(trtnn.Module(), "w", torch.nn.Parameter(torch.zeros(2))))


class NoSuper(trtnn.Module):
    def __init__(self) -> None:
        self.conv = nn.Conv2d(3, 3, 1)


case("Module without super().__init__()", E.TrtnnError, "super().__init__()")(lambda tmp: NoSuper())
case("Conv2d groups that do not divide", E.ShapeError, "groups=2", "in_channels=3")(
    lambda tmp: nn.Conv2d(3, 4, 3, groups=2))

# ---- API: Input -----------------------------------------------------------------------------------------------------
case("Input zero dim", E.ConfigError, "'x'", "0")(lambda tmp: trtnn.Input("x", (1, 0, 8, 8)))
case("Input negative dim", E.ConfigError, "'x'", "-3")(lambda tmp: trtnn.Input("x", (1, -3, 8, 8)))
case("Input dynamic without a range", E.TrtnnError, "'x'", "min_shape")(
    lambda tmp: trtnn.define(Tiny(), [trtnn.Input("x", (-1, 3, 8, 8))]))
case("Input min above max", E.ShapeError, "'x'", "dimension 0", "min 4", "max 2")(
    lambda tmp: trtnn.Input("x", (-1, 3), min_shape=(4, 3), max_shape=(2, 3)))
case("Input opt above max", E.ShapeError, "'x'", "opt 8", "max 4")(
    lambda tmp: trtnn.Input("x", (-1, 3), min_shape=(1, 3), opt_shape=(8, 3), max_shape=(4, 3)))
case("Input min of wrong rank", E.ShapeError, "'x'", "min_shape (1, 3, 1)")(
    lambda tmp: trtnn.Input("x", (-1, 3), min_shape=(1, 3, 1), max_shape=(2, 3)))
case("Input min of zero", E.TrtnnError, "'x'", "0")(
    lambda tmp: trtnn.Input("x", (-1, 3), min_shape=(0, 3), max_shape=(2, 3)))
case("Input static dim differs in range", E.ShapeError, "'x'", "4")(
    lambda tmp: trtnn.Input("x", (-1, 3), min_shape=(1, 4), max_shape=(2, 3)))
case("Input min above opt", E.ShapeError, "'x'", "dimension 0", "min 4", "opt 2")(
    lambda tmp: trtnn.Input("x", (-1, 3), min_shape=(4, 3), opt_shape=(2, 3), max_shape=(8, 3)))
case("Input profiles that do not nest", E.ShapeError, "'x'", "profile 1", "dimension 2", "min 64", "opt 32")(
    lambda tmp: trtnn.Input("x", (1, 3, -1, -1), profiles=[((1, 3, 8, 8), (1, 3, 16, 16)),
                                                           ((1, 3, 64, 64), (1, 3, 32, 32), (1, 3, 96, 96))]))
case("Input image range off the stride", E.ShapeError, "'images'", "dim 3 (width)", "max 150", "stride 32",
     "next valid value is 160")(
    lambda tmp: trtnn.models.tasks.End2End(trtnn.models.get("yolov8n")(nc=3)).inputs((128, 150), min_imgsz=(32, 32)))
case("Input unknown dtype", E.TrtnnError, "'x'", "fp33")(lambda tmp: trtnn.Input("x", (1, 3), dtype="fp33"))
case("Input shape as a string", E.ConfigError, "'x'", "shape")(lambda tmp: trtnn.Input("x", "1x3"))
case("duplicate input names", E.TrtnnError, "duplicate", "'x'")(
    lambda tmp: trtnn.define(Fn(lambda a, b: a + b), [X, X]))

# ---- API: define and build --------------------------------------------------------------------------------------------
case("build a torch module", E.ConfigError, "torch.nn", "trtnn")(
    lambda tmp: trtnn.build(torch.nn.Conv2d(3, 3, 1), [X]))
case("define a plain function", E.ConfigError, "trtnn.Module", "function")(
    lambda tmp: trtnn.define(lambda x: x, [X]))
class TwoInputs(trtnn.Module):
    def forward(self, a, b):
        return a + b


case("forward takes other inputs", E.TrtnnError, "TwoInputs.forward", "'x'")(
    lambda tmp: trtnn.define(TwoInputs(), [X]))
case("compute dtype int8", E.TrtnnError, "dtype", "int8")(lambda tmp: trtnn.define(Tiny(), [X], dtype="int8"))
case("output names count", E.TrtnnError, "2 output names", "1")(
    lambda tmp: trtnn.define(Tiny(), [X], output_names=["a", "b"]))
case("debug output not a module", E.TrtnnError, "'nope'", "module path")(
    lambda tmp: trtnn.define(Tiny(), [X], debug_outputs=["nope"]))
case("forward returns a number", E.TrtnnError, "forward must return", "int")(
    lambda tmp: trtnn.define(Fn(lambda x: 3), [X]))
case("negative workspace", E.ConfigError, "workspace", "-1")(
    lambda tmp: trtnn.build(Tiny(), [X], workspace=-1))
case("optimization level out of range", E.ConfigError, "optimization_level", "9")(
    lambda tmp: trtnn.build(Tiny(), [X], optimization_level=9))

# ---- API: torch functions on trtnn tensors, functional misuse ----------------------------------------------------------
case("torch.cat on trtnn tensors", E.UnsupportedError, "torch.cat", "trtnn.functional.cat")(
    in_forward(lambda x: torch.cat([x, x], 1)))
case("torch.relu on a trtnn tensor", E.UnsupportedError, "torch.relu", "trtnn.functional.relu")(
    in_forward(lambda x: torch.relu(x)))
case("torch.nn.functional.conv2d on a trtnn tensor", E.UnsupportedError, "conv2d", "trtnn.functional.conv2d")(
    in_forward(lambda x: torch.nn.functional.conv2d(x, torch.zeros(2, 3, 1, 1))))
case("conv2d channel mismatch", E.ShapeError, "'x'", "3 channels", "8")(
    in_forward(lambda x: F.conv2d(x, torch.zeros(2, 8, 1, 1))))
case("reshape to a wrong size", E.ShapeError, "'x'", "(5, -1)")(in_forward(lambda x: x.reshape(5, -1)))
case("cat of mismatched shapes", E.ShapeError, "cat", "(1, 3, 8, 8)")(in_forward(lambda x: F.cat([x, x[:, :, :4]], 1)))
case("matmul mismatch", E.ShapeError, "matmul", "8 != 3")(in_forward(lambda x: x @ x[:, :, :3]))
case("interpolate size and scale", E.TrtnnError, "exactly one", "size", "scale_factor")(
    in_forward(lambda x: F.interpolate(x, size=4, scale_factor=2)))
case("reflect pad too large", E.ShapeError, "reflect", "'x'")(in_forward(lambda x: F.pad(x, (9, 9), mode="reflect")))
case("topk larger than the dim", E.ShapeError, "topk", "k=9", "size 8")(in_forward(lambda x: F.topk(x, 9)))
case("tensor as a Python bool", E.ShapeError, "'x'", "bool")(in_forward(lambda x: x if x else x))
case("softmax dim out of range", E.ShapeError, "dim 5", "rank 4")(in_forward(lambda x: F.softmax(x, 5)))
case("index out of bounds", E.ShapeError, "index 9", "size 3", "'x'")(in_forward(lambda x: x[:, 9]))
case("permute not a permutation", E.ShapeError, "permute", "'x'")(in_forward(lambda x: x.permute(0, 1, 1, 2)))
case("interpolate unknown mode", E.UnsupportedError, "mode='cubicle'")(
    in_forward(lambda x: F.interpolate(x, scale_factor=2, mode="cubicle")))

# ---- API: load_state_dict -------------------------------------------------------------------------------------------------
case("state_dict missing keys", E.StateDictError, "missing", "bn.running_var")(
    loaded(lambda: {k: v for k, v in tiny_state().items() if k != "bn.running_var"}))
case("state_dict unexpected keys", E.StateDictError, "unexpected", "head.weight")(
    loaded(lambda: {**tiny_state(), "head.weight": torch.zeros(1)}))
case("state_dict size mismatch", E.StateDictError, "size mismatch", "conv.weight", "(4, 3, 3, 3)")(
    loaded(edited(conv__weight=lambda t: t[:2])))
case("state_dict NaN weight", E.StateDictError, "conv.weight", "NaN")(loaded(edited(conv__weight=nan_at)))
case("state_dict Inf bias", E.StateDictError, "conv.bias", "1 Inf")(loaded(edited(conv__bias=inf_at)))
case("state_dict negative running_var", E.StateDictError, "bn.running_var", "negative")(
    loaded(edited(bn__running_var=lambda t: -t)))
case("state_dict value not a tensor", E.StateDictError, "conv.bias", "str")(
    loaded(edited(conv__bias=lambda t: "zeros")))
case("state_dict fractional value for an integer buffer", E.StateDictError, "bn.num_batches_tracked")(
    loaded(edited(bn__num_batches_tracked=lambda t: torch.tensor([2.5]))))

# ---- checkpoints ------------------------------------------------------------------------------------------------------------
case("checkpoint missing", E.CheckpointError, "checkpoint file not found", "nothere.pt'")(
    lambda tmp: trtnn.load_checkpoint(tmp / "nothere.pt"))
case("checkpoint is a folder", E.CheckpointError, "sub'", "is not a file", setup=lambda tmp: (tmp / "sub").mkdir())(
    lambda tmp: trtnn.load_checkpoint(tmp / "sub"))
case("checkpoint empty file", E.CheckpointError, "empty.pt'", "the file is empty (0 bytes)",
     setup=write_bytes("empty.pt", b""))(
    lambda tmp: trtnn.load_checkpoint(tmp / "empty.pt"))
case("checkpoint of unknown format", E.CheckpointError, "odd.safetensors'",
     "unknown checkpoint format (.safetensors; starts with b'\\x01\\x02\\x03'; truncated or corrupt?)",
     setup=write_bytes("odd.safetensors", b"\x01\x02\x03"))(lambda tmp: trtnn.load_checkpoint(tmp / "odd.safetensors"))
case("checkpoint random bytes", E.CheckpointError, "noise.pt",
     setup=write_bytes("noise.pt", np.random.default_rng(0).bytes(4096)))(
    lambda tmp: trtnn.load_checkpoint(tmp / "noise.pt"))
case("checkpoint truncated zip", E.CheckpointError, "cut.pt", "truncated", setup=truncated("cut.pt"))(
    lambda tmp: trtnn.load_checkpoint(tmp / "cut.pt"))
case("checkpoint truncated safetensors", E.CheckpointError, "cut.safetensors", "truncated",
     setup=truncated("cut.safetensors", 0.9))(lambda tmp: trtnn.load_checkpoint(tmp / "cut.safetensors"))
case("checkpoint truncated npz", E.CheckpointError, "cut.npz", "truncated", setup=truncated("cut.npz"))(
    lambda tmp: trtnn.load_checkpoint(tmp / "cut.npz"))
case("safetensors header too large", E.CheckpointError, "big.safetensors", "header", "too large",
     setup=write_bytes("big.safetensors", struct.pack("<Q", 1 << 40) + b"{}"))(
    lambda tmp: trtnn.load_checkpoint(tmp / "big.safetensors"))
case("wts tensor count", E.CheckpointError, "bad.wts", "3", "2",
     setup=write_bytes("bad.wts", b"3\na 1 3f800000\nb 1 3f800000\n"))(
    lambda tmp: trtnn.load_checkpoint(tmp / "bad.wts"))
case("wts non-hex value", E.CheckpointError, "line 3", "'b'",
     setup=write_bytes("bad.wts", b"2\na 1 3f800000\nb 2 3f800000 zz\n"))(
    lambda tmp: trtnn.load_checkpoint(tmp / "bad.wts"))
case("wts element count", E.CheckpointError, "line 2", "'a'", "3", "2",
     setup=write_bytes("bad.wts", b"1\na 3 3f800000 3f800000\n"))(
    lambda tmp: trtnn.load_checkpoint(tmp / "bad.wts"))


def torchscript(tmp: Path) -> None:
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(tmp / "ts.pt"))


case("checkpoint TorchScript archive", E.CheckpointError, "ts.pt", "TorchScript", setup=torchscript)(
    lambda tmp: trtnn.load_checkpoint(tmp / "ts.pt"))


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def evil(tmp: Path) -> None:
    torch.save({"model": _Evil()}, tmp / "evil.pt")


case("checkpoint with code in its pickle", E.CheckpointError, "evil.pt", setup=evil)(
    lambda tmp: trtnn.load_checkpoint(tmp / "evil.pt"))

# ---- writers --------------------------------------------------------------------------------------------------------------------
case("save into a missing folder", E.FileError, "nodir", "does not exist")(
    lambda tmp: trtnn.save_checkpoint(tiny_state(), tmp / "nodir" / "w.pt"))
case("save with an unknown extension", E.ConfigError, ".xyz", ".safetensors")(
    lambda tmp: trtnn.save_checkpoint(tiny_state(), tmp / "w.xyz"))
case("save onto a folder", E.FileError, "sub", "folder", setup=lambda tmp: (tmp / "sub.pt").mkdir())(
    lambda tmp: trtnn.save_checkpoint(tiny_state(), tmp / "sub.pt"))
case("convert onto itself", E.FileError, "w.pt' is the same file as '", "w.pt", setup=write_ckpt("w.pt"))(
    lambda tmp: trtnn.io.checkpoint.convert(tmp / "w.pt", tmp / "w.pt"))
case("convert to an unknown format (checked before the source is read)", E.ConfigError, "w.onnx'",
     "unknown extension '.onnx'; supported: .safetensors, .npz, .wts, .pt, .pth")(
    lambda tmp: trtnn.io.checkpoint.convert(tmp / "missing.pt", tmp / "w.onnx"))
case("convert into a missing folder (checked before the source is read)", E.FileError, "nodir", "does not exist")(
    lambda tmp: trtnn.io.checkpoint.convert(tmp / "missing.pt", tmp / "nodir" / "w.wts"))
case("save a module instead of its state_dict", E.ConfigError, "expected a state_dict",
     "got Linear (pass model.state_dict())")(lambda tmp: trtnn.save_checkpoint(torch.nn.Linear(2, 2), tmp / "w.pt"))
case("save a list", E.ConfigError, "expected a state_dict", "got list")(
    lambda tmp: trtnn.save_checkpoint([torch.ones(1)], tmp / "w.pt"))
case("convert a missing file", E.TrtnnError, "nothere.pt")(
    lambda tmp: trtnn.io.checkpoint.convert(tmp / "nothere.pt", tmp / "w.safetensors"))
case("engine save into /proc", E.FileError, "/proc/trtnn-test.plan")(
    lambda tmp: trtnn.Engine(b"plan", [], [], "tensorrt_rtx").save("/proc/trtnn-test.plan"))
case("engine save into a missing folder", E.FileError, "nodir", "does not exist")(
    lambda tmp: trtnn.Engine(b"plan", [], [], "tensorrt_rtx").save(tmp / "nodir" / "x.plan"))

# ---- quantization ------------------------------------------------------------------------------------------------------
case("int8 without calibration", E.ConfigError, "int8", "calibration=")(
    lambda tmp: trtnn.define(Tiny(), [X], dtype="int8"))
case("calibration with a float dtype", E.ConfigError, "calibration=", "fp16")(
    lambda tmp: trtnn.define(Tiny(), [X], dtype="fp16", calibration={"x": 1.0}))
case("calibration method unknown", E.ConfigError, "'kl'", "entropy")(
    lambda tmp: trtnn.quant.calibrate(Tiny(), [X], [{"x": np.zeros((1, 3, 8, 8), np.float32)}], method="kl"))
case("calibration cache corrupt", E.CheckpointError, "bad.json", setup=write_bytes("bad.json", b"{not json"))(
    lambda tmp: trtnn.quant.calibrate(Tiny(), [X], [{"x": np.zeros((1, 3, 8, 8), np.float32)}], method="minmax",
                                      cache=str(tmp / "bad.json")))
case("exclude names nothing", E.ConfigError, "nope")(
    lambda tmp: trtnn.define(Tiny(), [X], dtype="int8", calibration={"x": 1.0, "bn": 1.0}, exclude=["nope"]))
case("policy head box format unknown", E.ConfigError, "box_format", "'xywh' or 'xyxy'", "'cxcywh'")(
    lambda tmp: trtnn.quant.parts.HeadLayout(3, box_format="cxcywh"))
case("policy head keypoint dims out of range", E.ConfigError, "keypoint_dims", "0, 2 or 3", "got 4")(
    lambda tmp: trtnn.quant.parts.HeadLayout(1, "keypoints", keypoint_dims=4))

# ---- CPU executor -----------------------------------------------------------------------------------------------------------------
case("executor missing input", E.InputError, "'x'")(lambda tmp: Executor(defined(Tiny(), X).network)({}))
case("executor wrong shape", E.InputError, "'x'", "(1, 3, 8, 8)", "(1, 3, 4, 4)")(
    lambda tmp: Executor(defined(Tiny(), X).network)({"x": torch.zeros(1, 3, 4, 4)}))
case("executor unknown input", E.InputError, "'y'")(
    lambda tmp: Executor(defined(Tiny(), X).network)({"x": torch.zeros(1, 3, 8, 8), "y": torch.zeros(1)}))
case("executor input not a tensor", E.InputError, "'x'", "str")(
    lambda tmp: Executor(defined(Tiny(), X).network)({"x": "image.png"}))
case("executor shape outside the profile", E.InputError, "'x'", "dim 0 is 5", "allowed 1..4")(
    lambda tmp: Executor(defined(Tiny(), DYN_X))({"x": torch.zeros(5, 3, 16, 16)}))
case("executor shape outside every profile", E.InputError, "2 optimization profiles", "profile 0", "dim 0 is 2",
     "allowed 1..1", "profile 1", "dim 2 is 8", "allowed 16..32")(
    lambda tmp: Executor(defined(Tiny(), trtnn.Input("x", (-1, 3, -1, -1), profiles=[
        ((1, 3, 8, 8), (1, 3, 8, 8)), ((2, 3, 16, 16), (4, 3, 32, 32))])))({"x": torch.zeros(2, 3, 8, 8)}))
case("executor on something else", E.ConfigError, "Tiny", "Executor(trtnn.define(model")(lambda tmp: Executor(Tiny()))

# ---- shipped models --------------------------------------------------------------------------------------------------------------
case("unknown yolo scale", E.ConfigError, "'q'", "n")(lambda tmp: trtnn.models.yolov8("q"))
case("yolo nc 0", E.ConfigError, "nc", "0")(lambda tmp: trtnn.models.yolov8("n", nc=0))
case("unet n_classes 0", E.ConfigError, "n_classes", "0")(lambda tmp: trtnn.models.UNet(3, 0))
case("unknown registered model", E.ConfigError, "'yolov99'", "yolov8n")(lambda tmp: trtnn.models.get("yolov99"))
case("from_checkpoint unknown model", E.ConfigError, "'yolov99'", setup=write_ckpt("w.pt"))(
    lambda tmp: trtnn.models.from_checkpoint("yolov99", tmp / "w.pt"))
case("from_checkpoint wrong family", E.StateDictError, "missing", setup=write_ckpt("w.pt"))(
    lambda tmp: trtnn.models.from_checkpoint("yolov8n", tmp / "w.pt"))
case("End2End unknown kind", E.TrtnnError, "'v9'")(
    lambda tmp: trtnn.models.tasks.End2End(Tiny(), "v9"))
case("NMS pre_nms_topk 0", E.TrtnnError, "pre_nms_topk", "0")(lambda tmp: trtnn.models.vision.NMS(pre_nms_topk=0))

# ---- CLI (argument checks of `trtnn build` & co. that test_cli.py's table covers are not repeated here) --------------
Y = ("build", "yolov8n", "--random-weights", "--imgsz", "64", "-o", "{tmp}/y.plan")
E2E = Y + ("--end2end",)
cli_case("cli input zero dim", ("inspect", "yolov8n", "--random-weights", "--input", "images:1x3x0x64"),
         "images", "0")
cli_case("cli min above max", ("inspect", "yolov8n", "--random-weights", "--input", "images:-1x3x64x64", "--min",
                               "images:4x3x64x64", "--max", "images:2x3x64x64"), "images", "4", "2")
cli_case("cli min for an unknown input", ("inspect", "yolov8n", "--random-weights", "--input", "images:-1x3x64x64",
                                          "--min", "other:1x3x64x64", "--max", "images:2x3x64x64"), "other")
cli_case("cli min above opt", ("inspect", "yolov8n", "--random-weights", "--min", "images:1x3x96x96", "--opt",
                               "images:1x3x64x64", "--max", "images:1x3x128x128"), "images", "dim 2", "min 96",
         "opt 64")
cli_case("cli range off the stride", ("inspect", "yolov8n", "--random-weights", "--min", "images:1x3x64x64", "--max",
                                      "images:1x3x64x100"), "--max", "images", "dim 3 (width) 100", "stride 32",
         "next valid value is 128")
cli_case("cli duplicate min for one input", ("inspect", "yolov8n", "--random-weights", "--min", "images:1x3x64x64",
                                             "--min", "images:2x3x64x64", "--max", "images:2x3x96x96"), "images",
         "2 --min and 1 --max")
cli_case("cli NCHW shape for NHWC uint8 images", E2E[:3] + E2E[5:] + ("--preprocess", "--min", "images:1x3x64x64",
                                                                     "--max", "images:1x3x64x64"), "--min", "images",
         "NHWC uint8", "NCHW order", "images:1x64x64x3")
cli_case("cli min for an input the model lacks", ("inspect", "yolov8n", "--random-weights", "--min", "x:1x3x64x64",
                                                  "--max", "x:1x3x64x64"), "'x'", "yolov8n", "'images'")
cli_case("cli dynamic with explicit ranges", ("inspect", "yolov8n", "--random-weights", "--dynamic", "--min",
                                              "images:1x3x64x64", "--max", "images:1x3x64x64"), "--dynamic", "--min")
cli_case("cli dynamic input without a range", ("inspect", "yolov8n", "--random-weights", "--input",
                                               "images:-1x3x64x64"), "images", "--min")
cli_case("cli end2end for unet", ("build", "unet", "--random-weights", "--imgsz", "64", "--end2end", "-o",
                                  "{tmp}/u.plan"), "--end2end", "unet")
cli_case("cli unknown dtype", Y + ("--dtype", "int4"), "--dtype", "int4")
cli_case("cli weights truncated", ("build", "unet", "--weights", "{tmp}/cut.pt", "-o", "{tmp}/y.plan"), "cut.pt",
         "truncated", setup=truncated("cut.pt"))
cli_case("cli weights of another family", ("build", "unet", "--weights", "{tmp}/w.pt", "--imgsz", "64", "-o",
                                           "{tmp}/u.plan"), "missing", setup=yolo_weights)
def seg_weights(tmp: Path) -> None:
    trtnn.save_checkpoint(trtnn.models.yolov8_seg("n", nc=2).state_dict(), tmp / "seg.pt")


cli_case("cli segmentation weights for a detection name", ("build", "yolov8n", "--weights", "{tmp}/seg.pt", "--imgsz",
                                                           "64", "-o", "{tmp}/y.plan"), "segmentation", "yolov8n-seg",
         setup=seg_weights)
cli_case("cli detection weights for a segmentation name", ("build", "yolov8n-seg", "--weights", "{tmp}/w.pt",
                                                           "--imgsz", "64", "-o", "{tmp}/y.plan"), "detection",
         "use yolov8n", setup=yolo_weights)
def calib_npy(tmp: Path) -> None:
    np.save(tmp / "calib.npy", np.zeros((8, 3, 64, 64), np.float32))


cli_case("cli int8 without calibration data", Y + ("--dtype", "int8"), "--dtype int8", "--calib-data")
cli_case("cli calibration data without int8", Y + ("--calib-data", "{tmp}/calib.npy"), "--calib-data",
         "--dtype int8", setup=calib_npy)
cli_case("cli calibration data missing", Y + ("--dtype", "int8", "--calib-data", "{tmp}/none.npy"), "none.npy",
         "does not exist")
cli_case("cli calib-images 0", Y + ("--dtype", "int8", "--calib-data", "{tmp}/calib.npy", "--calib-images", "0"),
         "--calib-images", "0", setup=calib_npy)
cli_case("cli calibration cache into a missing folder", ("calibrate", "unet", "--random-weights", "--imgsz", "64",
                                                         "--calib-data", "{tmp}/calib.npy", "--calib-cache",
                                                         "{tmp}/nodir/c.json"), "nodir", "does not exist",
         setup=calib_npy)
cli_case("cli compare bad target", ("compare", "harness.Fn", "harness:Fn", "--input", "x:1x3x8x8"), "harness.Fn")
cli_case("cli debug output not a module", Y + ("--debug-output", "model.99"), "model.99")


# ---- ops for modern networks: unsupported arguments and shape mistakes ----------------------------------------------------
def _mha(**kw):
    return nn.MultiheadAttention(8, 2, **kw)


case("sdpa dropout_p", E.UnsupportedError, "dropout_p=0.1", "0.0")(
    in_forward(lambda x: F.scaled_dot_product_attention(x, x, x, dropout_p=0.1)))
case("sdpa enable_gqa", E.UnsupportedError, "enable_gqa=True")(
    in_forward(lambda x: F.scaled_dot_product_attention(x, x, x, enable_gqa=True)))
case("sdpa mask and is_causal", E.ConfigError, "attn_mask", "is_causal=True")(
    in_forward(lambda x: F.scaled_dot_product_attention(x, x, x, torch.ones(8, 8, dtype=torch.bool), is_causal=True)))
case("MultiheadAttention add_bias_kv", E.UnsupportedError, "add_bias_kv=True")(lambda tmp: _mha(add_bias_kv=True))
case("MultiheadAttention add_zero_attn", E.UnsupportedError, "add_zero_attn=True")(
    lambda tmp: _mha(add_zero_attn=True))
case("MultiheadAttention heads do not divide", E.ConfigError, "embed_dim=10", "num_heads=3")(
    lambda tmp: nn.MultiheadAttention(10, 3))
case("MultiheadAttention is_causal without mask", E.ConfigError, "is_causal=True", "attn_mask")(
    in_forward(lambda x: _mha()(x[0], x[0], x[0], is_causal=True)))
case("layer_norm shape mismatch", E.ShapeError, "normalized_shape", "(5,)", "'x'")(
    in_forward(lambda x: F.layer_norm(x, (5,))))
case("group_norm groups do not divide", E.ShapeError, "num_groups=2", "3 channels", "'x'")(
    in_forward(lambda x: F.group_norm(x, 2)))
case("GroupNorm groups do not divide", E.ShapeError, "num_groups=4", "num_channels=6")(
    lambda tmp: nn.GroupNorm(4, 6))
case("Embedding max_norm", E.UnsupportedError, "max_norm=1.0")(lambda tmp: nn.Embedding(4, 2, max_norm=1.0))
case("embedding float indices", E.ShapeError, "'x'", "integers")(
    in_forward(lambda x: F.embedding(x, torch.zeros(4, 2))))
case("einsum ellipsis", E.UnsupportedError, "'...'", "ellipsis")(in_forward(lambda x: F.einsum("...ij->...ji", x)))
case("interpolate area on 5-D", E.UnsupportedError, "area", "5-D")(
    in_forward(lambda x: F.interpolate(F.unsqueeze(x, 2), scale_factor=0.5, mode="area")))
case("interpolate bicubic on 3-D", E.ShapeError, "bicubic", "4-D")(
    in_forward(lambda x: F.interpolate(x[0], scale_factor=2, mode="bicubic")))
case("pixel_shuffle channels", E.ShapeError, "upscale_factor=2", "'x'", "(1, 3, 8, 8)")(
    in_forward(lambda x: F.pixel_shuffle(x, 2)))
case("conv1d on a 4-D input", E.ShapeError, "conv1d", "3-D", "'x'")(
    in_forward(lambda x: F.conv1d(x, torch.zeros(2, 3, 1))))
case("max_pool3d dilation", E.UnsupportedError, "max_pool3d", "dilation")(
    in_forward(lambda x: F.max_pool3d(F.unsqueeze(x, 2), 1, dilation=2)))
case("ConvTranspose3d padding_mode", E.UnsupportedError, "ConvTranspose3d", "zeros")(
    lambda tmp: nn.ConvTranspose3d(2, 2, 3, padding_mode="reflect"))
case("repeat with too few counts", E.ShapeError, "repeat", "'x'", "rank 4")(in_forward(lambda x: x.repeat(2, 2)))
case("roll shifts and dims differ", E.ShapeError, "shifts (1, 2)", "dims (1,)")(
    in_forward(lambda x: F.roll(x, (1, 2), 1)))
case("masked_fill float mask", E.ShapeError, "masked_fill", "bool")(in_forward(lambda x: x.masked_fill(x, 0.0)))
case("prelu slope count", E.ShapeError, "prelu", "5 slopes", "'x'")(in_forward(lambda x: F.prelu(x, torch.ones(5))))
case("unflatten sizes", E.ShapeError, "unflatten", "(2, 2)", "'x'")(in_forward(lambda x: F.unflatten(x, 1, (2, 2))))
case("local_response_norm even size", E.UnsupportedError, "size=4", "odd")(
    in_forward(lambda x: F.local_response_norm(x, 4)))
case("adaptive_max_pool3d return_indices", E.UnsupportedError, "adaptive_max_pool3d", "return_indices")(
    in_forward(lambda x: F.adaptive_max_pool3d(F.unsqueeze(x, 2), 3, return_indices=True)))
case("glu odd size", E.ShapeError, "glu", "'x'", "even")(in_forward(lambda x: F.glu(x, 1)))
case("Transformer activation", E.ConfigError, "activation 'tanh'", "'relu', 'gelu'")(
    lambda tmp: nn.TransformerEncoderLayer(8, 2, activation="tanh"))


# ---- codegen (trtnn.codegen.generate and `trtnn codegen`) ----------------------------------------------------------
def _generate(model: Any, inputs: Any, **kw: Any) -> Callable[[Path], Any]:
    return lambda tmp: __import__("trtnn.codegen", fromlist=["generate"]).generate(model, inputs, **kw)


case("codegen of a trtnn module", trtnn.ConfigError, "torch.nn.Module", "Tiny")(_generate(Tiny(), torch.zeros(1)))
case("codegen of a bare torch layer", trtnn.ConfigError, "Conv2d", "torch.nn layer")(
    _generate(torch.nn.Conv2d(3, 4, 3), torch.zeros(1, 3, 8, 8)))
_UNET = __import__("corpus.unet", fromlist=["UNet"]).UNet
case("codegen example input not a tensor", trtnn.ConfigError, "example_inputs", "list")(_generate(_UNET(), [[1, 2]]))
case("codegen class name not an identifier", trtnn.ConfigError, "class_name", "'my net'")(
    _generate(_UNET(), torch.zeros(1, 3, 32, 32), class_name="my net"))
CG = ("codegen", "corpus.unet:UNet")
cli_case("cli codegen without inputs", CG + ("-o", "{tmp}/g.py"), "--input")
cli_case("cli codegen dynamic input", CG + ("--input", "x:-1x3x32x32", "-o", "{tmp}/g.py"), "'x'", "static shape")
cli_case("cli codegen output not .py", CG + ("--input", "x:1x3x32x32", "-o", "{tmp}/g.txt"), "g.txt", ".py")
cli_case("cli codegen output folder missing", CG + ("--input", "x:1x3x32x32", "-o", "{tmp}/nodir/g.py"), "nodir",
         "does not exist")
cli_case("cli codegen target not torch", ("codegen", "harness:TorchNS", "--input", "x:1x3x8x8", "-o", "{tmp}/g.py"),
         "harness:TorchNS", "torch.nn.Module")
cli_case("cli codegen weights missing", CG + ("--input", "x:1x3x32x32", "--weights", "{tmp}/no.pt", "-o",
                                              "{tmp}/g.py"), "no.pt", "no such file")
cli_case("cli codegen weights of another model", CG + ("--input", "x:1x3x32x32", "--weights", "{tmp}/w.pt", "-o",
                                                       "{tmp}/g.py"), "w.pt", "UNet", setup=write_ckpt("w.pt"))


def _own_module(tmp: Path) -> None:  # a model module in tmp, importable as `cg_own_input`
    import sys

    (tmp / "cg_own_input.py").write_text("import torch\n\ndef make():\n    return torch.nn.Sequential(torch.nn.ReLU())\n")
    sys.path.insert(0, str(tmp))


_IN = ("--input", "x:1x3x32x32")
cli_case("cli codegen output is its own input", ("codegen", "cg_own_input:make", "--input", "input:1x3x4x4", "-o",
                                                 "{tmp}/cg_own_input.py"), "cg_own_input", "own input",
         setup=_own_module)
cli_case("cli codegen output is a source file", CG + _IN + ("-o", "{tmp}/mine.py"), "mine.py", "not written by",
         "--force", setup=write_bytes("mine.py", b"x = 1\n"))
cli_case("cli codegen output name not a module", CG + _IN + ("-o", "{tmp}/my-model.py"), "my-model", "my_model.py")
cli_case("cli codegen output shadows torch", CG + _IN + ("-o", "{tmp}/torch.py"), "'torch'", "torch_trtnn.py")
cli_case("cli codegen output name a keyword", CG + _IN + ("-o", "{tmp}/class.py"), "keyword", "class_trtnn.py")
cli_case("cli codegen factory fails", ("codegen", "corpus.zoo_patterns:randomize", *_IN, "-o", "{tmp}/g.py"),
         "corpus.zoo_patterns:randomize", "TypeError", "model")
cli_case("cli codegen module fails to import", ("codegen", "cg_bad_module:make", *_IN, "-o", "{tmp}/g.py"),
         "cg_bad_module", "cannot import")
cli_case("cli codegen too many inputs", CG + _IN + ("--input", "y:1x3x32x32", "-o", "{tmp}/g.py"),
         "corpus.unet:UNet", "UNet.forward(x)", "takes 1 input(s), got 2")
cli_case("cli codegen input misnamed", CG + ("--input", "img:1x3x32x32", "-o", "{tmp}/g.py"), "'img'", "named 'x'",
         "--input x:1x3x32x32")
cli_case("cli codegen input of the wrong shape", CG + ("--input", "x:1x4x32x32", "-o", "{tmp}/g.py"),
         "corpus.unet:UNet", "x:1x4x32x32", "RuntimeError")


# ---- precision report (trtnn.debug.precision_report, trtnn precision) -------------------------------------------
ONES = [{"x": np.ones((1, 3, 8, 8), np.float32)}]
case("precision report unknown dtype", E.ConfigError, "dtype", "'int4'", "fp16")(
    lambda tmp: trtnn.debug.precision_report(Tiny(), [X], ONES, dtype="int4"))
case("precision report target without metric", E.ConfigError, "metric=", "target=")(
    lambda tmp: trtnn.debug.precision_report(Tiny(), [X], ONES, target=0.9))
case("precision report metric not callable", E.ConfigError, "metric", "float")(
    lambda tmp: trtnn.debug.precision_report(Tiny(), [X], ONES, metric=0.9, target=0.9))
case("precision report target_sqnr nan", E.ConfigError, "target_sqnr", "nan")(
    lambda tmp: trtnn.debug.precision_report(Tiny(), [X], ONES, target_sqnr=float("nan")))
case("precision report empty data", E.ConfigError, "no batch")(
    lambda tmp: trtnn.debug.precision_report(Tiny(), [X], [], dtype="fp16"))
case("precision report calibration for fp16", E.ConfigError, "calibration=", "'fp16'")(
    lambda tmp: trtnn.debug.precision_report(Tiny(), [X], ONES, dtype="fp16", calibration={"x": 1.0}))
case("precision report batch outside the profile", E.InputError, "'x'", "dim 0 is 3", "allowed 1..2")(
    lambda tmp: trtnn.debug.precision_report(Tiny(), [trtnn.Input("x", (-1, 3, 8, 8), min_shape=(1, 3, 8, 8),
                                                                  max_shape=(2, 3, 8, 8))],
                                             [{"x": np.ones((3, 3, 8, 8), np.float32)}]))
case("calibration batch outside the profile", E.InputError, "calibration batch 1", "'x'", "dim 3 is 40",
     "allowed 8..32")(
    lambda tmp: trtnn.quant.calibrate(Tiny(), [DYN_X], [{"x": np.ones((1, 3, 8, 8), np.float32)},
                                                      {"x": np.ones((1, 3, 8, 40), np.float32)}], budget=None))
case("precision report keep_fp32 names nothing", E.ConfigError, "keep_fp32", "nope")(
    lambda tmp: trtnn.debug.precision_report(Tiny(), [X], ONES, keep_fp32=["nope"]))
case("precision report row not there", E.ConfigError, "'nope'", "bn")(
    lambda tmp: trtnn.debug.precision_report(Tiny(), [X], ONES).row("nope"))
P = ("precision", "yolov8n", "--random-weights", "--imgsz", "64", "--calib-data", "{tmp}/calib.npy")
cli_case("cli precision top 0", P + ("--dtype", "fp16", "--top", "0"), "--top", "0", setup=calib_npy)
cli_case("cli precision fp32", P + ("--dtype", "fp32"), "--dtype fp32", "fp16", setup=calib_npy)
cli_case("cli precision without data", ("precision", "yolov8n", "--random-weights", "--dtype", "fp16"),
         "--calib-data")
cli_case("cli precision images 0", P + ("--dtype", "fp16", "--images", "0"), "--images", "0", setup=calib_npy)
cli_case("cli precision calibration cache for fp16", P + ("--dtype", "bf16", "--calib-cache", "{tmp}/c.json"),
         "--calib-cache", "int8", setup=calib_npy)
cli_case("cli precision target nan", P + ("--dtype", "fp16", "--target-sqnr", "nan"), "--target-sqnr", "nan",
         setup=calib_npy)
cli_case("cli precision json into a missing folder", P + ("--dtype", "fp16", "--json", "{tmp}/nodir/r.json"),
         "nodir", setup=calib_npy)
# ---- oriented boxes (trtnn.models.yolo.tasks.obb) --------------------------------------------------------------------
def _rotated_nms_on(boxes_shape: Tuple[int, ...], scores_shape: Tuple[int, ...]) -> Callable[[Path], Any]:
    nms = trtnn.models.tasks.RotatedNMS()
    return lambda tmp: trtnn.define(Fn(nms), [trtnn.Input("boxes", boxes_shape), trtnn.Input("scores", scores_shape)])


case("RotatedNMS axis-aligned boxes", E.ShapeError, "RotatedNMS", "[B, N, 5]", "(1, 10, 4)")(
    _rotated_nms_on((1, 10, 4), (1, 10, 3)))
case("RotatedNMS scores of other anchors", E.ShapeError, "RotatedNMS", "(1, 10, 5)", "(1, 9, 3)")(
    _rotated_nms_on((1, 10, 5), (1, 9, 3)))
case("RotatedNMS iou above 1", E.ConfigError, "iou", "[0, 1]", "1.5")(
    lambda tmp: trtnn.models.tasks.RotatedNMS(iou=1.5))
case("OBBEnd2End missing orig_size input", E.ShapeError, "OBBEnd2End", "1 extra input", "got 0")(
    lambda tmp: trtnn.define(trtnn.models.tasks.OBBEnd2End(trtnn.models.yolov8_obb("n", 2), scale_to_orig=True),
                             [trtnn.Input("images", (1, 3, 64, 64))]))


# ---- pose and classify -------------------------------------------------------------------------------------------------
from trtnn.models.vision import ClassifyPreprocess  # noqa: E402


def pose_weights(tmp: Path) -> None:
    trtnn.save_checkpoint(trtnn.models.get("yolov8n-pose")(nc=1).state_dict(), tmp / "pose.pt")


def cls_weights(tmp: Path) -> None:
    trtnn.save_checkpoint(trtnn.models.get("yolo11n-cls")(nc=4).state_dict(), tmp / "cls.pt")


case("pose kpt_shape with 4 values per keypoint", E.ConfigError, "yolov8_pose", "kpt_shape", "2 or 3", "(17, 4)")(
    lambda tmp: trtnn.models.get("yolov8n-pose")(kpt_shape=(17, 4)))
case("classify preprocess resize without a crop size", E.ConfigError, "ClassifyPreprocess", "src_hw", "crop_hw")(
    lambda tmp: ClassifyPreprocess(src_hw=(64, 64)))
cli_case("cli pose weights for a detection name", ("build", "yolov8n", "--weights", "{tmp}/pose.pt", "--imgsz", "64",
                                                    "-o", "{tmp}/y.plan"), "pose model", "use yolov8n-pose",
         setup=pose_weights)
cli_case("cli classify weights for a pose name", ("build", "yolo11n-pose", "--weights", "{tmp}/cls.pt", "--imgsz",
                                                  "64", "-o", "{tmp}/y.plan"), "classification", "use yolo11n-cls",
         setup=cls_weights)
cli_case("cli detection weights for a classify name", ("build", "yolov8n-cls", "--weights", "{tmp}/w.pt", "--imgsz",
                                                       "64", "-o", "{tmp}/y.plan"), "detection model", "use yolov8n",
         setup=yolo_weights)
cli_case("cli classify end2end with --conf", ("build", "yolov8n-cls", "--random-weights", "--imgsz", "64",
                                              "--end2end", "--conf", "0.5", "-o", "{tmp}/c.plan"), "--conf",
         "classification engines")
cli_case("cli --src-size for a detection model", ("build", "yolov8n", "--random-weights", "--imgsz", "64", "--end2end",
                                                 "--src-size", "48x80", "-o", "{tmp}/y.plan"), "--src-size",
         "not for 'yolov8n'")
cli_case("cli --src-size without --preprocess", ("build", "yolov8n-cls", "--random-weights", "--imgsz", "64",
                                                  "--end2end", "--src-size", "48x80", "-o", "{tmp}/c.plan"),
         "--src-size", "--preprocess")
cli_case("cli --src-size not a size", ("build", "yolov8n-cls", "--random-weights", "--imgsz", "64", "--end2end",
                                       "--preprocess", "--src-size", "48y80", "-o", "{tmp}/c.plan"), "--src-size",
         "'48y80'", "HxW")
cli_case("cli classify end2end with --orig-size", ("build", "yolov8n-cls", "--random-weights", "--imgsz", "64",
                                                   "--end2end", "--orig-size", "-o", "{tmp}/c.plan"), "--orig-size",
         "classification engine")
# ---- YOLO26 / YOLOv10 (NMS-free heads, trtnn.models.vision.topk, --head) --------------------------------------------
def _yolov8_head_end2end(tmp: Path) -> None:
    from trtnn.models.yolo import yolov8

    yolov8("n").model[-1].end2end = True


def _topk_end2end_of_yolov8(tmp: Path) -> None:
    from trtnn.models.yolo.tasks import TopKEnd2End
    from trtnn.models.yolo import yolov8

    TopKEnd2End(yolov8("n"))


def _topk(shape: Tuple[int, ...] = (), **kw: Any) -> Callable[[Path], Any]:
    """TopK(80, **kw), and with a shape defined on an input of that shape."""
    from trtnn.models.vision import TopK

    return lambda tmp: trtnn.define(Fn(TopK(80, **kw)), [trtnn.Input("pred", shape)]) if shape else TopK(80, **kw)


case("Detect end2end without a one-to-one branch", E.ConfigError, "Detect", "one-to-one branch", "one2one_cv2")(
    _yolov8_head_end2end)
case("TopKEnd2End of a model without one-to-one head", E.ConfigError, "TopKEnd2End", "YOLOv10 / YOLO26",
     "DetectionModel")(_topk_end2end_of_yolov8)
case("TopK max_det above TensorRT TopK", E.ShapeError, "max_det", "3840", "4000")(_topk(max_det=4000))
case("TopK conf outside [0, 1]", E.ConfigError, "TopK", "conf", "1.5")(_topk(conf=1.5))
case("TopK on a prediction without nc classes", E.ShapeError, "TopK", "nc=80", "(1, 20, 100)")(_topk((1, 20, 100)))
case("yolov10 unknown scale", E.ConfigError, "scale", "n/s/m/b/l/x", "'q'")(
    lambda tmp: trtnn.models.yolo.yolov10("q"))
case("yolo26 scale b (a YOLOv10 size)", E.ConfigError, "scale", "n/s/m/l/x", "'b'")(
    lambda tmp: trtnn.models.yolo.yolo26("b"))
cli_case("cli --head for a single-head model", ("build", "yolov8n", "--random-weights", "--imgsz", "64", "--end2end",
                                                "--head", "one2one", "-o", "{tmp}/y.plan"),
         "--head", "'yolov8n'", "single detection head")
cli_case("cli --iou with the one-to-one head", ("build", "yolo26n", "--random-weights", "--imgsz", "64", "--end2end",
                                                "--iou", "0.5", "-o", "{tmp}/y.plan"), "--iou", "--head one2many")
cli_case("cli --pre-nms-topk with the one-to-one head", ("build", "yolov10n", "--random-weights", "--imgsz", "64",
                                                         "--end2end", "--pre-nms-topk", "500", "-o", "{tmp}/y.plan"),
         "--pre-nms-topk", "without NMS")
cli_case("cli --max-det above TopK for the one-to-one head", ("build", "yolo26s", "--random-weights", "--imgsz", "64",
                                                              "--end2end", "--max-det", "5000", "-o", "{tmp}/y.plan"),
         "--max-det 5000", "[1, 3840]")
cli_case("cli --head unknown branch", ("build", "yolo26n", "--random-weights", "--imgsz", "64", "--end2end", "--head",
                                       "both", "-o", "{tmp}/y.plan"), "--head", "one2one", "one2many")
# ---- segmentation end to end (SegmentEnd2End, --mask-resolution, mask mAP labels) ---------------------------------
SEG = ("build", "yolov8n-seg", "--random-weights", "--imgsz", "64", "-o", "{tmp}/s.plan")
cli_case("cli mask resolution for a detection model", Y + ("--end2end", "--mask-resolution", "proto"),
         "--mask-resolution", "segmentation models", "yolov8n")
cli_case("cli mask resolution without end2end", SEG + ("--mask-resolution", "proto"), "--mask-resolution",
         "--end2end")
cli_case("cli mask resolution unknown", SEG + ("--end2end", "--mask-resolution", "full"), "--mask-resolution", "full")


def _seg_e2e(**kw: Any) -> Callable[[Path], Any]:
    def run(tmp: Path) -> Any:
        from trtnn.models.yolo.tasks import SegmentEnd2End

        return SegmentEnd2End(trtnn.models.yolov8_seg("n", nc=2), **kw)
    return run


case("segment end2end unknown mask resolution", E.ConfigError, "mask_resolution", "'full'")(
    _seg_e2e(mask_resolution="full"))
case("segment end2end orig masks without a canvas", E.ConfigError, "orig_canvas", "scale_to_orig")(
    _seg_e2e(mask_resolution="orig", scale_to_orig=True))
case("segment end2end bad canvas", E.ConfigError, "orig_canvas", "(64, -1)")(
    _seg_e2e(mask_resolution="orig", scale_to_orig=True, orig_canvas=(64, -1)))
case("segment labels with too few points", E.FileError, "bad.txt", "3 or more points",
     setup=write_bytes("bad.txt", b"0 0.1 0.2 0.3 0.4\n"))(
    lambda tmp: trtnn.eval.read_polygons(str(tmp / "bad.txt")))
case("segment labels not numbers", E.FileError, "bad.txt", "numbers", setup=write_bytes("bad.txt", b"0 a b c d e f\n"))(
    lambda tmp: trtnn.eval.read_polygons(str(tmp / "bad.txt")))

# ---- engine sidecar (<engine>.json) -----------------------------------------------------------------------------------
cli_case("cli names file missing", Y + ("--names", "{tmp}/none.txt"), "--names", "none.txt", "no such file")
cli_case("cli names count differs from the classes", Y + ("--names", "{tmp}/n.txt"), "--names", "2 names",
         "80 classes", setup=write_bytes("n.txt", b"cat\ndog\n"))
cli_case("cli names JSON not a list", Y + ("--names", "{tmp}/n.json"), "n.json", "JSON list",
         setup=write_bytes("n.json", b'{"cat": 0}'))
cli_case("cli names file empty", Y + ("--names", "{tmp}/n.txt"), "n.txt", "no names", setup=write_bytes("n.txt", b"\n"))
case("Engine.save metadata not JSON", E.ConfigError, "t.plan.json", "JSON-serializable")(
    lambda tmp: trtnn.build(Tiny(), [X]).save(str(tmp / "t.plan"), metadata={"names": {0: object()}}))
case("read_metadata missing file", E.CheckpointError, "nothere.pt", "not found")(
    lambda tmp: trtnn.io.checkpoint.read_metadata(tmp / "nothere.pt"))

# ---- precision bisection (trtnn.debug.precision_report(strategy=...), trtnn precision --strategy) -------------------
class _Act(trtnn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(x)


case("precision report unknown strategy", E.ConfigError, "strategy", "'binary'", "bisect, greedy")(
    lambda tmp: trtnn.debug.precision_report(Tiny(), [X], ONES, target_sqnr=30, strategy="binary"))
case("precision report unknown direction", E.ConfigError, "direction", "'backward'", "'reverse'")(
    lambda tmp: trtnn.debug.precision_report(Tiny(), [X], ONES, target_sqnr=30, direction="backward"))
case("precision report bisect target out of reach", E.ConfigError, "SQNR >= 500 dB", "all 1 leaf modules in fp32",
     "66.2 dB", "input casts", "lower the target")(  # the input cast rounds 1 + 2^-11 in fp16: 66.2 dB at best
    lambda tmp: trtnn.debug.precision_report(_Act(), [X], [{"x": np.full((1, 3, 8, 8), 1 + 2.0 ** -11, np.float32)}],
                                             "fp16", target_sqnr=500))
cli_case("cli precision strategy without target", P + ("--dtype", "fp16", "--strategy", "bisect"), "--strategy bisect",
         "--target-sqnr", setup=calib_npy)
cli_case("cli precision direction with greedy", P + ("--dtype", "fp16", "--target-sqnr", "30", "--strategy", "greedy",
                                                     "--direction", "reverse"), "--direction reverse",
         "--strategy bisect", setup=calib_npy)
cli_case("cli precision unknown strategy", P + ("--dtype", "fp16", "--target-sqnr", "30", "--strategy", "binary"),
         "--strategy", "'binary'", "bisect", setup=calib_npy)


# ---- YOLO26 segmentation (yolo26n-seg, SegmentTopKEnd2End) ----------------------------------------------------------
def seg26_weights(tmp: Path) -> None:
    trtnn.save_checkpoint(trtnn.models.yolo26_seg("n", nc=2).state_dict(), tmp / "seg26.pt")


def det26_weights(tmp: Path) -> None:
    trtnn.save_checkpoint(trtnn.models.yolo26("n", nc=2).state_dict(), tmp / "det26.pt")


cli_case("cli yolo26 segmentation weights for a detection name", ("build", "yolo26n", "--weights", "{tmp}/seg26.pt",
                                                                  "--imgsz", "64", "-o", "{tmp}/y.plan"),
         "yolo26n: the checkpoint holds a segmentation model", "use yolo26n-seg", setup=seg26_weights)
cli_case("cli yolo26 detection weights for a yolo26 segmentation name", ("build", "yolo26s-seg", "--weights",
                                                                         "{tmp}/det26.pt", "--imgsz", "64", "-o",
                                                                         "{tmp}/y.plan"),
         "holds a detection model", "use yolo26s", setup=det26_weights)
cli_case("cli yolov8 segmentation weights for yolo26n-seg", ("build", "yolo26n-seg", "--weights", "{tmp}/seg.pt",
                                                             "--imgsz", "64", "-o", "{tmp}/y.plan"),
         "load_state_dict(strict=True)", "missing keys (706)", "size mismatch", setup=seg_weights)
cli_case("cli --iou with the yolo26 segmentation one-to-one head",
         ("build", "yolo26n-seg", "--random-weights", "--imgsz", "64", "--end2end", "--iou", "0.5", "-o",
          "{tmp}/y.plan"), "--iou", "yolo26n-seg --head one2one", "--head one2many")


def _seg26_topk(model: Callable[[], Any], **kw: Any) -> Callable[[Path], Any]:
    def run(tmp: Path) -> Any:
        from trtnn.models.yolo.tasks import SegmentTopKEnd2End

        return SegmentTopKEnd2End(model(), **kw)
    return run


def _SEG26() -> Any:
    return trtnn.models.yolo26_seg("n", nc=2)



case("segment top-k on a yolo26 pose model", E.ConfigError, "SegmentTopKEnd2End", "YOLO26-seg", "Pose26 head")(
    _seg26_topk(lambda: trtnn.models.yolo26_pose("n", nc=1)))
case("segment top-k on a yolov8 segmentation model", E.ConfigError, "TopKEnd2End", "one-to-one branch")(
    _seg26_topk(lambda: trtnn.models.yolov8_seg("n", nc=2)))
case("segment top-k unknown mask resolution", E.ConfigError, "SegmentTopKEnd2End mask_resolution", "'full'",
     "input, proto, orig")(_seg26_topk(_SEG26, mask_resolution="full"))
case("segment top-k orig masks without scale_to_orig", E.ConfigError, "SegmentTopKEnd2End", "scale_to_orig=False",
     "orig_canvas=(64, 64)")(_seg26_topk(_SEG26, mask_resolution="orig", orig_canvas=(64, 64)))
case("segment top-k max_det above TensorRT TopK", E.ShapeError, "max_det", "3840", "5000")(
    _seg26_topk(_SEG26, max_det=5000))

# ---- issue 20 (H8): torch-parity misuse ---------------------------------------------------------------------------
def _tensor_of_another_network(tmp: Path) -> Any:
    kept = []
    trtnn.define(Fn(lambda x: kept.append(F.relu(x)) or kept[0]), [X])
    return trtnn.define(Fn(lambda x: x + kept[0]), [X])


case("functional op on a torch tensor outside define", E.ConfigError, "trtnn.functional.relu", "torch.Tensor",
     "no trtnn Tensor", "trtnn.define", "torch.nn.functional.relu")(lambda tmp: F.relu(torch.randn(3)))
case("functional op on a numpy array in forward", E.ConfigError, "trtnn.functional.sigmoid", "numpy array",
     "(1, 3, 8, 8)", "no trtnn Tensor")(in_forward(lambda x: F.sigmoid(np.zeros((1, 3, 8, 8), np.float32))))
case("trtnn Tensor of another network", E.ConfigError, "another network", "trtnn.define",
     "compute it again in this forward")(_tensor_of_another_network)
case("Module.to('cuda')", E.ConfigError, "Conv2d", "device 'cuda'", "trtnn.build", "trtnn.runtime")(
    lambda tmp: nn.Conv2d(3, 3, 1).to("cuda"))
case("Module.to(torch.device('cuda', 1))", E.ConfigError, "device 'cuda:1'", "CPU")(
    lambda tmp: Tiny().to(torch.device("cuda", 1)))
case("Module.cuda()", E.ConfigError, "Tiny", "device 'cuda'", "trtnn.runtime")(lambda tmp: Tiny().cuda())
case("Module.double()", E.UnsupportedError, "Tiny", "float64", ".float()", "dtype='fp16'")(lambda tmp: Tiny().double())
case("Module.train()", E.ConfigError, "Tiny.train()", "inference", "no training mode", ".eval()")(
    lambda tmp: Tiny().train())
case("Module.to a misspelt dtype", E.ConfigError, "Tiny.to('fp322')", "unsupported dtype", "fp32")(
    lambda tmp: Tiny().to("fp322"))
case("Module.to two dtypes", E.ConfigError, "Tiny.to(", "one dtype")(lambda tmp: Tiny().to("fp16", "fp32"))
case("Input dimension 2**31", E.ConfigError, "input 'x'", "2147483648", "2**31 - 1")(
    lambda tmp: trtnn.Input("x", (1, 3, 2**31)))
case("Input max_shape dimension 2**31", E.ConfigError, "input 'x'", "max_shape", "2147483648")(
    lambda tmp: trtnn.Input("x", (-1, 3), min_shape=(1, 3), max_shape=(2**31, 3)))
cli_case("cli factory that needs arguments", ("build", "trtnn.models.unet:UNet", "--input", "x:1x3x64x64", "-o",
                                              "{tmp}/u.plan"), "trtnn.models.unet:UNet", "needs arguments",
         "n_channels, n_classes", "takes none")
cli_case("cli input dimension 2**31", ("build", "harness:Fn", "--input", "x:1x2147483648", "-o", "{tmp}/y.plan"),
         "2147483648", "2**31 - 1")

# ---- issue 20 (H8): CLI conflicts, builds cancelled ----------------------------------------------------------------
C = ("calibrate", "yolov8n", "--random-weights", "--imgsz", "64", "--calib-data", "{tmp}/calib.npy", "--calib-cache",
     "{tmp}/c.json")
cli_case("cli missing -o is one line", ("build", "yolov8n", "--random-weights"), "-o/--output",
         "(see trtnn build --help)")
cli_case("cli unrecognized option named by the command", Y + ("--bogus",), "trtnn build: error",
         "unrecognized arguments: --bogus", "(see trtnn build --help)")
cli_case("cli unknown model suggests close names", ("inspect", "yolo8n", "--random-weights"), "'yolo8n'",
         "did you mean yolov8n")
cli_case("cli unknown model without close names", ("inspect", "resnet50", "--random-weights"), "'resnet50'",
         "92 models", "PACKAGE.MODULE:FACTORY")
cli_case("cli engine named .pt", ("build", "yolov8n", "--random-weights", "--imgsz", "64", "-o", "{tmp}/y.pt"),
         ".pt is not an engine file", "/y.plan")
cli_case("cli engine named .safetensors", ("build", "yolov8n", "--random-weights", "--imgsz", "64", "-o",
                                           "{tmp}/y.safetensors"), ".safetensors is not an engine file")
cli_case("cli engine named .py", ("build", "yolov8n", "--random-weights", "--imgsz", "64", "-o", "{tmp}/net.py"),
         ".py is not an engine file")
cli_case("cli calibrate --batch", C + ("--batch", "2"), "does not use --batch", "--calib-batch", setup=calib_npy)
cli_case("cli calibrate --no-fold-bn", C + ("--no-fold-bn",), "does not use --no-fold-bn", setup=calib_npy)
cli_case("cli build --calib-method without int8", Y + ("--calib-method", "minmax"), "--calib-method",
         "only with --dtype int8 or fp8")
cli_case("cli build --base-dtype without int8", Y + ("--base-dtype", "bf16"), "--base-dtype",
         "only with --dtype int8 or fp8")
cli_case("cli build --calib-images without int8", Y + ("--calib-images", "16"), "--calib-images", "--dtype int8")
cli_case("cli precision --calib-method for fp16", P + ("--dtype", "fp16", "--calib-method", "mse"),
         "--calib-method", "only with --dtype int8 or fp8", setup=calib_npy)
cli_case("cli compare --trusted without --weights", ("compare", "harness:Fn", "harness:TorchNS", "--input", "x:1x3x8x8",
                                                    "--trusted"), "--trusted", "--weights")
cli_case("cli compare torch factory that needs arguments", ("compare", "harness:Fn", "torch.nn:Conv2d", "--input",
                                                            "x:1x3x8x8"), "harness:Fn", "needs arguments", "fn")


def _set_event() -> Any:
    import threading

    event = threading.Event()
    event.set()
    return event


case("build cancel not an event", E.ConfigError, "cancel", "threading.Event", "int")(
    lambda tmp: trtnn.build(Tiny(), [X], cancel=1))
case("build cancelled before it started", E.BuildCancelled, "cancelled", "nothing was written")(
    lambda tmp: trtnn.build(Tiny(), [X], cancel=_set_event()))
case("build_network cancelled", E.BuildCancelled, "cancelled")(
    lambda tmp: trtnn.build_network(trtnn.define(Tiny(), [X]), cancel=_set_event()))

# ---- issue 20 (H8): registered models and their checkpoints ---------------------------------------------------------
def weights_of(factory: Callable[[], trtnn.Module], name: str = "w.pt") -> Callable[[Path], None]:
    return lambda tmp: trtnn.save_checkpoint(factory().state_dict(), tmp / name)


def built(tmp: Path) -> Any:
    return trtnn.build(Tiny(), [X])


cli_case("cli --nc conflicts with a detection checkpoint", ("build", "yolov8n", "--weights", "{tmp}/w.pt", "--nc", "5",
                                                            "--imgsz", "64", "-o", "{tmp}/y.plan"),
         "--nc 5", "the checkpoint has 2 classes", "drop --nc", setup=yolo_weights)
cli_case("cli --nc conflicts with a segmentation checkpoint", ("inspect", "yolov8n-seg", "--weights", "{tmp}/seg.pt",
                                                               "--nc", "80", "--imgsz", "64"),
         "--nc 80", "the checkpoint has 2 classes", "drop --nc", setup=seg_weights)
cli_case("cli --nc conflicts with a pose checkpoint", ("inspect", "yolov8n-pose", "--weights", "{tmp}/pose.pt", "--nc",
                                                       "2", "--imgsz", "64"), "--nc 2", "the checkpoint has 1 class;",
         setup=pose_weights)
cli_case("cli yolov8 weights for yolo26n", ("inspect", "yolo26n", "--weights", "{tmp}/w.pt", "--imgsz", "64"),
         "yolo26n: the checkpoint holds a yolov8n model, not a yolo26 one; use yolov8n", setup=yolo_weights)
cli_case("cli yolov8 weights for yolov10n", ("inspect", "yolov10n", "--weights", "{tmp}/w.pt", "--imgsz", "64"),
         "holds a yolov8n model", "use yolov8n", setup=yolo_weights)
cli_case("cli yolov8 weights for yolo11n", ("inspect", "yolo11n", "--weights", "{tmp}/w.pt", "--imgsz", "64"),
         "holds a yolov8n model", "use yolov8n", setup=yolo_weights)
cli_case("cli yolo11s weights for yolov8n", ("inspect", "yolov8n", "--weights", "{tmp}/w.pt", "--imgsz", "64"),
         "yolov8n: the checkpoint holds a yolo11s model, not a yolov8 one; use yolo11s",
         setup=weights_of(lambda: trtnn.models.yolo11("s", nc=2)))
case("from_checkpoint yolo26 weights for yolov8n", E.StateDictError, "holds a yolo26n model", "use yolo26n",
     setup=det26_weights)(lambda tmp: trtnn.models.from_checkpoint("yolov8n", tmp / "det26.pt"))
case("from_checkpoint yolov8s weights for yolov8n", E.StateDictError, "holds yolov8s (another size of yolov8)",
     setup=weights_of(lambda: trtnn.models.yolov8("s", nc=2)))(
    lambda tmp: trtnn.models.from_checkpoint("yolov8n", tmp / "w.pt"))
cli_case("cli OBB weights for a pose name", ("inspect", "yolov8n-pose", "--weights", "{tmp}/w.pt", "--imgsz", "64"),
         "yolov8n-pose: the checkpoint holds a oriented-box model; use yolov8n-obb",
         setup=weights_of(lambda: trtnn.models.yolov8_obb("n", 2)))
case("from_checkpoint OBB weights for a pose name", E.ConfigError, "use yolov8n-obb",
     setup=weights_of(lambda: trtnn.models.yolov8_obb("n", 2)))(
    lambda tmp: trtnn.models.from_checkpoint("yolov8n-pose", tmp / "w.pt"))
cli_case("cli names binary file", Y + ("--names", "{tmp}/n.txt"), "n.txt", "not UTF-8", "byte 0x89",
         setup=write_bytes("n.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
cli_case("cli names latin-1 text", Y + ("--names", "{tmp}/n.txt"), "n.txt", "not UTF-8", "offset 3",
         setup=write_bytes("n.txt", b"caf\xe9\nth\xe9\n"))
cli_case("cli names with NUL bytes", Y + ("--names", "{tmp}/n.txt"), "n.txt", "control character", "binary",
         setup=write_bytes("n.txt", b"cat\x00\x00\ndog\n"))
case("engine_metadata too few names", E.ConfigError, "names", "2 names", "80 classes")(
    lambda tmp: trtnn.io.sidecar.engine_metadata(built(tmp), {"nc": 80, "thresholds": None, "preprocess": None},
                                                  names=["cat", "dog"]))
case("engine_metadata names not strings", E.ConfigError, "names", "list of strings")(
    lambda tmp: trtnn.io.sidecar.engine_metadata(built(tmp), names=[1, 2]))
case("engine_metadata names with a gap", E.ConfigError, "ids 0, 2", "2 classes")(
    lambda tmp: trtnn.io.sidecar.engine_metadata(built(tmp), {"nc": 2, "thresholds": None, "preprocess": None},
                                                  names={0: "a", 2: "b"}))

# ---- calibration ranges, caches, `trtnn calibrate` flags and QAT checkpoints (issue 19.4, 19.3) ---------------------
def _zeros_batch() -> list:
    return [{"x": np.zeros((1, 3, 8, 8), np.float32)}]


def _cache_with(amax: Dict[str, Any]) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        from trtnn.quant.cache import Calibration
        (tmp / "c.json").write_text(Calibration(amax, "minmax", 1).to_json())
    return setup


case("calibration: a tensor whose range is 0", E.ConfigError, "tensor 'x'", "range 0")(
    lambda tmp: trtnn.define(Tiny(), [X], dtype="int8", calibration={"x": 0.0, "bn": 1.0}))
case("calibration on all-zero data", E.ConfigError, "tensor 'x'", "range 0", "all-zero")(
    lambda tmp: trtnn.define(Tiny(), [X], dtype="int8", calibration=trtnn.quant.calibrate(
        Tiny(), [X], _zeros_batch(), method="minmax")))
case("calibration cache amax 0 and -1", E.CheckpointError, "c.json", "'bn': 0.0", "'x': -1.0", "> 0",
     setup=_cache_with({"x": -1.0, "bn": 0.0}))(
    lambda tmp: trtnn.quant.calibrate(Tiny(), [X], _zeros_batch(), method="minmax", cache=str(tmp / "c.json")))
case("calibration cache amax not finite", E.CheckpointError, "c.json", "'bn': inf",
     setup=write_bytes("c.json", b'{"trtnn_version": "", "method": "minmax", "method_args": {}, "network_hash": "", '
                                 b'"weights_hash": "", "preprocess": null, "num_batches": 1, '
                                 b'"amax": {"x": 1.0, "bn": Infinity}}'))(
    lambda tmp: trtnn.quant.calibrate(Tiny(), [X], _zeros_batch(), method="minmax", cache=str(tmp / "c.json")))
def _tiny_loaded() -> Tiny:
    model = Tiny()
    model.load_state_dict(tiny_state())
    return model


def _ones_batch(value: float = 1.0) -> list:
    return [{"x": np.full((1, 3, 8, 8), value, np.float32)}]


def _calibrated_cache(**edit_amax: float) -> Callable[[Path], None]:
    """A real cache of _tiny_loaded() on _ones_batch(), then its amax edited by hand (`nope=2.0` adds a tensor)."""
    def setup(tmp: Path) -> None:
        import json
        trtnn.quant.calibrate(_tiny_loaded(), [X], _ones_batch(), method="minmax", cache=str(tmp / "c.json"),
                              progress=False)
        doc = json.loads((tmp / "c.json").read_text())
        doc["amax"].update(edit_amax)
        (tmp / "c.json").write_text(json.dumps(doc))
    return setup


def _calibrate_cached(value: float = 1.0) -> Callable[[Path], Any]:
    return lambda tmp: trtnn.quant.calibrate(_tiny_loaded(), [X], _ones_batch(value), method="minmax",
                                             cache=str(tmp / "c.json"))


def _images(*names: str, cut: str = "", root: str = "imgs") -> Callable[[Path], None]:
    """Small JPEGs `names` in tmp/`root` (made with OpenCV); `cut` is written with its second half missing."""
    def setup(tmp: Path) -> None:
        import cv2
        image = np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8)
        (tmp / root).mkdir(parents=True)
        for name in names:
            cv2.imwrite(str(tmp / root / name), image)
        if cut:
            data = (tmp / root / cut).read_bytes()
            (tmp / root / cut).write_bytes(data[: len(data) // 2])
    return setup


UNET_CALIBRATE = ("calibrate", "unet", "--random-weights", "--imgsz", "64", "--calib-cache", "{tmp}/c.json",
                  "--calib-batch", "1", "--calib-data")
case("calibration cache names a tensor the network lacks", E.CheckpointError, "c.json", "'nope'", "not in the network",
     setup=_calibrated_cache(nope=2.0))(_calibrate_cached())
case("calibration cache amax beyond float32", E.CheckpointError, "c.json", "'x': 1e+39", "float32",
     setup=_cache_with({"x": 1e39, "bn": 1.0}))(
    lambda tmp: trtnn.quant.calibrate(Tiny(), [X], _zeros_batch(), method="minmax", cache=str(tmp / "c.json")))
case("calibration cache amax 1e30 in an fp16 build", E.ConfigError, "tensor 'x'", "1e+30", "fp16", "65504",
     setup=_calibrated_cache(x=1e30))(
    lambda tmp: trtnn.define(_tiny_loaded(), [X], dtype="int8", calibration=_calibrate_cached()(tmp)))
case("calibration cache reused for other in-memory data", E.ConfigError, "c.json", "does not match",
     "calibration data", "sha256", setup=_calibrated_cache())(_calibrate_cached(2.0))
case("calibration image truncated (OpenCV decodes half)", E.FileError, "1.jpg", "truncated", "FF D9",
     setup=_images("0.jpg", "1.jpg", cut="1.jpg"))(lambda tmp: trtnn.quant.image_data(str(tmp / "imgs"), "yolov8", 32))
case("calibration image that is no image", E.FileError, "b.jpg", "not a JPEG, PNG or BMP",
     setup=lambda tmp: (_images("a.jpg")(tmp), (tmp / "imgs" / "b.jpg").write_text("not an image")))(
    lambda tmp: trtnn.quant.image_data(str(tmp / "imgs"), "yolov8", 32))
case("calibration images: a YOLO data set root", E.FileError, "'ds'", "YOLO data set root", "images/train",
     setup=_images("0.jpg", root="ds/images/train"))(lambda tmp: trtnn.quant.image_data("ds", "yolov8", 32))
case("calibration images: one image file", E.FileError, "0.jpg", "one image file", setup=_images("0.jpg"))(
    lambda tmp: trtnn.quant.image_data("imgs/0.jpg", "yolov8", 32))
cli_case("cli calib-data a YOLO data set root", UNET_CALIBRATE + ("ds",), "--calib-data", "YOLO data set root",
         "ds/images/train", setup=_images("0.jpg", root="ds/images/train"))
cli_case("cli calib-data one image file", UNET_CALIBRATE + ("imgs/0.jpg",), "imgs/0.jpg", "one image file",
         setup=_images("0.jpg"))
cli_case("cli calib-data truncated image", UNET_CALIBRATE + ("imgs",), "1.jpg", "truncated",
         setup=_images("0.jpg", "1.jpg", cut="1.jpg"))
cli_case("cli calib-data a text file", UNET_CALIBRATE + ("notes.txt",), "--calib-data 'notes.txt'", ".npy/.npz",
         setup=write_bytes("notes.txt", b"calibration notes"))
cli_case("cli calib-data an empty folder", UNET_CALIBRATE + ("empty",), "empty", "no images", ".npy/.npz",
         setup=lambda tmp: (tmp / "empty").mkdir())
case("calibration percentile as a string", E.ConfigError, "percentile", "'99.9'")(
    lambda tmp: trtnn.quant.calibrate(Tiny(), [X], _ones_batch(), method="percentile", percentile="99.9"))
case("exclude as a string", E.ConfigError, "exclude", "'conv'", "exclude=['conv']")(
    lambda tmp: trtnn.define(Tiny(), [X], dtype="int8", calibration={"x": 1.0, "bn": 1.0}, exclude="conv"))
cli_case("cli base-dtype in an fp32 build", Y + ("--base-dtype", "fp16"), "--base-dtype", "--dtype int8")
cli_case("cli calibrate --base-dtype fp16 given explicitly", UNET_CALIBRATE + ("{tmp}/calib.npy", "--base-dtype",
                                                                               "fp16"), "does not use",
         "--base-dtype", setup=calib_npy)
for _flag, _value, _word in (("--dtype", "fp8", "same for int8 and fp8"), ("--exclude", "conv", "a build option"),
                             ("--keep-fp32", "conv", "a build option"), ("--debug-output", "conv", "every tensor"),
                             ("--max-batch", "4", "--calib-batch"), ("--base-dtype", "fp32", "a build option")):
    cli_case(f"cli calibrate {_flag} (unused)", ("calibrate", "unet", "--random-weights", "--imgsz", "64",
                                                 "--calib-data", "{tmp}/calib.npy", "--calib-cache", "{tmp}/c.json",
                                                 _flag, _value), "does not use", _flag, _word, setup=calib_npy)
case("QAT quantizer the model lacks", E.ConfigError, "head:input", "cannot be placed", "strict=False")(
    lambda tmp: trtnn.quant.from_qat({**tiny_state(), "head.input_quantizer._amax": torch.tensor(2.0)}, Tiny(), [X]))
class _ConvReLU(trtnn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return F.relu(self.conv(x))


case("QAT from_qat of a file name", E.ConfigError, "from_qat", "str")(
    lambda tmp: trtnn.quant.from_qat("qat.pt", Tiny(), [X]))
case("QAT fused ConvBn keys for a convolution without BatchNorm", E.ConfigError, "conv.bn.", "fused ConvBn 'conv'",
     "folds no BatchNorm")(
    lambda tmp: trtnn.quant.from_qat({**{k: v for k, v in tiny_state().items() if k.startswith("conv.")},
                                      **{f"conv.{k}": v for k, v in tiny_state().items() if k.startswith("bn.")}},
                                     _ConvReLU(), [X]))
case("QAT ModelOpt quantizer of an unknown kind", E.ConfigError, "conv.bias_quantizer._amax", "does not know")(
    lambda tmp: trtnn.quant.qat_calibration({"conv.bias_quantizer._amax": torch.tensor(1.0)}))
case("QAT SmoothQuant pre-quant scale", E.ConfigError, "conv.input_quantizer._pre_quant_scale", "not supported")(
    lambda tmp: trtnn.quant.qat_calibration({"conv.input_quantizer._pre_quant_scale": torch.tensor([0.5, 2.0])}))


# ---- the test ---------------------------------------------------------------------------------------------------------------------
def _snapshot(folder: Path) -> Dict[str, Tuple[int, float]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime) for p in folder.rglob("*")}


def _check(c: Case, e: BaseException) -> None:
    if isinstance(e, CliExit):
        lines = [ln for ln in e.stderr.splitlines() if ln.strip()]
        text = e.stderr
        if e.code != 2 or "Traceback" in text:
            pytest.fail(f"UNCLEAR: exit code {e.code} (expected 2) or a traceback:\n{text}")
        if not lines:
            pytest.fail("UNCLEAR: no message on stderr")
    else:
        text = str(e)
        if not isinstance(e, E.TrtnnError):
            pytest.fail(f"UNCLEAR: {type(e).__module__}.{type(e).__name__} is not a TrtnnError: {e}")
        if not isinstance(e, c.error):
            pytest.fail(f"UNCLEAR: {type(e).__name__} is not a {c.error.__name__}: {e}")
    missing = [f for f in c.fragments if f not in text]
    if missing:
        pytest.fail(f"UNCLEAR: message lacks {missing}:\n{text}")


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_bad_input(c: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    c.setup(tmp_path)
    before = _snapshot(tmp_path)
    try:
        c.run(tmp_path)
    except BaseException as e:  # noqa: B036 - a KeyboardInterrupt or SystemExit is a finding too
        if isinstance(e, (KeyboardInterrupt, pytest.fail.Exception)):
            raise
        _check(c, e)
    else:
        pytest.fail("SILENT: accepted without an error")
    after = _snapshot(tmp_path)
    if after != before:
        changed = sorted(set(after) ^ set(before) | {k for k in after if k in before and after[k] != before[k]})
        pytest.fail(f"LEFTOVER: files appeared, vanished or changed: {changed}")
    assert not os.path.exists("/proc/trtnn-test.plan")


def test_catalogue_is_large_and_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 80
