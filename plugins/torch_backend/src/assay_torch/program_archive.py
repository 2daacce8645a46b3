"""The ``torch.export.save`` archive (``model.pt2``) as a bundle holds it: its members, its raw weights, and
whether it may be loaded at all.

The archive is a zip read with torch's own zip reader (``torch._C.PyTorchFileReader``, the one
``torch.export.load`` uses, so both see the same members). Torch 2.13 writes, under one root folder:
``archive_format`` (``pt2``), ``archive_version`` (``0``), ``byteorder``, ``models/model.json`` (the graph),
``data/weights/model_weights_config.json`` and ``data/constants/model_constants_config.json`` (per tensor: the
file holding it, ``use_pickle``, and a ``tensor_meta`` with the dtype code, sizes, strides and storage offset),
the raw tensor files they name, and ``data/sample_inputs/model.pt`` (the example inputs, a ``torch.save`` file).

:func:`check` refuses what would make ``torch.export.load`` run code from the archive, so that the fallback from
:mod:`assay_torch.program_reader` to it stays trust-free:

* a node target or operator argument that is neither an operator registered with torch nor one of the
  symbolic-size functions: torch resolves targets by walking attributes from ``torch``/``operator``/``math`` and
  calls any callable it finds (``torch.serialization.os.system``);
* pickled payloads (``use_pickle``, custom or opaque objects, the legacy ``.pt`` weight files): torch loads them
  with ``weights_only=False``;
* sample inputs that do not load with ``weights_only=True`` (torch retries with ``weights_only=False``);
* compiled AOTInductor libraries, any member outside the layout above, a top-level ``version`` member, and a zip
  that torch's reader cannot open (for those two ``torch.export.load`` reads the zip as a pre-2.8 archive).
"""

from __future__ import annotations

import io
import json
import math
import operator
import re
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import torch

from assay import errors

ARCHIVE_FORMAT = b"pt2"
ARCHIVE_VERSION = b"0"
#: torch's serialised ScalarType codes (torch/_export/serde/schema.py)
DTYPES = {1: torch.uint8, 2: torch.int8, 3: torch.int16, 4: torch.int32, 5: torch.int64, 6: torch.float16,
          7: torch.float32, 8: torch.float64, 9: torch.complex32, 10: torch.complex64, 11: torch.complex128,
          12: torch.bool, 13: torch.bfloat16, 28: torch.uint16, 34: torch.uint32, 35: torch.uint64}
LAYOUT_STRIDED = 7
#: members torch.export.save writes; anything else (AOTInductor libraries, executorch...) is refused
_MEMBER = re.compile(r"archive_format|archive_version|byteorder|\.data/version|\.data/serialization_id"
                     r"|models/\w+\.json|data/(weights|constants)/[\w.]+|data/sample_inputs/\w+\.pt|extra/[\w.-]+")
_PART = r"(?!__)[A-Za-z_][A-Za-z0-9_]*"
OPERATOR = re.compile(rf"torch\.ops\.({_PART})\.({_PART})(?:\.({_PART}))?")
#: the symbolic-size functions, by the name torch serialises them under (``f"{module}.{name}"``, serialize.py's
#: _SYM_OPS): the only targets outside ``torch.ops`` a graph may name
SYM_OPS: dict[str, Callable[..., Any]] = {
    f"{function.__module__}.{function.__name__}": function
    for function in (operator.eq, operator.ne, operator.le, operator.ge, operator.lt, operator.gt, operator.neg,
                     operator.pos, math.trunc, torch.sym_not, operator.mul, operator.add, operator.sub,
                     operator.floordiv, operator.mod, operator.pow, torch.sym_int, torch.sym_float, torch.sym_ite,
                     torch.sym_max, torch.sym_min, torch.sym_sqrt, operator.truediv, operator.and_, operator.or_,
                     operator.lshift, operator.rshift)
}
#: registered operators a graph may name but that no bundle should run: they read files
REFUSED_OPERATORS = frozenset({"aten::from_file"})


class Unsupported(Exception):
    """The archive holds something :mod:`assay_torch.program_reader` does not run; ``torch.export.load`` should."""


def _refused(what: str) -> errors.ModelLoadError:
    return errors.ModelLoadError(f"the exported torch program {what}, which assay does not load: the bundle's "
                                 "model.pt2 was not written by assay's export or was altered since; export the "
                                 "predictor again")


class Archive:
    """One archive's members, read by torch's zip reader."""

    def __init__(self, data: bytes):
        self.data = data
        try:
            self.reader = torch._C.PyTorchFileReader(io.BytesIO(data))
            self.names = set(self.reader.get_all_records())
        except Exception as exc:  # miniz's RuntimeError, or the file object's ValueError on a truncated zip
            first_line = next(iter(str(exc).splitlines()), "")[:200]
            raise errors.ModelLoadError(f"the exported torch program cannot be read ({type(exc).__name__}: "
                                        f"{first_line}); it is damaged or was written by another torch "
                                        "version") from exc

    def read(self, path: str) -> bytes:
        if path not in self.names:
            raise Unsupported(f"no {path}")
        try:
            return self.reader.get_record(path)
        except RuntimeError as exc:  # a CRC or header error
            raise Unsupported(f"{path} cannot be read") from exc

    def json(self, path: str) -> Any:
        try:
            return json.loads(self.read(path))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Unsupported(f"{path} is not JSON ({exc})") from exc

    def models(self) -> list[str]:
        """The names of the programs in the archive (torch.export.save writes one, ``model``)."""
        return sorted(name[len("models/"):-len(".json")] for name in self.names if name.startswith("models/"))

    def file(self, folder: str, path: str, dtype: torch.dtype) -> torch.Tensor:
        """A raw tensor file as a flat tensor, in storage torch allocates the way ``torch.export.load`` does (so
        the kernels that run on it, and their rounding, are the same)."""
        record = f"{folder}/{path}"
        nbytes = self.reader.get_record_size(record) if record in self.names else None
        element = torch.empty((), dtype=dtype).element_size()
        if nbytes is None or nbytes % element:
            raise Unsupported(f"{record}: {nbytes} bytes of {dtype}")
        if nbytes == 0:
            return torch.zeros(0, dtype=dtype)
        raw = self.reader.get_storage_from_record(record, nbytes // element, dtype)
        flat = torch.empty(0, dtype=dtype)
        flat.set_(raw.untyped_storage(), 0, (nbytes // element,), (1,))
        return flat


def ints(values: Any) -> list[int]:
    """Sizes or strides stored as plain integers."""
    if not isinstance(values, list):
        raise Unsupported("sizes")
    numbers = []
    for value in values:
        if not isinstance(value, dict) or list(value) != ["as_int"] or type(value["as_int"]) is not int:
            raise Unsupported(f"symbolic size {value!r:.100} of a stored tensor")
        numbers.append(value["as_int"])
    return numbers


def payloads(archive: Archive, folder: str, config: str) -> dict[str, torch.Tensor]:
    """The tensors one payload config lists, by fully qualified name; entries naming one file share its storage."""
    entries = archive.json(f"{folder}/{config}")
    if not isinstance(entries, dict) or set(entries) != {"config"} or not isinstance(entries["config"], dict):
        raise Unsupported(config)
    files: dict[tuple[str, torch.dtype], torch.Tensor] = {}
    tensors = {}
    for fqn, entry in entries["config"].items():
        if not isinstance(entry, dict) or entry.get("use_pickle") is not False:
            raise Unsupported(f"{fqn} is pickled")  # refused by check() before it gets here
        path, meta = entry.get("path_name"), entry.get("tensor_meta")
        if not isinstance(path, str) or not isinstance(meta, dict):
            raise Unsupported(f"{fqn}: {path!r:.100}")
        dtype = DTYPES.get(meta.get("dtype"))
        device = meta.get("device")
        if dtype is None or meta.get("layout") != LAYOUT_STRIDED or not isinstance(device, dict) \
                or device.get("type") != "cpu":
            raise Unsupported(f"{fqn}: dtype {meta.get('dtype')!r}, layout {meta.get('layout')!r}, device {device!r}")
        sizes, strides, (offset,) = ints(meta.get("sizes")), ints(meta.get("strides")), ints(
            [meta.get("storage_offset")])
        if (path, dtype) not in files:
            files[path, dtype] = archive.file(folder, path, dtype)
        flat = files[path, dtype]
        if flat.numel() == 0:  # torch writes an empty file for an empty tensor
            tensors[fqn] = torch.zeros(sizes, dtype=dtype)
            continue
        try:  # as_strided checks the view against the storage's bounds
            tensors[fqn] = torch.as_strided(flat, sizes, strides, offset)
        except RuntimeError as exc:
            raise Unsupported(f"{fqn} does not fit {path} ({exc})") from exc
    return tensors


# --------------------------------------------------------------------------------------------------------------
# What may be loaded
# --------------------------------------------------------------------------------------------------------------


def _registered(namespace: str, name: str, overload: str) -> bool:
    try:
        torch._C._get_schema(f"{namespace}::{name}", "" if overload == "default" else overload)
    except RuntimeError:
        return False
    return True


def _targets(value: Any) -> Iterator[str]:
    """Every node target and operator argument in a serialised graph, nested graphs included."""
    if isinstance(value, dict):
        if "target" in value and "inputs" in value:
            yield value["target"] if isinstance(value["target"], str) else repr(value["target"])
        if "as_operator" in value:
            yield value["as_operator"] if isinstance(value["as_operator"], str) else repr(value["as_operator"])
        for item in value.values():
            yield from _targets(item)
    elif isinstance(value, list):
        for item in value:
            yield from _targets(item)


def _check_target(target: str) -> None:
    if target in SYM_OPS or target.startswith("#"):  # "#..." names a registered serde extension
        return
    match = OPERATOR.fullmatch(target)
    if match:
        namespace, name, overload = match.groups()
        if overload is None and namespace == "higher_order":
            from torch._ops import _higher_order_ops

            if name in _higher_order_ops:
                return
        elif (overload is not None and _registered(namespace, name, overload)
              and f"{namespace}::{name}" not in REFUSED_OPERATORS):
            return
    raise _refused(f"calls {target[:200]!r}, which is not an operator registered with torch")


def _check_payloads(archive: Archive, folder: str, config: str) -> None:
    entries = archive.json(f"{folder}/{config}") if f"{folder}/{config}" in archive.names else {}
    for fqn, entry in (entries.get("config") or {}).items() if isinstance(entries, dict) else ():
        if not isinstance(entry, dict) or entry.get("use_pickle") is not False \
                or not str(entry.get("path_name")).startswith(("weight_", "tensor_")):
            raise _refused(f"holds {fqn[:200]!r} as a pickle")


def check(archive: Archive) -> dict[str, Any]:
    """Refuse an archive ``torch.export.load`` would run code from; returns each program's graph (JSON) by name.

    Raises:
        assay.errors.ModelLoadError: naming the member or target refused.
        Unsupported: a member that is not JSON (``torch.export.load`` fails on it too).
    """
    for name in sorted(archive.names):
        if not _MEMBER.fullmatch(name):
            raise _refused(f"holds {name[:200]!r}, which torch.export.save does not write")
    try:  # torch.export.load reads a zip with a top-level "version" as a pre-2.8 archive, which it unpickles
        with zipfile.ZipFile(io.BytesIO(archive.data)) as folder:
            old_format = "version" in folder.namelist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _refused("is a zip archive Python does not read") from exc
    if old_format:
        raise _refused("holds a top-level 'version' (the format of torch before 2.8)")
    programs = {}
    for model in archive.models():
        programs[model] = archive.json(f"models/{model}.json")
        for target in _targets(programs[model]):
            _check_target(target)
        if f"data/weights/{model}.pt" in archive.names or f"data/constants/{model}.pt" in archive.names:
            raise _refused("holds its weights as a pickle (the format of torch before 2.8)")
        _check_payloads(archive, "data/weights", f"{model}_weights_config.json")
        _check_payloads(archive, "data/constants", f"{model}_constants_config.json")
        sample_inputs = f"data/sample_inputs/{model}.pt"
        if sample_inputs in archive.names:
            try:
                torch.load(io.BytesIO(archive.read(sample_inputs)), weights_only=True)
            except Exception as exc:  # torch's unpickler raises many classes; any of them means "not weights only"
                raise _refused(f"holds sample inputs that are not plain tensors ({type(exc).__name__})") from exc
    return programs
