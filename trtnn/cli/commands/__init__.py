"""One module per `trtnn` command; each has `add_parser(subparsers, parents)` and sets `func`. Registered here only."""
from . import bench, build, calibrate, codegen, compare, convert, export_triton, info, inspect, precision, refit, run

COMMANDS = (build, inspect, calibrate, convert, bench, info, compare, codegen, precision, run, export_triton, refit)
