"""`from_qat`: a quantization-aware-trained PyTorch model (torch.ao eager, fused or not; torch.ao FX; or a QAT
state_dict of either kind or of ModelOpt) as trtnn weights plus the ranges that make the engine compute the trained
fake-quant network.

With the torch model itself, activation quantizers are mapped by WHERE THEY SIT, found by value: the model (a copy,
fake quantization and observers off, eval mode) and the trtnn fp32 network run one example batch; each quantizer's
input is matched to the trtnn tensor with the same shape and values (relative 1e-4; among equal tensors, the first in
network order not already taken: identities and ReLUs of non-negative values compute the same whichever is chosen).
torch.ao's integer ranges (quant_min / quant_max) are read from the modules. With a state_dict only, quantizers are
mapped by module path (see trtnn.quant.qat_calibration) and torch.ao's integer ranges inferred from the observers.
"""
from __future__ import annotations

import copy
import logging
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import torch

from ...compile.define import Input, define
from ...compile.quantize.ranges import QATRanges
from ...errors import ConfigError
from ...reference import Executor
from .keys import WFQ, add_torch_ao, from_state_dict, is_quantizer_key

log = logging.getLogger("trtnn.quant")
_RTOL = 1e-4


def from_qat(qat: Any, model: Any, inputs: Sequence[Input], *, strict: bool = True,
             example: Optional[Mapping[str, torch.Tensor]] = None) -> Tuple[Dict[str, torch.Tensor], QATRanges]:
    """Load a QAT model's weights into the trtnn `model` (strictly; torch.ao's fused ConvBn keys `conv.bn.*` go to
    the BatchNorm trtnn folds into that convolution) and return (state_dict loaded, QATRanges) for
    `trtnn.define(model, inputs, dtype="int8", calibration=ranges, fold_bn=ranges.fold_bn)`.

    qat: the torch.ao QAT model (eager `prepare_qat`, fused or not, or FX `prepare_qat_fx`; observers-only models too)
    or a QAT state_dict (torch.ao or ModelOpt `mtq.quantize`: `*_quantizer._amax`). inputs: the trtnn inputs (static
    shapes, or opt shapes used); example: {input name: tensor} for the value matching (default: seeded normal noise).
    strict: a quantizer that cannot be placed raises ConfigError naming it (False: a warning lists it).
    `ranges.sites` / `ranges.table()`: every quantizer, the trtnn site, torch's scale and zero_point, TensorRT's amax
    and whether the conversion is exact (else a warning named it and its error)."""
    if isinstance(qat, torch.nn.Module):
        state, modules = qat.state_dict(), qat
    elif isinstance(qat, Mapping):
        state, modules = dict(qat), None
    else:
        raise ConfigError(f"from_qat: expected a torch QAT model (torch.nn.Module) or its state_dict, got "
                          f"{type(qat).__name__}")
    folded = define(model, list(inputs), dtype="fp32").folded
    weights = _weights(state, folded)
    model.load_state_dict(weights)
    if modules is None:
        ranges = from_state_dict(state, strict)
        _fused_relu_from_graph(ranges, model, inputs, folded)
    else:
        ranges = _from_modules(modules, model, list(inputs), strict, example)
    define(model, list(inputs), dtype="int8", calibration=ranges, fold_bn=ranges.fold_bn, base_dtype="fp32")
    return weights, ranges


def _weights(state: Mapping[str, Any], folded: Mapping[str, str]) -> Dict[str, torch.Tensor]:
    """The state_dict without quantizer keys, fused `P.bn.*` renamed to the BatchNorm that trtnn folds into P."""
    out: Dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if is_quantizer_key(key):
            continue
        head, sep, tail = key.partition(".bn.")
        if sep and "." not in tail and head + ".weight" in state and (head + ".bn.running_mean") in state:
            if head not in folded:
                raise ConfigError(f"QAT checkpoint: '{key}' belongs to a fused ConvBn '{head}', but the trtnn model "
                                  f"folds no BatchNorm into convolution '{head}' (its BatchNorm must follow it)")
            key = f"{folded[head]}.{tail}"
        out[key] = value
    return out


def _fused_relu_from_graph(ranges: QATRanges, model: Any, inputs: Sequence[Input], folded: Mapping[str, str]) -> None:
    """State_dict only: a fused ConvBn whose output goes to one ReLU is taken as ConvBnReLU (torch.ao's usual
    fusion; pass the torch model to know)."""
    net = define(model, list(inputs), dtype="fp32")
    users: Dict[str, List[Any]] = {}
    for i in range(net.network.num_layers):
        layer = net.network.get_layer(i)
        for j in range(layer.num_inputs):
            if layer.get_input(j) is not None:
                users.setdefault(layer.get_input(j).name, []).append(layer)
    for path in ranges.folded_weights:
        if path not in ranges.amax or path not in folded:
            continue
        out = net.ctx.module_outputs.get(folded[path], [""])[-1]
        after = users.get(out, [])
        if len(after) == 1 and after[0].type.name == "ACTIVATION":
            ranges.fused_relu.add(path)
            log.warning("QAT: fused '%s' taken as ConvBnReLU (its output goes to one activation); pass the torch model "
                        "to from_qat to know for sure", path)


# ---- a torch model: quantizers read from the modules, activation sites found by value ---------------------------
def _is_quantizer(module: torch.nn.Module) -> bool:
    from torch.ao.quantization import FakeQuantizeBase  # torch.ao loads only when a QAT model is imported (start-up)
    from torch.ao.quantization.observer import ObserverBase  # only for a QAT model (start-up time)

    return isinstance(module, (FakeQuantizeBase, ObserverBase))


def _quantizers(qat: torch.nn.Module) -> Dict[str, torch.nn.Module]:
    """Top-level quantizer modules (not the observers inside a fake-quant), fake quantization enabled."""
    found: Dict[str, torch.nn.Module] = {}
    for name, m in qat.named_modules():
        if _is_quantizer(m) and not any(name.startswith(p + ".") for p in found):
            enabled = getattr(m, "fake_quant_enabled", None)
            if enabled is None or bool(enabled.flatten()[0]):
                found[name] = m
    return found


def _qparams(m: torch.nn.Module) -> Tuple[torch.Tensor, torch.Tensor, int, int]:
    if hasattr(m, "scale") and isinstance(m.scale, torch.Tensor) and m.scale.numel():
        scale, zp = m.scale.detach(), m.zero_point.detach()
    else:
        scale, zp = (t.detach() for t in m.calculate_qparams())
    return scale, zp, int(m.quant_min), int(m.quant_max)


def _from_modules(qat: torch.nn.Module, model: Any, inputs: List[Input], strict: bool,
                  example: Optional[Mapping[str, torch.Tensor]]) -> QATRanges:
    quantizers = _quantizers(qat)
    ranges = QATRanges({}, {}, strict=strict)
    for name, m in quantizers.items():
        if name.endswith(WFQ):
            path = name[: -len(WFQ)]
            scale, zp, qmin, qmax = _qparams(m)
            add_torch_ao(ranges, name, path, "weight", scale, zp, qmin, qmax)
            owner = qat.get_submodule(path)
            if isinstance(getattr(owner, "bn", None), torch.nn.modules.batchnorm._BatchNorm):
                ranges.folded_weights.add(path)  # fused ConvBn: the range is of W * gamma / sigma
    activations = {n: m for n, m in quantizers.items() if not n.endswith(WFQ)}
    feed = dict(example) if example is not None else _noise(inputs)
    captured = _capture(qat, activations, [feed[i.name] for i in inputs])
    sites, missing = _match(captured, model, inputs, feed, True)
    ranges.fold_bn = True
    if missing and not ranges.folded_weights:  # e.g. unfused QAT observes a convolution's output before its BN
        unfolded, missing_unfolded = _match(captured, model, inputs, feed, False)
        if len(missing_unfolded) < len(missing):
            sites, missing, ranges.fold_bn = unfolded, missing_unfolded, False
    for name, tensor in sites:
        scale, zp, qmin, qmax = _qparams(activations[name])
        add_torch_ao(ranges, name, tensor, "output", scale, zp, qmin, qmax)
    if missing:
        listed = "; ".join(f"'{n}' (input {tuple(captured[n.split(' (')[0]][0].shape)})" for n in missing[:10])
        msg = (f"QAT: {len(missing)} activation quantizer(s) of the torch model match no tensor of the trtnn network "
               f"(same shape and values): {listed}")
        if strict:
            raise ConfigError(msg + "; does the trtnn model compute what the torch model does? (strict=False: leave "
                                    "them out)")
        log.warning("%s; left out (strict=False)", msg)
    return ranges


def _noise(inputs: List[Input]) -> Dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    feed = {}
    for inp in inputs:
        shape = [d if d > 0 else o for d, o in zip(inp.shape, inp.opt_shape or inp.max_shape or inp.shape)]
        feed[inp.name] = torch.randn(shape, generator=g).to(inp.dtype)
    return feed


def _capture(qat: torch.nn.Module, quantizers: Dict[str, torch.nn.Module], args: List[torch.Tensor]
             ) -> Dict[str, List[torch.Tensor]]:
    """Each quantizer's inputs on `args` (one per call: a FloatFunctional may be called twice), in execution order,
    from a float copy of the model (eval mode, fake
    quantization and observers off)."""
    from torch.ao.quantization import disable_fake_quant, disable_observer  # only for a QAT model (start-up time)

    probe = copy.deepcopy(qat).eval()
    probe.apply(disable_fake_quant)
    probe.apply(disable_observer)
    captured: Dict[str, List[torch.Tensor]] = {}
    modules = dict(probe.named_modules())

    def hook(name: str) -> Any:
        def keep(module: Any, args: Any) -> None:  # returns None: the input goes on unchanged
            captured.setdefault(name, []).append(args[0].detach().clone())
        return keep

    hooks = [modules[n].register_forward_pre_hook(hook(n)) for n in quantizers]
    try:
        with torch.no_grad():
            probe(*args)
    finally:
        for h in hooks:
            h.remove()
    return captured


def _match(captured: Dict[str, List[torch.Tensor]], model: Any, inputs: List[Input], feed: Dict[str, torch.Tensor],
           fold_bn: bool) -> Tuple[List[Tuple[str, str]], List[str]]:
    """(quantizer name, trtnn tensor name) for each call of each quantizer (same shape, same values), and the
    quantizer calls that match no tensor."""
    net = define(model, inputs, dtype="fp32", fold_bn=fold_bn)
    values = {**feed, **Executor(net.network)(feed, keep_all=True)}
    order = [n for n in feed] + [net.network.get_layer(i).get_output(j).name for i in range(net.network.num_layers)
                                 for j in range(net.network.get_layer(i).num_outputs)]
    taken: List[Tuple[str, str]] = []
    missing: List[str] = []
    for name, calls in captured.items():
        for k, v in enumerate(calls):
            tol = _RTOL * max(float(v.abs().max()), 1e-12)
            same = [t for t in order if t in values and values[t].is_floating_point()
                    and tuple(values[t].shape) == tuple(v.shape)
                    and float((values[t].float() - v.float()).abs().max()) <= tol]
            free = [t for t in same if t not in {t for _, t in taken}]
            if same:
                taken.append((name, (free or same)[0]))
            else:
                missing.append(name if len(calls) == 1 else f"{name} (call {k + 1})")
    return taken, missing
