"""The `trtnn` command: build engines from any trtnn model, inspect definitions, convert weights, compare with torch.

One module per command in `commands/` (registered in `commands.SUMMARIES`); `args` and `options/` hold what they
share. Only the module of the command being run is imported: `trtnn --help`, `--version` and `info` start without
torch or TensorRT.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from importlib import import_module
from typing import NoReturn, Optional, Sequence

from ..errors import TrtnnError
from ..version import __version__
from .commands import SUMMARIES

EXAMPLES = """examples:
  trtnn build examples.resnet:resnet18 --input x:1x3x224x224 --dtype fp16 -o resnet18.plan
  trtnn build mynet:make --input x:-1x3x-1x-1 --min x:1x3x224x224 --opt x:4x3x320x320 --max x:8x3x640x640 -o my.plan
  trtnn build yolov8n --weights yolov8n.pt --imgsz 640 --dtype fp16 --end2end --conf 0.25 --iou 0.7 --max-det 300 -o yolov8n.plan
  trtnn build unet --random-weights --imgsz 572x572 -o unet.plan
  trtnn build centernet_dla34 --weights ctdet_coco_dla_2x.pth --dtype fp16 --end2end --preprocess --orig-size -o ctdet.plan
  trtnn build yolov8n --weights yolov8n.pt --dtype int8 --calib-data images/ --calib-cache calib.json -o yolov8n-int8.plan
  trtnn calibrate yolov8n --weights yolov8n.pt --calib-data images/ --calib-method entropy --calib-cache calib.json
  trtnn inspect yolov8n --random-weights --imgsz 320
  trtnn convert yolov8n.pt yolov8n.safetensors
  trtnn compare mynet:make_trt mynet:make_torch --input x:1x3x224x224 --weights model.pth
  trtnn bench yolov8n.plan        (needs a supported GPU)
  trtnn info
  trtnn codegen mymodels:resnet50 --input x:1x3x224x224 --weights resnet50.pth -o myresnet.py
  trtnn precision yolov8n --weights yolov8n.pt --dtype fp16 --calib-data images/ --images 8 --top 10
  trtnn precision yolov8n --weights yolov8n.pt --dtype int8 --calib-data images/ --target-sqnr 25 --strategy bisect
"""


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block): `trtnn build: error: ... (see trtnn build --help)`.
    The command parsers are of this class too (add_subparsers makes its parsers of the parent's class)."""

    def error(self, message: str) -> "NoReturn":  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(argv: Optional[Sequence[str]] = None) -> argparse.ArgumentParser:
    """The `trtnn` parser; -v/--verbose is accepted before and after the command. Only the command named in `argv`
    (the first word that is not an option) gets its arguments, so only its module is imported; the others are
    listed by their summaries. Without `argv`, every command gets its arguments."""
    parser = Parser(prog="trtnn", description=__doc__.splitlines()[0], epilog=EXAMPLES,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"trtnn {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show TensorRT's log")
    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="show TensorRT's log")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = next((a for a in argv if not a.startswith("-")), None) if argv is not None else None
    for name, summary in SUMMARIES.items():
        if argv is None or name == chosen:
            import_module(f".commands.{name.replace('-', '_')}", __name__).add_parser(sub, [verbose])
        else:
            sub.add_parser(name, help=summary)
    parser.set_defaults(parsers=sub.choices)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one command; an error is one line on stderr and exit code 2, Ctrl-C at any moment (also while the
    command's modules import torch and TensorRT) exit code 130 with one line."""
    command = "trtnn"
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        args, extra = build_parser(argv).parse_known_args(argv)
        command = f"trtnn {args.command}"
        if extra:  # the command's own parser says it: `trtnn build: error: unrecognized arguments: ...`
            args.parsers[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s")
        return args.func(args)
    except TrtnnError as e:
        print(f"{command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return interrupted(command)
    except BrokenPipeError:  # e.g. `trtnn inspect ... | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def interrupted(command: str = "trtnn") -> int:
    """Ctrl-C: one line on stderr, exit code 130 (128 + SIGINT, as shells report it)."""
    print(f"{command}: interrupted", file=sys.stderr)
    return 130


def entry() -> None:
    """The `trtnn` console script and `python -m trtnn.cli`: main()'s exit code (130 after Ctrl-C)."""
    try:
        code = main()
    except KeyboardInterrupt:  # between main's own handlers, e.g. while the exception above was being printed
        code = interrupted()
    sys.exit(code)
