"""The README's example and CLI commands work as written."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = open(os.path.join(ROOT, "README.md")).read()


def test_readme_python_example_runs(tmp_path):
    code = re.findall(r"```python\n(.*?)```", README, re.S)[0]
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "outputs=[output: 1x16x112x112 fp32]" in out.stdout
    assert (tmp_path / "net.plan").stat().st_size > 0


def test_readme_main_job(tmp_path):
    cmd = re.search(r"^(trtnn build examples\.resnet:resnet18 .*)$", README, re.M).group(1)
    args = cmd.split()[1:]
    args[args.index("-o") + 1] = str(tmp_path / "resnet18.plan")
    out = subprocess.run([sys.executable, "-m", "trtnn.cli", *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    assert "output output: 1x1000 fp32" in out.stdout
    assert (tmp_path / "resnet18.plan").stat().st_size > 10_000_000  # fp16 weights of 11.7M parameters


def test_cli_errors_are_clear():
    out = subprocess.run([sys.executable, "-m", "trtnn.cli", "build", "yolov8n", "-o", "x.plan"], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "give --weights FILE (a checkpoint) or --random-weights" in out.stderr
    out = subprocess.run([sys.executable, "-m", "trtnn.cli", "build", "examples.resnet:resnet18", "--input", "x:1by3",
                          "-o", "x.plan"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2 and "shape must be integers joined by 'x'" in out.stderr


def test_cli_info_json():
    out = subprocess.run([sys.executable, "-m", "trtnn.cli", "info", "--json"], capture_output=True, text=True)
    assert out.returncode == 0
    assert '"backend": "tensorrt_rtx"' in out.stdout or '"backend": "tensorrt"' in out.stdout
