"""A model's forward pass as data: the ATen graph `torch.export` traced, with its weights.

The submission's child writes it (`graph_data`, `pack`); the grader's child, which never imports the
submission, reads it back (`load`) and runs it op by op. Nothing in it is code: call targets are
names from an allowlist of ATen operators, arguments are plain values, and the weights are one
float32 array read without pickle.

`torch.export.save`/`load` are not used for this: `torch.export.load` unpickles what its archive's own
configuration marks as pickled (torch 2.14: `torch.load(..., weights_only=False)` for weights and
constants flagged `use_pickle`, `pickle.loads` for other constants), and its deserializer resolves a
call target by walking any attribute path under `torch`. An archive written by a submission's process
would run the submission's code in the grader's.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

FORMAT = 1
MAX_NODES = 4000
MAX_ELEMENTS = 50_000_000  # per model: the coursework CNN has about 400,000
NAME_CHARS = 200

# ATen operators a CNN's forward pass may use: arithmetic, shapes, activations, normalization, pooling,
# convolution, dropout. No file access (aten.from_file), no raw storage (set_, as_strided), no
# uninitialized memory (empty): a graph that needs those is checked in its own process instead.
ALLOWED_ATEN = frozenset("""
    conv1d conv2d conv3d convolution _convolution linear addmm mm bmm matmul t einsum
    batch_norm native_batch_norm _native_batch_norm_legit _native_batch_norm_legit_functional
    _native_batch_norm_legit_no_training instance_norm layer_norm native_layer_norm group_norm native_group_norm
    dropout feature_dropout alpha_dropout feature_alpha_dropout native_dropout bernoulli bernoulli_ rand_like rand
    relu relu_ relu6 leaky_relu leaky_relu_ elu elu_ gelu silu silu_ sigmoid sigmoid_ tanh tanh_ hardtanh hardtanh_
    hardswish hardswish_ hardsigmoid mish softplus prelu threshold clamp clamp_ clamp_min clamp_max
    softmax _softmax log_softmax _log_softmax
    max_pool2d max_pool2d_with_indices avg_pool2d adaptive_avg_pool2d _adaptive_avg_pool2d adaptive_max_pool2d
    max_pool1d avg_pool1d adaptive_avg_pool1d
    view reshape _unsafe_view flatten unflatten squeeze squeeze_ unsqueeze unsqueeze_ permute transpose contiguous
    clone detach alias expand expand_as repeat slice select narrow split split_with_sizes chunk unbind cat stack
    index_select pad constant_pad_nd
    add add_ sub sub_ rsub mul mul_ div div_ neg pow sqrt rsqrt exp log abs square reciprocal
    mean sum amax amin max min var std norm
    eq ne gt ge lt le where masked_fill logical_not type_as
    copy_ _to_copy to lift_fresh_copy zeros zeros_like ones ones_like full full_like scalar_tensor arange
    sym_size sym_numel sym_stride _assert_tensor_metadata _assert_scalar
""".split())
PYTHON_TARGETS: dict[str, Callable] = {f"_operator.{f.__name__}": f for f in (
    operator.getitem, operator.add, operator.sub, operator.mul, operator.floordiv, operator.truediv, operator.neg)}
DTYPES = {name: getattr(torch, name) for name in ("float32", "float64", "float16", "bfloat16", "int64", "int32",
                                                  "int8", "uint8", "bool")}
MEMORY_FORMATS = {name: getattr(torch, name) for name in ("contiguous_format", "channels_last", "preserve_format")}
LAYOUTS = {"strided": torch.strided}
STATE_DTYPES = {"float32": torch.float32, "int64": torch.int64}  # weights; buffers such as num_batches_tracked


class NotExportable(ValueError):
    """This model cannot be handed over as a program; the message says why (its checks then run in its own process)."""


class BadProgram(ValueError):
    """A handed-back program the grader refuses to run."""


# --- written in the submission's child -------------------------------------------------------------

def target_name(target: Any) -> str:
    if isinstance(target, torch._ops.OpOverload):
        name = f"{target.namespace}.{target._opname}.{target._overloadname}"
        if target.namespace == "aten" and target._opname in ALLOWED_ATEN:
            return name
        raise NotExportable(f"its forward pass uses {name}, which the grader's checks do not run")
    name = f"{getattr(target, '__module__', '?')}.{getattr(target, '__name__', '?')}"
    if PYTHON_TARGETS.get(name) is target:
        return name
    raise NotExportable(f"its forward pass calls {name}, which the grader's checks do not run")


def _encode(value: Any) -> Any:
    if isinstance(value, torch.fx.Node):
        return {"node": value.name}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    for kind, table in (("dtype", DTYPES), ("memory_format", MEMORY_FORMATS), ("layout", LAYOUTS)):
        if any(value is known for known in table.values()):
            return {kind: next(name for name, known in table.items() if known is value)}
    if isinstance(value, torch.device):
        return {"device": "cpu"}
    raise NotExportable(f"an operator argument is a {type(value).__name__}, which a program cannot hold")


def graph_data(ep: torch.export.ExportedProgram, model: str) -> dict[str, Any]:
    """The exported graph as plain data; `model` names the weights it reads (`pack`)."""
    kinds = {"PARAMETER": "state", "BUFFER": "state", "CONSTANT_TENSOR": "state", "USER_INPUT": "input"}
    inputs = []
    for spec in ep.graph_signature.input_specs:
        if spec.kind.name not in kinds:
            raise NotExportable(f"the exported program takes a {spec.kind.name.lower()} input")
        inputs.append([spec.arg.name, spec.target if kinds[spec.kind.name] == "state" else None])
    if sum(fqn is None for _, fqn in inputs) != 1:
        raise NotExportable("the exported program does not take exactly one input")
    outputs = []
    for spec in ep.graph_signature.output_specs:
        if spec.kind.name not in ("USER_OUTPUT", "BUFFER_MUTATION"):
            raise NotExportable(f"the exported program has a {spec.kind.name.lower()} output")
        outputs.append([spec.arg.name, spec.target if spec.kind.name == "BUFFER_MUTATION" else None])
    nodes = []
    for node in ep.graph.nodes:
        if node.op == "call_function":
            nodes.append([node.name, target_name(node.target), _encode(node.args),
                          {key: _encode(value) for key, value in node.kwargs.items()}])
        elif node.op not in ("placeholder", "output"):
            raise NotExportable(f"the exported graph has a {node.op} node ({node.name})")
    return {"model": model, "inputs": inputs, "nodes": nodes, "outputs": outputs}


def state_of(ep: torch.export.ExportedProgram) -> dict[str, torch.Tensor]:
    """Every tensor the program reads besides its input, by its name in the model."""
    state = {**ep.state_dict, **ep.constants}
    odd = [name for name, value in state.items() if not isinstance(value, torch.Tensor)]
    if odd:
        raise NotExportable(f"the model holds {odd[0]}, which is not a tensor")
    return state


def pack(states: dict[str, dict[str, torch.Tensor]], parameters: dict[str, set[str]]) -> tuple[dict[str, Any], np.ndarray]:
    """Every model's state in one float32 array, and where each tensor lies in it."""
    index: dict[str, Any] = {}
    chunks, offset = [], 0
    for model, state in states.items():
        entries = {}
        for name, tensor in state.items():
            dtype = str(tensor.dtype).removeprefix("torch.")
            if dtype not in STATE_DTYPES:
                raise NotExportable(f"{name} is {dtype}; the checks take float32 weights")
            values = tensor.detach().to("cpu", torch.float32).reshape(-1)
            if dtype == "int64" and not torch.equal(values.to(torch.int64), tensor.detach().cpu().reshape(-1)):
                raise NotExportable(f"{name} holds integers too large to hand over")
            entries[name] = {"shape": list(tensor.shape), "dtype": dtype, "offset": offset,
                             "parameter": name in parameters[model]}
            chunks.append(values.numpy())
            offset += values.numel()
        index[model] = entries
    flat = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return index, flat.astype(np.float32, copy=False)


# --- read in the grader's child ----------------------------------------------------------------------

@dataclass(frozen=True)
class Ref:
    """An argument that is the value of an earlier node."""

    name: str


def _decode(value: Any, known: set[str], depth: int = 0) -> Any:
    if depth > 6:
        raise BadProgram("an argument is nested too deeply")
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        if len(value) > NAME_CHARS:
            raise BadProgram("a string argument is too long")
        return value
    if isinstance(value, list):
        return [_decode(v, known, depth + 1) for v in value]
    if isinstance(value, dict) and len(value) == 1:
        (kind, item), = value.items()
        if kind == "node" and item in known:
            return Ref(item)
        if kind == "float" and item in ("inf", "-inf", "nan"):
            return float(item)
        if kind == "device" and item == "cpu":
            return torch.device("cpu")
        table = {"dtype": DTYPES, "memory_format": MEMORY_FORMATS, "layout": LAYOUTS}.get(kind, {})
        if isinstance(item, str) and item in table:
            return table[item]
    raise BadProgram(f"an argument cannot be read: {str(value)[:80]}")


def _target(name: Any) -> Callable:
    if not isinstance(name, str):
        raise BadProgram("a call target is not a name")
    if name in PYTHON_TARGETS:
        return PYTHON_TARGETS[name]
    namespace, opname, overload = (name.split(".") + ["", "", ""])[:3]
    if namespace != "aten" or opname not in ALLOWED_ATEN or not overload.isidentifier() or name.count(".") != 2:
        raise BadProgram(f"the program calls {name[:80]}, which is not an allowed ATen operator")
    op = getattr(getattr(torch.ops.aten, opname), overload, None)
    if not isinstance(op, torch._ops.OpOverload):
        raise BadProgram(f"{name} is not an ATen operator of this torch")
    return op


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > NAME_CHARS:
        raise BadProgram("a node or tensor name is malformed")
    return value


def _resolve(value: Any, env: dict[str, Any]) -> Any:
    if isinstance(value, Ref):
        return env[value.name]
    if isinstance(value, list):
        return [_resolve(v, env) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, env) for k, v in value.items()}
    return value


@dataclass
class Program:
    """One exported forward pass (a CNNModel variant in train or eval mode), run op by op.

    `state` is shared by the programs of one model, so that what training mode writes (BatchNorm's
    running statistics) is what eval mode reads."""

    nodes: list[tuple[str, Callable, list, dict]]
    inputs: list[tuple[str, str | None]]  # placeholder, and the state it reads (None: the model's input)
    outputs: list[tuple[str, str | None]]  # node, and the buffer it overwrites (None: the model's output)
    state: dict[str, torch.Tensor]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        env: dict[str, Any] = {name: x if fqn is None else self.state[fqn] for name, fqn in self.inputs}
        for name, target, args, kwargs in self.nodes:
            env[name] = target(*_resolve(args, env), **_resolve(kwargs, env))
        result = None
        for name, fqn in self.outputs:
            if fqn is None:
                result = env[name]
            else:
                with torch.no_grad():
                    self.state[fqn].copy_(env[name])
        return result


def _program(data: Any, states: dict[str, dict[str, torch.Tensor]]) -> Program:
    if not isinstance(data, dict) or data.get("model") not in states:
        raise BadProgram("a program names no model whose weights were handed over")
    state = states[data["model"]]
    inputs = [(_name(name), None if fqn is None else _name(fqn)) for name, fqn in data.get("inputs", [])]
    if sum(fqn is None for _, fqn in inputs) != 1 or any(fqn is not None and fqn not in state for _, fqn in inputs):
        raise BadProgram("a program's inputs are not one image batch and the model's own tensors")
    known = {name for name, _ in inputs}
    if len(known) != len(inputs) or not isinstance(data.get("nodes"), list) or len(data["nodes"]) > MAX_NODES:
        raise BadProgram("a program's nodes are malformed")
    nodes = []
    for entry in data["nodes"]:
        if not isinstance(entry, list) or len(entry) != 4 or not isinstance(entry[3], dict):
            raise BadProgram("a program node is malformed")
        name, target = _name(entry[0]), _target(entry[1])
        args, kwargs = _decode(entry[2], known), {_name(k): _decode(v, known) for k, v in entry[3].items()}
        if name in known or not isinstance(args, list):
            raise BadProgram(f"node {name} is defined twice or has malformed arguments")
        nodes.append((name, target, args, kwargs))
        known.add(name)
    outputs = [(_name(name), None if fqn is None else _name(fqn)) for name, fqn in data.get("outputs", [])]
    if (sum(fqn is None for _, fqn in outputs) != 1 or any(name not in known for name, _ in outputs)
            or any(fqn is not None and fqn not in state for _, fqn in outputs)):
        raise BadProgram("a program's outputs are not one result and the model's own buffers")
    return Program(nodes, inputs, outputs, state)


def _states(index: Any, flat: np.ndarray) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, set[str]]]:
    if not isinstance(index, dict) or flat.dtype != np.float32 or flat.ndim != 1:
        raise BadProgram("the weights are not one float32 array with an index")
    weights = torch.from_numpy(flat)
    states, parameters = {}, {}
    for model, entries in index.items():
        if not isinstance(entries, dict):
            raise BadProgram("a model's weight index is malformed")
        states[_name(model)], parameters[model], total = {}, set(), 0
        for name, entry in entries.items():
            try:
                shape, dtype, offset = [int(s) for s in entry["shape"]], STATE_DTYPES[entry["dtype"]], int(entry["offset"])
            except (KeyError, TypeError, ValueError):
                raise BadProgram(f"the weight entry {str(name)[:80]} is malformed") from None
            size = math.prod(shape)
            total += size
            if min(shape, default=0) < 0 or offset < 0 or offset + size > len(flat) or total > MAX_ELEMENTS:
                raise BadProgram(f"the weight entry {str(name)[:80]} lies outside the weights handed over")
            states[model][_name(name)] = weights[offset:offset + size].reshape(shape).to(dtype, copy=True)
            if entry.get("parameter") is True:
                parameters[model].add(name)
    return states, parameters


@dataclass
class HandedBack:
    """What the submission's child handed back, read and checked: each model's weights and programs."""

    programs: dict[str, dict[str, Program]]  # model -> mode -> program
    states: dict[str, dict[str, torch.Tensor]]
    parameters: dict[str, set[str]]


def load(data: Any, flat: np.ndarray) -> HandedBack:
    """A handover checked through: BadProgram for anything that is not a program of allowed operators."""
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("programs"), dict):
        raise BadProgram(f"the handover is not a program set of format {FORMAT}")
    states, parameters = _states(data.get("state"), flat)
    programs: dict[str, dict[str, Program]] = {}
    for key, program in data["programs"].items():
        model, _, mode = _name(key).partition("/")
        if mode not in ("train", "eval"):
            raise BadProgram(f"program {key[:80]} is not of a train or eval mode")
        programs.setdefault(model, {})[mode] = _program(program, states)
    return HandedBack(programs, states, parameters)
