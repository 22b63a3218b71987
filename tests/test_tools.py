"""tools/ scripts work as documented."""
import os
import subprocess
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEYS = os.path.join(ROOT, "tests", "data", "keys")


def _run(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "tools", "dump_keys.py"), *args], capture_output=True,
                          text=True, timeout=120)


def test_dump_keys_of_a_model_equals_the_reference_keys_file():
    out = _run("--model", "yolov5s")
    assert out.returncode == 0, out.stderr
    with open(os.path.join(KEYS, "yolov5s.keys")) as f:
        assert out.stdout.strip().splitlines() == f.read().strip().splitlines()


def test_dump_keys_diff(tmp_path):
    a, b = tmp_path / "a.safetensors", tmp_path / "b.pt"
    from trtnn.io.checkpoint import save_checkpoint

    save_checkpoint({"w": torch.zeros(2, 3), "b": torch.zeros(2)}, str(a))
    torch.save({"w": torch.zeros(2, 4), "b": torch.zeros(2)}, b)
    out = _run(str(a), "--diff", str(b))
    assert out.returncode == 1
    assert out.stdout.splitlines() == ["- w (2, 3)", "+ w (2, 4)",
                                       "2 vs 2 entries; 1 only in the first, 1 only in the second"]
