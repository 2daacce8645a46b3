"""Base class of the user-facing persisted objects (``assay.Splitset``, ``assay.Queue``, ...).

Each wraps one ORM row loaded with ``expire_on_commit=False``, so its columns stay readable after the session
closed. Related objects and large blobs are read through explicit queries, never lazy relationships, so user
code never meets a detached-instance error.

Every stored column a user may read is declared on the class with :class:`column`, so ``help()``, IDEs and type
checkers see it with its type and meaning (a test checks that each table column is declared).
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar, overload

from assay.db.models import Base
from assay.db.queries import data as queries

T = TypeVar("T", bound="Persisted")
V = TypeVar("V")


class column(Generic[V]):  # noqa: N801  (lower case: it reads like a field declaration)
    """A stored column of the object's row, read-only: ``library = column[str]("the ML library")``.

    Deferred columns (large blobs) are read from the database on first access.
    """

    def __init__(self, doc: str):
        self.__doc__ = doc
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> column[V]: ...

    @overload
    def __get__(self, obj: Persisted, owner: type | None = None) -> V: ...

    def __get__(self, obj: Persisted | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return obj._value(self.name)

    def __set__(self, obj: Persisted, value: Any) -> None:
        raise AttributeError(f"{type(obj).__name__}.{self.name} is stored: it cannot be changed")


class Persisted:
    """A persisted object: ``.id``, ``get(id)``, ``all()`` and its declared columns."""

    _row_type: ClassVar[type[Base]]

    def __init__(self, row: Base):
        self._row = row

    @property
    def id(self) -> int:
        """The object's id in its table."""
        return self._row.id  # type: ignore[attr-defined]

    @classmethod
    def get(cls: type[T], id: int) -> T:
        """Load the object with this id (also from another process)."""
        return cls(queries.row(cls._row_type, id, cls.__name__))

    @classmethod
    def get_by_id(cls: type[T], id: int) -> T:
        """AIQC's (peewee's) spelling of :meth:`get`, so ``Predictor.get_by_id(7)`` runs as AIQC scripts wrote it."""
        return cls.get(id)

    @classmethod
    def all(cls: type[T]) -> list[T]:
        """Every stored object of this class, oldest first."""
        return [cls(row) for row in queries.rows(cls._row_type)]

    def drop(self) -> dict[str, list[int]]:
        """Delete this object and everything that depends on it, in one transaction (AIQC 6's ``drop``).

        A dataset takes its labels, features, splitsets, folds, encoders, queues, jobs, predictors and
        predictions with it; a queue its jobs, predictors and predictions; a multi-input splitset its inputs'
        splitsets. Upstream objects stay (dropping a queue keeps its splitset and algorithm).

        Returns:
            ``{table: [ids]}`` of every row removed, this object's table first.

        Raises:
            assay.errors.ValidationError: (nothing is deleted) the cascade would remove jobs a worker is running,
                or part of a queue without the queue (a predictor, a fold its jobs train on...): drop the queue.
            assay.errors.NotFoundError: the object is gone already.
        """
        from assay.db.queries import lifecycle

        return lifecycle.drop(self._row_type.__tablename__, self.id, type(self).__name__)

    def refresh(self: T) -> T:
        """Reload this object's columns from the database."""
        self._row = type(self).get(self.id)._row
        return self

    def _column(self, name: str) -> Any:
        """Read one (deferred) column of this row from the database, e.g. a blob."""
        return queries.column_value(self._row_type, self.id, name)

    def _value(self, name: str) -> Any:
        """A column's value: from the loaded row, or read on request when the column is deferred."""
        if name not in self._row.__dict__:
            return self._column(name)
        return getattr(self._row, name)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.id == self.id  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self.id}>"


class PredictionArrays:
    """The arrays of a stored prediction, for a class whose ``_arrays`` reads them (a model's or an ensemble's)."""

    _arrays: dict[str, Any]

    @property
    def row_indices(self) -> Any:
        """The dataset rows this prediction covers, in order (``None`` for new data)."""
        return self._arrays.get("row_indices")

    @property
    def predictions(self) -> Any:
        """Predictions decoded to the original label values."""
        return self._arrays["predictions"]

    @property
    def probabilities(self) -> Any:
        """Positive-class probability (binary), one column per class (multi), ``None`` for regression."""
        return self._arrays.get("probabilities")

    @property
    def labels(self) -> Any:
        """The true label values of these rows, when known."""
        return self._arrays.get("labels")

    @property
    def classes(self) -> list[Any]:
        """Original class values, index-aligned with probability columns (empty for regression)."""
        classes = self._arrays.get("classes")
        return [] if classes is None else classes.tolist()
