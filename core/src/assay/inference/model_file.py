"""A trained model alone, as a file in its library's own format (AIQC's ``Predictor.export_model``).

The file holds the bytes the backend's ``assay_model_to_bytes`` stored (a Keras ``.keras`` archive, a torch
``state_dict``), so the library loads it with its own loader; unlike a bundle (:mod:`assay.inference.bundle`) it
carries no encoders, schema or functions.
"""

from __future__ import annotations

from pathlib import Path

from assay import errors
from assay.db.queries import experiments as queries
from assay.inference.bundle import MODEL_FILES


def model_suffix(library: str) -> str:
    """The file suffix of a library's stored model: ``.keras``, ``.pt``, ``.bin`` for another library's bytes."""
    return Path(MODEL_FILES.get(library, "model.bin")).suffix


def export_model(predictor_id: int, library: str, file_path: str | Path | None = None) -> str:
    """Write a predictor's stored model bytes to ``file_path``; returns the file's absolute path.

    Args:
        predictor_id: the trained model.
        library: its library (chooses the default suffix).
        file_path: the file to write (replaced if it exists), or an existing folder to write the default name
            into. ``None``: ``predictor<id>_model<suffix>`` in the current directory (AIQC wrote under its own
            app folder; assay writes nothing outside where it is asked, or the working directory).

    Raises:
        assay.errors.ValidationError: a Keras model's file not named ``*.keras`` (Keras 3 loads the archive only
            under that suffix; AIQC's ``.h5`` is another format), or a folder that does not exist.
    """
    suffix = model_suffix(library)
    path = Path(file_path) if file_path is not None else Path.cwd()
    if path.is_dir():
        path = path / f"predictor{predictor_id}_model{suffix}"
    if library == "keras" and path.suffix != suffix:
        raise errors.ValidationError(
            "file_path", f"{str(path)!r}: a Keras model is stored as a .keras archive, which keras.models.load_model "
            f"reads only from a file named *.keras; use e.g. {path.with_suffix(suffix).name!r}")
    if not path.parent.is_dir():
        raise errors.ValidationError("file_path", f"the folder {str(path.parent)!r} does not exist; create it first")
    path.write_bytes(queries.model_blob(predictor_id))
    return str(path.resolve())
