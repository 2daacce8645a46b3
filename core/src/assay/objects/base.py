"""Base class of the user-facing persisted objects (``assay.Splitset``, ``assay.Queue``, ...).

Each wraps one ORM row loaded with ``expire_on_commit=False``, so its columns stay readable after the session
closed. Related objects and large blobs are read through explicit queries, never lazy relationships, so user
code never meets a detached-instance error.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from assay.db.models import Base
from assay.db.queries import data as queries

T = TypeVar("T", bound="Persisted")


class Persisted:
    """A persisted object: ``.id``, ``get(id)``, column attributes read from its row."""

    _row_type: ClassVar[type[Base]]

    def __init__(self, row: Base):
        self._row = row

    @property
    def id(self) -> int:
        return self._row.id  # type: ignore[attr-defined]

    @classmethod
    def get(cls: type[T], id: int) -> T:
        """Load the object with this id (also from another process)."""
        return cls(queries.row(cls._row_type, id, cls.__name__))

    @classmethod
    def all(cls: type[T]) -> list[T]:
        """Every stored object of this class, oldest first."""
        return [cls(row) for row in queries.rows(cls._row_type)]

    def refresh(self: T) -> T:
        """Reload this object's columns from the database."""
        self._row = type(self).get(self.id)._row
        return self

    def _column(self, name: str) -> Any:
        """Read one (deferred) column of this row, e.g. a blob."""
        return queries.column_value(self._row_type, self.id, name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        table = self._row_type.__table__
        if name in table.columns and name not in self._row.__dict__:
            return self._column(name)  # deferred column, read on request
        return getattr(self._row, name)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.id == self.id  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self.id}>"
