"""Exceptions raised by assay. Every one subclasses :class:`AssayError`.

Messages name the parameter at fault and say how to fix it; only the command line turns them into exit codes.
"""

from __future__ import annotations


class AssayError(Exception):
    """Base class of every error assay raises on purpose."""


class ConfigurationError(AssayError):
    """assay is set up wrongly (database URL, environment variable, plugin settings)."""


class DatabaseError(AssayError):
    """The database cannot be used as it is."""


class DatabaseUnavailableError(DatabaseError):
    """The database did not answer for longer than the retry budget (``ASSAY_DB_RETRY_SECONDS``)."""


class DiskFullError(DatabaseError):
    """The disk holding the database (or a file being written) is full; nothing of the job being stored was
    written, and the job went back to the queue."""


class SchemaTooNewError(DatabaseError):
    """The database was migrated by a newer assay than the one installed."""


class PluginError(AssayError):
    """A plugin failed to load, or answered a hook wrongly."""


class PluginLoadError(PluginError):
    """A plugin's entry point could not be imported (raised in strict mode only)."""


class ModelLoadError(PluginError):
    """A library's plugin cannot load a stored or bundled model: corrupt bytes, another library's format, or an
    architecture that no longer fits the weights."""


class ModelExportError(PluginError):
    """A library's plugin cannot write a model as a program that loads without the user's code (an unsupported
    operation, data-dependent control flow); the bundle then keeps the user's functions and needs trust."""


class LibraryNotFoundError(PluginError):
    """No installed plugin provides the requested machine-learning library."""


class AnalysisTypeNotFoundError(PluginError):
    """No installed plugin provides the requested analysis type."""


class ValidationError(AssayError, ValueError):
    """A parameter value is wrong. ``parameter`` names it."""

    def __init__(self, parameter: str, message: str):
        self.parameter = parameter
        self.message = message
        super().__init__(f"{parameter}: {message}")

    def renamed(self, parameter: str) -> ValidationError:
        """The same error (class and message) naming ``parameter`` instead: a step's own name for a pipeline's
        parameter it shares checks with."""
        return type(self)(parameter, self.message)


class DataError(ValidationError):
    """The data handed to assay cannot be used (empty, unreadable, NaNs, duplicate columns...)."""


class EncoderError(ValidationError):
    """An encoder specification is unusable."""


class SplitError(ValidationError):
    """The requested splits or folds cannot be made from this data."""


class ExperimentError(ValidationError):
    """An experiment definition (functions, hyperparameters, analysis type) is unusable."""


class SchemaMismatchError(ValidationError):
    """New data for inference does not match the columns or dtypes a model was trained on."""


class BundleError(ValidationError):
    """A bundle file cannot be used: not a bundle, a damaged or incomplete manifest, or a newer format."""


class TrustError(BundleError):
    """A bundle holds parts that run code when loaded (the user's functions, pickled encoders) and the caller did
    not accept them: ``load_bundle(path, trust=True)`` or ``--trust`` does, for a bundle whose author is trusted."""


class NotFoundError(AssayError, LookupError):
    """An object with the requested id does not exist in the database."""


class JobError(AssayError):
    """A job failed; the stored traceback says why."""
