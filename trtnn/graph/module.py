"""trtnn.Module: torch.nn.Module's API, whose forward emits TensorRT layers into a build context."""
from __future__ import annotations

import fnmatch
import os
import traceback
from collections import OrderedDict
from typing import Any, Dict, Iterable, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .. import dtypes
from ..errors import ConfigError, StateDictError, TrtnnError, UnsupportedError, user_frame
from .parameter import Parameter
from .tensor import Tensor

ArrayLike = Union[torch.Tensor, np.ndarray]


class IncompatibleKeys(NamedTuple):
    missing_keys: List[str]
    unexpected_keys: List[str]


class Module:
    """Base class of every trtnn network and layer (mirrors torch.nn.Module)."""

    training = False  # as after torch's eval(): forward code ported from torch may test it

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise UnsupportedError(f"{type(self).__name__} has no forward(): define it to emit the module's layers")

    # ---- attribute registration ----------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise ConfigError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        _refuse_torch_member(type(self).__name__, name, value)
        if name in self._buffers and not isinstance(value, (Parameter, Module)):  # as torch: updates the buffer
            if value is not None and not isinstance(value, (torch.Tensor, np.ndarray)):
                raise ConfigError(f"cannot assign '{type(value).__name__}' as buffer '{name}' of "
                                  f"{type(self).__name__} (torch.Tensor, numpy array or None expected)")
            self._buffers[name] = None if value is None else torch.as_tensor(value)
            return
        target = self._parameters if isinstance(value, Parameter) else self._modules if isinstance(value, Module) \
            else None
        for d in (self._parameters, self._buffers, self._modules):
            if d is not target:  # as torch: a reassigned parameter or submodule keeps its place in the state_dict
                d.pop(name, None)
        if target is not None:
            self.__dict__.pop(name, None)  # a plain attribute of that name would shadow it (torch drops it too)
            target[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        for key in ("_parameters", "_buffers", "_modules"):
            d = self.__dict__.get(key)
            if d is not None and name in d:
                return d[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for d in (self._parameters, self._buffers, self._modules):
            if name in d:
                del d[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, value: Optional[ArrayLike], persistent: bool = True) -> None:
        """A tensor that is state but not a weight (e.g. BatchNorm's running_mean); `persistent` puts it in the
        state_dict."""
        self._check_member_name("buffer", name, self._buffers)
        if value is not None and not isinstance(value, (torch.Tensor, np.ndarray)):
            raise ConfigError(f"cannot assign '{type(value).__name__}' object to buffer '{name}' of "
                              f"{type(self).__name__} (torch.Tensor, numpy array or None required)")
        self._buffers[name] = None if value is None else torch.as_tensor(value)
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def register_parameter(self, name: str, param: Optional[Parameter]) -> None:
        self._check_member_name("parameter", name, self._parameters)
        _refuse_torch_member(type(self).__name__, name, param)
        if param is not None and not isinstance(param, Parameter):
            raise ConfigError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' of "
                              f"{type(self).__name__} (trtnn.nn.Parameter or None required)")
        self._parameters[name] = param

    def add_module(self, name: str, module: Optional["Module"]) -> None:
        self._check_member_name("module", name, self._modules)
        _refuse_torch_member(type(self).__name__, name, module)
        if module is not None and not isinstance(module, Module):
            raise ConfigError(f"{type(module).__name__} is not a trtnn Module subclass (adding module '{name}' to "
                              f"{type(self).__name__})")
        self._modules[name] = module

    def _check_member_name(self, kind: str, name: Any, own: Dict[str, Any]) -> None:
        """torch's rules for parameter/buffer/module names: a non-empty string without '.', not another attribute."""
        where = f"{type(self).__name__}." + ("add_module" if kind == "module" else f"register_{kind}")
        if "_parameters" not in self.__dict__:
            raise ConfigError(f"{type(self).__name__}: call super().__init__() before registering a {kind}")
        if not isinstance(name, str):
            raise ConfigError(f"{where}: {kind} name should be a string, got {type(name).__name__}")
        if not name:
            raise ConfigError(f"{where}: {kind} name can't be empty string \"\"")
        if "." in name:
            raise ConfigError(f"{where}: {kind} name can't contain \".\", got: {name}")
        if name not in own and (name in self.__dict__ or hasattr(type(self), name) or any(
                name in d for d in (self._parameters, self._buffers, self._modules))):
            raise ConfigError(f"{where}: attribute '{name}' already exists")

    # ---- traversal -----------------------------------------------------------------------------
    def named_modules(self, prefix: str = "", memo: Optional[set] = None) -> Iterator[Tuple[str, "Module"]]:
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, mod in self._modules.items():
            if mod is not None:
                yield from mod.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self) -> Iterator["Module"]:
        return (m for _, m in self.named_modules())

    def named_children(self) -> Iterator[Tuple[str, "Module"]]:
        return ((n, m) for n, m in self._modules.items() if m is not None)

    def children(self) -> Iterator["Module"]:
        return (m for _, m in self.named_children())

    def _named_members(self, attr: str, persistent_only: bool = False) -> Iterator[Tuple[str, Any]]:
        for path, mod in self.named_modules():
            skip = mod._non_persistent_buffers if persistent_only else ()
            for name, value in getattr(mod, attr).items():
                if value is not None and name not in skip:
                    yield (f"{path}.{name}" if path else name), value

    def named_parameters(self) -> Iterator[Tuple[str, Parameter]]:
        return self._named_members("_parameters")

    def parameters(self) -> Iterator[Parameter]:
        return (p for _, p in self.named_parameters())

    def named_buffers(self) -> Iterator[Tuple[str, torch.Tensor]]:
        return self._named_members("_buffers")

    def buffers(self) -> Iterator[torch.Tensor]:
        return (b for _, b in self.named_buffers())

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # ---- state dict ----------------------------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, torch.Tensor]":
        """Parameters and persistent buffers in torch's order (each module: params, buffers, children)."""
        return OrderedDict(
            (key, mod._parameters[name].data if is_param else mod._buffers[name])
            for key, (mod, name, is_param) in self._state_slots().items()
        )

    def _state_slots(self) -> "OrderedDict[str, Tuple[Module, str, bool]]":
        slots: "OrderedDict[str, Tuple[Module, str, bool]]" = OrderedDict()
        for path, mod in self.named_modules():
            pre = f"{path}." if path else ""
            for name, p in mod._parameters.items():
                if p is not None:
                    slots[pre + name] = (mod, name, True)
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent_buffers:
                    slots[pre + name] = (mod, name, False)
        return slots

    def load_state_dict(
        self, state_dict: "Dict[str, ArrayLike]", strict: bool = True, assign: bool = False, ignore: Sequence[str] = (),
        check_values: bool = True,
    ) -> IncompatibleKeys:
        """Copy weights from a torch/numpy state_dict.

        Shapes must match (a flat 1-D array of the right size, as tensorrtx `.wts` files hold, is reshaped).
        Float data for an integer slot (e.g. `num_batches_tracked` from a `.wts`) is converted when every value is
        a whole number in the slot's range; otherwise the key is reported.
        assign=True keeps the given tensors instead of copying them (as torch's `assign`): no extra memory.
        `ignore`: glob patterns of keys to leave out of the missing/unexpected check (e.g. `*.num_batches_tracked`).
        check_values=True refuses NaN or Inf in floating-point tensors and a negative BatchNorm `running_var`
        (naming the keys and how many bad values); pass False to load such weights anyway.
        With strict=True, missing or unexpected keys raise StateDictError; otherwise they are returned.
        Every problem is reported in one StateDictError, and nothing is changed unless everything checked out.
        """
        if not isinstance(state_dict, Mapping):
            hint = (" (read a file with trtnn.load_checkpoint(path))" if isinstance(state_dict, (str, os.PathLike))
                    else " (pass module.state_dict())" if hasattr(state_dict, "state_dict") else "")
            raise ConfigError(f"{type(self).__name__}.load_state_dict: expected a state_dict (a mapping of names to "
                              f"tensors), got {type(state_dict).__name__}{hint}")
        slots = self._state_slots()
        ignored = lambda k: any(fnmatch.fnmatchcase(k, pat) for pat in ignore)  # noqa: E731
        missing = [k for k in slots if k not in state_dict and not ignored(k)]
        unexpected = [k for k in state_dict if k not in slots and not ignored(k)]
        staged, mismatches = [], []
        for key, value in state_dict.items():
            if key in slots:
                mod, name, is_param = slots[key]
                target = mod._parameters[name] if is_param else mod._buffers[name]
                try:
                    value = _checked_value(key, value, tuple(target.shape), target.dtype)
                    if check_values:
                        _check_finite(key, value, running_var=name == "running_var")
                except StateDictError as e:
                    mismatches.append(e.message)
                    continue
                if not assign and isinstance(state_dict[key], torch.Tensor) and value.data_ptr() == state_dict[key].data_ptr():
                    value = value.clone()  # like torch: the module owns its weights; later edits of the source don't leak
                staged.append((mod, name, is_param, value))
        if mismatches or (strict and (missing or unexpected)):  # like torch: every problem in one error
            parts = []
            if strict and missing:
                parts.append(f"missing keys ({len(missing)}): " + ", ".join(missing[:20]) + _more(missing))
            if strict and unexpected:
                parts.append(f"unexpected keys ({len(unexpected)}): " + ", ".join(unexpected[:20]) + _more(unexpected))
            parts += mismatches[:10] + ([f"... ({len(mismatches) - 10} more mismatches)"] if len(mismatches) > 10 else [])
            raise StateDictError(f"{type(self).__name__}.load_state_dict(strict={strict}): " + "; ".join(parts),
                                 missing if strict else (), unexpected if strict else ())
        for mod, name, is_param, value in staged:  # nothing changes unless everything checked out
            if is_param:
                mod._parameters[name].data = value
            else:
                mod._buffers[name] = value
        return IncompatibleKeys(missing, unexpected)

    # ---- dtype -----------------------------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> "Module":
        """Convert floating parameters and buffers to a dtype (in place, like torch): `to(dtype)`, `to(dtype=...)`;
        the device forms `to('cpu')`/`to(device='cpu')` keep the weights where they are (on the CPU, until
        trtnn.build puts them into the engine) and `to('cuda')` is refused."""
        if len(args) + len(kwargs) != 1 or (kwargs and next(iter(kwargs)) not in ("dtype", "device")):
            got = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
            raise ConfigError(f"{type(self).__name__}.to({got}): give one dtype (e.g. .to(torch.float16) or "
                              f".to('fp16')) or the device 'cpu'")
        value = args[0] if args else next(iter(kwargs.values()))
        if _is_device(value) or "device" in kwargs:
            return self._to_device(value)
        try:
            dt = dtypes.to_torch(value)
        except TrtnnError as e:
            raise ConfigError(f"{type(self).__name__}.to({value!r}): {e.message}") from None
        if dt == torch.float64:
            raise UnsupportedError(f"{type(self).__name__}.to(float64) / .double(): TensorRT has no float64 compute; "
                                   "keep the weights in fp32 (.float()) and choose the engine's precision with "
                                   "trtnn.build(..., dtype='fp16')")
        for mod in self.modules():
            for p in mod._parameters.values():
                if p is not None and p.dtype.is_floating_point:
                    p.to(dt)
            for k, b in mod._buffers.items():
                if b is not None and b.dtype.is_floating_point:
                    mod._buffers[k] = b.to(dt)
        return self

    def half(self) -> "Module":
        return self.to(torch.float16)

    def float(self) -> "Module":
        return self.to(torch.float32)

    def bfloat16(self) -> "Module":
        return self.to(torch.bfloat16)

    def double(self) -> "Module":
        return self.to(torch.float64)

    def eval(self) -> "Module":
        return self

    def train(self, mode: bool = True) -> "Module":
        """train(False) is eval(); trtnn modules only build inference networks, so train(True) is refused."""
        if mode:
            raise ConfigError(f"{type(self).__name__}.train(): trtnn modules build inference engines and have no "
                              "training mode (BatchNorm uses its running statistics, dropout is off); train the "
                              "torch model, load its state_dict, and use .eval()")
        return self

    def cpu(self) -> "Module":
        """The weights already live on the CPU (trtnn.build copies them into the engine): nothing to move."""
        return self

    def cuda(self, device: Any = None) -> "Module":
        return self._to_device("cuda" if device is None else device)

    def _to_device(self, device: Any) -> "Module":
        if str(device).split(":")[0] == "cpu":
            return self
        raise ConfigError(f"{type(self).__name__}: cannot move to device {str(device)!r}: a trtnn module holds its "
                          "weights on the CPU until trtnn.build bakes them into a TensorRT engine; run the engine on "
                          "the GPU with trtnn.runtime (trtnn.build(model, inputs).save('model.plan'))")

    # ---- calling -----------------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        ctx = _find_ctx(args, kwargs)
        if ctx is None:
            if any(isinstance(a, (torch.Tensor, np.ndarray)) for a in _flat(list(args) + list(kwargs.values()))):
                raise ConfigError(f"{type(self).__name__} emits TensorRT layers: call it on trtnn Tensors inside "
                                  f"trtnn.define/trtnn.build, not on a torch tensor or numpy array; to run it on the "
                                  f"CPU use trtnn.reference.Executor(trtnn.define(model, [trtnn.Input(...)]))")
            return self.forward(*args, **kwargs)
        path = ctx.path_of(self)
        first_layer = ctx.network.num_layers
        outer, kept = ctx.dtype, ctx.kept_dtype(path)
        if kept is not None and kept != outer:  # keep_fp32 / keep_fp16: this module computes in `kept`
            args, kwargs = _cast_floats((args, kwargs), outer, kept)
            ctx.dtype = kept
        with ctx.module_scope(path):
            try:
                out = self.forward(*args, **kwargs)
                if ctx.dtype != outer:
                    out = _cast_floats(out, ctx.dtype, outer)
            except TrtnnError as e:
                raise e.attach(module=path or type(self).__name__, where=user_frame(traceback.extract_tb(e.__traceback__)))
            except Exception as e:  # a bug in forward itself: say where in the model it happened (innermost module)
                if hasattr(e, "add_note") and not getattr(e, "_trtnn_noted", False):
                    e.add_note(f"in trtnn module '{path or type(self).__name__}' ({type(self).__name__}.forward)")
                    e._trtnn_noted = True
                raise
            finally:
                ctx.dtype = outer
        if path:
            ctx.name_outputs(path, _flat_tensors(out), first_layer)
        return out

    # ---- repr --------------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + _indent(repr(mod)) for name, mod in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


def _refuse_torch_member(owner: str, name: str, value: Any) -> None:
    """A torch.nn.Parameter/Module inside a trtnn Module would be silently ignored by the build: say what to use."""
    if isinstance(value, torch.nn.Parameter):
        raise ConfigError(f"{owner}.{name}: got a torch.nn.Parameter; use trtnn.nn.Parameter(tensor) (or load the "
                          f"value with load_state_dict)")
    if isinstance(value, torch.nn.Module):
        raise ConfigError(f"{owner}.{name}: got torch.nn.Module {type(value).__qualname__}; use the trtnn.nn module "
                          f"of the same name (trtnn.nn mirrors torch.nn) and load its state_dict")


def _cast_floats(obj: Any, src: torch.dtype, dst: torch.dtype) -> Any:
    """`obj` (Tensors in tuples, lists and dicts) with every Tensor of dtype `src` cast to `dst`."""
    if isinstance(obj, Tensor):
        return obj.to(dst) if obj.dtype == src else obj
    if isinstance(obj, (tuple, list)):
        return type(obj)(_cast_floats(o, src, dst) for o in obj)
    if isinstance(obj, dict):
        return {k: _cast_floats(v, src, dst) for k, v in obj.items()}
    return obj


def _more(keys: List[str]) -> str:
    return f", ... ({len(keys) - 20} more)" if len(keys) > 20 else ""


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")


def _checked_value(key: str, value: Any, shape: Tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    if isinstance(value, Parameter):
        value = value.data
    try:
        t = torch.as_tensor(value).detach().cpu()
    except (TypeError, ValueError, RuntimeError) as e:
        raise StateDictError(f"state_dict['{key}']: expected a tensor or array, got {type(value).__name__} ({e})") from None
    if tuple(t.shape) != shape:
        if t.dim() == 1 and t.numel() == int(np.prod(shape, dtype=np.int64)) and len(shape) != 1:
            t = t.reshape(shape)  # flat tensorrtx-style weights
        else:
            raise StateDictError(f"size mismatch for '{key}': expected shape {shape}, got {tuple(t.shape)}")
    if t.dtype != dtype:
        if t.dtype.is_floating_point and not dtype.is_floating_point and dtype != torch.bool:
            _check_integral(key, t, dtype)
        elif t.dtype.is_floating_point != dtype.is_floating_point and not (t.numel() <= 1 and not dtype.is_floating_point):
            raise StateDictError(f"dtype mismatch for '{key}': expected {dtypes.short(dtype)}, got {dtypes.short(t.dtype)}")
        t = t.to(dtype)
    return t.contiguous()


def _check_integral(key: str, t: torch.Tensor, dtype: torch.dtype) -> None:
    """Float data may fill an integer slot (`.wts` stores everything as float32) if it holds whole numbers in range."""
    info = torch.iinfo(dtype)
    bad = ~(torch.isfinite(t) & (t == t.round()) & (t >= info.min) & (t <= info.max))
    if bool(bad.any()):
        first = t[bad].reshape(-1)[0].item()
        raise StateDictError(f"dtype mismatch for '{key}': expected {dtypes.short(dtype)} values, got "
                             f"{dtypes.short(t.dtype)} with {int(bad.sum())} not a whole number in range (e.g. {first})")


def _check_finite(key: str, t: torch.Tensor, running_var: bool) -> None:
    """NaN / Inf in a float tensor, or a negative BatchNorm running_var: StateDictError with the count.

    One sum per tensor (a non-finite value makes it non-finite; numpy's, single-threaded, is the fastest on a
    busy CPU), the exact count only when it is not finite."""
    if not t.is_floating_point() or not t.numel():
        return
    total = t.sum() if t.dtype == torch.bfloat16 else np.sum(t.numpy())
    if not np.isfinite(float(total)):
        nan, inf = int(torch.isnan(t).sum()), int(torch.isinf(t).sum())
        if nan or inf:
            raise StateDictError(f"'{key}' holds {nan} NaN and {inf} Inf of {t.numel()} values "
                                 "(load_state_dict(..., check_values=False) to load it anyway)")
    if running_var and bool((t < 0).any()):
        raise StateDictError(f"'{key}' (a BatchNorm running_var) holds {int((t < 0).sum())} negative values of "
                             f"{t.numel()} (load_state_dict(..., check_values=False) to load it anyway)")


def _is_device(value: Any) -> bool:
    """torch.device or a device string ('cpu', 'cuda', 'cuda:0', 'mps', ...) given to Module.to."""
    if isinstance(value, torch.device):
        return True
    if not isinstance(value, str):
        return False
    try:
        torch.device(value)
    except RuntimeError:
        return False
    return True


def _flat(values: Iterable[Any]) -> List[Any]:
    """Arguments with one level of lists/tuples opened (as modules take lists of tensors)."""
    return [b for a in values for b in (a if isinstance(a, (list, tuple)) else [a])]


def _find_ctx(args: Iterable[Any], kwargs: Dict[str, Any]) -> Any:
    """The build context of the first trtnn Tensor among the arguments (lists opened one level), or None."""
    return next((a.ctx for a in _flat(list(args) + list(kwargs.values())) if isinstance(a, Tensor)), None)


def _flat_tensors(out: Any) -> List[Tensor]:
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _flat_tensors(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _flat_tensors(o)]
    return []
