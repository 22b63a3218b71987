"""What a plan may do after the build: refit and stripped weights, timing cache, version / hardware compatibility,
target compute capabilities, several optimization profiles. One `BuildOptions` object travels with `build`."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .. import backend
from ..errors import ConfigError, FileError
from ..io.files import atomic_write_bytes, check_output_path
from .define import Input, profile_count

HARDWARE_COMPAT = {"ampere+": "AMPERE_PLUS", "same-cc": "SAME_COMPUTE_CAPABILITY"}
COMPUTE_CAPABILITIES = ("7.5", "8.0", "8.6", "8.9", "12.0", "12.1")  # TensorRT-RTX's ComputeCapability.SM*
Profile = Dict[str, List[List[int]]]  # input name -> [min, opt, max]


@dataclass(frozen=True)
class BuildOptions:
    """The engine's lifecycle, decided at build time.

    strip_weights: a weight-stripped plan (BuilderFlag.STRIP_PLAN + REFIT_INDIVIDUAL): convolution weights are left
    out and refitted on the target (`trtnn refit`), the plan ships without them.
    refit: weights stay in the plan but can be replaced later (REFIT_INDIVIDUAL; names = module paths + .weight/.bias).
    timing_cache: a file read before and written after the build (full TensorRT; TensorRT-RTX has none).
    version_compatible: runs on later TensorRT versions (full TensorRT's lean runtime is embedded).
    hardware_compat: 'ampere+' or 'same-cc' (full TensorRT); TensorRT-RTX targets `compute_capabilities` instead.
    compute_capabilities: TensorRT-RTX target GPUs, e.g. ('8.6', '12.0') (default: the builder's own choice).
    profiles: extra optimization profiles after the one the Inputs give: [{input: (min, opt, max)}, ...]."""

    strip_weights: bool = False
    refit: bool = False
    timing_cache: Optional[str] = None
    version_compatible: bool = False
    hardware_compat: Optional[str] = None
    compute_capabilities: Tuple[str, ...] = ()
    profiles: Tuple[Mapping[str, Sequence[Sequence[int]]], ...] = ()

    def __post_init__(self) -> None:
        if self.hardware_compat is not None and self.hardware_compat not in HARDWARE_COMPAT:
            raise ConfigError(f"hardware_compat must be one of {', '.join(HARDWARE_COMPAT)}, got "
                              f"{self.hardware_compat!r}")
        bad = [c for c in self.compute_capabilities if c not in COMPUTE_CAPABILITIES]
        if bad:
            raise ConfigError(f"compute capability {bad[0]!r} is not one TensorRT-RTX targets "
                              f"({', '.join(COMPUTE_CAPABILITIES)})")
        if self.timing_cache is not None and os.path.isdir(self.timing_cache):
            raise FileError(f"timing cache '{self.timing_cache}' is a folder, not a file")

    def record(self) -> Dict[str, Any]:
        """What the plan needs and allows, for the engine's metadata (`trtnn info PLAN`)."""
        return {"refittable": self.refit or self.strip_weights, "weights_stripped": self.strip_weights,
                "version_compatible": self.version_compatible, "hardware_compat": self.hardware_compat,
                "compute_capabilities": list(self.compute_capabilities)}

    def failure_hint(self, errors: Sequence[str]) -> str:
        """Why a build with these options may fail where a plain one works (TensorRT-RTX on a CPU-only machine)."""
        if (self.strip_weights or self.refit) and backend.is_rtx() and any("CUDA" in e for e in errors):
            return (": TensorRT-RTX compiles refittable (and weight-stripped) engines with CUDA, so --refit and "
                    "--strip-weights builds need a GPU (a plain build works on a CPU-only machine)")
        return ""


def check_profiles(inputs: Sequence[Input], extra: Sequence[Mapping[str, Sequence[Sequence[int]]]]) -> List[Profile]:
    """Every optimization profile as {input: [min, opt, max]}: the Inputs' own first (Input(profiles=...) gives
    several; an input with one range takes part in each), then `extra`, each checked (the dynamic inputs exactly,
    shapes fitting the Input, min <= opt <= max)."""
    dynamic = [i for i in inputs if i.is_dynamic]
    if extra and not dynamic:
        raise ConfigError("extra optimization profiles given, but every input is static")
    profiles = [{i.name: [list(s) for s in i.profile(k)] for i in dynamic} for k in range(profile_count(inputs))]
    profiles = profiles or [{}]
    names = sorted(i.name for i in dynamic)
    for k, prof in enumerate(extra, start=1):
        if not isinstance(prof, Mapping) or sorted(prof) != names:
            got = sorted(prof) if isinstance(prof, Mapping) else type(prof).__name__
            raise ConfigError(f"optimization profile {k}: expected shapes for the dynamic inputs {names}, got {got}")
        shapes: Profile = {}
        for inp in dynamic:
            try:
                lo, opt, hi = prof[inp.name]
            except (TypeError, ValueError):
                raise ConfigError(f"optimization profile {k}, input '{inp.name}': expected (min, opt, max) shapes, "
                                  f"got {prof[inp.name]!r}") from None
            checked = Input(inp.name, inp.shape, inp.dtype, min_shape=lo, opt_shape=opt, max_shape=hi, cast=inp.cast)
            shapes[inp.name] = [list(s) for s in checked.profile()]
        profiles.append(shapes)
    return profiles


def apply_options(ctx: Any, config: Any, options: BuildOptions) -> Any:
    """Set the builder flags and fields `options` asks for (refused clearly where this backend lacks them); marks the
    convolution weights refittable under their module-path names. Returns the timing cache object or None."""
    trt = ctx.trt
    rtx = backend.is_rtx()
    if options.version_compatible:
        if rtx:
            raise ConfigError("version-compatible builds embed full TensorRT's lean runtime (libnvinfer_lean), which "
                              "TensorRT-RTX does not ship; build with full TensorRT, or rebuild per TensorRT-RTX "
                              "version")
        config.set_flag(trt.BuilderFlag.VERSION_COMPATIBLE)
    if options.hardware_compat is not None:
        if rtx:
            raise ConfigError("hardware compatibility levels are full TensorRT's; TensorRT-RTX engines are compiled "
                              "for the target GPU when the context is created: give compute_capabilities "
                              "(--compute-capability 8.6,12.0) to choose the GPUs")
        config.hardware_compatibility_level = getattr(trt.HardwareCompatibilityLevel,
                                                      HARDWARE_COMPAT[options.hardware_compat])
    if options.compute_capabilities:
        if not rtx:
            raise ConfigError("compute capabilities are chosen in TensorRT-RTX builds; full TensorRT builds for the "
                              "GPU it runs on (use hardware_compat='ampere+' for several)")
        config.num_compute_capabilities = len(options.compute_capabilities)
        for i, cc in enumerate(options.compute_capabilities):
            config.set_compute_capability(getattr(trt.ComputeCapability, "SM" + cc.replace(".", "")), i)
    if options.refit or options.strip_weights:
        mark_refittable(ctx.network, trt)
        config.set_flag(trt.BuilderFlag.REFIT_INDIVIDUAL)
    if options.strip_weights:
        config.set_flag(trt.BuilderFlag.STRIP_PLAN)
    if options.timing_cache is None:
        return None
    if rtx:
        raise ConfigError("timing caches are full TensorRT's (TensorRT-RTX's calls are no-ops); TensorRT-RTX caches "
                          "the kernels it compiles at run time instead: trtnn.runtime.Runner(plan, "
                          "runtime_cache='FILE')")
    check_output_path(options.timing_cache, what="timing cache")
    data = b""
    if os.path.exists(options.timing_cache):
        try:
            with open(options.timing_cache, "rb") as f:
                data = f.read()
        except OSError as e:
            raise FileError(f"cannot read timing cache '{options.timing_cache}': {e.strerror or e}") from None
    cache = config.create_timing_cache(data)
    config.set_timing_cache(cache, False)
    return cache


def save_timing_cache(config: Any, path: str) -> None:
    atomic_write_bytes(path, bytes(memoryview(config.get_timing_cache().serialize())), what="timing cache")


def refittable_weights(network: Any, trt: Any) -> Dict[str, Any]:
    """Module-path name (`<layer>.weight`, `<layer>.bias`) -> trt.Weights of every convolution and deconvolution."""
    kinds = {trt.LayerType.CONVOLUTION: trt.IConvolutionLayer, trt.LayerType.DECONVOLUTION: trt.IDeconvolutionLayer}
    out = {}
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        if layer.type in kinds:
            layer.__class__ = kinds[layer.type]
            for attr, suffix in (("kernel", "weight"), ("bias", "bias")):
                weights = getattr(layer, attr)
                if weights.size:
                    out[f"{layer.name}.{suffix}"] = weights
    return out


def mark_refittable(network: Any, trt: Any) -> List[str]:
    names = []
    for name, weights in refittable_weights(network, trt).items():
        network.set_weights_name(weights, name)
        network.mark_weights_refittable(name)
        names.append(name)
    return names
