"""trtnn.io.checkpoint / trtnn.io.files: formats, unwrapping, pickled modules, malicious pickles, corrupt files."""
from __future__ import annotations

import builtins
import contextlib
import io
import os
import pickle
import struct
import subprocess
import sys
import types
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch

from trtnn.io.checkpoint import convert, load_checkpoint, save_checkpoint
from trtnn.errors import CheckpointError, ConfigError
from trtnn.io.files import atomic_path, atomic_write_bytes


DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.int64, torch.int8, torch.uint8,
          torch.bool)


def _sample(dtypes=DTYPES):
    g = torch.Generator().manual_seed(0)
    out = OrderedDict()
    for i, dt in enumerate(dtypes):  # keys deliberately not in sorted order
        key = f"z{9 - i}.layer.{dt}".replace("torch.", "")
        if dt.is_floating_point:
            out[key] = (torch.randn(3, 2 + i, generator=g) * 100).to(dt)
        elif dt == torch.bool:
            out[key] = torch.randint(0, 2, (5,), generator=g).bool()
        else:
            out[key] = torch.randint(-100 if dt.is_signed else 0, 100, (2, 3), generator=g).to(dt)
    out["a.scalar"] = torch.tensor(7.5)
    out["m.empty"] = torch.zeros(0, 4)
    return out


def _assert_same(got, want):
    assert list(got) == list(want)
    for k in want:
        assert got[k].dtype == want[k].dtype, k
        assert got[k].shape == want[k].shape, k
        assert torch.equal(got[k], want[k]), k


# --------------------------------------------------------------------------- round trips

@pytest.mark.parametrize("ext", [".pt", ".pth", ".safetensors", ".npz"])
def test_round_trip_exact(tmp_path, ext):
    sd = _sample(tuple(d for d in DTYPES if ext != ".npz" or d != torch.bfloat16))  # numpy has no bfloat16
    path = tmp_path / f"w{ext}"
    save_checkpoint(sd, path)
    _assert_same(load_checkpoint(path), sd)


@pytest.mark.parametrize("ext", [".pt", ".safetensors"])
def test_round_trip_newer_dtypes(tmp_path, ext):
    # float8 / uint16 are pickled by torch as UntypedStorage + _rebuild_tensor_v3
    sd = OrderedDict(f8=torch.tensor([0.5, -448.0, 1.75]).to(torch.float8_e4m3fn),
                     u16=torch.tensor([1, 65535], dtype=torch.int32).to(torch.uint16),
                     c=torch.tensor([1 + 2j, -3.5j], dtype=torch.complex64))
    save_checkpoint(sd, tmp_path / f"w{ext}")
    got = load_checkpoint(tmp_path / f"w{ext}")
    assert list(got) == list(sd)
    for k in sd:
        assert got[k].dtype == sd[k].dtype and torch.equal(got[k].view(torch.uint8), sd[k].view(torch.uint8)), k


def test_big_endian_torch_zip(tmp_path):
    sd = OrderedDict(w=torch.tensor([1.5, -0.0, 3e38]), c=torch.tensor([1 - 2j], dtype=torch.complex64))
    torch.save(sd, tmp_path / "le.pt")
    with zipfile.ZipFile(tmp_path / "le.pt") as src, zipfile.ZipFile(tmp_path / "be.pt", "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name.endswith("/byteorder"):
                data = b"big"
            elif "/data/" in name:  # every storage here is made of float32 values
                data = np.frombuffer(data, "<f4").astype(">f4").tobytes()
            dst.writestr(name, data)
    _assert_same(load_checkpoint(tmp_path / "be.pt"), sd)


def test_saved_files_are_readable_by_their_own_libraries(tmp_path):
    from safetensors.torch import load_file

    sd = _sample((torch.float32, torch.int64))
    save_checkpoint(sd, tmp_path / "w.pt")
    save_checkpoint(sd, tmp_path / "w.safetensors")
    save_checkpoint(sd, tmp_path / "w.npz")
    plain = torch.load(tmp_path / "w.pt", weights_only=True)
    assert type(plain) is dict and list(plain) == list(sd)
    assert all(torch.equal(load_file(tmp_path / "w.safetensors")[k], sd[k]) for k in sd)
    with np.load(tmp_path / "w.npz") as npz:
        assert npz.files == list(sd)
        assert np.array_equal(npz["a.scalar"], np.float32(7.5))


def test_safetensors_shared_and_strided_tensors(tmp_path):
    base = torch.arange(12.0).reshape(3, 4)
    sd = OrderedDict(tied_b=base, tied_a=base, col=base[:, 1], t=base.t())
    save_checkpoint(sd, tmp_path / "w.safetensors")
    got = load_checkpoint(tmp_path / "w.safetensors")
    assert list(got) == ["tied_b", "tied_a", "col", "t"]
    assert all(torch.equal(got[k], sd[k]) for k in sd)


def test_legacy_non_zip_torch_format(tmp_path):
    base = torch.arange(6.0)
    sd = OrderedDict(b=torch.arange(5, dtype=torch.float64), a=base[2:5], h=torch.ones(2, dtype=torch.float16))
    torch.save(sd, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    got = load_checkpoint(tmp_path / "old.pt")
    _assert_same(got, sd)


class _Rebuild:
    """Pickles as torch's legacy `_rebuild_tensor_v2(('storage', ...), offset, size, stride, ...)` call."""

    def __init__(self, pid, offset, size):
        self.pid, self.offset, self.size = pid, offset, size

    def __reduce__(self):
        return torch._utils._rebuild_tensor_v2, (_PersistentId(self.pid), self.offset, self.size, (1,), False,
                                                 OrderedDict())


class _PersistentId:
    def __init__(self, pid):
        self.pid = pid


class _LegacyPickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, _PersistentId) else None


def test_legacy_format_written_by_hand_with_storage_views(tmp_path):
    # storage 'root' holds 6 floats; 'view' is elements 2..5 of it (old torch wrote such storage views).
    root = ("storage", torch.FloatStorage, "root", "cpu", 6, None)
    view = ("storage", torch.FloatStorage, "root", "cpu", 6, ("view", 2, 3))
    obj = {"whole": _Rebuild(root, 1, (4,)), "part": _Rebuild(view, 1, (2,))}
    buf = io.BytesIO()
    for item in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True}):
        pickle.dump(item, buf, protocol=2)
    _LegacyPickler(buf, protocol=2).dump(obj)
    pickle.dump(["root"], buf, protocol=2)
    buf.write(struct.pack("<q", 6) + np.arange(6, dtype="<f4").tobytes())
    (tmp_path / "old.pt").write_bytes(buf.getvalue())
    got = load_checkpoint(tmp_path / "old.pt")
    assert got["whole"].tolist() == [1.0, 2.0, 3.0, 4.0] and got["part"].tolist() == [3.0, 4.0]


def test_wts_round_trip_is_bit_exact(tmp_path):
    special = torch.tensor([-0.0, 0.0, 3.4028235e38, -3.4028235e38, 1e-45, 1.17549435e-38, float("inf"),
                            float("-inf"), float("nan"), 1 / 3, -123456.789], dtype=torch.float32)
    sd = OrderedDict(conv=torch.randn(2, 3, 3, 3), special=special, bn_count=torch.tensor(12, dtype=torch.int64),
                     half=torch.tensor([0.1, -2.5], dtype=torch.float16), empty=torch.zeros(0))
    save_checkpoint(sd, tmp_path / "m.wts")
    got = load_checkpoint(tmp_path / "m.wts")
    assert list(got) == list(sd)
    for k, v in sd.items():
        assert got[k].dtype == torch.float32 and got[k].shape == (v.numel(),)  # flat float32, like tensorrtx
        assert torch.equal(got[k].view(torch.int32), v.reshape(-1).float().view(torch.int32)), k
    assert torch.signbit(got["special"][0]) and not torch.signbit(got["special"][1])
    lines = (tmp_path / "m.wts").read_text().splitlines()
    assert lines[0] == "5" and lines[2].split()[:4] == ["special", "11", "80000000", "00000000"]
    assert lines[2].split()[4] == struct.pack(">f", 3.4028235e38).hex()


def test_wts_written_by_hand(tmp_path):
    # tensorrtx gen_wts.py style: a double space before the values; also a short hex token.
    text = "3\n" \
           "conv1.weight 4  3f800000 bf800000 40490fdb 80000000\n" \
           "conv1.bias 2  0 7f7fffff\n" \
           "fc.weight 0\n"
    (tmp_path / "hand.wts").write_text(text)
    got = load_checkpoint(tmp_path / "hand.wts")
    assert list(got) == ["conv1.weight", "conv1.bias", "fc.weight"]
    assert got["conv1.weight"].tolist() == [1.0, -1.0, struct.unpack(">f", bytes.fromhex("40490fdb"))[0], -0.0]
    assert torch.signbit(got["conv1.weight"][3])
    assert got["conv1.bias"].tolist() == [0.0, struct.unpack(">f", bytes.fromhex("7f7fffff"))[0]]
    assert got["fc.weight"].shape == (0,)


def test_convert_between_formats(tmp_path):
    sd = _sample((torch.float32, torch.float16, torch.int64))
    torch.save({"state_dict": sd, "epoch": 3}, tmp_path / "a.pth")
    assert convert(tmp_path / "a.pth", tmp_path / "b.safetensors") == len(sd)
    assert convert(tmp_path / "b.safetensors", tmp_path / "c.npz") == len(sd)
    assert convert(tmp_path / "c.npz", tmp_path / "d.pt") == len(sd)
    _assert_same(load_checkpoint(tmp_path / "d.pt"), sd)
    assert convert(tmp_path / "d.pt", tmp_path / "e.wts") == len(sd)
    wts = load_checkpoint(tmp_path / "e.wts")
    assert torch.equal(wts["z8.layer.float16"], sd["z8.layer.float16"].float().flatten())


def test_format_detected_by_content_not_extension(tmp_path):
    sd = _sample((torch.float32,))
    save_checkpoint(sd, tmp_path / "w.safetensors")
    os.rename(tmp_path / "w.safetensors", tmp_path / "w.bin")
    _assert_same(load_checkpoint(tmp_path / "w.bin"), sd)


# --------------------------------------------------------------------------- unwrapping

def test_unwraps_state_dict_model_ema_and_drops_non_tensors(tmp_path):
    sd = _sample((torch.float32, torch.int64))
    other = OrderedDict((k, v + 1) for k, v in sd.items())
    cases = {
        "centernet": {"epoch": 140, "state_dict": sd, "optimizer": {"state": {}, "param_groups": []}},
        "model": {"model": sd, "epoch": 1},
        "ema_wins": {"model": other, "ema": sd},
        "ema_none": {"model": sd, "ema": None, "epoch": -1},
        "unet": {**sd, "mask_values": [0, 1]},
        "model_state_dict": {"model_state_dict": sd, "optimizer_state_dict": {}},
        "model_is_a_name": {"model": "resnet18", "state_dict": sd},
    }
    for name, ckpt in cases.items():
        torch.save(ckpt, tmp_path / f"{name}.pt")
        _assert_same(load_checkpoint(tmp_path / f"{name}.pt"), sd)


def test_strips_dataparallel_prefix_only_when_every_key_has_it(tmp_path):
    sd = _sample((torch.float32, torch.float16))
    torch.save({"state_dict": OrderedDict(("module." + k, v) for k, v in sd.items())}, tmp_path / "dp.pth")
    _assert_same(load_checkpoint(tmp_path / "dp.pth"), sd)
    mixed = OrderedDict([("module.a", torch.ones(1)), ("b", torch.zeros(1))])
    torch.save(mixed, tmp_path / "mixed.pth")
    assert list(load_checkpoint(tmp_path / "mixed.pth")) == ["module.a", "b"]


def test_whole_torch_module_keeps_state_dict_order(tmp_path):
    m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Linear(4, 2))
    torch.save(m, tmp_path / "m.pt")
    _assert_same(load_checkpoint(tmp_path / "m.pt"), m.state_dict())


def _fake_ultralytics():
    """Install a fake `ultralytics` package whose classes pickle like the real ones.

    Returns DetectionModel and the sys.modules names to remove once the checkpoint is saved.
    """
    names = ["ultralytics", "ultralytics.nn", "ultralytics.nn.tasks", "ultralytics.nn.modules",
             "ultralytics.nn.modules.conv"]
    mods = {n: types.ModuleType(n) for n in names}
    sys.modules.update(mods)

    class Conv(torch.nn.Module):
        def __init__(self, c1, c2, k=1):
            super().__init__()
            self.conv = torch.nn.Conv2d(c1, c2, k, padding=k // 2, bias=False)
            self.bn = torch.nn.BatchNorm2d(c2, eps=1e-3)
            self.act = torch.nn.SiLU()

    class Detect(torch.nn.Module):
        def __init__(self, ch):
            super().__init__()
            self.cv2 = torch.nn.ModuleList(torch.nn.Sequential(Conv(c, 8, 3), torch.nn.Conv2d(8, 4, 1)) for c in ch)
            self.register_buffer("strides", torch.tensor([8.0, 16.0]), persistent=False)
            self.register_buffer("anchor_scale", torch.tensor([0.5, 2.0]))
            self.anchors = torch.empty(0)  # a plain attribute: not in the state_dict

    class DetectionModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = torch.nn.Sequential(Conv(3, 8, 3), Conv(8, 16, 3), Detect((8, 16)))
            self.names = {0: "person", 1: "bicycle"}
            self.yaml = {"nc": 2, "scale": "n"}

    Conv.__module__ = Detect.__module__ = "ultralytics.nn.modules.conv"
    DetectionModel.__module__ = "ultralytics.nn.tasks"
    for cls in (Conv, Detect, DetectionModel):
        cls.__qualname__ = cls.__name__
        setattr(sys.modules[cls.__module__], cls.__name__, cls)
    return DetectionModel, names


def test_ultralytics_checkpoint_without_ultralytics(tmp_path):
    DetectionModel, names = _fake_ultralytics()
    try:
        model = DetectionModel()
        with torch.no_grad():  # non-trivial running stats and counters
            for i, m in enumerate(model.modules()):
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.normal_()
                    m.running_var.uniform_(0.5, 2.0)
                    m.num_batches_tracked.fill_(100 + i)
        model.half()
        ckpt = {"date": "2024-01-01", "version": "8.1.0", "model": model, "ema": None, "optimizer": None,
                "epoch": -1, "train_args": {"imgsz": 640, "task": "detect", "data": "coco.yaml"}}
        torch.save(ckpt, tmp_path / "yolo.pt")
    finally:
        for n in names:
            sys.modules.pop(n, None)
    with pytest.raises(ModuleNotFoundError):
        torch.load(tmp_path / "yolo.pt", weights_only=False)  # the real loader needs the package

    got = load_checkpoint(tmp_path / "yolo.pt")
    want = model.float().state_dict()  # what ultralytics does: (ema or model).float().state_dict()
    _assert_same(got, want)
    assert "model.2.strides" not in got and "model.2.anchor_scale" in got
    assert got["model.0.bn.num_batches_tracked"].dtype == torch.int64
    assert got["model.0.conv.weight"].dtype == torch.float32  # fp16 as stored, upcast exactly


def test_ultralytics_ema_preferred_over_model(tmp_path):
    DetectionModel, names = _fake_ultralytics()
    try:
        model, ema = DetectionModel().half(), DetectionModel().half()
        torch.save({"model": model, "ema": ema, "updates": 10}, tmp_path / "last.pt")
    finally:
        for n in names:
            sys.modules.pop(n, None)
    _assert_same(load_checkpoint(tmp_path / "last.pt"), ema.float().state_dict())


# --------------------------------------------------------------------------- malicious pickles

class _Evil:
    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return self.func, (self.arg,)


def _touch_payloads(target):
    """(name, pickled object) pairs that would create `target` if unpickled normally."""
    return {
        "os.system": _Evil(os.system, f"touch {target}"),
        "builtins.exec": _Evil(builtins.exec, f"open({str(target)!r}, 'w').close()"),
        "builtins.eval": _Evil(builtins.eval, f"open({str(target)!r}, 'w').close()"),
        "subprocess.Popen": _Evil(subprocess.Popen, ["touch", str(target)]),
    }


def _torch_zip(path, pickle_bytes):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pickle_bytes)
        zf.writestr("archive/byteorder", sys.byteorder)


def _hand_made_pickles(target):
    cmd = pickle.dumps((f"touch {target}",), protocol=2)[2:-1]  # the argument tuple, without PROTO / STOP
    argv = pickle.dumps((["touch", str(target)],), protocol=2)[2:-1]
    return {
        "REDUCE": b"\x80\x02cos\nsystem\n" + cmd + b"R.",
        "NEWOBJ": b"\x80\x02csubprocess\nPopen\n" + argv + b"\x81.",
        "INST": f"(S'touch {target}'\nios\nsystem\n.".encode(),
        "OBJ": b"\x80\x02(cos\nsystem\n" + pickle.dumps(f"touch {target}", protocol=2)[2:-1] + b"o.",
        "BUILD": b"\x80\x02cos\nsystem\n" + cmd + b"R}b.",
        "STACK_GLOBAL": pickle.dumps(_Evil(os.system, f"touch {target}"), protocol=4),
        "rebuild_from_type": b"\x80\x02ctorch._tensor\n_rebuild_from_type_v2\n(cos\nsystem\nN" + cmd + b"NtR.",
    }


def test_malicious_objects_inside_torch_zip_are_never_run(tmp_path):
    target = tmp_path / "pwned"
    for name, payload in _touch_payloads(target).items():
        torch.save({"w": torch.arange(3.0), "payload": payload}, tmp_path / "evil.pt")
        got = load_checkpoint(tmp_path / "evil.pt")
        assert list(got) == ["w"] and torch.equal(got["w"], torch.arange(3.0)), name
        assert not target.exists(), name


def test_hand_made_payloads_do_run_under_plain_pickle(tmp_path):
    """Sanity check of the payloads below: a normal unpickler runs them (NEWOBJ only builds a Popen)."""
    target = tmp_path / "canary"
    for name, data in _hand_made_pickles(target).items():
        if name != "NEWOBJ":
            with contextlib.suppress(Exception):  # BUILD on os.system's int result fails after it ran
                pickle.loads(data)
            assert target.exists(), name
            target.unlink()


def test_malicious_hand_made_pickles_in_zip_and_raw(tmp_path):
    target = tmp_path / "pwned"
    for name, data in _hand_made_pickles(target).items():
        _torch_zip(tmp_path / "evil.pt", data)
        with pytest.raises(CheckpointError, match="evil.pt"):
            load_checkpoint(tmp_path / "evil.pt")
        (tmp_path / "evil.pkl").write_bytes(data)
        with pytest.raises(CheckpointError, match="evil.pkl"):
            load_checkpoint(tmp_path / "evil.pkl")
        assert not target.exists(), name


def test_malicious_raw_and_legacy_pickles_are_never_run(tmp_path):
    target = tmp_path / "pwned"
    for name, payload in _touch_payloads(target).items():
        with open(tmp_path / "raw.pkl", "wb") as f:
            pickle.dump({"w": 1, "payload": payload}, f)
        with pytest.raises(CheckpointError, match="not a torch.save checkpoint"):
            load_checkpoint(tmp_path / "raw.pkl")
        torch.save({"w": torch.ones(2), "payload": payload}, tmp_path / "legacy.pt",
                   _use_new_zipfile_serialization=False)
        assert list(load_checkpoint(tmp_path / "legacy.pt")) == ["w"]
        assert not target.exists(), name


def test_malicious_module_attribute_is_never_run(tmp_path):
    target = tmp_path / "pwned"
    m = torch.nn.Linear(2, 2)
    m.hook = _Evil(os.system, f"touch {target}")
    torch.save({"model": m}, tmp_path / "m.pt")
    _assert_same(load_checkpoint(tmp_path / "m.pt"), m.state_dict())
    assert not target.exists()


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
def test_trusted_falls_back_to_torch_load(tmp_path):
    m = torch.jit.script(torch.nn.Linear(3, 2))
    torch.jit.save(m, str(tmp_path / "ts.pt"))
    with pytest.raises(CheckpointError, match="TorchScript"):
        load_checkpoint(tmp_path / "ts.pt")
    _assert_same(load_checkpoint(tmp_path / "ts.pt", trusted=True), m.state_dict())


# --------------------------------------------------------------------------- corrupt files

def _corruptions(tmp_path):
    sd = _sample((torch.float32, torch.int64))
    files = {}
    for ext in (".pt", ".safetensors", ".npz", ".wts"):
        save_checkpoint(sd, tmp_path / f"good{ext}")
        data = (tmp_path / f"good{ext}").read_bytes()
        files[f"truncated{ext}"] = data[: len(data) // 2]
    torch.save(sd, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    data = (tmp_path / "legacy.pt").read_bytes()
    files["truncated_legacy.pt"] = data[:-10]
    good = bytearray((tmp_path / "good.pt").read_bytes())
    with zipfile.ZipFile(tmp_path / "good.pt") as zf:
        info = zf.getinfo(next(n for n in zf.namelist() if n.endswith("data/0")))
    name_len, extra_len = struct.unpack("<HH", good[info.header_offset + 26: info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len  # first byte of the stored tensor data
    good[start] ^= 0xFF  # flip a byte of tensor data: CRC mismatch
    files["bad_crc.pt"] = bytes(good)
    files["garbage.pt"] = b"this is not a checkpoint at all"
    files["empty.pth"] = b""
    files["bad_count.wts"] = b"2\nw 3 3f800000 3f800000\n"
    files["bad_hex.wts"] = b"1\nw 1 zzzzzzzz\n"
    files["foreign.zip"] = _zip_bytes({"readme.txt": b"hello"})
    return files


def _zip_bytes(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_corrupt_and_truncated_files_raise_checkpoint_error(tmp_path):
    for name, data in _corruptions(tmp_path).items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(path)
        assert str(path) in str(info.value), name


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found.*nope.pt"):
        load_checkpoint(tmp_path / "nope.pt")


def test_unknown_format_message_says_what_was_seen(tmp_path):
    (tmp_path / "w.onnx").write_bytes(b"\x08\x07\x12\x07pytorch")
    with pytest.raises(CheckpointError, match=r"w\.onnx.*unknown checkpoint format \(\.onnx; starts with"):
        load_checkpoint(tmp_path / "w.onnx")


# --------------------------------------------------------------------------- atomic writes

def _leftovers(directory):
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("bad, match", [
    ({"a": torch.ones(2), "b": "not a tensor"}, "'b': expected a str key and a tensor, got a str"),
    ({"a": torch.ones(2, dtype=torch.bfloat16)}, "bfloat16"),
])
def test_failed_save_leaves_old_file_intact(tmp_path, bad, match):
    good = OrderedDict(w=torch.arange(4.0))
    save_checkpoint(good, tmp_path / "w.npz")
    before = (tmp_path / "w.npz").read_bytes()
    with pytest.raises(CheckpointError, match=match):
        save_checkpoint(bad, tmp_path / "w.npz")
    assert (tmp_path / "w.npz").read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_save_rejects_unknown_extension_and_wts_unsafe_names(tmp_path):
    with pytest.raises(ConfigError, match=r"w\.onnx.*supported: \.safetensors"):
        save_checkpoint({"a": torch.ones(1)}, tmp_path / "w.onnx")
    with pytest.raises(CheckpointError, match="bad name"):
        save_checkpoint({"bad name": torch.ones(1)}, tmp_path / "w.wts")
    assert not (tmp_path / "w.wts").exists() and _leftovers(tmp_path) == []


def test_atomic_path_and_write_bytes(tmp_path):
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            assert os.path.dirname(tmp) == str(tmp_path)
            with open(tmp, "wb") as f:
                f.write(b"half-writ")
            raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old" and _leftovers(tmp_path) == []
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask  # a new file gets open()'s usual mode
    os.chmod(target, 0o640)
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new" and _leftovers(tmp_path) == []
    assert target.stat().st_mode & 0o777 == 0o640  # a replaced file keeps its mode
