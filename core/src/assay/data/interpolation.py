"""Interpolation: fill gaps in float columns with ``pandas.DataFrame.interpolate``, split by split.

``feature_interpolaters=[dict(interpolate_kwargs=dict(method="linear"), dtypes=[...], columns=[...])]`` and
``label_interpolater=dict(interpolate_kwargs=...)`` (AIQC's spelling) name float columns whose missing values are
interpolated before the encoders see them.

How no split borrows another split's values: interpolation has nothing to fit, so instead of a fit on train rows
each set of rows is interpolated *on its own*. The rows of one split (or of one fold's train or validation part)
are taken in dataset order and interpolated among themselves only; a test row's gap is filled from test rows,
never from a train row next to it. At inference the new rows are interpolated among themselves the same way.
Encoders are then fitted on the interpolated train rows. The stored dataset is never changed: interpolation is
applied again every time a split is encoded, from the specification stored with the splitset.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pandas as pd

from assay import errors

SPEC_KEYS = {"interpolate_kwargs", "dtypes", "columns"}
LABEL_KEYS = {"interpolate_kwargs"}
#: pandas' defaults are forward-only (``limit_direction="forward"``): a split starting with a gap would keep it
DEFAULT_KWARGS: dict[str, Any] = {"method": "linear", "limit_direction": "both"}
#: keys that would change the data in place, or interpolate across columns instead of along rows
FORBIDDEN_KWARGS = {"inplace": "the stored data is never changed in place",
                    "axis": "interpolation runs along rows (axis=0) only",
                    "downcast": "columns stay float"}


@attrs.frozen
class Interpolater:
    """One interpolation step: its ``pandas.DataFrame.interpolate`` keyword arguments and its float columns."""

    role: str  # "feature" | "label"
    position: int
    kwargs: dict[str, Any]
    columns: list[str]
    dtypes: list[str] | None = None
    columns_selected: list[str] | None = None

    @property
    def parameter(self) -> str:
        return "label_interpolater" if self.role == "label" else f"feature_interpolaters[{self.position}]"

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "position": self.position, "kwargs": dict(self.kwargs),
                "columns": list(self.columns), "dtypes": self.dtypes, "columns_selected": self.columns_selected}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Interpolater:
        return cls(role=data["role"], position=int(data["position"]), kwargs=dict(data["kwargs"]),
                   columns=list(data["columns"]), dtypes=data.get("dtypes"),
                   columns_selected=data.get("columns_selected"))

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with this step's columns interpolated (a new frame; ``frame`` is left as it is)."""
        columns = [c for c in self.columns if c in frame.columns]
        if not columns or not frame[columns].isna().to_numpy().any():
            return frame
        out = frame.copy()
        try:
            out[columns] = frame[columns].interpolate(**self.kwargs)
        except (ValueError, TypeError, ImportError) as exc:
            raise errors.DataError(f"{self.parameter}.interpolate_kwargs", f"pandas interpolate failed: {exc}") from exc
        return out


def _as_list(value: Any) -> list[Any] | None:
    if value is None:
        return None
    if isinstance(value, (str, type, np.dtype)):
        return [value]
    return list(value)


def check_kwargs(kwargs: Any, parameter: str) -> dict[str, Any]:
    if kwargs is None:
        return dict(DEFAULT_KWARGS)
    if not isinstance(kwargs, dict) or not all(isinstance(key, str) for key in kwargs):
        raise errors.DataError(parameter, f"expected a dict of pandas.DataFrame.interpolate arguments, got {kwargs!r}")
    for key, why in FORBIDDEN_KWARGS.items():
        if key in kwargs and not (key == "axis" and kwargs[key] in (0, "index")):
            raise errors.DataError(parameter, f"{key!r} is not allowed: {why}; remove it")
    return {**DEFAULT_KWARGS, **kwargs}


def _check_float(frame: pd.DataFrame, columns: list[str], parameter: str) -> None:
    not_float = {c: str(frame[c].dtype) for c in columns if not pd.api.types.is_float_dtype(frame[c].dtype)}
    if not_float:
        raise errors.DataError(
            parameter,
            f"interpolation fills gaps in float columns only, but {not_float} are not float; select float columns "
            "(e.g. dtypes=['float64']) or convert them with df[column].astype(float)",
        )


def _dry_run(step: Interpolater, frame: pd.DataFrame) -> None:
    """Run the step once on a small piece of the data, so a bad argument fails before anything is written."""
    sample = frame[step.columns].head(64)
    try:
        sample.interpolate(**step.kwargs)
    except (ValueError, TypeError, ImportError) as exc:
        raise errors.DataError(
            f"{step.parameter}.interpolate_kwargs", f"pandas.DataFrame.interpolate(**{step.kwargs!r}) fails: {exc}"
        ) from exc


def spec_list(specs: Any) -> list[Any]:
    """``feature_interpolaters`` as a list of specs (one dict alone is a list of one; ``None`` none)."""
    if specs is None:
        return []
    if isinstance(specs, dict):
        return [specs]
    if not isinstance(specs, (list, tuple)):
        raise errors.DataError("feature_interpolaters",
                               "expected a list of dicts, e.g. [dict(interpolate_kwargs=dict(method='linear'))]")
    return list(specs)


def parse_feature_interpolaters(specs: Any, features: pd.DataFrame) -> list[Interpolater]:
    """Validate ``feature_interpolaters`` and give each step its float columns (no column in two steps)."""
    specs = spec_list(specs)
    steps, taken = [], set()
    for position, spec in enumerate(specs):
        parameter = f"feature_interpolaters[{position}]"
        if not isinstance(spec, dict):
            raise errors.DataError(parameter, f"expected a dict, got {type(spec).__name__}")
        unknown = sorted(set(spec) - SPEC_KEYS)
        if unknown:
            raise errors.DataError(parameter, f"unknown key(s) {unknown}; allowed keys: {sorted(SPEC_KEYS)}")
        kwargs = check_kwargs(spec.get("interpolate_kwargs"), f"{parameter}.interpolate_kwargs")
        dtypes, selected = _as_list(spec.get("dtypes")), _as_list(spec.get("columns"))
        chosen: list[str] = []
        if selected is not None:
            if not selected or not all(isinstance(c, str) for c in selected):
                raise errors.DataError(f"{parameter}.columns", f"must be a non-empty list of names, got {selected!r}")
            unknown_columns = [c for c in selected if c not in features.columns]
            if unknown_columns:
                raise errors.DataError(f"{parameter}.columns",
                                       f"{unknown_columns} are not feature columns; features: {list(features.columns)}")
            _check_float(features, selected, f"{parameter}.columns")
            chosen += selected
        if dtypes is not None:
            try:
                matched = list(features.iloc[:0].select_dtypes(include=dtypes).columns)
            except (TypeError, ValueError) as exc:
                raise errors.DataError(f"{parameter}.dtypes", f"{dtypes!r} is not a dtype: {exc}") from exc
            if not matched:
                raise errors.DataError(f"{parameter}.dtypes", f"{dtypes!r} matches no feature column")
            # as AIQC's FeatureInterpolater (and the feature encoders): dtypes match the columns earlier steps left
            matched = [c for c in matched if c not in taken and c not in chosen]
            if not matched:
                raise errors.DataError(f"{parameter}.dtypes", f"{dtypes!r} matches only columns earlier feature "
                                       "interpolaters take; remove this step or choose other dtypes")
            _check_float(features, matched, f"{parameter}.dtypes")
            chosen += matched
        if selected is None and dtypes is None:
            # every float column no earlier step took
            chosen = [c for c in features.columns if pd.api.types.is_float_dtype(features[c].dtype) and c not in taken]
            if not chosen:
                raise errors.DataError(parameter, "there is no float feature column left to interpolate")
        twice = [c for c in chosen if c in taken]
        if twice:
            raise errors.DataError(parameter, f"{twice} are already interpolated by an earlier feature interpolater")
        taken.update(chosen)
        step = Interpolater("feature", position, kwargs, [c for c in features.columns if c in chosen],
                            [str(d) for d in dtypes] if dtypes else None, selected)
        _dry_run(step, features)
        steps.append(step)
    return steps


def parse_label_interpolater(spec: Any, label: pd.Series | None) -> Interpolater | None:
    """Validate ``label_interpolater`` against the label column (which must hold floats)."""
    if spec is None:
        return None
    parameter = "label_interpolater"
    if label is None:
        raise errors.DataError(parameter, "needs a label_column; there is no label to interpolate")
    if not isinstance(spec, dict):
        raise errors.DataError(parameter, f"expected a dict such as dict(interpolate_kwargs=...), got {spec!r}")
    unknown = sorted(set(spec) - LABEL_KEYS)
    if unknown:
        raise errors.DataError(parameter, f"unknown key(s) {unknown}; allowed keys: {sorted(LABEL_KEYS)}")
    kwargs = check_kwargs(spec.get("interpolate_kwargs"), f"{parameter}.interpolate_kwargs")
    frame = label.to_frame()
    _check_float(frame, [label.name], parameter)
    step = Interpolater("label", 0, kwargs, [str(label.name)])
    _dry_run(step, frame)
    return step


def apply(steps: list[Interpolater], frame: pd.DataFrame) -> pd.DataFrame:
    """Interpolate ``frame``'s rows among themselves, in their dataset order, step by step.

    Rows are sorted by their index first (dataset row ids in a split; positions at inference) and put back in
    the order given afterwards, so the result lines up with ``frame``.
    """
    if not steps:
        return frame
    ordered = frame if frame.index.is_monotonic_increasing else frame.sort_index(kind="stable")
    for step in steps:
        ordered = step.apply(ordered)
    return ordered if ordered is frame else ordered.loc[frame.index]


def check_filled(steps: list[Interpolater], frame: pd.DataFrame, where: str) -> None:
    """Raise when an interpolated column still holds gaps (e.g. a split with no value to start from)."""
    for step in steps:
        left = [c for c in step.columns if c in frame.columns and frame[c].isna().any()]
        if left:
            raise errors.DataError(
                step.parameter,
                f"columns {left} still hold missing values in the {where} after interpolation (a split with no "
                "value in a column, or a limit in interpolate_kwargs); allow filling at the edges with "
                "limit_direction='both', impute the rest with an encoder, or drop those rows",
            )
