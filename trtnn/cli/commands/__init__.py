"""One module per `trtnn` command; each has `add_parser(subparsers, parents)` and sets `func`. Registered here only."""
from . import bench, build, calibrate, codegen, compare, convert, info, inspect, precision

COMMANDS = (build, inspect, calibrate, convert, bench, info, compare, codegen, precision)
