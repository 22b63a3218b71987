"""`trtnn --help`, `--version` and `info` start without importing torch or TensorRT (benchmarks/bench_startup.py
times them); the lazy top-level names still resolve."""
import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "tensorrt", "tensorrt_rtx", "numpy", "trtnn.compile", "trtnn.models", "trtnn.graph")
PROBE = """
import contextlib, io, json, sys
from trtnn.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        code = main({argv!r})
    except SystemExit as e:
        code = e.code
print(json.dumps({{"code": code, "out": out.getvalue(), "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


@pytest.mark.parametrize("argv, text", [(["--help"], "precision"), (["--version"], "trtnn 0.1.0"),
                                        (["info"], "backend:"), (["info", "--json"], '"can_run_engines"')])
def test_light_commands_import_neither_torch_nor_tensorrt(argv, text):
    res = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv, heavy=HEAVY)], capture_output=True,
                         text=True, check=True)
    got = json.loads(res.stdout.splitlines()[-1])
    assert got["code"] == 0 and text in got["out"] and got["heavy"] == []


def test_help_lists_every_command_with_its_summary(capsys):
    from trtnn.cli import main
    from trtnn.cli.commands import SUMMARIES

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name, summary in SUMMARIES.items():
        assert f"    {name}" in out and summary[:40] in out.replace("\n", " ").replace("  ", " "), name


def test_info_json_matches_the_imported_backend():
    from trtnn import backend

    res = subprocess.run([sys.executable, "-m", "trtnn.cli", "info", "--json"], capture_output=True, text=True,
                         check=True)
    info = json.loads(res.stdout)
    assert info["backend"] == backend.name() and info["tensorrt_version"] == backend.version()
    import torch

    assert info["torch"] == torch.__version__


def test_lazy_top_level_names():
    import trtnn

    assert trtnn.Module is trtnn.graph.module.Module and trtnn.Precision is trtnn.compile.Precision
    assert trtnn.nn.Conv2d is trtnn.layers.Conv2d and callable(trtnn.build)
    assert set(trtnn.__all__) <= set(dir(trtnn))
    with pytest.raises(AttributeError, match="module 'trtnn' has no attribute 'Modul'"):
        trtnn.Modul


def test_submodules_resolve_on_first_use_in_a_fresh_process():
    code = ("import trtnn; print(trtnn.io.checkpoint.convert.__name__, trtnn.io.sidecar.engine_metadata.__name__, "
            "trtnn.debug.precision_report.__name__, trtnn.Precision.__name__)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.split() == ["convert", "engine_metadata", "precision_report", "Precision"]


def test_tensor_operators_work_after_a_bare_import_in_a_fresh_process():
    """trtnn.Tensor's operators come with trtnn.functional: resolving trtnn.Module or trtnn.compile loads it."""
    for head in ("import trtnn as t", "import trtnn.compile as t; from trtnn.graph.module import Module; "
                                      "t.Module = Module"):
        code = (f"{head}\nclass M(t.Module):\n    def forward(self, x):\n        return x * 2 + 1\n"
                "print(t.define(M(), [t.Input('x', (2,))]).outputs)")
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert res.returncode == 0 and res.stdout.strip() == "[output: 2 fp32]", res.stderr
