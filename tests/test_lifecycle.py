"""The engine lifecycle on this machine: several optimization profiles built by TensorRT-RTX and carried through the
metadata to the CPU Runner's profile choice and to Triton's instance groups; BuildOptions' refusals; `trtnn refit`'s
metadata (written beside or inside the refitted engine) and its checks before the GPU work; `trtnn info PLAN`."""
import json
import os

import pytest
import torch

import trtnn
import trtnn.nn as nn
from trtnn.cli import main
from trtnn.cli.commands.refit import refitted_metadata
from trtnn.compile.lifecycle import BuildOptions, check_profiles
from trtnn.io.engine_file import plan_requirements, read_engine_file, write_engine_file
from trtnn.io.sidecar import engine_metadata
from trtnn.runtime import Runner

PROFILES = ({"x": ((3, 3, 8, 8), (6, 3, 8, 8), (8, 3, 8, 8))},)  # profile 1: batches 3..8; profile 0 (Input): 1..2


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())


def _inputs():
    return [trtnn.Input("x", (-1, 3, 8, 8), min_shape=(1, 3, 8, 8), opt_shape=(2, 3, 8, 8), max_shape=(2, 3, 8, 8))]


@pytest.fixture(scope="module")
def two_profiles():
    """A real TensorRT-RTX engine with two optimization profiles and its metadata."""
    engine = trtnn.build(_model(), _inputs(), options=BuildOptions(profiles=PROFILES))
    return engine, engine_metadata(engine, names={0: "a", 1: "b"}, task="classify")


def test_several_profiles_reach_the_metadata_the_runner_and_triton(two_profiles, tmp_path):
    engine, meta = two_profiles
    one = trtnn.build(_model(), _inputs())
    # the plan can't be deserialized without a GPU; TensorRT-RTX stores each profile's kernels (278708 bytes for
    # one profile, 555884 for two here): the builder got both
    assert engine.nbytes > 1.8 * one.nbytes
    assert meta["profiles"] == [{"x": [[1, 3, 8, 8], [2, 3, 8, 8], [2, 3, 8, 8]]},
                                {"x": [[3, 3, 8, 8], [6, 3, 8, 8], [8, 3, 8, 8]]}]
    runner = Runner(trtnn.define(_model(), _inputs()), device="cpu", profiles=PROFILES, metadata=meta)
    assert [p.shapes["x"] for p in runner.profiles] == [tuple(tuple(s) for s in p["x"]) for p in meta["profiles"]]
    assert [runner.profiles[k].index for k in (0, 1)] == [0, 1]
    x = torch.randn(8, 3, 8, 8)
    torch.testing.assert_close(runner({"x": x})["output"][3:5], runner({"x": x[3:5]})["output"])  # profiles 1, 0

    pb = pytest.importorskip("google.protobuf.text_format")
    from test_triton import PB
    from trtnn.deploy.triton import config_pbtxt

    with pytest.raises(trtnn.ConfigError, match="every profile must accept batch 1"):
        config_pbtxt(meta, "m")  # profile 1 starts at batch 3: Triton's batcher may send it 1
    starts_at_1 = dict(meta, profiles=[meta["profiles"][0], {"x": [[1, 3, 8, 8], [6, 3, 8, 8], [8, 3, 8, 8]]}])
    cfg = pb.Parse(config_pbtxt(starts_at_1, "m", instances=2), PB.ModelConfig())
    assert cfg.max_batch_size == 2, "every instance (profile) must take every batch Triton forms"
    assert [(g.name, list(g.profile), g.count) for g in cfg.instance_group] == [("m_profile0", ["0"], 2),
                                                                               ("m_profile1", ["1"], 2)]
    assert [w.batch_size for w in cfg.model_warmup] == [2, 2], "warm-up at each opt shape, within max_batch_size"


def test_check_profiles_and_options_refusals():
    with pytest.raises(trtnn.ConfigError, match=r"optimization profile 1: expected shapes for the dynamic inputs "
                                                r"\['x'\], got \['y'\]"):
        check_profiles(_inputs(), [{"y": PROFILES[0]["x"]}])
    with pytest.raises(trtnn.ConfigError, match="every input is static"):
        check_profiles([trtnn.Input("x", (1, 3, 8, 8))], PROFILES)
    with pytest.raises(trtnn.ConfigError, match=r"input 'x': expected \(min, opt, max\) shapes"):
        check_profiles(_inputs(), [{"x": ((3, 3, 8, 8), (8, 3, 8, 8))}])
    with pytest.raises(trtnn.ConfigError, match="hardware_compat must be one of ampere\\+, same-cc, got 'turing'"):
        BuildOptions(hardware_compat="turing")
    with pytest.raises(trtnn.ConfigError, match="compute capability '9.0' is not one TensorRT-RTX targets"):
        BuildOptions(compute_capabilities=("9.0",))


@pytest.mark.skipif(not trtnn.backend.is_rtx(), reason="TensorRT-RTX's refusals (full TensorRT has these options)")
@pytest.mark.parametrize("options,match", [(BuildOptions(version_compatible=True), "lean runtime"),
                                           (BuildOptions(hardware_compat="ampere+"), "compute_capabilities"),
                                           (BuildOptions(timing_cache="/tmp/x.cache"), "runtime_cache")])
def test_rtx_refuses_full_tensorrt_options(options, match):
    with pytest.raises(trtnn.ConfigError, match=match):
        trtnn.build(_model(), _inputs(), options=options)


META = {"schema": "trtnn.engine/1", "task": "detect", "names": {"0": "a", "1": "b"}, "target": "yolov8n",
        "imgsz": [64, 64], "stride": 32, "precision": "fp16", "backend": "tensorrt_rtx", "tensorrt_version": "1.7",
        "inputs": [{"name": "images", "shape": [1, 3, 64, 64], "dtype": "fp32"}],
        "outputs": [{"name": "output", "shape": [1, 6, 84], "dtype": "fp32"}],
        "build": {"refittable": True, "weights_stripped": True, "compute_capabilities": ["8.6"]},
        "source": {"weights": "old.pt", "epoch": 3}}


SHAPES = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "yolov8n_shapes.pt")
needs_shared = pytest.mark.skipif(not os.path.exists(SHAPES), reason="needs ../shared (real ultralytics checkpoints)")


@needs_shared
def test_refitted_metadata(tmp_path):
    """The real ultralytics checkpoint's names (circle, rectangle, triangle) replace the engine's."""
    three = dict(META, names={"0": "a", "1": "b", "2": "c"})
    new = refitted_metadata(three, SHAPES, refittable=True)
    assert new["names"] == {"0": "circle", "1": "rectangle", "2": "triangle"}
    assert new["source"] == {"weights": "yolov8n_shapes.pt", "epoch": 3}
    assert new["build"] == {"refittable": True, "weights_stripped": False, "compute_capabilities": ["8.6"]}
    assert three["build"]["weights_stripped"] and three["names"]["0"] == "a", "the input's metadata is unchanged"
    plain = tmp_path / "plain.pt"
    torch.save({"conv.weight": torch.zeros(1)}, plain)  # no names: the engine's stay
    assert refitted_metadata(META, str(plain), refittable=False)["names"] == META["names"]
    with pytest.raises(trtnn.ConfigError, match="names 3 classes, the engine has 2"):
        refitted_metadata(META, SHAPES, refittable=True)


@pytest.mark.parametrize("fmt", ["trtnn", "ultralytics"])
def test_write_engine_file_round_trip(tmp_path, fmt):
    path = tmp_path / "e.engine"
    where = write_engine_file(path, b"vtrt-plan", META, fmt)
    file = read_engine_file(path)
    assert (file.format, file.plan, file.metadata) == (fmt, b"vtrt-plan", META)
    assert where == (str(path) + ".json" if fmt == "trtnn" else "inside the file (ultralytics header)")
    with pytest.raises(trtnn.ConfigError, match="'trtnn' or 'ultralytics', got 'onnx'"):
        write_engine_file(path, b"vtrt", META, "onnx")


@needs_shared
def test_cli_refit_checks_before_the_gpu(tmp_path, capsys):
    plan = tmp_path / "s.plan"
    write_engine_file(plan, b"vtrt-plan", META, "trtnn")
    assert main(["refit", str(plan), SHAPES, "-o", str(tmp_path / "r.plan")]) == 2
    assert "names 3 classes, the engine has 2" in capsys.readouterr().err
    assert main(["refit", str(plan), SHAPES, "-o", str(plan)]) == 2  # never over the input
    assert "-o/--output" in capsys.readouterr().err
    write_engine_file(plan, b"vtrt-plan", dict(META, build={"refittable": False}), "trtnn")
    assert main(["refit", str(plan), SHAPES, "-o", str(tmp_path / "r.plan")]) == 2
    assert "was not built refittable" in capsys.readouterr().err
    if not trtnn.backend.runtime_status()[0]:
        write_engine_file(plan, b"vtrt-plan", dict(META, names={"0": "a", "1": "b", "2": "c"}), "trtnn")
        assert main(["refit", str(plan), SHAPES, "-o", str(tmp_path / "r.plan")]) == 2
        assert "cannot refit here" in capsys.readouterr().err and not (tmp_path / "r.plan").exists()


def test_info_plan_says_what_it_needs(tmp_path, capsys):
    plan = tmp_path / "s.plan"
    write_engine_file(plan, b"vtrt-plan", META, "trtnn")
    facts = plan_requirements(read_engine_file(plan))
    assert facts["plan_backend"] == "tensorrt_rtx" and facts["needs_gpu"] == "compute capability 8.6"
    assert facts["needs_tensorrt"] == "TensorRT-RTX 1.7 runtime (same version)"
    assert facts["needs_weights"].startswith("refit before use")
    assert main(["info", str(plan), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)["plan"]
    assert out["classes"] == 2 and out["inputs"] == ["images [1, 3, 64, 64] fp32"]
    full = dict(META, backend="tensorrt", tensorrt_version="10.13",
                build={"version_compatible": True, "hardware_compat": "ampere+"})
    write_engine_file(plan, b"ftrt-plan", full, "trtnn")
    facts = plan_requirements(read_engine_file(plan))
    assert facts["needs_tensorrt"] == "TensorRT >= 10.13 (version-compatible)"
    assert facts["needs_gpu"].startswith("any Ampere or newer") and "needs_weights" not in facts
