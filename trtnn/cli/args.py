"""What every command shares: parsing `NAME:SHAPE[:DTYPE]`, shapes, image sizes and model targets, and checking
arguments before any model is defined. Every problem is a ConfigError (or FileError) saying what is allowed."""
from __future__ import annotations

import argparse
import difflib
import importlib
import inspect
import os
import sys
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch

from .. import dtypes
from ..compile import Input, profile_count
from ..errors import ConfigError, FileError, TrtnnError
from ..graph.module import Module
from ..models import registry
from ..models.vision.inputs import batched_input, dynamic_image_input

Shape = Tuple[int, ...]


def parse_shape(text: str, what: str, dynamic: bool = False) -> Shape:
    """`1x3x224x224` -> (1, 3, 224, 224); -1 marks a dynamic dim when `dynamic`; 0 and other negatives refused."""
    try:
        shape = tuple(int(d) for d in text.lower().split("x")) if text else ()
    except ValueError:
        raise ConfigError(f"{what}: {text!r}: shape must be integers joined by 'x', e.g. 1x3x224x224") from None
    bad = [d for d in shape if d < 1 and not (dynamic and d == -1)]
    if bad:
        allowed = "positive (or -1 for a dynamic dim, with --min/--max)" if dynamic else "positive"
        raise ConfigError(f"{what}: dimension {bad[0]} in {text!r}; dims must be {allowed}")
    return shape


def split_named(spec: str, flag: str, with_dtype: bool) -> Tuple[str, str, Optional[str]]:
    """`NAME:SHAPE[:DTYPE]` -> (name, shape text, dtype text or None)."""
    parts = spec.split(":")
    if len(parts) not in ((2, 3) if with_dtype else (2,)) or not parts[0]:
        form = "NAME:SHAPE[:DTYPE], e.g. x:1x3x224x224:fp16" if with_dtype else "NAME:SHAPE, e.g. x:1x3x224x224"
        raise ConfigError(f"{flag} {spec!r}: expected {form}")
    return parts[0], parts[1], parts[2] if len(parts) == 3 else None


class InputSpec(NamedTuple):
    """What `--input` says: name, shape (-1 = dynamic, its range from --min/--max) and dtype."""

    name: str
    shape: Shape
    dtype: Any

    @property
    def is_dynamic(self) -> bool:
        return -1 in self.shape


def parse_input(spec: str) -> InputSpec:
    """`--input name:1x3x224x224[:dtype]` -> InputSpec (-1 dims are dynamic: see `with_profiles`)."""
    name, shape, dtype = split_named(spec, "--input", with_dtype=True)
    try:
        dt = dtypes.to_torch(dtype or "fp32")
    except TrtnnError as e:
        raise ConfigError(f"--input {spec!r}: {e.message}") from None
    return InputSpec(name, parse_shape(shape, f"--input {spec!r}", dynamic=True), dt)


def with_profiles(inputs: List[InputSpec], mins: Sequence[str], opts: Sequence[str], maxs: Sequence[str]
                  ) -> List[Input]:
    """Give the dynamic inputs their trtexec-style `--min/--opt/--max NAME:SHAPE` ranges (--opt defaults to --max).
    Repeating the group for an input makes several optimization profiles: its k-th --min, --opt and --max form
    profile k (an input given once takes part in every profile); unpaired repeats are refused."""
    by_name = {i.name: i for i in inputs}
    given: Dict[str, Dict[str, List[Shape]]] = {"min": {}, "opt": {}, "max": {}}
    for kind, specs in (("min", mins), ("opt", opts), ("max", maxs)):
        for spec in specs:
            name, text, _ = split_named(spec, f"--{kind}", with_dtype=False)
            if name not in by_name:
                raise ConfigError(f"--{kind} {spec!r}: no input {name!r}; inputs: {', '.join(by_name) or 'none'}")
            inp = by_name[name]
            if not inp.is_dynamic:
                raise ConfigError(f"--{kind} {spec!r}: input {name!r} is static ({_fmt(inp.shape)}); "
                                  "--min/--opt/--max are for inputs with -1 dims")
            shape = parse_shape(text, f"--{kind} {spec!r}")
            if len(shape) != len(inp.shape):
                raise ConfigError(f"--{kind} {spec!r}: input {name!r} has {len(inp.shape)} dims "
                                  f"({_fmt(inp.shape)}), got {len(shape)}")
            for i, (d, v) in enumerate(zip(inp.shape, shape)):
                if d != -1 and d != v:
                    raise ConfigError(f"--{kind} {spec!r}: input {name!r} dim {i} is fixed at {d}, got {v}")
            given[kind].setdefault(name, []).append(shape)
    out = []
    for inp in inputs:
        if not inp.is_dynamic:
            out.append(Input(inp.name, inp.shape, inp.dtype))
            continue
        lo, opt, hi = (given[k].get(inp.name, []) for k in ("min", "opt", "max"))
        if not lo or not hi:
            raise ConfigError(f"input {inp.name!r} has dynamic shape {_fmt(inp.shape)}: give --min {inp.name}:SHAPE "
                              f"and --max {inp.name}:SHAPE (and optionally --opt)")
        if len(lo) != len(hi) or (opt and len(opt) != len(lo)):
            counts = f"{len(lo)} --min, {len(opt)} --opt and {len(hi)} --max" if opt else \
                f"{len(lo)} --min and {len(hi)} --max"
            raise ConfigError(f"input {inp.name!r}: {counts}; each optimization profile takes one --min and one --max "
                              f"(and optionally one --opt) per dynamic input: repeat the whole group for another "
                              f"profile, or drop the duplicate")
        opt = opt or hi
        for k, (a3, b3, c3) in enumerate(zip(lo, opt, hi)):
            for i, (a, b, c) in enumerate(zip(a3, b3, c3)):
                if not a <= b <= c:
                    where = f" (profile {k})" if len(lo) > 1 else ""
                    raise ConfigError(f"input {inp.name!r}{where} dim {i}: need min <= opt <= max, got min {a}, "
                                      f"opt {b}, max {c}")
        if len(lo) == 1:
            out.append(Input(inp.name, inp.shape, inp.dtype, min_shape=lo[0], opt_shape=opt[0], max_shape=hi[0]))
        else:
            out.append(Input(inp.name, inp.shape, inp.dtype, profiles=list(zip(lo, opt, hi))))
    profile_count(out)  # inputs with different numbers of profiles: refused here, before anything is loaded
    return out


def describe_ranges(inputs: Sequence[Input]) -> List[str]:
    """`x: min 1x3x224x224  opt ...  max ...` for each dynamic input (one line per optimization profile)."""
    lines = []
    for inp in inputs:
        if inp.is_dynamic:
            for k, (lo, opt, hi) in enumerate(inp.profiles):
                tag = f" [profile {k}]" if len(inp.profiles) > 1 else ""
                lines.append(f"{inp.name}{tag}: min {_fmt(lo)}  opt {_fmt(opt)}  max {_fmt(hi)}")
    return lines


def _fmt(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape))


def parse_imgsz(text: str, stride: int = 1, model: str = "", flag: str = "--imgsz") -> Tuple[int, int]:
    """`N` or `HxW` (or `H,W`) given to `flag` -> (h, w); both positive and multiples of `stride`."""
    try:
        parts = [int(v) for v in text.lower().replace(",", "x").split("x")]
    except ValueError:
        raise ConfigError(f"{flag} {text!r}: expected N or HxW (positive integers), e.g. 640 or 480x640") from None
    if len(parts) not in (1, 2):
        raise ConfigError(f"{flag} {text!r}: expected N or HxW, e.g. 640 or 480x640")
    if any(v < 1 for v in parts):
        raise ConfigError(f"{flag} {text!r}: sizes must be positive")
    h, w = parts * 2 if len(parts) == 1 else parts
    if h % stride or w % stride:
        up = lambda v: -(-v // stride) * stride  # noqa: E731
        raise ConfigError(f"{flag} {text!r}: {model} needs sizes that are multiples of its stride {stride}; "
                          f"try {flag} {up(h)}x{up(w)}")
    return h, w


# ---- model targets ------------------------------------------------------------------------------------------
def load_target(target: str) -> Callable[..., Any]:
    """`package.module:factory` (dotted attributes allowed), imported with the working directory on sys.path."""
    mod_name, sep, attr = target.partition(":")
    if not sep or not mod_name or not attr:
        raise ConfigError(f"target {target!r}: expected a registered model ({', '.join(registry.SPECS)}) "
                          "or 'pkg.module:factory'")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(mod_name)
    except ImportError as e:
        raise ConfigError(f"target {target!r}: cannot import '{mod_name}': {e}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"target {target!r}: '{mod_name}' has no attribute '{attr}'")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ConfigError(f"target {target!r}: '{attr}' is a {type(obj).__name__}, not a factory to call")
    return obj


def make_trtnn_model(factory: Callable[..., Any], target: str, **kwargs: Any) -> Any:
    """factory(**kwargs), checked to be a trtnn Module."""
    check_callable_with(factory, target, kwargs)
    model = factory(**kwargs)
    if not isinstance(model, Module):
        kind = "a torch.nn.Module" if is_torch_module(model) else f"a {type(model).__name__}"
        raise ConfigError(f"target {target!r} returned {kind}; expected a trtnn.Module (subclass trtnn.Module and "
                          "emit TensorRT layers in forward)")
    return model


def check_callable_with(factory: Callable[..., Any], target: str, kwargs: Dict[str, Any]) -> None:
    """ConfigError when `factory(**kwargs)` cannot bind, e.g. a class whose constructor needs arguments."""
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):  # a builtin without a signature: let the call say
        return
    try:
        sig.bind(**kwargs)
    except TypeError:
        needed = [n for n, p in sig.parameters.items() if p.default is p.empty and n not in kwargs
                  and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        raise ConfigError(f"target {target!r} needs arguments ({', '.join(needed)}) but the command calls it with "
                          f"none: point it at a function that takes none, e.g. in mynet.py "
                          f"`def make(): return {target.rpartition(':')[2]}(...)` and give mynet:make") from None


def is_torch_module(obj: Any) -> bool:
    return isinstance(obj, torch.nn.Module)


def registered(target: str) -> Optional[registry.ModelSpec]:
    """The spec of a registered model name; None for `pkg.module:factory`; ConfigError for an unknown name."""
    if ":" in target:
        return None
    if target not in registry.SPECS:
        close = difflib.get_close_matches(target.lower(), list(registry.SPECS), n=5, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}?" if close else \
            f"registered: {len(registry.SPECS)} models, e.g. yolov8n, yolo11s-seg, yolo26n, unet, centernet_dla34"
        raise ConfigError(f"unknown model {target!r}: {hint} (or give PACKAGE.MODULE:FACTORY)")
    return registry.SPECS[target]


# ---- checks before any work ---------------------------------------------------------------------------------
def check_range(flag: str, value: Optional[float], lo: float, hi: Optional[float] = None) -> None:
    """ConfigError unless value is None or lo <= value (<= hi)."""
    if value is None:
        return
    if value != value or value < lo or (hi is not None and value > hi):
        allowed = f"in [{lo:g}, {hi:g}]" if hi is not None else f">= {lo:g}"
        raise ConfigError(f"{flag} {value:g}: must be {allowed}")


def check_readable(path: Optional[str], flag: str) -> None:
    if path is None:
        return
    if os.path.isdir(path):
        raise FileError(f"{flag} '{path}' is a folder; give a file")
    if not os.path.isfile(path):
        raise FileError(f"{flag} '{path}': no such file")


def add_model_args(p: argparse.ArgumentParser) -> None:
    """Arguments of the commands that define a model's network (build, inspect)."""
    p.add_argument("target", help="a registered model (yolov8n, yolo11s, yolov5m, unet, centernet_dla34, ...) or "
                                  "PACKAGE.MODULE:FACTORY")
    p.add_argument("--input", action="append", default=[], metavar="NAME:SHAPE[:DTYPE]",
                   help="a network input (repeatable); -1 dims are dynamic, e.g. x:-1x3x-1x-1 with --min/--max")
    for kind, text in (("min", "smallest"), ("opt", "optimized-for (default: --max)"), ("max", "largest")):
        p.add_argument(f"--{kind}", action="append", default=[], metavar="NAME:SHAPE",
                       help=f"dynamic input: {text} shape (repeatable, one per dynamic input)")
    p.add_argument("--imgsz", help="registered models: input size N or HxW, positive and a multiple of the model's "
                                   "stride (32 for yolo and centernet; not rounded: an error says the next size) "
                                   "(default 640; unet 572; centernet 512)")
    p.add_argument("--batch", type=int, default=None, help="registered models: batch size >= 1 (default 1)")
    p.add_argument("--max-batch", type=int, help="registered models: dynamic batch 1..MAX instead of --batch")
    p.add_argument("--dynamic", action="store_true", help="registered models (ultralytics' dynamic=True): dynamic "
                   "height and width from the model's stride to --imgsz (and batch 1..--max-batch when given)")
    p.add_argument("--weights", help="checkpoint: .pt/.pth (also ultralytics, loaded safely), .safetensors, .npz, .wts")
    p.add_argument("--ignore-keys", action="append", default=[], metavar="PATTERN",
                   help="drop checkpoint keys matching this glob before loading (repeatable)")
    p.add_argument("--random-weights", action="store_true", help="registered models: build without a checkpoint")
    p.add_argument("--nc", type=int, help="number of classes >= 1 (default: read from --weights, else the model's)")
    p.add_argument("--dtype", default=None, choices=("fp32", "fp16", "bf16", "int8", "fp8"),
                   help="compute dtype (default fp32); int8/fp8: explicit quantization (build, calibrate)")
    p.add_argument("--no-fold-bn", action="store_true", help="keep BatchNorm as scale layers")
    p.add_argument("--debug-output", action="append", default=[], metavar="MODULE.PATH",
                   help="also output this module's tensor (repeatable)")
    p.add_argument("--mask", action="store_true", help="unet: also output the mask (argmax, or sigmoid > 0.5)")


def check_model_args(args: argparse.Namespace) -> Optional[registry.ModelSpec]:
    """Every model argument checked against the others and the target, before anything is loaded or defined."""
    spec = registered(args.target)
    check_range("--nc", args.nc, 1)
    check_range("--batch", args.batch, 1)
    check_range("--max-batch", args.max_batch, 1)
    if args.batch is not None and args.max_batch is not None:
        raise ConfigError("--batch and --max-batch: give one (--max-batch makes the batch dynamic 1..MAX)")
    if args.weights and args.random_weights:
        raise ConfigError("--weights and --random-weights: give one")
    if args.ignore_keys and not args.weights:
        raise ConfigError("--ignore-keys is for --weights: no checkpoint to drop keys from")
    check_readable(args.weights, "--weights")
    if spec is None:
        flags = [f for f, v in (("--imgsz", args.imgsz), ("--batch", args.batch), ("--max-batch", args.max_batch),
                                ("--nc", args.nc), ("--random-weights", args.random_weights),
                                ("--mask", args.mask), ("--dynamic", args.dynamic)) if v not in (None, False)]
        if flags:
            raise ConfigError(f"{', '.join(flags)}: for registered models only; {args.target!r} is a factory "
                              "(give its inputs with --input and its weights with --weights)")
        if not args.input:
            raise ConfigError(f"{args.target}: give the network inputs with --input NAME:SHAPE[:DTYPE]")
    else:
        if not args.weights and not args.random_weights:
            raise ConfigError(f"{args.target}: give --weights FILE (a checkpoint) or --random-weights to try it out")
        if args.mask and spec.mask is None:
            raise ConfigError(f"--mask is for unet models, not {args.target!r}")
        if args.input and args.imgsz:
            raise ConfigError("--input and --imgsz: give one (--input sets the whole input shape)")
        if args.input and args.dynamic:
            raise ConfigError("--input and --dynamic: give one (--dynamic makes the height and width of the model's "
                              "input dynamic; --input with -1 dims and --min/--max sets them yourself)")
        if args.imgsz:
            parse_imgsz(args.imgsz, spec.stride, args.target)
        shaped = [f for f, v in (("--imgsz", args.imgsz), ("--batch", args.batch), ("--max-batch", args.max_batch),
                                 ("--dynamic", args.dynamic)) if v not in (None, False)]
        if shaped and not args.input and (args.min or args.opt or args.max):
            raise ConfigError(f"{', '.join(shaped)} and --min/--opt/--max: give one (--min/--opt/--max "
                              f"{image_layout(args, spec).name}:SHAPE set the batch, height and width themselves)")
    if args.input:
        with_profiles([parse_input(s) for s in args.input], args.min, args.opt, args.max)
    return spec


def weights_metadata(args: argparse.Namespace) -> Dict[str, Any]:
    """What the --weights file says besides its weights (trtnn.io.checkpoint.read_metadata), read once per command;
    {} without --weights."""
    from ..io.checkpoint import read_metadata  # start-up time: io is imported when a command reads a file

    if "weights_metadata" not in vars(args):
        args.weights_metadata = read_metadata(args.weights) if args.weights else {}
    return args.weights_metadata


def head_choice(args: argparse.Namespace, spec: Optional[registry.ModelSpec]) -> Optional[Tuple[str, str]]:
    """(branch, why) of a YOLOv10 / YOLO26 model's NMS-free head: --head, else the checkpoint's end2end flag, else the
    family's default; None for other models."""
    if spec is None or "head" not in spec.end2end_defaults:
        return None
    return registry.head_branch(args.target, weights_metadata(args).get("end2end"), getattr(args, "head", None))


def load_model(args: argparse.Namespace, spec: Optional[registry.ModelSpec]) -> Tuple[Any, List[Input]]:
    """Instantiate the target (a registered model through `trtnn.models.registry.create`, the checkpoint read
    once; an NMS-free head on the branch `head_choice` gives), load --weights, and work out the inputs (arguments
    already checked)."""
    from ..io.checkpoint import load_checkpoint  # start-up time: io is imported when a command reads a file

    state = load_checkpoint(args.weights) if args.weights else None
    if spec is not None:
        head = head_choice(args, spec)
        model = registry.create(args.target, state, nc=args.nc, mask=args.mask, ignore_keys=args.ignore_keys,
                                head=head[0] if head else None)
    else:
        model = make_trtnn_model(load_target(args.target), args.target)
        if state is not None:
            state = registry.drop_keys(state, args.ignore_keys, args.target)
            model.load_state_dict(state, strict=True, assign=True)  # the checkpoint's tensors become the weights
    if args.input:
        inputs = with_profiles([parse_input(s) for s in args.input], args.min, args.opt, args.max)
        if spec is not None:
            check_stride(inputs, spec, args.target)
        return model, inputs
    shaped = image_ranges(args, spec, spec.in_channels(model))
    if shaped is not None:
        return model, [raw_image_input(shaped, spec.input_name, image_layout(args, spec).nhwc)]
    h, w = parse_imgsz(args.imgsz, spec.stride, args.target) if args.imgsz else spec.imgsz
    shape = (spec.in_channels(model), h, w)
    images = batched_input(spec.input_name, shape, "fp32", args.batch or 1, args.max_batch)
    if args.dynamic:
        images = dynamic_image_input(images, dynamic_min_imgsz(spec), (h, w), spec.stride)
    return model, [images]


def dynamic_min_imgsz(spec: registry.ModelSpec) -> Tuple[int, int]:
    """--dynamic's smallest image: one stride (ultralytics' rule for dynamic=True exports), at least 32."""
    return (max(spec.stride, 32),) * 2


# ---- trtexec-style shapes for a registered model's image input ------------------------------------------------
class ImageLayout(NamedTuple):
    """A registered model's image input as the engine takes it: name, NHWC or NCHW, dtype and the flag behind it."""

    name: str
    nhwc: bool
    dtype: str
    source: str

    def form(self, channels: Optional[int]) -> str:
        c = str(channels or "C")
        return f"Bx{'HxWx' + c if self.nhwc else c + 'xHxW'}"

    def describe(self, channels: Optional[int]) -> str:
        return f"{self.name!r} ({'NHWC' if self.nhwc else 'NCHW'} {self.dtype}, {self.form(channels)}{self.source})"


def image_layout(args: argparse.Namespace, spec: registry.ModelSpec) -> ImageLayout:
    """The image input of a registered model's engine: the raw model's (NCHW fp32, `spec.input_name`), or with
    --end2end 'images' (uint8 in the --preprocess layout when given)."""
    if not getattr(args, "end2end", False):
        return ImageLayout(spec.input_name, False, "fp32", "")
    pre = getattr(args, "preprocess", None)
    if pre is None:
        return ImageLayout("images", False, "fp32", "")
    return ImageLayout("images", pre.startswith("nhwc"), "uint8", f", from --preprocess {pre}")


def image_ranges(args: argparse.Namespace, spec: registry.ModelSpec, channels: Optional[int]) -> Optional[Input]:
    """The image input of a registered model from trtexec-style `--min/--opt/--max NAME:SHAPE` (None without them),
    in the engine input's own name and layout (e.g. NHWC uint8 with --preprocess): dims that vary become -1, each
    repeated group another optimization profile. Refused, naming the flag and dim: another input name, a shape in the
    other layout, another channel count (`channels`; None: not checked), a height or width not a multiple of the
    model's stride (with the next valid value), unpaired or crossing ranges."""
    given = [(kind, text) for kind in ("min", "opt", "max") for text in getattr(args, kind)]
    if not given:
        return None
    lay = image_layout(args, spec)
    c_axis, hw_axes = (3, (1, 2)) if lay.nhwc else (1, (2, 3))
    for kind, text in given:
        where = f"--{kind} {text!r}"
        name, shape_text, _ = split_named(text, f"--{kind}", with_dtype=False)
        if name != lay.name:
            follows = ", and the batch of 'orig_size' follows it" if getattr(args, "orig_size", False) else ""
            raise ConfigError(f"{where}: {args.target} has no input {name!r}; its image input is "
                              f"{lay.describe(channels)}{follows}")
        shape = parse_shape(shape_text, where)
        if len(shape) != 4:
            raise ConfigError(f"{where}: input {name!r} has 4 dims ({lay.form(channels)}), got {len(shape)}")
        if channels is not None and shape[c_axis] != channels:
            other = 1 if lay.nhwc else 3
            if shape[other] == channels:
                order = (0, 2, 3, 1) if lay.nhwc else (0, 3, 1, 2)
                raise ConfigError(f"{where}: input {lay.describe(channels)} takes {lay.form(channels)}; "
                                  f"{_fmt(shape)} is in {'NCHW' if lay.nhwc else 'NHWC'} order: give "
                                  f"{name}:{_fmt([shape[i] for i in order])}")
            raise ConfigError(f"{where}: input {name!r} dim {c_axis} (channels): {args.target} takes {channels}, "
                              f"got {shape[c_axis]}")
        for side, a in zip(("height", "width"), hw_axes):
            if shape[a] % spec.stride:
                raise ConfigError(f"{where}: input {name!r} dim {a} ({side}) {shape[a]} is not a multiple of "
                                  f"{args.target}'s stride {spec.stride}; the next valid value is "
                                  f"{-(-shape[a] // spec.stride) * spec.stride}")
    template = [-1] * 4
    template[c_axis] = channels if channels is not None else -1
    ranged = with_profiles([InputSpec(lay.name, tuple(template), dtypes.to_torch(lay.dtype))],
                           args.min, args.opt, args.max)[0]
    profiles = ranged.profiles
    shape = tuple(-1 if len({s[i] for p in profiles for s in p}) > 1 else profiles[0][0][i] for i in range(4))
    if -1 not in shape:
        return Input(lay.name, shape, ranged.dtype)
    return Input(lay.name, shape, ranged.dtype, profiles=profiles)


def image_hw(inp: Input, nhwc: bool) -> Tuple[int, int]:
    """The largest (height, width) an image input takes (over its profiles)."""
    axes = (1, 2) if nhwc else (2, 3)
    shapes = [p[2] for p in inp.profiles] if inp.is_dynamic else [inp.shape]
    return max(s[axes[0]] for s in shapes), max(s[axes[1]] for s in shapes)


def raw_image_input(images: Input, name: str, nhwc: bool) -> Input:
    """The raw model's float NCHW input `name` for engine images of the same batch and sizes (NHWC or NCHW)."""
    order = (0, 3, 1, 2) if nhwc else (0, 1, 2, 3)
    perm = lambda s: tuple(s[i] for i in order)  # noqa: E731
    if not images.is_dynamic:
        return Input(name, perm(images.shape), "fp32")
    return Input(name, perm(images.shape), "fp32", profiles=[tuple(perm(s) for s in p) for p in images.profiles])


BATCH_INPUTS = ("orig_size",)  # end-to-end inputs whose dim 0 is the image batch (trtnn.models.vision.inputs)


def with_image_input(inputs: Sequence[Input], images: Input) -> List[Input]:
    """An end-to-end wrapper's `inputs()` with the image input replaced by `images` (--min/--opt/--max) and the
    batch of the per-image inputs (orig_size) following it."""
    out = [images]
    for inp in inputs[1:]:
        if inp.name not in BATCH_INPUTS:
            out.append(inp)
            continue
        rest = tuple(inp.shape[1:])
        if images.shape[0] != -1:
            out.append(Input(inp.name, (images.shape[0], *rest), inp.dtype, cast=inp.cast))
        else:
            out.append(Input(inp.name, (-1, *rest), inp.dtype, cast=inp.cast,
                             profiles=[tuple((s[0], *rest) for s in p) for p in images.profiles]))
    return out


def check_stride(inputs: Sequence[Input], spec: registry.ModelSpec, target: str) -> None:
    """ConfigError unless the height and width of a registered model's image input (--input, NCHW), static or in
    every profile, are multiples of its stride; names the dim and the next valid value."""
    for inp in inputs:
        if inp.name != spec.input_name or len(inp.shape) != 4 or spec.stride == 1:
            continue
        shapes = [s for p in inp.profiles for s in p] if inp.is_dynamic else [inp.shape]
        for s in shapes:
            for side, a in (("height", 2), ("width", 3)):
                if s[a] % spec.stride:
                    raise ConfigError(f"input {inp.name!r} dim {a} ({side}) {s[a]} is not a multiple of {target}'s "
                                      f"stride {spec.stride}; the next valid value is "
                                      f"{-(-s[a] // spec.stride) * spec.stride}")
