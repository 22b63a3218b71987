"""Writers refuse unusable paths with FileError naming the user's path; readers refuse broken files with
CheckpointError naming the file (truncated, header too large, bad .wts lines); load_state_dict checks values."""
from __future__ import annotations

import errno
import os
import random
import signal
import struct
import subprocess
import sys
import time
import zipfile
from collections import OrderedDict

import pytest
import torch

import trtnn
from trtnn import nn
from trtnn.compile import Engine
from trtnn.io.checkpoint import convert, load_checkpoint, save_checkpoint
from trtnn.errors import CheckpointError, ConfigError, FileError, StateDictError
from trtnn.io.files import atomic_path, check_output_path

FORMATS = (".pt", ".pth", ".safetensors", ".npz", ".wts")
SD = OrderedDict(w=torch.arange(6.0).reshape(2, 3), n=torch.tensor(7))


def _tmp_files(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def _snapshot(directory):
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


def _said(info, tmp_path):
    """The error's message with the test's folder (named after the test, so holding its words) cut out."""
    return str(info.value).replace(str(tmp_path), "<tmp>")


def _save_engine(path):
    Engine(plan=b"plan bytes", inputs=[], outputs=[], backend="test").save(path)


def _write(kind, path, tmp_path):
    """One writer: an engine, a checkpoint, or a conversion from a good checkpoint."""
    if kind == "engine":
        _save_engine(path)
    elif kind == "checkpoint":
        save_checkpoint(SD, path)
    else:
        src = tmp_path / "src.pt"
        if not src.exists():
            save_checkpoint(SD, src)
        convert(src, path)


# --------------------------------------------------------------------------- writers: paths and modes

WRITERS = ("engine", "checkpoint", "convert")


def _ext(kind):
    return ".plan" if kind == "engine" else ".safetensors"


@pytest.mark.parametrize("kind", WRITERS)
@pytest.mark.parametrize("case, fragment", [
    ("missing_folder", "does not exist"),
    ("is_folder", "is a folder"),
    ("parent_is_file", "is not a folder"),
    ("empty", "path is empty"),
    ("no_extension_folder", "is a folder"),
])
def test_writers_refuse_unusable_paths(tmp_path, kind, case, fragment):
    if kind == "convert":
        save_checkpoint(SD, tmp_path / "src.pt")
    (tmp_path / "afile").write_text("x")
    (tmp_path / f"adir{_ext(kind)}").mkdir()
    path = {"missing_folder": tmp_path / "nope" / f"out{_ext(kind)}",
            "is_folder": tmp_path / f"adir{_ext(kind)}",
            "parent_is_file": tmp_path / "afile" / f"out{_ext(kind)}",
            "empty": "", "no_extension_folder": str(tmp_path) + os.sep}[case]
    before = _snapshot(tmp_path)
    with pytest.raises(FileError) as info:
        _write(kind, path, tmp_path)
    assert fragment in _said(info, tmp_path)
    assert case == "empty" or f"'{path}'" in str(info.value)
    assert ".tmp" not in _said(info, tmp_path)
    assert _snapshot(tmp_path) == before and _tmp_files(tmp_path) == []


@pytest.mark.parametrize("kind", WRITERS)
@pytest.mark.parametrize("err, fragment", [
    (errno.ENOSPC, "disk full"), (errno.EROFS, "read-only"), (errno.EACCES, "permission denied"),
    (errno.EDQUOT, "quota"),
])
def test_write_errors_name_the_target_and_the_reason(tmp_path, monkeypatch, kind, err, fragment):
    """ENOSPC & co. surface when the data is flushed: the error names the user's path, never the temp file."""
    target = tmp_path / f"out{_ext(kind)}"
    target.write_bytes(b"old")
    if kind == "convert":
        save_checkpoint(SD, tmp_path / "src.pt")

    def fail(fd):
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(FileError, match=fragment) as info:
        _write(kind, target, tmp_path)
    assert f"'{target}'" in str(info.value) and ".tmp" not in _said(info, tmp_path)
    assert target.read_bytes() == b"old" and _tmp_files(tmp_path) == []


def test_temp_file_that_cannot_be_created_names_the_target(tmp_path, monkeypatch):
    import tempfile

    def fail(**kw):
        raise PermissionError(errno.EACCES, "Permission denied", os.path.join(kw["dir"], ".x.123-abc.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", fail)
    with pytest.raises(FileError, match=r"cannot write engine '.*e\.plan': permission denied") as info:
        _save_engine(tmp_path / "e.plan")
    assert ".tmp" not in _said(info, tmp_path)


def test_check_output_path(tmp_path, monkeypatch):
    src = tmp_path / "w.pt"
    src.write_bytes(b"w")
    assert check_output_path(tmp_path / "new.plan") == str(tmp_path / "new.plan")
    with pytest.raises(FileError, match=r"engine '.*w\.pt' is the same file as '.*w\.pt', which is read from"):
        check_output_path(tmp_path / "w.pt", what="engine", not_same_as=[src])
    os.link(src, tmp_path / "hard.pt")
    with pytest.raises(FileError, match="hard.pt' is the same file as"):
        check_output_path(tmp_path / "hard.pt", not_same_as=[src])
    with pytest.raises(FileError, match="path is empty"):
        check_output_path("")
    with pytest.raises(FileError, match=r"'.*sub/' is a folder"):
        check_output_path(str(tmp_path / "sub") + os.sep)
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    with pytest.raises(FileError, match="dangling' exists and is not a regular file"):
        check_output_path(tmp_path / "dangling")
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(FileError, match="fifo' exists and is not a regular file"):
        check_output_path(tmp_path / "fifo")
    real_statvfs = os.statvfs

    class ReadOnly:
        f_flag = os.ST_RDONLY

    monkeypatch.setattr(os, "statvfs", lambda p: ReadOnly() if os.fspath(p) == str(tmp_path) else real_statvfs(p))
    with pytest.raises(FileError, match=f"folder '{tmp_path}' is not writable"):
        check_output_path(tmp_path / "x.plan")  # a read-only mount: even root cannot write there
    monkeypatch.undo()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if os.fspath(p) == str(tmp_path) else real_access(p, mode))
    with pytest.raises(FileError, match=f"folder '{tmp_path}' is not writable"):
        check_output_path(tmp_path / "x.plan")


@pytest.mark.parametrize("ext", FORMATS + (".plan",))
def test_saved_files_get_the_same_mode_whatever_the_format(tmp_path, ext):
    mask = os.umask(0o022)
    os.umask(mask)
    path = tmp_path / f"w{ext}"
    _save_engine(path) if ext == ".plan" else save_checkpoint(SD, path)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask  # what open() gives a new file
    os.chmod(path, 0o604)
    _save_engine(path) if ext == ".plan" else save_checkpoint(SD, path)
    assert path.stat().st_mode & 0o777 == 0o604  # a replaced file keeps its mode


def test_stale_temp_of_a_killed_save_is_removed_by_the_next_save(tmp_path):
    target = tmp_path / "e.plan"
    code = ("import sys, time; from trtnn.io.files import atomic_path\n"
            "with atomic_path(sys.argv[1]) as tmp:\n"
            "    open(tmp, 'wb').write(b'half'); print(tmp, flush=True); time.sleep(60)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd()] + sys.path))
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, text=True, env=env)
    stale = proc.stdout.readline().strip()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert os.path.basename(stale) in _tmp_files(tmp_path) and not target.exists()
    old_style = tmp_path / ".e.plan.k3j_4h5g.tmp"  # mkstemp's name without a pid (older trtnn): removed
    live = tmp_path / f".e.plan.{os.getpid()}-inflight.tmp"  # a save still running in this process: kept
    others = [tmp_path / ".other.plan.1-abcdefgh.tmp", tmp_path / ".e.plan.x.1-abcdefgh.tmp"]  # other targets'
    for p in [old_style, live] + others:
        p.write_bytes(b"x")
    time.sleep(0.01)
    _save_engine(target)
    assert target.read_bytes() == b"plan bytes"
    assert _tmp_files(tmp_path) == sorted(p.name for p in [live] + others)


def test_atomic_path_turns_os_errors_of_the_body_into_file_errors(tmp_path):
    with pytest.raises(FileError, match=r"cannot write report '.*r\.json': no space left"):
        with atomic_path(tmp_path / "r.json", "report"):
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / ".r.json.1-x.tmp"))
    assert _tmp_files(tmp_path) == []


# --------------------------------------------------------------------------- .wts

class _Net(trtnn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)


def _net_state():
    g = torch.Generator().manual_seed(0)
    sd = {k: torch.randn(v.shape, generator=g) if v.is_floating_point() else torch.tensor(123)
          for k, v in _Net().state_dict().items()}
    sd["bn.running_var"] = sd["bn.running_var"].abs()
    return sd


def test_wts_round_trip_restores_shapes_values_and_integer_buffers(tmp_path):
    sd = _net_state()
    save_checkpoint(sd, tmp_path / "src.pt")
    assert convert(tmp_path / "src.pt", tmp_path / "w.wts") == len(sd)
    flat = load_checkpoint(tmp_path / "w.wts")
    assert flat["conv.weight"].shape == (4 * 3 * 3 * 3,) and flat["bn.num_batches_tracked"].dtype == torch.float32
    net = _Net()
    net.load_state_dict(flat)
    for k, v in net.state_dict().items():
        assert v.dtype == sd[k].dtype and v.shape == sd[k].shape and torch.equal(v, sd[k]), k
    assert net.state_dict()["bn.num_batches_tracked"].dtype == torch.int64


def test_non_integral_value_for_an_integer_slot_names_the_key():
    sd = _net_state()
    sd["bn.num_batches_tracked"] = torch.tensor([2.5])
    net = _Net()
    before = net.state_dict()["conv.weight"].clone()
    with pytest.raises(StateDictError, match=r"'bn\.num_batches_tracked': expected int64 values, got fp32 with 1 "
                                             r"not a whole number in range \(e\.g\. 2\.5\)"):
        net.load_state_dict(sd)
    assert torch.equal(net.state_dict()["conv.weight"], before)


def test_wts_writer_refuses_integers_float32_cannot_hold(tmp_path):
    with pytest.raises(CheckpointError, match=r"'big' holds integers beyond 2\*\*24 \(16777217\)"):
        save_checkpoint({"big": torch.tensor([16777217])}, tmp_path / "w.wts")
    save_checkpoint({"ok": torch.tensor([-16777216, 3])}, tmp_path / "w.wts")
    assert load_checkpoint(tmp_path / "w.wts")["ok"].tolist() == [-16777216.0, 3.0]
    assert _tmp_files(tmp_path) == []


@pytest.mark.parametrize("text, fragments", [
    ("2\na 1 3f800000\nb 2 3f800000 zz000000\n", ["line 3", "'b' value 2 is 'zz000000'", "not a float32 in hex"]),
    ("1\na 1 3f8_0000\n", ["line 2", "'a' value 1 is '3f8_0000'"]),
    ("1\na 1 123456789\n", ["line 2", "'a' value 1 is '123456789'"]),
    ("1\na 2 3f800000\n", ["line 2", "'a' announces 2 values, has 1"]),
    ("1\na 1 3f800000 3f800000\n", ["line 2", "'a' announces 1 values, has 2"]),
    ("3\na 1 3f800000\nb 1 3f800000\n", ["truncated or miscounted", "announces 3 tensors, the file holds 2",
                                          "'b', is on line 3"]),
    ("1\na 1 3f800000\nb 1 3f800000\n", ["line 3", "'b' is one tensor more than the 1 announced"]),
    ("1\na 2 3f800000 3f80", ["line 2", "'a' announces 2 values, has 2", "truncated"]),
    ("1\na 3 3f800000 3f800000", ["line 2", "'a' announces 3 values, has 2", "truncated"]),
    ("2\na 1 3f800000\na 1 3f800000\n", ["line 3", "'a' appears twice"]),
    ("1\na x 3f800000\n", ["line 2", "'a'", "the value count is 'x'"]),
    ("1\na\n", ["line 2", "'a'", "the value count is nothing"]),
    ("1 2\na 1 3f800000\n", ["line 1", "expected the number of tensors, got '1 2'"]),
    ("tensors: 1\na 1 3f800000\n", ["line 1", "expected the number of tensors, got 'tensors: 1'"]),
    ("1\na 1 3f80\xe90000\n", ["line 2", "not ASCII text (byte 0xc3 at column 9)"]),
])
def test_bad_wts_files_name_line_and_key(tmp_path, text, fragments):
    path = tmp_path / "bad.wts"
    path.write_bytes(text.encode("utf-8"))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert f"'{path}'" in str(info.value)
    for fragment in fragments:
        assert fragment in _said(info, tmp_path)


def test_wts_hand_written_values_may_drop_leading_zeros(tmp_path):
    (tmp_path / "w.wts").write_text("1\na 3 3f800000 0 bf800000\n\n")
    assert load_checkpoint(tmp_path / "w.wts")["a"].tolist() == [1.0, 0.0, -1.0]


# --------------------------------------------------------------------------- load_state_dict value checks

@pytest.mark.parametrize("key, value, fragment", [
    ("conv.weight", float("nan"), "'conv.weight' holds 2 NaN and 0 Inf of 108 values"),
    ("bn.bias", float("inf"), "'bn.bias' holds 0 NaN and 2 Inf of 4 values"),
    ("bn.running_var", -1.0, "'bn.running_var' (a BatchNorm running_var) holds 2 negative values of 4"),
])
def test_bad_values_are_refused_at_load_unless_allowed(key, value, fragment):
    sd = _net_state()
    sd[key] = sd[key].clone()
    sd[key].view(-1)[:2] = value
    sd["bn.weight"] = sd["bn.weight"].clone()
    sd["bn.weight"][0] = float("-inf")
    net = _Net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(StateDictError) as info:
        net.load_state_dict(sd)
    assert fragment in str(info.value)  # no path in these messages
    assert "'bn.weight' holds 0 NaN and 1 Inf of 4 values" in str(info.value)  # every bad key, in one error
    assert "check_values=False" in str(info.value)
    assert all(torch.equal(net.state_dict()[k], v) for k, v in before.items())  # nothing changed
    net.load_state_dict(sd, check_values=False)
    assert torch.equal(net.state_dict()[key].nan_to_num(), sd[key].nan_to_num())


@pytest.mark.parametrize("given, fragment", [
    ("w.pt", "got str (read a file with trtnn.load_checkpoint(path))"),
    (torch.nn.Linear(2, 2), "got Linear (pass module.state_dict())"),
    ([torch.ones(1)], "got list"),
])
def test_load_state_dict_refuses_what_is_not_a_state_dict(given, fragment):
    with pytest.raises(ConfigError) as info:
        _Net().load_state_dict(given)
    assert f"_Net.load_state_dict: expected a state_dict (a mapping of names to tensors), {fragment}" in str(info.value)


def test_value_check_on_clean_weights_is_one_sum_per_tensor(monkeypatch):
    """Cheap on large models (yolov8x, 68 M values: ~17 ms, about 10% of reading its checkpoint): clean tensors
    cost one reduction each, no per-element masks; the exact counts are computed only for a tensor that fails."""
    from trtnn.graph.module import _check_finite

    def no_masks(*args, **kwargs):
        raise AssertionError("per-element mask built for a clean tensor")

    for name in ("isnan", "isinf", "isfinite"):
        monkeypatch.setattr(torch, name, no_masks)
    for dtype in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
        _check_finite("k", torch.rand(1000).to(dtype), running_var=False)
    monkeypatch.undo()
    with pytest.raises(StateDictError, match="'k' holds 1 NaN and 0 Inf of 3 values"):
        _check_finite("k", torch.tensor([1.0, float("nan"), 2.0], dtype=torch.bfloat16), running_var=False)


# --------------------------------------------------------------------------- truncated and broken files

def _good_files(tmp_path):
    sd = OrderedDict(w=torch.randn(64, 32, generator=torch.Generator().manual_seed(1)), n=torch.tensor(3))
    out = {}
    for ext in (".pt", ".safetensors", ".npz", ".wts"):
        save_checkpoint(sd, tmp_path / f"good{ext}")
        out[ext] = (tmp_path / f"good{ext}").read_bytes()
    torch.save(dict(sd), tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    out["legacy.pt"] = (tmp_path / "legacy.pt").read_bytes()
    return out


@pytest.mark.parametrize("fmt, keep", [
    (".pt", 0.5), (".pt", 0.99), (".npz", 0.5), (".safetensors", 0.5), (".safetensors", 0.01),
    (".wts", 0.5), ("legacy.pt", 0.5), ("legacy.pt", 0.98), ("legacy.pt", 0.1),
])
def test_truncated_checkpoints_say_truncated(tmp_path, fmt, keep):
    data = _good_files(tmp_path)[fmt]
    path = tmp_path / f"cut{fmt}"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert "truncated" in _said(info, tmp_path) and f"'{path}'" in str(info.value)


def test_legacy_checkpoint_cut_between_its_pickles_says_truncated(tmp_path):
    import pickle

    data = _good_files(tmp_path)["legacy.pt"]
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)  # torch's legacy files open with this pickle
    assert data.startswith(magic)
    path = tmp_path / "cut.pt"
    path.write_bytes(magic)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert "truncated: the file ends in the middle of its data (EOFError" in _said(info, tmp_path)


@pytest.mark.parametrize("length, fragment", [
    (200_000_000, "header length 200000000 is too large (more than 100 MB)"),
    (5000, "header length 5000 is too large for the file's 30 bytes (truncated or corrupt)"),
])
def test_safetensors_header_too_large(tmp_path, length, fragment):
    path = tmp_path / "w.safetensors"
    path.write_bytes(struct.pack("<Q", length) + b'{"a": 1}'.ljust(22))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert fragment in _said(info, tmp_path) and f"'{path}'" in str(info.value)


@pytest.mark.parametrize("header, fragment", [
    (b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}', "header describes 8 bytes of tensor data, "
                                                                       "the file holds 0"),
    (b'{"a": {"dtype": "F32"}}', "header entry 'a' is malformed"),
    (b'{"a": 1, ', "header is not valid JSON"),
    (b'{"a"} \xff', "header is not valid JSON"),
])
def test_broken_safetensors_headers(tmp_path, header, fragment):
    path = tmp_path / "w.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(CheckpointError, match="w.safetensors") as info:
        load_checkpoint(path)
    assert fragment in _said(info, tmp_path)


def test_fuzzed_files_raise_only_checkpoint_errors(tmp_path):
    """Random bytes, random cuts and flipped bytes: a CheckpointError naming the file, or (flips) a load."""
    rng = random.Random(8)
    goods = _good_files(tmp_path)
    path = tmp_path / "fuzz.bin"
    for _ in range(40):
        path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))))
        with pytest.raises(CheckpointError, match="fuzz.bin"):
            load_checkpoint(path)
    for name, data in goods.items():
        for _ in range(15):
            path.write_bytes(data[: rng.randrange(1, len(data))])
            with pytest.raises(CheckpointError, match="fuzz.bin"):
                load_checkpoint(path)
            flipped = bytearray(data)
            for _ in range(3):
                flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
            path.write_bytes(bytes(flipped))
            try:
                load_checkpoint(path)
            except CheckpointError as e:
                assert str(path) in str(e), name


def test_zip_storage_claiming_more_than_the_file_holds_is_refused_before_allocating(tmp_path):
    """A crafted archive whose pickle and zip directory agree on a 2 GB storage in a tiny file."""
    import collections
    import io
    import pickle

    huge, marker = 2 ** 31 - 4, object()

    class Tensor:
        def __reduce__(self):
            return torch._utils._rebuild_tensor_v2, (marker, 0, (4,), (1,), False, collections.OrderedDict())

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", torch.FloatStorage, "0", "cpu", huge // 4) if obj is marker else None

    pkl = io.BytesIO()
    Pickler(pkl, protocol=2).dump({"w": Tensor()})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("archive/data.pkl", pkl.getvalue())
        zf.writestr("archive/byteorder", "little")
        zf.writestr("archive/data/0", b"\0" * 16)
    data = bytearray(out.getvalue())
    entry = data.rindex(b"PK\x01\x02", 0, data.rindex(b"archive/data/0"))  # its central directory record
    data[entry + 24: entry + 28] = struct.pack("<I", huge)  # uncompressed size
    (tmp_path / "huge.pt").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"huge\.pt.*storage '0' claims 2147483644 bytes, more than the file"):
        load_checkpoint(tmp_path / "huge.pt")
