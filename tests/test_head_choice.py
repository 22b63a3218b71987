"""The checkpoint decides the NMS-free branch (issue 23 item 1): an ultralytics checkpoint's head flag (`_end2end` as
ultralytics 8.4.190 stores it; `predict` runs the one-to-one branch only when it is on) selects one2one top-k or
one2many + NMS for the raw model, the end-to-end wrapper, `trtnn build` and the sidecar; the family's default
(one2one) where the file has no flag; --head / head= override it; build prints which branch and why."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import trtnn
from trtnn import cli, models
from trtnn.models.registry import describe_head, head_branch

HERE = os.path.dirname(os.path.abspath(__file__))
# a tests/refmodels YOLO26 pickled as a whole module, as ultralytics' trainer saves it; ultralytics is not needed
_WRITE = """
import sys, torch
sys.path.insert(0, {here!r})
from refmodels import yolo, randomize_bn
torch.manual_seed(0)
model = randomize_bn(yolo.yolo26("n", nc=2), 0)
if {flag!r} is not None:
    model.model[-1].end2end = {flag!r}  # stored as the head's _end2end, as ultralytics 8.4 does
torch.save({{"model": model.half(), "ema": None, "version": "8.4.190", "train_args": {{"imgsz": 64, "task": "detect"}}}},
           {path!r})
"""


def write(tmp_path, flag):
    path = tmp_path / f"yolo26n_{flag}.pt"
    made = subprocess.run([sys.executable, "-c", _WRITE.format(here=HERE, flag=flag, path=str(path))],
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    return path


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("heads")
    return {flag: write(tmp, flag) for flag in (True, False, None)}


@pytest.mark.parametrize("flag, branch", [(True, "one2one"), (False, "one2many"), (None, "one2one")])
def test_the_checkpoint_flag_selects_the_raw_models_branch(ckpts, flag, branch):
    meta = trtnn.io.checkpoint.read_metadata(ckpts[flag])
    assert meta.get("end2end") == flag  # missing: no key
    model = models.from_checkpoint("yolo26n", ckpts[flag])
    assert model.model[-1].end2end is (branch == "one2one")
    assert models.from_checkpoint("yolo26n", ckpts[flag], head="one2one").model[-1].end2end is True  # head= wins


@pytest.mark.parametrize("flag, wrapper", [(True, "TopKEnd2End"), (False, "End2End")])
def test_the_python_end2end_wrapper_follows_the_models_branch(ckpts, flag, wrapper):
    spec = models.registry.spec("yolo26n")
    opts = {**spec.end2end_defaults, "layout": None, "bgr": False, "runtime_thresholds": False, "scale_to_orig": False}
    model = models.from_checkpoint("yolo26n", ckpts[flag])
    assert type(spec.end2end(model, opts)).__name__ == wrapper  # head None: the branch the model runs
    asked = spec.end2end(models.from_checkpoint("yolo26n", ckpts[flag]), {**opts, "head": "one2one"})
    assert type(asked).__name__ == "TopKEnd2End" and asked.model.model[-1].end2end is True


def test_head_branch_reasons():
    assert head_branch("yolov10n", False) == ("one2many", "from the checkpoint (its head's end2end flag is off)")
    assert head_branch("yolov10n", True) == ("one2one", "from the checkpoint (its head's end2end flag is on)")
    assert head_branch("yolo26n-seg") == ("one2one", "the family's default (no end2end flag in the checkpoint)")
    assert head_branch("yolo26n-pose", False, "one2one") == ("one2one", "as asked")
    assert head_branch("yolov8n", False) == (None, "")  # a single head: the flag means nothing
    with pytest.raises(trtnn.ConfigError, match="yolov8n has a single detection head"):
        head_branch("yolov8n", head="one2many")
    with pytest.raises(trtnn.ConfigError, match="head='both': expected one of one2one, one2many"):
        head_branch("yolo26n", head="both")
    assert describe_head("one2many", "from the checkpoint") == \
        "head: one2many + NMS, from the checkpoint; --head one2one for one2one top-k (NMS-free)"


@pytest.mark.parametrize("flag, extra, branch, why", [
    (False, [], "one2many", "from the checkpoint (its head's end2end flag is off)"),
    (True, [], "one2one", "from the checkpoint (its head's end2end flag is on)"),
    (None, [], "one2one", "the family's default"),
    (False, ["--head", "one2one"], "one2one", "as asked"),
])
def test_build_prints_and_records_the_branch(ckpts, tmp_path, capsys, flag, extra, branch, why):
    out = tmp_path / "y.plan"
    code = cli.main(["build", "yolo26n", "--weights", str(ckpts[flag]), "--imgsz", "64", "--end2end", "-o", str(out),
                     *extra])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert f"head: {'one2many + NMS' if branch == 'one2many' else 'one2one top-k (NMS-free)'}, {why}" in printed.out
    meta = json.loads((tmp_path / "y.plan.json").read_text())
    assert meta["head"]["branch"] == branch and meta["head"]["why"].startswith(why)
    assert ("iou" in meta["thresholds"]) is (branch == "one2many")  # NMS thresholds only on the one-to-many branch


def test_nms_flags_follow_the_checkpoints_branch(ckpts, tmp_path, capsys):
    """--iou is an NMS setting: accepted when the checkpoint selects one2many, refused (naming why) when one2one."""
    base = ["build", "yolo26n", "--imgsz", "64", "--end2end", "--iou", "0.5", "-o", str(tmp_path / "y.plan")]
    assert cli.main([*base, "--weights", str(ckpts[False])]) == 0
    capsys.readouterr()
    assert cli.main([*base, "--weights", str(ckpts[None])]) == 2
    assert "--head one2one (the family's default (no end2end flag in the checkpoint))" in capsys.readouterr().err


def test_raw_engine_meanings_follow_the_branch(ckpts, tmp_path, capsys):
    """A raw engine (no --end2end) of a checkpoint whose flag is off outputs the one-to-many branch: xywh boxes."""
    for flag, word in ((False, "cx, cy, w, h"), (None, "x1, y1, x2, y2")):
        out = tmp_path / f"raw_{flag}.plan"
        assert cli.main(["build", "yolo26n", "--weights", str(ckpts[flag]), "--imgsz", "64", "-o", str(out)]) == 0
        meta = json.loads((tmp_path / f"raw_{flag}.plan.json").read_text())
        assert word in meta["outputs"][0]["meaning"] and meta["head"]["branch"] == ("one2many" if flag is False
                                                                                      else "one2one")
    capsys.readouterr()
    assert "cx, cy, w, h" in models.spec("yolo26n-seg").task.meanings(False, "one2many")["output0"]
    assert "x1, y1, x2, y2" in models.spec("yolo26n-seg").task.meanings(False)["output0"]
