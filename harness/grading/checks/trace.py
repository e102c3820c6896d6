"""What a forward pass computed, call by call: what the behaviour checks observe.

A TorchFunctionMode sees every call into torch while the pass runs: the ATen operators of an
exported program, or the functional and module calls of a live model (`nn.Conv2d` calls
`F.conv2d`, `nn.Dropout` calls `F.dropout`, ...). So a convolution, a batch norm, a dropout or a
ReLU is seen the same way whether it was written as a module, as a functional call, inside a helper
class or in a loop, and an `nn.Identity` is not seen at all. The calls the checks reason about are
named in one vocabulary (`KINDS`), with their arguments by name, their input as it was before the
call and their output; every call remembers which recorded call produced its input.

A dropout written out (a mask drawn from torch's generator, multiplied in, the survivors rescaled by a
number) is recognised by what it computes, as one `dropout` call (`feature_dropout` when its mask has
one value per feature map) from the input of the rescaling and masking to their output.
"""

from __future__ import annotations

import inspect
import math
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
# what a dropout written out is made of: a mask drawn at random (from constants shaped like the input), multiplied
# into the input, and a rescaling by a number before or after
RANDOM_SOURCES = frozenset("rand rand_like randn randn_like randint_like bernoulli uniform normal".split())
CONSTANT_MAKERS = frozenset("""zeros zeros_like ones ones_like full full_like empty empty_like new_zeros new_ones
    new_full new_empty scalar_tensor tensor""".split())
MASKING = frozenset("mul multiply __mul __rmul where masked_fill".split())
SCALING = frozenset("mul multiply __mul __rmul div divide true_divide __truediv __div".split())
HAND_DRAWN = "dropout drawn by hand"


@dataclass
class Op:
    kind: str  # conv | batch_norm | dropout | feature_dropout | relu | other
    name: str  # the function or operator, in-place or not: conv2d, relu, max_pool2d, add ...
    args: dict[str, Any]  # by name (kinds other than `other`; a masking call: its mask's shape); live tensors
    # the first tensor argument as it was before the call (a copy; for `other` only with a role, and then the data)
    input: torch.Tensor | None
    output: torch.Tensor | None  # a copy of the result (for `other` only with a role)
    producer: Op | None  # the recorded call whose result `input` is
    on_data_path: bool  # its input derives from the batch the model was given (not a weight or a counter)
    carries_data: bool = True  # its output does (not a random mask or a constant shaped like the input)
    role: str = ""  # in a dropout written out: mask (data times a random mask) | scale (data times a number)

    @property
    def word(self) -> str:
        """What the call is, for counting: its kind, or for other calls its name."""
        return self.name if self.kind == "other" else self.kind


@dataclass
class Trace:
    ops: list[Op] = field(default_factory=list)
    used: set[int] = field(default_factory=set)  # ids of every tensor passed to a call
    drawn: list[tuple[Op, set[int]]] = field(default_factory=list)  # dropouts written out, with their calls' indices

    def of(self, *kinds: str) -> list[Op]:
        return [op for op in self.ops + [op for op, _ in self.drawn] if op.kind in kinds]

    def active_dropouts(self) -> list[Op]:
        """The dropouts that can drop: p above 0 and told they are training, or written out and dropping (one
        written for p = 0 without returning early keeps every unit)."""
        return [op for op in self.of(*DROPOUT_KINDS) if (bool(((op.input != 0) & (op.output == 0)).any())
                                                         if op.name == HAND_DRAWN else
                                                         (op.args.get("p") or 0) > 0 and op.args.get("training", True))]

    def flagged(self) -> str:
        """The layers only a flag may switch on that this pass ran (batch norms, dropouts that can drop), in words;
        '' when none ran."""
        norms, drops = self.of("batch_norm"), self.active_dropouts()
        rates = ", ".join(sorted({"a mask drawn by hand" if op.name == HAND_DRAWN else f"p = {op.args['p']:g}"
                                  for op in drops}))
        return " and ".join(([f"batch norm x{len(norms)}"] if norms else [])
                            + ([f"dropout x{len(drops)} ({rates})"] if drops else []))

    def computation(self) -> Counter:
        """The calls on the path from the model's input to its output, counted by `Op.word`; a dropout written out
        counts as one."""
        within = set().union(*(members for _, members in self.drawn))
        counts = Counter(op.word for index, op in enumerate(self.ops)
                         if op.on_data_path and op.carries_data and index not in within)
        counts.update(op.kind for op, _ in self.drawn)
        return counts

    def ran(self, names: frozenset[str]) -> list[str]:
        """Which of `names` the pass computed on its data path, ATen's spellings (_softmax, native_layer_norm) read
        as the functional API's."""
        return sorted({name for op in self.ops if op.on_data_path
                       and (name := op.name.lstrip("_").removeprefix("native_")) in names})

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
        self._random: set[int] = set()  # ids of tensors drawn at random, and of what is computed from them alone
        self._alive: list[torch.Tensor] = [batch]  # keeps the ids above from being reused during the pass

    def __enter__(self) -> Trace:
        super().__enter__()
        return self.trace

    def __exit__(self, *exc_info) -> None:
        self.trace.drawn = drawn_by_hand(self.trace.ops)
        super().__exit__(*exc_info)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = _name(func)
        stripped = name.rstrip("_")
        kind = KINDS.get(stripped, "other")
        tensors = _tensors(args) + _tensors(kwargs)
        named = _named(func, name, args, kwargs) if kind != "other" else {}
        role, operand = self._role(stripped, tensors) if kind == "other" else ("", None)
        if role == "mask":
            named = {"mask_shape": tuple(next(t for t in tensors if id(t) in self._random).shape)}
        first = operand if operand is not None else tensors[0] if kind != "other" and tensors else None
        before = first.detach().clone() if first is not None else None
        result = func(*args, **kwargs)
        out = result[0] if isinstance(result, (tuple, list)) and result else result
        if not isinstance(out, torch.Tensor):
            return result
        on_data_path = any(id(t) in self._data for t in tensors)
        drawn = stripped in RANDOM_SOURCES or (bool(tensors) and not on_data_path
                                                and any(id(t) in self._random for t in tensors))
        carries_data = on_data_path and not drawn and stripped not in CONSTANT_MAKERS
        producer = self._made.get(id(first if first is not None else tensors[0])) if tensors else None
        copied = kind != "other" or role
        op = Op(kind, stripped, named, before, out.detach().clone() if copied else None, producer, on_data_path,
                carries_data, role)
        self.trace.ops.append(op)
        self.trace.used.update(id(t) for t in tensors)
        self._made[id(out)] = op
        if drawn:
            self._random.add(id(out))
            self._data.discard(id(out))
        elif carries_data:
            self._data.add(id(out))
            self._random.discard(id(out))
        self._alive += [out, *tensors]
        return result

    def _role(self, name: str, tensors: list[torch.Tensor]) -> tuple[str, torch.Tensor | None]:
        """Whether a call can be part of a dropout written out, and the data it takes: a mask multiplied into the
        data, or the data rescaled by a number (a 1-element constant counts as one)."""
        data = [t for t in tensors if id(t) in self._data]
        if name in MASKING and data and any(id(t) in self._random for t in tensors):
            return "mask", next((t for t in data if bool(t.any())), data[0])  # where(mask, 0, x): x, not the zeros
        others = [t for t in tensors if t is not data[0]] if len(data) == 1 else None
        if name in SCALING and others is not None and all(id(t) not in self._random and t.numel() == 1 for t in others):
            return "scale", data[0]
        return "", None


def drawn_by_hand(ops: list[Op]) -> list[tuple[Op, set[int]]]:
    """Each masking of data by a random mask as one dropout, from the data before a rescaling by a number that
    precedes it to the data after one that follows it, with the indices of the calls it is made of."""
    index = {id(op): i for i, op in enumerate(ops)}
    found = []
    for i, mask in enumerate(ops):
        if mask.role != "mask":
            continue
        members, first, last = {i}, mask, mask
        while first.producer is not None and first.producer.role == "scale":
            first = first.producer
            members.add(index[id(first)])
        for j in range(i + 1, len(ops)):
            if ops[j].role == "scale" and ops[j].producer is last:
                last = ops[j]
                members.add(j)
        x = first.input
        feature = x.dim() > 2 and math.prod(mask.args["mask_shape"]) < x.numel()
        found.append((Op("feature_dropout" if feature else "dropout", HAND_DRAWN, {"p": None, "training": True}, x,
                         last.output, first.producer, True), members))
    return found
