"""The `trtnn` command: build engines from any trtnn model, inspect definitions, convert weights, compare with torch.

One module per command in `commands/` (registered in `commands.COMMANDS`); `args` and `options/` hold what they share.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import NoReturn, Optional, Sequence

from ..errors import TrtnnError
from . import startup

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


def build_parser() -> argparse.ArgumentParser:
    """The `trtnn` parser; -v/--verbose is accepted before and after the command."""
    from .. import __version__
    from .commands import COMMANDS  # here, not at the top: the commands import torch and TensorRT (start-up time)

    parser = Parser(prog="trtnn", description=__doc__.splitlines()[0], epilog=EXAMPLES,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"trtnn {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show TensorRT's log")
    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="show TensorRT's log")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub, [verbose])
    parser.set_defaults(parsers=sub.choices)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one command; an error is one line on stderr and exit code 2, Ctrl-C at any moment exit code 130."""
    command = "trtnn"
    try:
        startup.release()
        args, extra = build_parser().parse_known_args(argv)
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
    """The `trtnn` console script and `python -m trtnn.cli`: main()'s exit code (130 after Ctrl-C; while the imports
    before main() run, trtnn.cli.startup answers Ctrl-C)."""
    try:
        code = main()
    except KeyboardInterrupt:  # between main's own handlers, e.g. while the exception above was being printed
        code = interrupted()
    sys.exit(code)
