"""Models written as ``torch.export`` programs: the graph and weights, loaded without ``fn_build`` or pickle.

:func:`export` traces the trained model on the training samples' shapes with the batch dimension left free
(``torch.export.Dim``), so a bundle predicts any number of rows. :func:`load` runs the archive with
:mod:`assay_torch.program_reader`, which reads the graph and the raw weights itself and calls aten operators
eagerly, so a predicting process never imports ``torch._dynamo`` or ``sympy`` (``import torch`` + load + first
prediction of an iris-sized MLP: 1.2 s, against 2.5 s through ``torch.export.load``; see
``benchmarks/torch_program_load.py``). A program the reader does not run (custom or higher-order operators,
mutated buffers, another archive version...) is read by ``torch.export.load`` instead, once
:func:`assay_torch.program_archive.check` has refused what would make torch run code from the archive (targets
outside its registered operators, pickled payloads or sample inputs, compiled libraries). A model whose
``forward`` branches on data, or uses an operator ``torch.export`` cannot trace, raises
:class:`~assay.errors.ModelExportError`; the bundle then keeps the ``state_dict`` and the user's ``fn_build``.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from assay import errors
from assay.contracts import ModelExport
from assay_torch import program_archive, program_reader
from assay_torch.training import as_inputs

FORMAT = "torch.export"


class ExportedModel(nn.Module):
    """An exported program as a module: ``model(*inputs)`` like the trained one, always in eval mode.

    The program was traced in ``eval()`` mode (dropout off, batch-norm running statistics), and an exported
    module cannot switch mode, so :meth:`train` does nothing: the prediction code calls ``model.eval()`` on every
    model, which must keep working. ``program`` is what runs it: a :class:`~assay_torch.program_reader.Program`
    or the module of a ``torch.export.ExportedProgram``.
    """

    def __init__(self, program: Callable[..., Any]):
        super().__init__()
        self.program = program

    def forward(self, *inputs: torch.Tensor) -> Any:
        with torch.no_grad():
            return self.program(*inputs)

    def train(self, mode: bool = True) -> ExportedModel:
        return self


def export(model: nn.Module, example: Any) -> ModelExport:
    """``model`` traced on ``example`` (a tensor or a list of tensors, one per input) with a free batch dimension.

    Raises:
        assay.errors.ModelExportError: torch cannot export the model (with torch's first line of the reason).
    """
    if not isinstance(model, nn.Module):
        raise errors.ModelExportError(f"the model is a {type(model).__name__}, not a torch.nn.Module")
    inputs = tuple(part.cpu() for part in as_inputs(example))
    if len(inputs[0]) < 2:  # torch specialises a dimension of size 1; trace on two rows to keep the batch free
        inputs = tuple(torch.cat([part, part]) for part in inputs)
    model = model.cpu().eval()
    batch = torch.export.Dim("batch")
    try:
        # torch warns about attributes it handles itself (an LSTM's flattened weights); the export is checked
        # against the model's predictions by assay, which reports any difference
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            program = torch.export.export(model, inputs, dynamic_shapes=tuple({0: batch} for _ in inputs),
                                          strict=False)
        buffer = io.BytesIO()
        torch.export.save(program, buffer)
    except Exception as exc:  # torch's export errors have many classes (UserError, Unsupported, GuardOnData...)
        first_line = next(iter(str(exc).strip().splitlines()), "")
        raise errors.ModelExportError(f"torch.export cannot trace {type(model).__name__} "
                                      f"({type(exc).__name__}: {first_line})") from exc
    return ModelExport(data=buffer.getvalue(), format=FORMAT, suffix=".pt2")


def load(data: bytes, format: str) -> ExportedModel:
    """The program :func:`export` wrote, on the CPU: run by :mod:`assay_torch.program_reader` where it can be,
    else by ``torch.export.load``.

    Raises:
        assay.errors.ModelLoadError: another format, bytes neither reader can read, or a graph naming an
            operation outside torch's registered operators (a tampered archive, which neither reader is given).
    """
    if format != FORMAT:
        raise errors.ModelLoadError(f"the exported model has format {format!r}; assay-torch reads {FORMAT!r}")
    try:
        return ExportedModel(program_reader.read(data))
    except program_archive.Unsupported:
        pass  # torch.export.load reads every program torch.export.save writes, importing torch._dynamo to do so
    try:
        program = torch.export.load(io.BytesIO(data))
    except Exception as exc:
        first_line = next(iter(str(exc).splitlines()), "")
        raise errors.ModelLoadError(f"the exported torch program cannot be read ({type(exc).__name__}: "
                                    f"{first_line}); it is damaged or was written by another torch version") from exc
    return ExportedModel(program.module())
