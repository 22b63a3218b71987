"""Error discipline: what trtnn raises for bad input (class + message), TensorRT messages captured per build context,
Ctrl-C cancelling a TensorRT build."""
import contextlib
import os
import pty
import select
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
import torch

import trtnn
import trtnn.functional as F
import trtnn.nn as nn
from trtnn import backend
from trtnn.models.centernet import CtdetEnd2End
from trtnn.models.vision import NMS
from trtnn.models.yolo.tasks import End2End
from trtnn.reference import Executor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextlib.contextmanager
def raises(cls, *fragments):
    """pytest.raises(cls) that also checks every fragment is in the message."""
    with pytest.raises(cls) as info:
        yield info
    missing = [f for f in fragments if f not in str(info.value)]
    assert not missing, f"{missing} not in: {info.value}"


class Plain(nn.Module):
    def forward(self, x):
        return F.relu(x)


class Apply(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


X = [trtnn.Input("x", (1, 3, 8, 8))]


# ---- Input: dtype normalized once, shapes and profiles checked where they enter -------------------------------------
def test_input_normalizes_dtype_spellings():
    assert trtnn.Input("x", (1, 3), "fp16").dtype is torch.float16
    assert trtnn.Input("x", (1, 3), np.int32).dtype is torch.int32
    assert trtnn.Input("x", (1, 3), backend.get().DataType.BF16).dtype is torch.bfloat16
    assert trtnn.Input("x", [np.int64(2), 3]).shape == (2, 3)


@pytest.mark.parametrize("kwargs, cls, fragments", [
    (dict(shape=(1, 3), dtype="fp322"), trtnn.ConfigError, ["input 'img'", "unsupported dtype 'fp322'", "fp16"]),
    (dict(shape=(1, 3), dtype=3.5), trtnn.ConfigError, ["input 'img'", "unsupported dtype 3.5"]),
    (dict(shape=(1, 3), dtype="fp64"), trtnn.UnsupportedError, ["input 'img'", "unsupported dtype 'fp64'"]),
    (dict(shape=(1, 0, 8)), trtnn.ConfigError, ["input 'img'", "dimension 1 = 0", ">= 1, or -1"]),
    (dict(shape=(1, 3, -2)), trtnn.ConfigError, ["input 'img'", "dimension 2 = -2"]),
    (dict(shape=(1, 3.5)), trtnn.ConfigError, ["input 'img'", "shape must hold ints", "3.5"]),
    (dict(shape=(1, True)), trtnn.ConfigError, ["input 'img'", "shape must hold ints"]),
    (dict(shape=5), trtnn.ConfigError, ["input 'img'", "shape must be a sequence of ints, got 5"]),
    (dict(shape=(-1, 3)), trtnn.ShapeError, ["input 'img'", "dynamic shape (-1, 3)", "give min_shape and max_shape"]),
    (dict(shape=(-1, 3), min_shape=(1, 3)), trtnn.ShapeError, ["input 'img'", "give min_shape and max_shape"]),
    (dict(shape=(-1, 3), min_shape=(1, 3), max_shape=(4, 3, 1)), trtnn.ShapeError,
     ["input 'img'", "max_shape (4, 3, 1) does not fit shape (-1, 3)"]),
    (dict(shape=(-1, 3), min_shape=(1, 4), max_shape=(4, 3)), trtnn.ShapeError,
     ["input 'img'", "min_shape (1, 4) does not fit shape (-1, 3)"]),
    (dict(shape=(-1, 3), min_shape=(5, 3), max_shape=(4, 3)), trtnn.ShapeError,
     ["input 'img'", "dimension 0", "min 5, opt 4, max 4"]),
    (dict(shape=(-1, 3), min_shape=(1, 3), opt_shape=(8, 3), max_shape=(4, 3)), trtnn.ShapeError,
     ["input 'img'", "dimension 0", "min 1, opt 8, max 4"]),
    (dict(shape=(-1, 3), min_shape=(0, 3), max_shape=(4, 3)), trtnn.ShapeError,
     ["input 'img'", "dimension 0 of min_shape is 0"]),
    (dict(shape=(2, 3), min_shape=(2, 3), max_shape=(2, 3)), trtnn.ConfigError,
     ["input 'img'", "min/opt/max shapes given for the static shape (2, 3)"]),
])
def test_bad_input_specs(kwargs, cls, fragments):
    with raises(cls, *fragments):
        trtnn.Input("img", **kwargs)


def test_bad_input_name():
    with raises(trtnn.ConfigError, "Input name must be a non-empty string, got ''"):
        trtnn.Input("", (1, 3))


# ---- define / build / build_network arguments -----------------------------------------------------------------------
@pytest.mark.parametrize("fn", [trtnn.define, trtnn.build])
@pytest.mark.parametrize("model, inputs, kw, fragments", [
    (torch.nn.Conv2d(3, 4, 3), X, {}, ["expects a trtnn.Module", "torch.nn.Module Conv2d", "trtnn.nn (same names)"]),
    (lambda x: x, X, {}, ["expects a trtnn.Module", "the function", "subclass trtnn.nn.Module"]),
    (Plain(), X[0], {}, ["inputs must be a list of trtnn.Input, got Input", "wrap it in a list"]),
    (Plain(), [("x", (1, 3))], {}, ["inputs[0] is a tuple, not a trtnn.Input"]),
    (Plain(), X, dict(output_names="out"), ["output_names must be a list of non-empty strings, got 'out'"]),
    (Plain(), X, dict(output_names=["a", "a"]), ["output_names has duplicates"]),
    (Plain(), X, dict(dtype="int32"), ["compute dtype must be fp32, fp16 or bf16, got int32"]),
    (Plain(), X, dict(dtype="fp17"), ["dtype: unsupported dtype 'fp17'"]),
])
def test_define_and_build_refuse_bad_arguments(fn, model, inputs, kw, fragments):
    with raises(trtnn.ConfigError, *fragments):
        fn(model, inputs, **kw)


@pytest.mark.parametrize("kw, fragments", [
    (dict(workspace=0), ["workspace must be an int >= 1 (bytes), got 0"]),
    (dict(workspace=1.5e9), ["workspace must be an int >= 1", "1500000000.0"]),
    (dict(optimization_level=9), ["optimization_level must be an int from 0 to 5, got 9"]),
])
def test_build_options_are_checked(kw, fragments):
    net = trtnn.define(Plain(), X)
    with raises(trtnn.ConfigError, *fragments):
        trtnn.build_network(net, **kw)
    with raises(trtnn.ConfigError, *fragments):
        trtnn.build(Plain(), X, **kw)


def test_tensorrt_rejecting_a_profile_is_surfaced_with_its_message():
    net = trtnn.define(Plain(), [trtnn.Input("x", (-1, 3), min_shape=(1, 3), max_shape=(4, 3))])
    net.inputs[0].profiles = [((1, 3), (4, 3), (2 ** 31, 3))]  # past Input's own check (dims above int32 refused)
    with raises(trtnn.ShapeError, "TensorRT rejected the profile of input 'x'", "max (2147483648, 3)",
                "IOptimizationProfile::setDimensions", "API Usage Error"):
        trtnn.build_network(net)


@pytest.mark.parametrize("model, fragments", [
    (Apply(lambda x: 3), ["forward must return a Tensor, a tuple/list or a dict of Tensors, got int"]),
    (Apply(lambda x: (x, torch.ones(1))), ["output 'output1' is a Tensor, not a trtnn Tensor"]),
])
def test_forward_must_return_trtnn_tensors(model, fragments):
    with raises(trtnn.ConfigError, *fragments):
        trtnn.define(model, X)


def test_module_mistakes():
    class NoInit(nn.Module):
        def __init__(self):
            self.conv = nn.Conv2d(3, 4, 1)

    with raises(trtnn.ConfigError, "NoInit: call super().__init__() before assigning attributes"):
        NoInit()
    with raises(trtnn.UnsupportedError, "Module has no forward(): define it"):
        trtnn.define(nn.Module(), X)


@pytest.mark.parametrize("call", [lambda: nn.Conv2d(3, 4, 1)(torch.ones(1, 3, 8, 8)),
                                  lambda: nn.Sequential(nn.ReLU())([np.ones(3)])])
def test_module_called_on_torch_data_says_how_to_run_it(call):
    with raises(trtnn.ConfigError, "emits TensorRT layers", "not on a torch tensor or numpy array",
                "Executor(trtnn.define(model, [trtnn.Input(...)]))"):
        call()


def test_build_network_wants_a_network():
    with raises(trtnn.ConfigError, "trtnn.build_network expects the Network trtnn.define returns, got Plain"):
        trtnn.build_network(Plain())


def test_forward_signature_mismatch_is_a_config_error():
    with raises(trtnn.ConfigError, "Plain.forward cannot take the 2 network input(s) 'x', 'y'"):
        trtnn.define(Plain(), X + [trtnn.Input("y", (1,))])


# ---- torch where trtnn is expected --------------------------------------------------------------------------------
@pytest.mark.parametrize("fn, fragments", [
    (lambda x: torch.cat([x, x]), ["torch.cat was called on a trtnn Tensor", "use trtnn.functional.cat"]),
    (torch.relu, ["torch.relu was called", "trtnn.functional.relu"]),
    (torch.nn.functional.silu, ["torch.nn.functional.silu was called", "trtnn.functional.silu"]),
    (lambda x: torch.add(x, 1), ["torch.add was called", "trtnn.functional.add"]),
    (lambda x: torch.logsumexp(x, 1), ["torch.logsumexp was called", "its trtnn.functional equivalent"]),
    (lambda x: torch.ones(8).index_select(0, x), ["torch.Tensor.index_select was called",
                                                  "trtnn.functional.index_select"]),
])
def test_torch_function_on_a_trtnn_tensor_names_the_equivalent(fn, fragments):
    with raises(trtnn.UnsupportedError, *fragments) as e:
        trtnn.define(Apply(fn), X)
    assert "in module" not in e.value.message


@pytest.mark.parametrize("fn", [lambda x: torch.ones(8) + x, lambda x: torch.ones(8) - x, lambda x: torch.ones(8) * x,
                                lambda x: torch.ones(8) / x, lambda x: torch.ones(8) ** x, lambda x: torch.ones(8) > x])
def test_torch_tensor_operator_trtnn_tensor_still_works(fn):
    net = trtnn.define(Apply(fn), [trtnn.Input("x", (2, 8))])
    x = torch.rand(2, 8) + 0.5
    out = Executor(net)({"x": x})["output"]
    torch.testing.assert_close(out.float(), fn(x).float())


# ---- Module registration follows torch's rules ---------------------------------------------------------------------
class Holder(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = 2.0


@pytest.mark.parametrize("call, fragments", [
    (lambda m: m.register_buffer("a.b", torch.ones(1)), ["Holder.register_buffer", "buffer name can't contain \".\"",
                                                         "a.b"]),
    (lambda m: m.register_buffer("", torch.ones(1)), ["buffer name can't be empty string"]),
    (lambda m: m.register_buffer(3, torch.ones(1)), ["buffer name should be a string, got int"]),
    (lambda m: m.register_buffer("scale", torch.ones(1)), ["attribute 'scale' already exists"]),
    (lambda m: m.register_buffer("b", [1, 2]), ["cannot assign 'list' object to buffer 'b'", "torch.Tensor"]),
    (lambda m: m.register_parameter("w.x", None), ["Holder.register_parameter", "parameter name can't contain"]),
    (lambda m: m.register_parameter("scale", None), ["attribute 'scale' already exists"]),
    (lambda m: m.register_parameter("w", torch.ones(2)), ["cannot assign 'Tensor' object to parameter 'w'",
                                                          "trtnn.nn.Parameter or None"]),
    (lambda m: m.register_parameter("w", torch.nn.Parameter(torch.ones(2))), ["Holder.w", "torch.nn.Parameter",
                                                                              "trtnn.nn.Parameter"]),
    (lambda m: m.add_module("", nn.ReLU()), ["Holder.add_module", "module name can't be empty string"]),
    (lambda m: m.add_module("a.b", nn.ReLU()), ["module name can't contain \".\", got: a.b"]),
    (lambda m: m.add_module(None, nn.ReLU()), ["module name should be a string, got NoneType"]),
    (lambda m: m.add_module("forward", nn.ReLU()), ["attribute 'forward' already exists"]),
    (lambda m: m.add_module("act", "relu"), ["str is not a trtnn Module subclass", "'act'"]),
    (lambda m: m.add_module("act", torch.nn.ReLU()), ["Holder.act", "torch.nn.Module ReLU", "trtnn.nn module"]),
    (lambda m: setattr(m, "conv", torch.nn.Conv2d(3, 4, 1)), ["Holder.conv", "torch.nn.Module Conv2d",
                                                              "mirrors torch.nn"]),
    (lambda m: setattr(m, "w", torch.nn.Parameter(torch.ones(2))), ["Holder.w", "torch.nn.Parameter",
                                                                    "trtnn.nn.Parameter(tensor)"]),
])
def test_registration_is_checked_like_torch(call, fragments):
    m = Holder()
    before = dict(m.__dict__), list(m.state_dict())
    with raises(trtnn.ConfigError, *fragments):
        call(m)
    assert (dict(m.__dict__), list(m.state_dict())) == before  # nothing registered half-way


def test_registration_that_torch_allows_still_works():
    m = Holder()
    m.register_buffer("stats", torch.zeros(2), persistent=False)
    m.register_buffer("stats", torch.ones(2))  # re-registering makes it persistent, as torch does
    m.stats = np.full(2, 3.0)  # assigning to a buffer name updates the buffer
    m.register_parameter("w", None)
    m.register_parameter("w", trtnn.Parameter(torch.ones(3)))
    assert list(m.state_dict()) == ["w", "stats"] and m.state_dict()["stats"].tolist() == [3.0, 3.0]
    with raises(trtnn.ConfigError, "cannot assign 'str' as buffer 'stats'"):
        m.stats = "x"


# ---- shipped models: bad constructor arguments are ConfigErrors naming the argument -----------------------------------
@pytest.mark.parametrize("make, fragments", [
    (lambda: trtnn.models.yolov8("n", nc=0), ["nc (number of classes) must be an int >= 1, got 0"]),
    (lambda: trtnn.models.yolo11("n", nc=2.5), ["nc (number of classes) must be an int >= 1, got 2.5"]),
    (lambda: trtnn.models.yolov5("s", nc=-3), ["nc (number of classes)", "got -3"]),
    (lambda: trtnn.models.yolov8("q"), ["scale must be one of n/s/m/l/x, got 'q'"]),
    (lambda: trtnn.models.centernet_dla34(num_classes=0), ["num_classes must be an int >= 1, got 0"]),
    (lambda: trtnn.models.centernet_dlav0_34(heads={"hm": 0}), ["heads['hm'] (output channels)", "got 0"]),
    (lambda: trtnn.models.centernet_resnet(19), ["num_layers must be one of [18, 34, 50, 101, 152], got 19"]),
    (lambda: trtnn.models.UNet(3, 0), ["UNet: n_classes must be an int >= 1, got 0"]),
    (lambda: trtnn.models.UNet(3, 2, output="probs"), ["UNet: output must be 'logits' or 'mask', got 'probs'"]),
    (lambda: NMS(conf=1.5), ["NMS: conf must be a number in [0, 1], got 1.5"]),
    (lambda: End2End(trtnn.models.yolov8("n"), iou=-0.1), ["NMS: iou must be a number in [0, 1]",
                                                                              "-0.1"]),
    (lambda: CtdetEnd2End(nn.Identity(), conf="0.3"), ["CtdetEnd2End: conf must be a number in "
                                                                           "[0, 1], got '0.3'"]),
    (lambda: CtdetEnd2End(nn.Identity(), K=0), ["CtdetEnd2End: K must be an int >= 1, got 0"]),
])
def test_shipped_models_refuse_bad_arguments(make, fragments):
    with raises(trtnn.ConfigError, *fragments):
        make()


def test_c2psa_channel_mismatch():
    from trtnn.models.yolo.common import C2PSA

    with raises(trtnn.ConfigError, "c1 (64) must equal c2 (128)"):
        C2PSA(64, 128)


# ---- TensorRT's own errors never pass silently ------------------------------------------------------------------------
def test_tensorrt_api_usage_errors_fail_the_definition_with_every_message_in_order():
    with raises(trtnn.ShapeError, "TensorRT rejected the network definition") as e:
        trtnn.define(nn.Conv2d(3, 0, 1), X)
    text = e.value.message
    assert text.index("setKernelWeights") < text.index("setBiasWeights")  # all of them, first to last


def test_build_error_carries_tensorrt_specific_message():
    trt = backend.get()
    if not backend.is_rtx():
        pytest.skip("the failing NMS build is TensorRT-RTX's")
    net = trtnn.define(nn.Identity(), [trtnn.Input("boxes", (1, 10, 4))])
    scores = net.network.add_input("scores", trt.float32, (1, 10, 3))
    k = net.network.add_constant((), np.array(5, np.int32)).get_output(0)
    net.network.mark_output(net.network.add_nms(net.network.get_input(0), scores, k).get_output(0))
    with raises(trtnn.BuildError, "TensorRT failed to build the network", "has no runners that implement it") as e:
        trtnn.build_network(net)
    assert any("[NMS] has no runners" in m for m in e.value.messages)


class MisuseThenWait(nn.Module):
    """Misuses TensorRT's API directly (an error TensorRT only logs), signals `logged`, waits for `go`, adds a layer."""

    def __init__(self, logged, go):
        super().__init__()
        self.logged, self.go = logged, go

    def forward(self, x):
        x.trt.set_dimension_name(7, "n")  # x has 4 dims: TensorRT logs an API usage error and carries on
        self.logged.set()
        assert self.go.wait(30)
        return F.relu(x)


class Good(nn.Module):
    def forward(self, x):
        return F.sigmoid(F.relu(x) + 1)


def test_two_threads_never_see_each_others_tensorrt_errors():
    """One thread's network has a pending TensorRT error while another thread defines a network from start to end:
    the good one succeeds, and the error still fails the network it belongs to (naming TensorRT's message)."""
    logged, go, results = threading.Event(), threading.Event(), {}

    def run(key, model):
        try:
            results[key] = trtnn.define(model, X).outputs
        except Exception as e:  # noqa: BLE001 - checked below
            results[key] = e

    bad = threading.Thread(target=run, args=("bad", MisuseThenWait(logged, go)))
    bad.start()
    try:
        assert logged.wait(30)
        good = threading.Thread(target=run, args=("good", Good()))
        good.start()
        good.join(60)
    finally:
        go.set()
        bad.join(60)
    assert not isinstance(results["good"], Exception), results["good"]
    assert results["good"][0].shape == (1, 3, 8, 8)
    assert isinstance(results["bad"], trtnn.ShapeError), results["bad"]
    assert "TensorRT rejected an earlier call (before relu)" in str(results["bad"])
    assert "setDimensionName" in str(results["bad"]) and "Invalid dimension index: 7" in str(results["bad"])


def test_capture_is_per_context():
    trt = backend.get()
    log = backend.logger()
    a, b = backend.Capture(), backend.Capture()
    with a.active():
        log.log(trt.ILogger.ERROR, "for a")
        with b.active():
            log.log(trt.ILogger.ERROR, "for b")
        log.log(trt.ILogger.WARNING, "only a warning")
    log.log(trt.ILogger.ERROR, "for nobody")
    assert a.take() == ["for a"] and b.take() == ["for b"] and a.take() == []


# ---- the CPU executor --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("network, cls, fragments", [
    (lambda: Plain(), trtnn.ConfigError, ["Executor takes a defined network", "trtnn Module Plain",
                                          "Executor(trtnn.define(model, [trtnn.Input(...)]))"]),
    (lambda: "net.plan", trtnn.ConfigError, ["Executor takes a trtnn Network", "got str"]),
])
def test_executor_refuses_what_is_not_a_network(network, cls, fragments):
    with raises(cls, *fragments):
        Executor(network())


def test_executor_refuses_a_bare_tensor_as_inputs():
    ex = Executor(trtnn.define(Plain(), X))
    with raises(trtnn.InputError, "inputs must be a dict {name: array} or a list", "got Tensor (wrap it: [x])",
                "'x' (1, 3, 8, 8) float32"):
        ex(torch.ones(1, 3, 8, 8))


# ---- Ctrl-C cancels a TensorRT build ---------------------------------------------------------------------------------
SIGINT_SCRIPT = textwrap.dedent("""
    import logging, time, trtnn
    logging.basicConfig(format="%(levelname)s %(message)s")
    logging.getLogger("trtnn.tensorrt").setLevel(logging.INFO)
    net = trtnn.define(trtnn.models.yolov8("x"), [trtnn.Input("images", (1, 3, 640, 640))])
    print("building", flush=True)
    t0 = time.perf_counter()
    try:
        trtnn.build_network(net)
    except KeyboardInterrupt:
        print("interrupted after %.2fs" % (time.perf_counter() - t0), flush=True)
        raise
    print("built in %.2fs" % (time.perf_counter() - t0), flush=True)
""")


BUILD_STARTED = "Compiler backend is used during engine build"  # TensorRT-RTX's INFO line as the long phase starts


def _env():
    return dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _read_until(read, marker, timeout):
    out, end = "", time.monotonic() + timeout
    while marker not in out and time.monotonic() < end:
        chunk = read()
        if not chunk:
            break
        out += chunk
    return out


def _check_cancelled(out, returncode, waited):
    assert "interrupted after" in out and "built in" not in out, out
    assert "KeyboardInterrupt: TensorRT build cancelled" in out, out
    assert "INFO IBuilder::buildSerializedNetwork: Error Code 7: BuildCanceled" in out, out  # TensorRT stopped it
    assert returncode in (-signal.SIGINT, 130, 1), returncode
    # TensorRT checks the monitor between build steps (about 1.5 s apart here when idle); a busy machine stretches that
    busy = max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
    assert waited < 5.0 * busy, f"took {waited:.1f}s after Ctrl-C (load factor {busy:.1f})"


needs_rtx = pytest.mark.skipif(not backend.is_rtx(), reason="waits for TensorRT-RTX's log line of the long build phase")


@needs_rtx
def test_sigint_cancels_the_build_without_a_terminal():
    p = subprocess.Popen([sys.executable, "-c", SIGINT_SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, env=_env(), stdin=subprocess.DEVNULL)
    try:
        assert BUILD_STARTED in _read_until(p.stdout.readline, BUILD_STARTED, 120)
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=30)
        _check_cancelled(out, p.returncode, time.monotonic() - t0)
    finally:
        if p.poll() is None:
            p.kill()


@needs_rtx
def test_sigint_cancels_the_build_on_a_terminal():
    pid, fd = pty.fork()
    if pid == 0:  # child: stdin/stdout/stderr are the terminal
        os.execve(sys.executable, [sys.executable, "-c", SIGINT_SCRIPT], _env())

    def read():
        ready, _, _ = select.select([fd], [], [], 1.0)
        try:
            return os.read(fd, 4096).decode(errors="replace") if ready else " "
        except OSError:
            return ""

    try:
        assert BUILD_STARTED in _read_until(read, BUILD_STARTED, 120)
        t0 = time.monotonic()
        os.kill(pid, signal.SIGINT)
        out = _read_until(read, "KeyboardInterrupt: TensorRT build cancelled", 30)
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        _check_cancelled(out, code, time.monotonic() - t0)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
