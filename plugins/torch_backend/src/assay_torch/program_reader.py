"""A ``torch.export`` archive (``model.pt2``) run without ``torch.export.load``: the fast way a bundle predicts.

``torch.export.load`` rebuilds the program through ``torch._export.serde``, which imports ``torch._dynamo``,
``sympy`` and the symbolic-shape machinery: about a second on top of ``import torch`` (1.1 s) on a 2-core
machine. A bundle only needs to *run* the graph, so this module reads the archive itself and calls each node's
operator eagerly. ``import torch`` + load + the first prediction of an iris-sized MLP, in a fresh process
(``benchmarks/torch_program_load.py``, median of 7, load average 4.0): 1.20 s wall, 1.10 s CPU with this reader;
2.50 s wall, 2.28 s CPU with ``torch.export.load``; ``import torch`` alone 1.34 s wall, 1.09 s CPU.

What it reads (torch 2.13's archive version ``0``, graph schema 8.x, treespec 1), through
:mod:`assay_torch.program_archive`:

* ``models/model.json``: the graph (inputs, nodes, outputs), its signature (which placeholder is a parameter, a
  buffer, a constant or a user input; which output is the user's) and the in/out tree specs;
* ``data/weights`` and ``data/constants``: raw little-endian tensor bytes, laid out by each entry's
  ``tensor_meta`` (dtype code, sizes, strides, storage offset). Entries sharing a file share its storage.

What it runs: ``torch.ops.aten.*`` and ``torch.ops.prims.*`` overloads that torch's dispatcher has registered
(checked by schema, then taken from ``torch.ops`` and checked to be an ``OpOverload``), and the symbolic integer
arithmetic torch writes as ``_operator.mul``, ``torch.sym_max``... (a fixed table of functions, keyed by the
names torch's serialiser gives them). Multi-output operators list their outputs' names in the node (torch
writes no ``getitem`` node), so the outputs are bound by position. Arguments are ordered by the operator's
schema and argument kinds exactly as torch's deserialiser orders them. A call checks what torch's ``module()``
checks of the inputs: their number, rank, fixed sizes, and the range and equality of the free (batch) sizes.

Every archive first passes :func:`assay_torch.program_archive.check`, which raises ``ModelLoadError`` for what
neither reader may load (targets outside torch's registered operators, pickled payloads, foreign members).
Anything else this reader does not run raises :class:`~assay_torch.program_archive.Unsupported` and
:func:`assay_torch.exporting.load` falls back to ``torch.export.load`` (correct, slow): another archive or schema
version, custom or higher-order operators (``torch.cond``...), buffer or input mutations in the outputs, tree
specs other than positional tensors in and a tensor or a tuple of tensors out, symbolic input sizes other than a
plain symbol, an Argument kind not handled by :func:`_argument` (graphs, custom objects, operators), tensors not
on the CPU or not strided. Nothing here unpickles, imports or resolves a name outside those tables.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

import torch

from assay import errors
from assay_torch.program_archive import (
    ARCHIVE_FORMAT,
    ARCHIVE_VERSION,
    DTYPES,
    LAYOUT_STRIDED,
    OPERATOR,
    SYM_OPS,
    Archive,
    Unsupported,
    check,
    payloads,
)

#: graph-schema versions this reader was written against (torch 2.13)
SCHEMA_MAJOR = 8
SCHEMA_MINOR_MAX = 20
TREESPEC_VERSION = 1
MODEL_NAME = "model"  # torch.export.save writes its one program under this name
#: namespaces whose operators run here; others (custom ops, higher_order) go to torch.export.load
RUN_NAMESPACES = ("aten", "prims")
MEMORY_FORMATS = {1: torch.contiguous_format, 2: torch.channels_last, 3: torch.channels_last_3d,
                  4: torch.preserve_format}
_SYMBOL = re.compile(r"Symbol\('([A-Za-z_][A-Za-z0-9_]*)'(?:, [a-z_]+=(?:True|False))*\)")


# --------------------------------------------------------------------------------------------------------------
# Operators
# --------------------------------------------------------------------------------------------------------------


def _operation(target: str) -> Callable[..., Any]:
    """The callable for an already checked target: a registered aten/prims overload or a symbolic function."""
    if target in SYM_OPS:
        return SYM_OPS[target]
    match = OPERATOR.fullmatch(target)
    if not match or match.group(1) not in RUN_NAMESPACES or match.group(3) is None:
        raise Unsupported(f"operator {target}")
    namespace, name, overload = match.groups()
    packet = getattr(getattr(torch.ops, namespace), name, None)
    if not isinstance(packet, torch._ops.OpOverloadPacket) or overload not in packet.overloads():
        raise Unsupported(f"operator {target}")
    op = getattr(packet, overload)
    if not isinstance(op, torch._ops.OpOverload):
        raise Unsupported(f"operator {target}")
    return op


# --------------------------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------------------------


class _Ref:
    """A value the graph computes (a tensor or a symbolic size), looked up by name when the node runs."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


def _name(value: Any) -> _Ref:
    if not isinstance(value, dict) or set(value) != {"name"} or not isinstance(value["name"], str):
        raise Unsupported(f"tensor argument {value!r:.100}")
    return _Ref(value["name"])


def _one(union: Any) -> tuple[str, Any]:
    if not isinstance(union, dict) or len(union) != 1:
        raise Unsupported(f"argument {union!r:.100}")
    return next(iter(union.items()))


def _tensor_name(union: Any, what: str) -> str:
    key, value = _one(union)
    if key != "as_tensor":
        raise Unsupported(f"{what} that is not a tensor ({key})")
    return _name(value).name


def _sym(union: Any, literal: str, kind: type) -> Any:
    key, value = _one(union)
    if key == "as_name" and isinstance(value, str):
        return _Ref(value)
    if key == literal and _is(value, kind):
        return float(value) if kind is float else value  # torch's deserialiser makes every float field a float
    raise Unsupported(f"symbolic argument {union!r:.100}")


def _optional_tensor(union: Any) -> Any:
    key, value = _one(union)
    if key == "as_none":
        return None
    if key == "as_tensor":
        return _name(value)
    raise Unsupported(f"optional tensor {union!r:.100}")


def _is(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _literals(value: Any, kind: type) -> list[Any]:
    if not isinstance(value, list) or not all(_is(item, kind) for item in value):
        raise Unsupported(f"list of {kind.__name__} {value!r:.100}")
    return [float(item) for item in value] if kind is float else list(value)


def _argument(union: Any) -> Any:
    """A serialised Argument as a value, with :class:`_Ref` where the graph supplies it."""
    key, value = _one(union)
    if key == "as_none":
        return None
    if key == "as_tensor":
        return _name(value)
    if key == "as_tensors" and isinstance(value, list):
        return [_name(item) for item in value]
    if key in ("as_optional_tensors",) and isinstance(value, list):
        return [_optional_tensor(item) for item in value]
    if key == "as_optional_tensor":
        return _optional_tensor(value)
    for literal, kind in (("int", int), ("float", float), ("bool", bool), ("string", str)):
        if key == f"as_{literal}" and _is(value, kind):
            return float(value) if kind is float else value
        if key == f"as_{literal}s":
            return _literals(value, kind)
        if key == f"as_sym_{literal}" and kind is not str:
            return _sym(value, f"as_{literal}", kind)
        if key == f"as_sym_{literal}s" and kind is not str and isinstance(value, list):
            return [_sym(item, f"as_{literal}", kind) for item in value]
    if key == "as_int_lists" and isinstance(value, list):
        return [_literals(item, int) for item in value]
    if key == "as_float_lists" and isinstance(value, list):
        return [_literals(item, float) for item in value]
    if key == "as_scalar_type" and value in DTYPES:
        return DTYPES[value]
    if key == "as_memory_format" and value in MEMORY_FORMATS:
        return MEMORY_FORMATS[value]
    if key == "as_layout" and value == LAYOUT_STRIDED:
        return torch.strided
    if key == "as_device" and isinstance(value, dict) and value.get("type") == "cpu":
        return torch.device("cpu")
    if key == "as_complex" and isinstance(value, dict) and set(value) == {"real", "imag"}:
        return complex(value["real"], value["imag"])
    raise Unsupported(f"argument kind {key}")  # graphs, custom objects, operators, nested lists...


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, _Ref):
        yield value.name
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _fill(value: Any, env: dict[str, Any]) -> Any:
    if isinstance(value, _Ref):
        return env[value.name]
    if isinstance(value, list):
        return [_fill(item, env) for item in value]
    return value


# --------------------------------------------------------------------------------------------------------------
# Nodes
# --------------------------------------------------------------------------------------------------------------


def _node_inputs(op: Callable[..., Any], inputs: Any) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments the way torch's deserialiser orders them (by the operator's schema)."""
    if not isinstance(inputs, list):
        raise Unsupported("node inputs")
    given, kinds = {}, {}
    for named in inputs:
        if not isinstance(named, dict) or not isinstance(named.get("name"), str) or named["name"] in given:
            raise Unsupported("node input")
        given[named["name"]] = _argument(named.get("arg"))
        kinds[named["name"]] = named.get("kind")
    if not isinstance(op, torch._ops.OpOverload):  # a symbolic function: its inputs in order
        return list(given.values()), {}
    schema_arguments = op._schema.arguments
    if set(given) - {argument.name for argument in schema_arguments}:
        raise Unsupported(f"inputs {sorted(given)} of {op}")
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for argument in schema_arguments:
        if argument.name not in given:  # left at its default
            continue
        kind = kinds[argument.name]
        if kind == 1:
            args.append(given[argument.name])
        elif kind == 2 and not keyword.iskeyword(argument.name):
            kwargs[argument.name] = given[argument.name]
        else:  # no kind: an archive of an older torch, which torch orders by defaults instead
            raise Unsupported(f"input {argument.name} of {op} has argument kind {kind!r}")
    return args, kwargs


def _outputs(outputs: Any) -> list[Any]:
    """Each output slot: a :class:`_Ref` to bind, a list of them (a tensor list), or ``None`` (an unused slot)."""
    if not isinstance(outputs, list):
        raise Unsupported("node outputs")
    slots: list[Any] = []
    for union in outputs:
        key, value = _one(union)
        if key == "as_tensor":
            slots.append(_name(value))
        elif key == "as_tensors" and isinstance(value, list):
            slots.append([_name(item) for item in value])
        elif key == "as_none":
            slots.append(None)
        elif key in ("as_sym_int", "as_sym_float", "as_sym_bool"):
            name_key, name = _one(value)
            if name_key != "as_name" or not isinstance(name, str):
                raise Unsupported(f"output {union!r:.100}")
            slots.append(_Ref(name))
        else:
            raise Unsupported(f"output kind {key}")
    return slots


def _bind(slot: Any, value: Any, env: dict[str, Any]) -> None:
    if isinstance(slot, _Ref):
        env[slot.name] = value
    elif isinstance(slot, list):
        if not isinstance(value, (list, tuple)) or len(value) != len(slot):
            raise errors.ModelLoadError("the exported torch program's operator returned another number of tensors "
                                        "than its graph lists; export the predictor again")
        for item, element in zip(slot, value, strict=True):
            env[item.name] = element


class _Node:
    __slots__ = ("args", "kwargs", "op", "slots")

    def __init__(self, serialised: Any):
        if not isinstance(serialised, dict) or not isinstance(serialised.get("target"), str):
            raise Unsupported("node")
        self.op = _operation(serialised["target"])
        self.args, self.kwargs = _node_inputs(self.op, serialised.get("inputs"))
        self.slots = _outputs(serialised.get("outputs"))

    def names_used(self) -> Iterator[str]:
        for value in (*self.args, *self.kwargs.values()):
            yield from _refs(value)

    def names_bound(self) -> Iterator[str]:
        for slot in self.slots:
            yield from _refs(slot)

    def run(self, env: dict[str, Any]) -> None:
        result = self.op(*[_fill(value, env) for value in self.args],
                         **{name: _fill(value, env) for name, value in self.kwargs.items()})
        if len(self.slots) == 1:
            _bind(self.slots[0], result, env)
        elif self.slots:
            if not isinstance(result, (tuple, list)) or len(result) != len(self.slots):
                raise errors.ModelLoadError(f"the exported torch program's {self.op} returned another number of "
                                            "values than its graph lists; export the predictor again")
            for slot, value in zip(self.slots, result, strict=True):
                _bind(slot, value, env)


# --------------------------------------------------------------------------------------------------------------
# The program
# --------------------------------------------------------------------------------------------------------------


def _leaf(spec: Any) -> bool:
    return spec == {"type": None, "context": None, "children_spec": []}


def _tree(value: Any) -> Any:
    if not isinstance(value, str):
        raise Unsupported("tree spec")
    try:
        version, spec = json.loads(value)
    except (ValueError, TypeError) as exc:
        raise Unsupported("tree spec") from exc
    if version != TREESPEC_VERSION or not isinstance(spec, dict):
        raise Unsupported(f"tree spec version {version!r}")
    return spec


def _call_specs(graph_module: dict[str, Any], user_inputs: int, user_outputs: int) -> bool:
    """Check the program is called with positional tensors; ``True`` when it returns a bare tensor (else a tuple)."""
    calls = graph_module.get("module_call_graph")
    entry = calls[0] if isinstance(calls, list) and calls and isinstance(calls[0], dict) else {}
    if entry.get("fqn") != "" or not isinstance(entry.get("signature"), dict):
        raise Unsupported("module call graph")
    in_spec, out_spec = _tree(entry["signature"].get("in_spec")), _tree(entry["signature"].get("out_spec"))
    expected_in = {"type": "builtins.tuple", "context": "null", "children_spec": [
        {"type": "builtins.tuple", "context": "null", "children_spec": [
            {"type": None, "context": None, "children_spec": []}] * user_inputs},
        {"type": "builtins.dict", "context": "[]", "children_spec": []}]}
    if in_spec != expected_in:
        raise Unsupported("inputs other than positional tensors")
    if _leaf(out_spec) and user_outputs == 1:
        return True
    if (out_spec.get("type") == "builtins.tuple" and out_spec.get("context") == "null"
            and len(out_spec.get("children_spec", [])) == user_outputs and all(map(_leaf, out_spec["children_spec"]))):
        return False
    raise Unsupported("outputs other than a tensor or a tuple of tensors")


class _InputShape:
    """What torch's ``module()`` checks of a user input: its rank, its fixed sizes, its symbols' ranges."""

    def __init__(self, name: str, meta: Any, ranges: dict[str, Any]):
        if not isinstance(meta, dict) or not isinstance(meta.get("sizes"), list):
            raise Unsupported(f"input {name}")
        self.name = name
        self.sizes: list[int | str] = []
        for size in meta["sizes"]:
            key, value = _one(size)
            if key == "as_int" and _is(value, int):
                self.sizes.append(value)
                continue
            symbol = _SYMBOL.fullmatch(value.get("expr_str", "")) if key == "as_expr" and isinstance(value, dict) \
                else None
            if symbol is None:
                raise Unsupported(f"input {name} has size {size!r:.100}")
            self.sizes.append(symbol.group(1))
        self.ranges = ranges

    def check(self, index: int, tensor: Any, symbols: dict[str, int]) -> None:
        if not isinstance(tensor, torch.Tensor) or tensor.dim() != len(self.sizes):
            shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            raise errors.DataError(f"inputs[{index}]", f"is {shape}; the exported torch program takes a tensor of "
                                   f"{len(self.sizes)} dimensions: pass rows shaped as the model was trained on")
        for axis, (expected, size) in enumerate(zip(self.sizes, tensor.shape, strict=True)):
            if isinstance(expected, int):
                wanted = None if size == expected else f"{expected}"
            elif symbols.setdefault(expected, size) != size:
                wanted = f"{symbols[expected]}, the size of an earlier input on the same free axis"
            else:
                bounds = self.ranges.get(expected) or {}
                low, high = bounds.get("min_val") or 0, bounds.get("max_val")
                wanted = None if low <= size and (high is None or size <= high) else f"{low} to {high}"
            if wanted is not None:
                raise errors.DataError(f"inputs[{index}]", f"axis {axis} has size {size} where the exported torch "
                                       f"program takes {wanted}: pass rows shaped as the model was trained on")


class Program:
    """A read graph: ``program(*inputs)`` runs its nodes on the inputs with the stored weights, without autograd."""

    def __init__(self, nodes: list[_Node], constants: dict[str, Any], inputs: list[_InputShape],
                 outputs: list[str], bare: bool):
        self.nodes, self.constants, self.inputs, self.outputs, self.bare = nodes, constants, inputs, outputs, bare

    def __call__(self, *inputs: torch.Tensor) -> Any:
        if len(inputs) != len(self.inputs):
            raise errors.DataError("inputs", f"the exported torch program takes {len(self.inputs)} inputs, not "
                                   f"{len(inputs)}: pass one tensor per input the model was trained on")
        env = dict(self.constants)
        symbols: dict[str, int] = {}
        for index, (shape, tensor) in enumerate(zip(self.inputs, inputs, strict=True)):
            shape.check(index, tensor, symbols)
            env[shape.name] = tensor
        with torch.no_grad():
            for node in self.nodes:
                node.run(env)
        results = tuple(env[name] for name in self.outputs)
        return results[0] if self.bare else results


def _program(serialised: Any, weights: dict[str, torch.Tensor], constants: dict[str, torch.Tensor]) -> Program:
    if not isinstance(serialised, dict):
        raise Unsupported("model.json")
    version = serialised.get("schema_version") or {}
    if version.get("major") != SCHEMA_MAJOR or not _is(version.get("minor"), int) \
            or version["minor"] > SCHEMA_MINOR_MAX:
        raise Unsupported(f"graph schema {version!r:.100}")
    graph_module = serialised.get("graph_module")
    graph = graph_module.get("graph") if isinstance(graph_module, dict) else None
    signature = graph_module.get("signature") if isinstance(graph_module, dict) else None
    if not isinstance(graph, dict) or not isinstance(signature, dict):
        raise Unsupported("graph module")
    tensor_values = graph.get("tensor_values")
    ranges = serialised.get("range_constraints")
    if not isinstance(tensor_values, dict) or not isinstance(ranges, dict):
        raise Unsupported("graph values")

    bound: dict[str, Any] = {}
    shapes: list[_InputShape] = []
    placeholders: list[str] = []
    for spec in signature.get("input_specs") or []:
        kind, value = _one(spec)
        if kind == "user_input":
            name = _tensor_name(value.get("arg"), "a user input")
            shapes.append(_InputShape(name, tensor_values.get(name), ranges))
        elif kind in ("parameter", "buffer", "tensor_constant") and isinstance(value, dict):
            name = _name(value.get("arg")).name
            source = {"parameter": "parameter_name", "buffer": "buffer_name",
                      "tensor_constant": "tensor_constant_name"}[kind]
            stored = weights if kind == "parameter" or (kind == "buffer" and value.get("persistent")) else constants
            if value.get(source) not in stored:
                raise Unsupported(f"{kind} {value.get(source)!r:.100} is not in the archive")
            bound[name] = stored[value[source]]
        else:  # custom objects, tokens, constant (non-tensor) inputs
            raise Unsupported(f"input kind {kind}")
        placeholders.append(name)
    if [_tensor_name(arg, "a graph input") for arg in graph.get("inputs")] != placeholders:
        raise Unsupported("graph inputs differ from the signature")

    outputs = []
    for spec in signature.get("output_specs") or []:
        kind, value = _one(spec)
        if kind != "user_output":  # buffer or input mutations, losses, gradients
            raise Unsupported(f"output kind {kind}")
        outputs.append(_tensor_name(value.get("arg"), "a user output"))
    if [_tensor_name(arg, "a graph output") for arg in graph.get("outputs")] != outputs:
        raise Unsupported("graph outputs differ from the signature")

    nodes = [_Node(node) for node in graph.get("nodes") or []]
    defined = set(placeholders)
    for node in nodes:
        if not set(node.names_used()) <= defined:
            raise Unsupported(f"{node.op} uses a value no earlier node makes")
        defined.update(node.names_bound())
    if not outputs or not set(outputs) <= defined:
        raise Unsupported("outputs no node makes")
    bare = _call_specs(graph_module, len(shapes), len(outputs))
    return Program(nodes, bound, shapes, outputs, bare)


def read(data: bytes) -> Program:
    """The program in a ``torch.export.save`` archive, ready to run.

    Raises:
        Unsupported: the archive holds something this reader does not run; it passed
            :func:`~assay_torch.program_archive.check`, so ``torch.export.load`` may be given it.
        assay.errors.ModelLoadError: an archive that neither reader may load (see
            :func:`~assay_torch.program_archive.check`).
    """
    archive = Archive(data)
    programs = check(archive)
    if archive.read("archive_format") != ARCHIVE_FORMAT or archive.read("archive_version") != ARCHIVE_VERSION:
        raise Unsupported("archive format or version")
    if ("byteorder" in archive.names and archive.read("byteorder") != b"little") or sys.byteorder != "little":
        raise Unsupported("big-endian weights")
    if list(programs) != [MODEL_NAME]:
        raise Unsupported(f"programs {list(programs)}")
    try:
        weights = payloads(archive, "data/weights", f"{MODEL_NAME}_weights_config.json")
        constants = payloads(archive, "data/constants", f"{MODEL_NAME}_constants_config.json")
        return _program(programs[MODEL_NAME], weights, constants)
    except (AttributeError, TypeError, KeyError, ValueError) as exc:  # JSON of another shape than torch writes
        raise Unsupported(f"{type(exc).__name__}: {exc}") from exc
