"""docs/ops.md is what tools/op_table.py generates now (regenerate it after adding an op)."""
import importlib.util
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "tools", "op_table.py")


def _tool():
    spec = importlib.util.spec_from_file_location("op_table", TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_docs_ops_md_is_up_to_date():
    with open(os.path.join(ROOT, "docs", "ops.md")) as f:
        assert f.read() == _tool().render(), "docs/ops.md is out of date: run python tools/op_table.py"


def test_table_rows():
    text = _tool().render()
    assert "| `LayerNorm` | yes | `trtnn.nn.LayerNorm` | TensorRT normalization layer |" in text
    assert "| `scaled_dot_product_attention` | yes | `trtnn.functional.scaled_dot_product_attention` |" in text
    assert "| `LSTM` | no |  |  |" in text
    assert "| `Optional`" not in text and "handle_torch_function" not in text


def test_check_flag_reports_a_stale_file(tmp_path):
    stale = tmp_path / "ops.md"
    stale.write_text("old\n")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, TOOL, "--check", "-o", str(stale)], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 1 and "out of date" in out.stderr
    out = subprocess.run([sys.executable, TOOL, "-o", str(stale)], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0 and stale.read_text() == _tool().render()
