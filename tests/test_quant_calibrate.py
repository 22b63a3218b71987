"""trtnn.quant: statistics, the calibration methods against hand-computed amax and a plain float64 loop of NVIDIA's
entropy algorithm, calibrate() on a small model, its JSON cache, and the data sources."""
import json

import numpy as np
import pytest
import torch

import trtnn
import trtnn.nn as nn
from trtnn.quant import TensorStats, compute_amax
from trtnn.quant.stats import sample_stride
from trtnn.models.vision.host import centernet_affine, yolo_preprocess
from trtnn.quant.data import check_image_file

cv2 = pytest.importorskip("cv2")


def stats_of(values, num_bins=2048):
    s = TensorStats("t", num_bins, samples=None)
    s.update(torch.as_tensor(np.asarray(values, np.float32)))
    return s


def centres(counts, width):
    """Values at the centres of bins 0..len(counts)-1 (bin j repeated counts[j] times)."""
    return np.repeat((np.arange(len(counts)) + 0.5) * width, counts)


def plain_entropy(hist, width, absmax, levels=128, start=128, eps=1e-4):
    """NVIDIA's published KL calibration as a plain float64 loop (independent of trtnn.quant.methods)."""
    hist = np.asarray(hist, np.float64)
    best, best_i = None, None
    for i in range(start, hist.size + 1):
        p = hist[:i].copy()
        p[i - 1] += hist[i:].sum()
        level = (np.arange(i) * levels) // i
        q = np.zeros(i)
        for lv in range(levels):
            members = (level == lv) & (hist[:i] > 0)
            if members.any():
                q[members] = hist[:i][level == lv].sum() / members.sum()
        q[q == 0] = eps
        p, q = p / p.sum(), q / q.sum()
        kl = float(np.sum(p[p > 0] * np.log(p[p > 0] / q[p > 0])))
        if best is None or kl < best:
            best, best_i = kl, i
    return min((best_i + 0.5) * width, absmax)


# ---- statistics -------------------------------------------------------------------------------------------
def test_histogram_counts_abs_values_and_rebins_exactly_when_the_max_grows():
    first = np.array([0.1, -0.3, 0.99, -1.0], np.float32)  # sets R = 1.0
    second = np.array([-3.0, 2.5, 0.05], np.float32)  # R doubles twice -> 4.0
    s = TensorStats("t", 128)
    s.update(torch.from_numpy(first))
    assert s.range == 1.0 and s.hist.sum() == 4
    s.update(torch.from_numpy(second))
    assert s.range == 4.0 and s.absmax == 3.0
    expected, _ = np.histogram(np.abs(np.concatenate([first, second])), bins=128, range=(0.0, 4.0))
    expected[[31, 32]] += [1, -1]  # 1.0 was the max of [0, 1]: in its last bin, which becomes bin 31 of [0, 4]
    np.testing.assert_array_equal(s.hist, expected)


def test_histogram_counts_stay_exact_beyond_float32_precision():
    s = TensorStats("t", 128, samples=None)
    s.update(torch.zeros(3))  # all zero before any range: bin 0
    s.update(torch.ones((1 << 24) + 3))
    assert s.hist[0] == 3 and s.hist[-1] == (1 << 24) + 3


def test_large_tensors_histogram_a_strided_sample_but_the_absmax_sees_all():
    assert sample_stride(1000, 1000) == 1 and sample_stride(1000, None) == 1
    assert sample_stride(4 * 16 * 160 * 160, 8192) == 201  # 200 would share factors 2 and 5 with the size
    x = torch.ones(2, 8, 30, 30)
    x.view(-1)[1] = -5.0  # not in the sample: stride 7 (3 to 6 share factors with 14400) from index 0
    s = TensorStats("t", 128, samples=5000)
    s.update(x)
    assert s.absmax == 5.0 and s.hist.sum() == 2058 and s.hist[25] == 2058  # ceil(14400 / 7); 1.0 of [0, 5]: bin 25


def test_non_finite_values_name_the_tensor_and_batch():
    s = TensorStats("model.3.conv", 128)
    with pytest.raises(trtnn.InputError, match=r"tensor 'model.3.conv' has non-finite values .* batch 7"):
        s.update(torch.tensor([1.0, float("inf")]), 7)


# ---- methods on known distributions ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype, method", [("int8", "mse"), ("fp8", "minmax")])
def test_the_default_method_is_the_best_measured_per_format(dtype, method):
    calib = trtnn.quant.calibrate(small_model(), INPUTS, random_batches(), dtype=dtype, budget=None, progress=False)
    assert calib.method == method  # benchmarks/results/int8_defaults.md
    assert calib.amax["act"] == compute_amax(calib.stats["act"], method)


def test_minmax_of_uniform_is_its_bound():
    assert compute_amax(stats_of(np.linspace(-2.5, 2.5, 1001)), "minmax") == 2.5


def test_percentile_by_hand():
    # 100 values at the centre of each of bins 0..99 (width 0.01) and one outlier 2.0 (R = 2.0, 200 bins)
    values = np.concatenate([centres([100] * 100, 0.01), [2.0]])
    s = stats_of(values, num_bins=200)
    assert s.bin_width == pytest.approx(0.01)
    # 99.99 % of 10001 = 9999.9999 -> bin 99 (cumulative 9900 before it): 99 + 99.9999 / 100 bins
    assert compute_amax(s, "percentile", 99.99) == pytest.approx((99 + 99.9999 / 100) * 0.01, abs=1e-9)
    # median: 5000.5 -> bin 50 (5000 before it), 0.5 / 100 into it
    assert compute_amax(s, "percentile", 50.0) == pytest.approx(50.005 * 0.01, abs=1e-9)
    assert compute_amax(s, "percentile", 100.0) == pytest.approx(2.0)
    with pytest.raises(trtnn.ConfigError, match=r"percentile must be in \(0, 100\], got 0"):
        compute_amax(s, "percentile", 0.0)


def test_entropy_keeps_the_whole_range_of_a_uniform_distribution():
    s = stats_of(centres([10] * 2048, 1 / 1024) * np.tile([1, -1], 10240))
    assert compute_amax(s, "entropy") == s.absmax


def test_entropy_by_hand_clips_a_single_far_outlier():
    # 100 values in each of bins 0..255 (width 1/1024) and one value at 2.0 (the last of 2048 bins). i = 256 puts the
    # outlier into bin 255 and merges equal pairs: the smallest KL (every other i > 256 ends on an empty bin, whose
    # smoothed q is tiny; i = 2048 pays for smoothing 1791 empty bins). amax = (256 + 0.5) * width.
    s = stats_of(np.concatenate([centres([100] * 256, 1 / 1024), [2.0]]))
    assert s.bin_width == 1 / 1024
    assert compute_amax(s, "entropy") == pytest.approx(256.5 / 1024)
    assert plain_entropy(s.hist, s.bin_width, s.absmax) == pytest.approx(256.5 / 1024)


def test_entropy_keeps_an_outlier_that_has_company():
    # as above plus 10 values spread between the bulk and the outlier: every i < 2048 now folds counts onto an empty
    # or sparse last bin, and keeping the whole range (only the empty bins' smoothing to pay) wins
    bulk = np.concatenate([centres([100] * 256, 1 / 1024), [2.0], np.linspace(0.3, 1.9, 10)])
    s = stats_of(bulk)
    assert compute_amax(s, "entropy") == plain_entropy(s.hist, s.bin_width, s.absmax) == 2.0


@pytest.mark.parametrize("seed", [0, 1])
def test_entropy_matches_the_plain_loop_on_laplace_with_outliers(seed):
    rng = np.random.default_rng(seed)
    values = np.concatenate([rng.laplace(0, 0.3, 200000), rng.uniform(4, 6, 20) * rng.choice([-1, 1], 20)])
    s = stats_of(values, num_bins=512)
    got = compute_amax(s, "entropy")
    assert got == pytest.approx(plain_entropy(s.hist, s.bin_width, s.absmax), rel=1e-12)
    assert 2.5 < got < 4.0  # the outliers (4 to 6) are clipped, the bulk (99.99 % below 2.8) kept


def test_mse_matches_brute_force_and_clips_outliers():
    rng = np.random.default_rng(3)
    s = stats_of(np.concatenate([rng.laplace(0, 0.3, 100000), rng.uniform(4, 6, 10)]))
    w, c = s.bin_width, (np.arange(2048) + 0.5) * s.bin_width
    errors = []
    for i in range(128, 2049):
        scale = i * w / 127
        errors.append(float(np.sum(s.hist * (np.minimum(np.rint(c / scale), 127) * scale - c) ** 2)))
    assert compute_amax(s, "mse") == pytest.approx((128 + int(np.argmin(errors))) * w)
    assert 2.5 < compute_amax(s, "mse") < 0.9 * s.absmax  # the farthest outliers are clipped


def test_unknown_method_is_refused():
    with pytest.raises(trtnn.ConfigError, match=r"unknown calibration method 'kl'; expected one of minmax, percentile"):
        compute_amax(stats_of([1.0]), "kl")


# ---- calibrate() on a model ------------------------------------------------------------------------------
class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.act = nn.ReLU()
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(self.act(self.bn(self.conv(x))).mean((2, 3)))


INPUTS = [trtnn.Input("x", (2, 3, 8, 8))]


def small_model(seed=0):
    torch.manual_seed(seed)
    m = Small()
    m.load_state_dict({k: v if not v.is_floating_point() else torch.rand_like(v) + 0.5 if k.endswith("running_var")
                       else torch.randn_like(v) for k, v in m.state_dict().items()})
    return m


def random_batches(n=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [{"x": torch.randn(2, 3, 8, 8, generator=g)} for _ in range(n)]


def test_calibrate_gives_every_floating_activation_by_module_path():
    data = random_batches()
    calib = trtnn.quant.calibrate(small_model(), INPUTS, data, "minmax", progress=False)
    # conv + bn fold into one layer whose output is 'bn'; the constants (fc's weight and bias) are not calibrated
    assert list(calib.amax) == ["x", "bn", "act", "mean", "fc:linear", "output"]
    assert calib.amax["x"] == max(float(d["x"].abs().max()) for d in data)
    assert calib.method == "minmax" and calib.num_batches == 3
    assert set(calib.stats) == set(calib.amax)
    relu = calib.stats["act"]
    assert relu.hist.sum() == 3 * 2 * 8 * 8 * 8 and relu.hist[0] > 0  # ReLU zeros in bin 0


def test_executor_observe_sees_what_keep_all_returns():
    net = trtnn.define(small_model(), INPUTS, dtype="fp32")
    ex = trtnn.reference.Executor(net)
    feed = random_batches(1)[0]
    wanted = set(trtnn.quant.activation_tensors(net.network))
    seen = {}
    outs = ex(feed, observe=lambda n, v: seen.setdefault(n, v.clone()) if n in wanted else None)
    full = ex(feed, keep_all=True)
    assert set(seen) == wanted
    assert outs.keys() == ex(feed).keys() and all(torch.equal(outs[k], full[k]) for k in outs)
    for name in wanted - {"x"}:
        assert torch.equal(seen[name], full[name]), name
    assert torch.equal(seen["x"], feed["x"])


@pytest.mark.parametrize("method", ["minmax", "percentile", "entropy", "mse"])
def test_calibrate_is_deterministic_and_applies_the_method(method):
    runs = [trtnn.quant.calibrate(small_model(), INPUTS, random_batches(), method, progress=False) for _ in range(2)]
    assert runs[0].amax == runs[1].amax
    assert runs[0].amax == {t: compute_amax(s, method) for t, s in runs[0].stats.items()}


class Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.gain = nn.Parameter(torch.tensor([1.0, 2.0, -3.0]))

    def forward(self, x):
        return x * trtnn.functional.constant(self.gain, x).reshape(1, 3, 1, 1)


def test_tensors_computed_from_constants_only_are_not_calibrated():
    net = trtnn.define(Scaled(), [trtnn.Input("x", (1, 3, 2, 2))], dtype="fp32")
    kinds = {net.network.get_layer(i).get_output(0).name: net.network.get_layer(i).type.name
             for i in range(net.network.num_layers)}
    assert sorted(kinds.values()) == ["CONSTANT", "ELEMENTWISE", "SHUFFLE"]  # the reshape reads only the constant
    assert trtnn.quant.activation_tensors(net.network) == ["x", "output"]


def test_calibrate_selected_tensors_and_batches():
    calib = trtnn.quant.calibrate(small_model(), INPUTS, random_batches(5), "percentile", tensors=["bn", "x"],
                                  batches=2, progress=False)
    assert list(calib.amax) == ["bn", "x"] and calib.num_batches == 2
    assert calib.method_args == {"num_bins": 2048, "batches": 2, "samples": 16384, "percentile": 99.99}
    with pytest.raises(trtnn.ConfigError, match=r"tensors \['conv'\] are not in the network"):
        trtnn.quant.calibrate(small_model(), INPUTS, random_batches(), tensors=["conv"])


@pytest.mark.parametrize("kw, message", [({"method": "max"}, "unknown calibration method 'max'"),
                                         ({"num_bins": 1001}, "num_bins must be an even number >= 128, got 1001"),
                                         ({"batches": 0}, "batches must be >= 1"),
                                         ({"samples": 0}, "samples must be >= 1"),
                                         ({"percentile": "99.9"}, r"a number in \(0, 100\], got '99.9'"),
                                         ({"percentile": 0}, r"percentile must be a number in \(0, 100\], got 0")])
def test_calibrate_refuses_bad_arguments(kw, message):
    with pytest.raises(trtnn.ConfigError, match=message):
        trtnn.quant.calibrate(small_model(), INPUTS, random_batches(), **kw)


# ---- cache -----------------------------------------------------------------------------------------------
def no_executor(monkeypatch):
    def fail(*a, **k):
        raise AssertionError("the executor ran although the cache matched")
    monkeypatch.setattr(trtnn.quant.calibrator, "Executor", fail)


def test_cache_miss_writes_readable_json_then_hit_skips_the_executor(tmp_path, monkeypatch):
    path = str(tmp_path / "calib.json")
    first = trtnn.quant.calibrate(small_model(), INPUTS, random_batches(), "entropy", cache=path, progress=False)
    doc = json.load(open(path))
    assert set(doc) == {"trtnn_version", "method", "method_args", "network_hash", "weights_hash", "preprocess",
                        "num_batches", "amax"}
    assert doc["method"] == "entropy" and doc["trtnn_version"] == trtnn.__version__ and doc["amax"] == first.amax
    assert len(doc["network_hash"]) == len(doc["weights_hash"]) == 64
    no_executor(monkeypatch)
    again = trtnn.quant.calibrate(small_model(), INPUTS, random_batches(), "entropy", cache=path)
    assert again.amax == first.amax and again.num_batches == 3
    assert trtnn.quant.Calibration.from_json(first.to_json()) == first


def test_stale_cache_says_what_changed(tmp_path, monkeypatch):
    path = str(tmp_path / "calib.json")
    trtnn.quant.calibrate(small_model(), INPUTS, random_batches(), "entropy", cache=path, progress=False)
    no_executor(monkeypatch)
    cases = [
        (dict(method="minmax"), r"method changed \(cache: entropy, now: minmax\)"),
        (dict(method="entropy", num_bins=1024), r"method arguments changed .*\"num_bins\": 2048"),
        (dict(model=small_model(seed=1)), "weights changed"),
        (dict(inputs=[trtnn.Input("x", (1, 3, 8, 8))]), "network definition changed"),
        (dict(data=trtnn.quant.image_data(str(write_images(tmp_path, 2)), "yolov8", 8, 2)),
         "calibration data / preprocessing changed"),
    ]
    for change, message in cases:
        args = {"model": small_model(), "inputs": INPUTS, "data": random_batches(), "method": "entropy", **change}
        with pytest.raises(trtnn.ConfigError, match=f"calibration cache '.*calib.json' does not match: {message}"):
            trtnn.quant.calibrate(args.pop("model"), args.pop("inputs"), args.pop("data"), cache=path, **args)
    monkeypatch.setattr(trtnn.quant.calibrator, "__version__", "9.9.9")
    with pytest.raises(trtnn.ConfigError, match=r"trtnn version changed \(cache: 0\.1\.0, now: 9\.9\.9\)"):
        trtnn.quant.calibrate(small_model(), INPUTS, random_batches(), "entropy", cache=path)


def test_cache_of_in_memory_data_is_reused_only_for_the_same_batches(tmp_path, monkeypatch):
    """In-memory batches are hashed (sha256 of the batches calibration used): the same batches, as a list or a
    generator, reuse the cache; other values are refused; batches beyond those used do not matter."""
    path = str(tmp_path / "calib.json")
    first = trtnn.quant.calibrate(small_model(), INPUTS, iter(random_batches()), "minmax", batches=2, cache=path,
                                  progress=False)
    assert first.preprocess["source"] == "memory" and first.preprocess["batches"] == 2
    assert len(first.preprocess["sha256"]) == 64
    no_executor(monkeypatch)
    same = random_batches()[:2] + random_batches(seed=5)[:1]  # a third batch the calibration never used
    assert trtnn.quant.calibrate(small_model(), INPUTS, same, "minmax", batches=2, cache=path).amax == first.amax
    with pytest.raises(trtnn.ConfigError, match=r"does not match: calibration data / preprocessing changed .*sha256"):
        trtnn.quant.calibrate(small_model(), INPUTS, random_batches(seed=1), "minmax", batches=2, cache=path)


def test_in_memory_data_read_for_the_hash_is_kept_for_the_pass():
    """A generator's batches read to check a cache are handed out again by the next pass, in order."""
    from trtnn.quant.data import as_batches, describe

    batches = random_batches(4)
    source = as_batches((b for b in batches), {"x": (2, 3, 8, 8)})
    described = describe(source, 2)
    again = list(source)
    assert len(again) == 4 and all(a["x"] is b["x"] for a, b in zip(again, batches))
    assert describe(source, 2) == described and describe(source, 4) != described
    assert describe(as_batches(batches, {"x": (2, 3, 8, 8)}), 2) == described and len(as_batches(batches, {})) == 4


def test_cache_with_fewer_tensors_is_stale_and_recalibrate_overrides(tmp_path):
    path = str(tmp_path / "calib.json")
    trtnn.quant.calibrate(small_model(), INPUTS, random_batches(), "minmax", tensors=["x"], cache=path, progress=False)
    with pytest.raises(trtnn.ConfigError, match=r"tensors changed: no amax for \['bn'\]"):
        trtnn.quant.calibrate(small_model(), INPUTS, random_batches(), "minmax", tensors=["x", "bn"], cache=path)
    calib = trtnn.quant.calibrate(small_model(), INPUTS, random_batches(), "entropy", cache=path, recalibrate=True,
                                  progress=False)
    assert json.load(open(path))["method"] == "entropy" and "bn" in calib.amax


@pytest.mark.parametrize("content", [b"{not json", b'{"method": "entropy"}', b"\xff\xfe", b'{"amax": [1, 2]}'])
def test_corrupt_cache_names_the_file(tmp_path, content):
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    with pytest.raises(trtnn.CheckpointError, match=r"calibration cache '.*broken.json' is not .*recalibrate"):
        trtnn.quant.calibrate(small_model(), INPUTS, random_batches(), cache=str(path))


def test_cache_path_is_checked_before_calibrating(tmp_path):
    with pytest.raises(trtnn.FileError, match="calibration cache .* folder .* does not exist"):
        trtnn.quant.calibrate(small_model(), INPUTS, random_batches(), cache=str(tmp_path / "no" / "c.json"))


# ---- data sources ----------------------------------------------------------------------------------------
def test_npy_npz_and_folders_give_the_same_calibration_as_the_iterable(tmp_path):
    batches = random_batches(3)
    stacked = np.concatenate([b["x"].numpy() for b in batches])  # [6, 3, 8, 8]: cut into batches of 2
    np.save(tmp_path / "all.npy", stacked)
    np.savez(tmp_path / "all.npz", x=stacked)
    folder = tmp_path / "parts"
    folder.mkdir()
    for k, b in enumerate(batches):
        np.save(folder / f"{k}.npy", b["x"].numpy())
    expected = trtnn.quant.calibrate(small_model(), INPUTS, batches, "entropy", progress=False).amax
    for source in (tmp_path / "all.npy", tmp_path / "all.npz", folder):
        calib = trtnn.quant.calibrate(small_model(), INPUTS, str(source), "entropy", progress=False)
        assert calib.amax == expected and calib.num_batches == 3, source
    cache = str(tmp_path / "calib.json")
    trtnn.quant.calibrate(small_model(), INPUTS, str(folder), "entropy", cache=cache, progress=False)
    np.save(folder / "1.npy", np.zeros((4, 3, 8, 8), np.float32))  # other data (its size differs too)
    with pytest.raises(trtnn.ConfigError, match=r"calibration data / preprocessing changed .*files_hash"):
        trtnn.quant.calibrate(small_model(), INPUTS, str(folder), "entropy", cache=cache)
    bare = trtnn.quant.calibrate(small_model(), INPUTS, [b["x"].numpy() for b in batches], "entropy", progress=False)
    assert bare.amax == expected


def test_numpy_data_errors_name_the_file(tmp_path):
    np.save(tmp_path / "bad.npy", np.zeros((4, 3, 9, 9), np.float32))
    with pytest.raises(trtnn.ConfigError, match=r"'.*bad.npy': array for input 'x' has shape \(4, 3, 9, 9\); "
                                                r"expected \(2, 3, 8, 8\)"):
        trtnn.quant.calibrate(small_model(), INPUTS, str(tmp_path / "bad.npy"))
    with pytest.raises(trtnn.FileError, match="calibration data '.*missing.npz' does not exist"):
        trtnn.quant.calibrate(small_model(), INPUTS, str(tmp_path / "missing.npz"))
    with pytest.raises(trtnn.ConfigError, match="calibration data must be a path"):
        trtnn.quant.calibrate(small_model(), INPUTS, {"x": np.zeros((2, 3, 8, 8))})


def write_images(tmp_path, n, size=(48, 64)):
    folder = tmp_path / "images"
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for k in range(n):
        cv2.imwrite(str(folder / f"{k:03d}.png"), rng.integers(0, 256, (*size, 3), dtype=np.uint8))
    return folder


def test_image_folder_with_yolo_letterbox(tmp_path):
    folder = write_images(tmp_path, 5)
    data = trtnn.quant.image_data(str(folder), "yolov8n", 32, batch=2, input_name="x")
    assert len(data) == 2 and data.description["images"] == 4 and data.description["preprocess"] == "letterbox"
    feeds = list(data)
    assert [f["x"].shape for f in feeds] == [(2, 3, 32, 32)] * 2 and feeds[0]["x"].dtype == np.float32
    image = cv2.imread(str(folder / "000.png"))  # 48x64 -> 24x32 (scaled up to fit 32 wide), 4 rows of 114 above
    np.testing.assert_allclose(feeds[0]["x"][0, :, :4], 114 / 255, rtol=1e-6)
    resized = cv2.resize(image, (32, 24), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(feeds[0]["x"][0, 0, 4:28], resized[:, :, 2] / 255, rtol=1e-6)  # R first
    np.testing.assert_array_equal(yolo_preprocess(image, (32, 32)), feeds[0]["x"][0])
    model = trtnn.Sequential(nn.Conv2d(3, 4, 3))
    calib = trtnn.quant.calibrate(model, [trtnn.Input("x", (2, 3, 32, 32))], data, "minmax", progress=False)
    assert calib.amax["x"] == max(float(np.abs(f["x"]).max()) for f in feeds)
    assert calib.preprocess == data.description
    (folder / "000.png").write_bytes(cv2.imencode(".png", np.zeros((48, 64, 3), np.uint8))[1].tobytes())
    assert trtnn.quant.image_data(str(folder), "yolov8n", 32, batch=2).description["files_hash"] != \
        data.description["files_hash"]  # a changed image makes a cache stale


def test_unet_and_centernet_preprocessing(tmp_path):
    image = np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    unet = trtnn.quant.unet_preprocess(image, (96, 128))
    expected = cv2.resize(image, (128, 96), interpolation=cv2.INTER_CUBIC)[:, :, ::-1].transpose(2, 0, 1) / 255
    np.testing.assert_allclose(unet, expected, rtol=1e-6)
    np.testing.assert_array_equal(trtnn.quant.unet_preprocess(np.ones((8, 8, 3), np.uint8), (8, 8)), 1.0)  # no / 255
    # CenterNet: centre (320, 240) to (256, 256), scale 512 / 640 = 0.8 on both axes
    np.testing.assert_allclose(centernet_affine(480, 640, (512, 512)), [[0.8, 0, 0], [0, 0.8, 64]], atol=1e-5)
    # a wide input keeps the scale of its width on both axes: centre (320, 240) to (256, 192)
    np.testing.assert_allclose(centernet_affine(480, 640, (384, 512)), [[0.8, 0, 0], [0, 0.8, 0]], atol=1e-5)
    ct = trtnn.quant.centernet_preprocess(image, (512, 512))
    assert ct.shape == (3, 512, 512) and ct.dtype == np.float32
    mean, std = np.array(trtnn.models.vision.COCO_MEAN), np.array(trtnn.models.vision.COCO_STD)
    np.testing.assert_allclose(ct[:, 0, 0], (114 * 0 / 255 - mean) / std, rtol=1e-5)  # the border is black (0)
    pixel = cv2.warpAffine(image, centernet_affine(480, 640, (512, 512)), (512, 512))[256, 256]
    np.testing.assert_allclose(ct[:, 256, 256], (pixel / 255 - mean) / std, rtol=1e-5)


@pytest.mark.parametrize("name, kind", [("yolov8n-seg", "letterbox"), ("yolo26n", "letterbox"), ("yolov10n", "letterbox"),
                                        ("yolo11n-pose", "letterbox"), ("yolo26n-obb", "letterbox"),
                                        ("yolov8n-cls", "classify"), ("unet", "unet"), ("centernet_dla34", "centernet")])
def test_every_registered_family_has_its_preprocessing(tmp_path, name, kind):
    folder = write_images(tmp_path, 2)
    data = trtnn.quant.image_data(str(folder), name, 32, batch=2)
    assert data.description["preprocess"] == kind and data.preprocess is trtnn.quant.PREPROCESS[kind]
    assert next(iter(data))[data.input_name].shape == (2, 3, 32, 32)


def test_classify_preprocessing_resizes_the_shorter_side_and_crops_the_centre():
    image = np.random.default_rng(2).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    got = trtnn.quant.classify_preprocess(image, (24, 24))  # 48x64 -> 24x32, then columns 4..28
    resized = cv2.resize(image, (32, 24), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(got, resized[:, 4:28, ::-1].transpose(2, 0, 1) / 255, rtol=1e-6)


def test_image_data_errors(tmp_path):
    folder = write_images(tmp_path, 1)
    with pytest.raises(trtnn.ConfigError, match="no image preprocessing for 'resnet'"):
        trtnn.quant.image_data(str(folder), "resnet", 32)
    with pytest.raises(trtnn.FileError, match="has 1 image.*fewer than one batch of 2"):
        trtnn.quant.image_data(str(folder), "unet", 32, batch=2)
    with pytest.raises(trtnn.ConfigError, match=r"folder of images: give trtnn.quant.image_data"):
        trtnn.quant.calibrate(small_model(), INPUTS, str(folder))


@pytest.mark.parametrize("suffix, keep, message", [
    (".jpg", 0.5, "JPEG of .* bytes lacks its end-of-image marker FF D9"),
    (".png", 0.9, "PNG of .* bytes lacks its IEND chunk"),
    (".bmp", 0.9, r"BMP of .* bytes lacks the \d+ bytes its header announces"),
    (".jpg", 0.0, "is not a JPEG, PNG or BMP image")])
def test_truncated_or_unreadable_images_are_named_before_calibrating(tmp_path, suffix, keep, message):
    folder = tmp_path / "images"
    folder.mkdir()
    image = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    for name in ("a", "b"):
        cv2.imwrite(str(folder / f"{name}{suffix}"), image)
    data = (folder / f"b{suffix}").read_bytes()
    (folder / f"b{suffix}").write_bytes(data[: int(len(data) * keep)] if keep else b"<html>not found</html>")
    check_image_file(str(folder / f"a{suffix}"))  # the whole file passes
    (folder / f"a{suffix}").write_bytes((folder / f"a{suffix}").read_bytes() + b"\0" * 16)  # zero padding: fine
    check_image_file(str(folder / f"a{suffix}"))
    with pytest.raises(trtnn.FileError, match=f"calibration image '.*b{suffix}' (is truncated: this )?{message}"):
        trtnn.quant.image_data(str(folder), "yolov8", 32)
