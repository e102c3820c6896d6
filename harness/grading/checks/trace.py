"""What a forward pass computed, call by call: what the behaviour checks observe.

A TorchFunctionMode sees every call into torch while the pass runs: the ATen operators of an
exported program, or the functional and module calls of a live model (`nn.Conv2d` calls
`F.conv2d`, `nn.Dropout` calls `F.dropout`, ...). So a convolution, a batch norm, a dropout or a
ReLU is seen the same way whether it was written as a module, as a functional call, inside a helper
class or in a loop, and an `nn.Identity` is not seen at all. The calls the checks reason about are
named in one vocabulary (`KINDS`), with their arguments by name, their input as it was before the
call and their output; every call remembers which recorded call produced its input.
"""

from __future__ import annotations

import inspect
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

# function or operator name -> kind; training-IR ATen names and the functional API's
KINDS = {
    "conv2d": "conv", "convolution": "conv", "_convolution": "conv",
    "batch_norm": "batch_norm", "native_batch_norm": "batch_norm", "_native_batch_norm_legit": "batch_norm",
    "_native_batch_norm_legit_functional": "batch_norm", "_native_batch_norm_legit_no_training": "batch_norm",
    "dropout": "dropout", "native_dropout": "dropout",
    "feature_dropout": "feature_dropout", "dropout1d": "feature_dropout", "dropout2d": "feature_dropout",
    "dropout3d": "feature_dropout",
    "relu": "relu",
}
# parameters of the builtins among them, which have no Python signature
BUILTIN_PARAMETERS = {
    "conv2d": (("input", None), ("weight", None), ("bias", None), ("stride", 1), ("padding", 0), ("dilation", 1),
               ("groups", 1)),
    "relu": (("input", None),),
    "batch_norm": (("input", None), ("weight", None), ("bias", None), ("running_mean", None), ("running_var", None),
                   ("training", None), ("momentum", None), ("eps", None), ("cudnn_enabled", None)),
    "dropout": (("input", None), ("p", None), ("training", None)),
    "feature_dropout": (("input", None), ("p", None), ("training", None)),
}
RENAMED = {"self": "input", "train": "training"}  # ATen's names -> the functional API's
DROPOUT_KINDS = ("dropout", "feature_dropout")


@dataclass
class Op:
    kind: str  # conv | batch_norm | dropout | feature_dropout | relu | other
    name: str  # the function or operator, in-place or not: conv2d, relu, max_pool2d, add ...
    args: dict[str, Any]  # by name (kinds other than `other` only); tensors are the live objects
    input: torch.Tensor | None  # the first tensor argument as it was before the call (a copy; not for `other`)
    output: torch.Tensor | None  # a copy of the result (not for `other`)
    producer: Op | None  # the recorded call whose result `input` is
    on_data_path: bool  # its input derives from the batch the model was given (not a weight or a counter)

    @property
    def word(self) -> str:
        """What the call is, for counting: its kind, or for other calls its name."""
        return self.name if self.kind == "other" else self.kind


@dataclass
class Trace:
    ops: list[Op] = field(default_factory=list)
    used: set[int] = field(default_factory=set)  # ids of every tensor passed to a call

    def of(self, *kinds: str) -> list[Op]:
        return [op for op in self.ops if op.kind in kinds]

    def active_dropouts(self) -> list[Op]:
        """The dropouts that can drop: p above 0 and told they are training."""
        return [op for op in self.of(*DROPOUT_KINDS) if (op.args.get("p") or 0) > 0 and op.args.get("training", True)]

    def flagged(self) -> str:
        """The layers only a flag may switch on that this pass ran (batch norms, dropouts that can drop), in words;
        '' when none ran."""
        norms, drops = self.of("batch_norm"), self.active_dropouts()
        rates = ", ".join(sorted({f"{op.args['p']:g}" for op in drops}))
        return " and ".join(([f"batch norm x{len(norms)}"] if norms else [])
                            + ([f"dropout x{len(drops)} (p = {rates})"] if drops else []))

    def computation(self) -> Counter:
        """The calls on the path from the model's input to its output, counted by `Op.word`."""
        return Counter(op.word for op in self.ops if op.on_data_path)

    def uses(self, tensor: torch.Tensor) -> bool:
        return id(tensor) in self.used


def _name(func: Any) -> str:
    if isinstance(func, torch._ops.OpOverload):
        return func._opname
    return getattr(func, "__name__", type(func).__name__)


def _parameters(func: Any, name: str) -> list[tuple[str, Any]]:
    if isinstance(func, torch._ops.OpOverload):
        return [(a.name, a.default_value if a.has_default_value() else None) for a in func._schema.arguments]
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return list(BUILTIN_PARAMETERS.get(name.rstrip("_"), BUILTIN_PARAMETERS.get(KINDS[name.rstrip("_")], ())))
    return [(p.name, None if p.default is inspect.Parameter.empty else p.default) for p in signature.parameters.values()]


def _named(func: Any, name: str, args: tuple, kwargs: dict) -> dict[str, Any]:
    parameters = _parameters(func, name)
    named = {key: default for key, default in parameters}
    named.update(zip((key for key, _ in parameters), args))
    named.update(kwargs)
    return {RENAMED.get(key, key): value for key, value in named.items()}


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


class Recorder(TorchFunctionMode):
    """Records the calls of whatever runs inside `with Recorder(batch) as trace:`; `batch` is the model's input."""

    def __init__(self, batch: torch.Tensor) -> None:
        super().__init__()
        self.trace = Trace()
        self._made: dict[int, Op] = {}  # id of a result -> the call that made it (in place: the last one)
        self._data = {id(batch)}  # ids of tensors derived from the batch
        self._alive: list[torch.Tensor] = [batch]  # keeps the ids above from being reused during the pass

    def __enter__(self) -> Trace:
        super().__enter__()
        return self.trace

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = _name(func)
        kind = KINDS.get(name.rstrip("_"), "other")
        tensors = _tensors(args) + _tensors(kwargs)
        named = _named(func, name, args, kwargs) if kind != "other" else {}
        before = tensors[0].detach().clone() if kind != "other" and tensors else None
        result = func(*args, **kwargs)
        out = result[0] if isinstance(result, (tuple, list)) and result else result
        if not isinstance(out, torch.Tensor):
            return result
        on_data_path = any(id(t) in self._data for t in tensors)
        producer = self._made.get(id(tensors[0])) if tensors else None
        op = Op(kind, name.rstrip("_"), named, before, out.detach().clone() if kind != "other" else None,
                producer, on_data_path)
        self.trace.ops.append(op)
        self.trace.used.update(id(t) for t in tensors)
        self._made[id(out)] = op
        if on_data_path:
            self._data.add(id(out))
        self._alive += [out, *tensors]
        return result
