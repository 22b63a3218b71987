"""Start-up time of `trtnn --help`, `trtnn --version` and `trtnn info`: median wall and CPU (user + sys) seconds of
fresh processes, beside an empty Python (`python -c pass`), for one or more source trees.

Target (issue 16): under 0.3 s each. On a shared machine wall time includes waiting for a core: CPU time is the
figure to compare (on an idle machine the two agree).
Run: python benchmarks/bench_startup.py [--runs 7] [--tree LABEL=DIR ...]   (default: this checkout)
e.g. before/after: git archive START | tar -x -C /tmp/before && python benchmarks/bench_startup.py \\
         --tree before=/tmp/before --tree after=.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import List, Tuple

sys.path.insert(0, os.path.dirname(__file__))
from common import report  # noqa: E402  (benchmarks/ is not a package)

COMMANDS = [("python -c pass", ["-c", "pass"]), ("trtnn --help", ["-m", "trtnn.cli", "--help"]),
            ("trtnn --version", ["-m", "trtnn.cli", "--version"]), ("trtnn info", ["-m", "trtnn.cli", "info"])]


def timed(argv: List[str], tree: str) -> Tuple[float, float]:
    """(wall seconds, CPU seconds) of one fresh `python argv...` with `tree` first on the path."""
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *argv], env=env, cwd="/", stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--tree", action="append", default=[], metavar="LABEL=DIR",
                    help="a source tree to measure (repeatable; default: this checkout)")
    args = ap.parse_args()
    trees = [t.split("=", 1) for t in args.tree] or [["this checkout", os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))]]
    rows = []
    for label, argv in COMMANDS:
        for tree_label, tree in trees if label != "python -c pass" else trees[:1]:
            runs = [timed(argv, tree) for _ in range(args.runs)]  # interleaving is not needed: medians
            wall, cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
            rows.append([label, "-" if label == "python -c pass" else tree_label, f"{wall:.3f}", f"{cpu:.3f}"])
    load = os.getloadavg()[0]
    report("startup", f"CLI start-up, median of {args.runs} fresh processes ({os.cpu_count()} cores, load average "
                      f"{load:.1f} at the end)", ["command", "tree", "wall s", "CPU s (user+sys)"], rows)


if __name__ == "__main__":
    main()
