"""The INT8/FP8 flags shared by `trtnn build` and `trtnn calibrate`: calibration on the CPU, then explicit Q/DQ."""
from __future__ import annotations

import argparse
import os
from typing import Any, Callable, List, Optional, Sequence

from ... import quant
from ...compile import Input, Precision
from ...models.vision.data import IMAGE_SUFFIXES, image_files
from ...errors import ConfigError
from ...io.files import check_output_path
from ...models.registry import ModelSpec, quant_defaults
from ..args import check_range

QUANT_DTYPES = ("int8", "fp8")
CALIB_FLAGS = {"calib_data": "--calib-data", "calib_cache": "--calib-cache", "exclude": "--exclude",
               "recalibrate": "--recalibrate", "base_dtype": "--base-dtype", "calib_method": "--calib-method",
               "calib_images": "--calib-images", "calib_batch": "--calib-batch", "int8_budget": "--int8-budget"}
BASE_DTYPE = "fp16"  # --base-dtype when not given (None until then: an explicit one is told apart)
# the calibration flags' defaults, filled in for --dtype int8/fp8 (None until then, like --base-dtype)
QUANT_DEFAULTS = {"calib_method": "auto", "calib_images": 256, "calib_batch": 8, "base_dtype": BASE_DTYPE,
                  "int8_budget": quant.DEFAULT_BUDGET}


def add_quant_args(p: argparse.ArgumentParser, required: bool = False, policy: bool = True) -> None:
    """The INT8/FP8 flags; `policy`: also --int8-budget (the sensitivity step of trtnn.quant.calibrate)."""
    g = p.add_argument_group("INT8/FP8 (--dtype int8|fp8): explicit Q/DQ, calibrated on the CPU executor")
    g.add_argument("--calib-data", required=required, metavar="DIR|FILE",
                   help="calibration data: a folder of images (the model's own preprocessing: letterbox, resize, "
                        "affine warp), or .npy/.npz file(s) holding the network input")
    g.add_argument("--calib-method", "--method", choices=["auto", *sorted(quant.METHODS)],
                   help=f"default auto: {quant.DEFAULT_METHODS['int8']} for INT8, {quant.DEFAULT_METHODS['fp8']} for FP8 (the "
                        "best fixed methods on the real checkpoints), "
                        "another method per tensor where the sensitivity step measures that it helps")
    if policy:
        g.add_argument("--int8-budget", type=_budget, metavar="DB|off",
                       help=f"least SQNR (dB) of every task output (boxes, scores, mask coefficients, keypoints) vs "
                            f"fp32 on the first calibration images; the most sensitive layers stay in --base-dtype "
                            f"until it is met (default {quant.DEFAULT_BUDGET:g}; off: quantize every quantizable "
                            f"layer)")
    g.add_argument("--calib-cache", required=required, metavar="FILE.json",
                   help="calibration cache (readable JSON): reused when network, weights, data and method match")
    g.add_argument("--recalibrate", action="store_true", help="overwrite a --calib-cache that does not match")
    g.add_argument("--calib-images", type=int, help="images used for calibration (default 256)")
    g.add_argument("--calib-batch", type=int, help="calibration batch size (default 8)")
    g.add_argument("--exclude", action="append", default=[], metavar="PATH",
                   help="module path, module class or TensorRT layer type left unquantized (repeatable), besides "
                        "the model's defaults (YOLO: the DFL convolution)")
    g.add_argument("--keep-fp32", action="append", default=[], metavar="PATH", help="compute this module in fp32")
    g.add_argument("--keep-fp16", action="append", default=[], metavar="PATH", help="compute this module in fp16")
    g.add_argument("--base-dtype", default=None, choices=("fp16", "bf16", "fp32"),
                   help=f"int8/fp8: dtype of everything not quantized (default {BASE_DTYPE})")


def check_quant_args(args: argparse.Namespace, quantized: bool) -> None:
    """Refuse calibration flags without a quantized dtype, and a quantized build without calibration data."""
    if not quantized:
        refuse_calib_flags(args)
        return
    for dest, default in QUANT_DEFAULTS.items():
        if hasattr(args, dest) and getattr(args, dest) is None:
            setattr(args, dest, default)
    check_range("--calib-images", args.calib_images, 1)
    check_range("--calib-batch", args.calib_batch, 1)
    check_calib_data(args, f"--dtype {args.dtype} needs --calib-data DIR|FILE (with --calib-cache it is read only "
                           "when the cache does not match)")
    if args.calib_cache:
        check_output_path(args.calib_cache, what="--calib-cache", not_same_as=[args.weights] if args.weights else [])


def refuse_calib_flags(args: argparse.Namespace, allowed: Sequence[str] = ()) -> None:
    """The calibration flags given (but those `allowed`) refused: they need --dtype int8 or fp8."""
    given = [flag for dest, flag in CALIB_FLAGS.items() if dest not in allowed and getattr(args, dest, None)]
    if given:
        raise ConfigError(f"{', '.join(given)}: only with --dtype int8 or fp8")


def check_calib_data(args: argparse.Namespace, missing: str) -> None:
    """--calib-data given (else ConfigError(`missing`)) and existing."""
    if not args.calib_data:
        raise ConfigError(missing)
    if not os.path.exists(args.calib_data):
        raise ConfigError(f"--calib-data '{args.calib_data}' does not exist")
    check_calib_path(args.calib_data)


def precision_of(args: argparse.Namespace, calibration: Any = None,
                 paths: Callable[[List[str]], List[str]] = list) -> Precision:
    """The trtnn.Precision the flags ask for (--dtype, --base-dtype, --exclude, --keep-fp32/16, --no-fold-bn) with
    `calibration` for int8/fp8; `paths` maps the module paths given (e.g. to those under an end-to-end wrapper)."""
    quantized = args.dtype in QUANT_DTYPES
    return Precision(args.dtype, base_dtype=args.base_dtype, calibration=calibration if quantized else None,
                     exclude=paths(args.exclude) if quantized else (), keep_fp32=paths(args.keep_fp32),
                     keep_fp16=paths(args.keep_fp16), fold_bn=not args.no_fold_bn)


def _budget(text: str) -> Any:
    """--int8-budget: dB in (0, 200), or 'off'."""
    if text.lower() == "off":
        return "off"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of dB or 'off', got {text!r}") from None
    if not 0 < value < 200:
        raise argparse.ArgumentTypeError(f"expected a number of dB in (0, 200) or 'off', got {text}")
    return value


def calibrate(args: argparse.Namespace, model: Any, inputs: List[Input], spec: Optional[ModelSpec]) -> Any:
    """The trtnn.quant.Calibration of `model`'s network for `inputs` (the batch replaced by --calib-batch): amax
    per tensor and, with --int8-budget (build, calibrate), the INT8/FP8 policy, printed."""
    if len(inputs) != 1 and is_image_folder(args.calib_data):
        raise ConfigError("--calib-data: an image folder feeds one input; give .npy/.npz files for several inputs")
    folder = is_image_folder(args.calib_data)
    shaped = [calibration_input(opt_input(inp) if folder else inp, args.calib_batch) for inp in inputs]
    if folder and any(i.is_dynamic for i in inputs):
        print(f"calibrating at {'x'.join(map(str, shaped[0].shape))} (--calib-batch and the opt shape of input "
              f"{inputs[0].name!r}: the images are letterboxed to one size)")
    data: Any = args.calib_data
    if folder:
        if spec is None:
            raise ConfigError("--calib-data: an image folder needs a registered model's preprocessing; for "
                              "PACKAGE.MODULE:FACTORY targets give .npy/.npz files of network inputs")
        data = quant.image_data(data, args.target, tuple(shaped[0].shape[2:]), args.calib_batch,
                                input_name=shaped[0].name, limit=args.calib_images)
    batches = max(1, args.calib_images // args.calib_batch) if isinstance(data, str) else None
    budget = getattr(args, "int8_budget", None)
    budget = None if budget == "off" else budget
    cal = quant.calibrate(model, shaped, data, method=args.calib_method, cache=args.calib_cache, batches=batches,
                          recalibrate=args.recalibrate, budget=budget, dtype=args.dtype, exclude=_excluded(args, model))
    if cal.policy is not None:
        print(("reused " + quant.policy_path(args.calib_cache) + ": " if cal.reused else "") + cal.policy.summary())
    return cal


def opt_input(inp: Input) -> Input:
    """A dynamic input fixed at the opt shape of its first profile (what images resized to one size feed)."""
    return Input(inp.name, inp.profile(0)[1], inp.dtype, cast=inp.cast) if inp.is_dynamic else inp


def calibration_input(inp: Input, batch: int) -> Input:
    """`inp` with the batch `batch` (--calib-batch); its other dynamic dims keep their ranges (the .npy/.npz data's
    sizes are calibrated as they come, each inside a profile)."""
    shape = (batch, *inp.shape[1:])
    if -1 not in shape:
        return Input(inp.name, shape, inp.dtype, cast=inp.cast)
    profiles = dict.fromkeys(tuple((batch, *s[1:]) for s in p) for p in inp.profiles)
    return Input(inp.name, shape, inp.dtype, cast=inp.cast, profiles=list(profiles))


def _excluded(args: argparse.Namespace, model: Any) -> Optional[List[str]]:
    """None (the model's defaults) plus --exclude, as trtnn.quant.calibrate takes them."""
    return quant_defaults(model) + list(args.exclude) if args.exclude else None


def check_calib_path(path: str) -> None:
    """--calib-data is a folder of images, .npy/.npz file(s) or a folder of them: not one image file, not a folder
    whose images sit in subfolders (a YOLO data set root: names them), no truncated or unreadable image."""
    what = f"--calib-data '{path}'"
    if os.path.isfile(path):
        if path.lower().endswith(IMAGE_SUFFIXES):
            raise ConfigError(f"{what} is one image file; give the folder that holds the calibration images")
        if not path.endswith((".npy", ".npz")):
            raise ConfigError(f"{what}: expected a folder of images ({', '.join(IMAGE_SUFFIXES)}) or .npy/.npz "
                              f"file(s)")
        return
    files = quant.data.check_image_folder(path, "--calib-data")
    if not files and not any(f.endswith((".npy", ".npz")) for f in os.listdir(path)):
        raise ConfigError(f"{what}: the folder holds no images ({', '.join(IMAGE_SUFFIXES)}) and no .npy/.npz files")


def is_image_folder(path: str) -> bool:
    """A folder holding images (the model's own preprocessing feeds them), not .npy/.npz files."""
    return os.path.isdir(path) and bool(image_files(path))
