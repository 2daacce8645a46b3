"""Interpolation of sequence samples: fill each sample's gaps along its own timesteps, before the encoders.

``Pipeline.Sequence.make(feature_interpolaters=[dict(interpolate_kwargs=..., columns=[...], dtypes=...)])`` (and
step by step ``feature.make_interpolaterset().make_featureinterpolater(...)``, AIQC's FeatureInterpolater of a 3-D
feature) names features whose missing values ``pandas.DataFrame.interpolate`` fills, as AIQC 3.1.1 did: one
DataFrame per sample, one row per timestep and one column per feature, interpolated down the timesteps (default
arguments ``method="linear", limit_direction="both"``).

No sample borrows another's values, so no split borrows another split's: a sample is interpolated from its own
timesteps only, the same way whichever split holds it and at inference. Nothing is fitted; the steps are stored with
the splitset and applied every time samples are encoded (``samples_for``, ``predictor.infer``, bundles). A feature
with no value at all in a sample stays missing there: an imputing encoder must fill it, or the sample is refused.

``dtypes`` select features by dtype as for tables, but a sequence's features share the array's one dtype: AIQC's
``dtypes="float64"`` selects every feature of a float64 array (those no earlier step took) and is refused for an
array of another dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from assay import errors
from assay.data import interpolation, sequence
from assay.data.interpolation import SPEC_KEYS, Interpolater, check_kwargs


def parse(specs: Any, names: list[str], dtype: Any, probe: np.ndarray | None = None) -> list[Interpolater]:
    """Validate ``feature_interpolaters`` of sequence samples whose features (kept) are ``names``, of ``dtype``.

    ``probe``: a few raw samples (features ``names``) each step is tried on, so that arguments pandas refuses
    fail before anything is written.
    """
    specs = interpolation.spec_list(specs)
    if not specs:
        return []
    dtype = np.dtype(dtype)
    steps: list[Interpolater] = []
    taken: set[str] = set()
    for position, spec in enumerate(specs):
        parameter = f"feature_interpolaters[{position}]"
        if not isinstance(spec, dict):
            raise errors.DataError(parameter, f"expected a dict, got {type(spec).__name__}")
        unknown = sorted(set(spec) - SPEC_KEYS)
        if unknown:
            raise errors.DataError(parameter, f"unknown key(s) {unknown}; allowed keys: {sorted(SPEC_KEYS)}")
        if not np.issubdtype(dtype, np.floating):
            raise errors.DataError(parameter, f"interpolation fills gaps in float samples only, but they are {dtype} "
                                   "(which holds no NaN); leave feature_interpolaters out, or store floats "
                                   "(feature_dtype='float64')")
        kwargs = check_kwargs(spec.get("interpolate_kwargs"), f"{parameter}.interpolate_kwargs")
        chosen = _chosen(spec, names, dtype, taken, parameter)
        taken.update(chosen)
        dtypes = spec.get("dtypes")
        step = Interpolater("feature", position, kwargs, chosen,
                            None if dtypes is None else [str(d) for d in _listed(dtypes)],
                            None if spec.get("columns") is None else chosen_by_columns(spec["columns"], names,
                                                                                       parameter))
        if probe is not None:
            _dry_run(step, probe, names)
        steps.append(step)
    return steps


def _listed(value: Any) -> list[Any]:
    return [value] if isinstance(value, (str, type, np.dtype)) else list(value)


def chosen_by_columns(columns: Any, names: list[str], parameter: str) -> list[str]:
    """The features ``columns`` names (``"feature_3"``, AIQC's ``"3"`` or indices), in feature order."""
    return [names[i] for i in sequence.feature_indices(columns, names, f"{parameter}.columns")]


def _chosen(spec: dict[str, Any], names: list[str], dtype: np.dtype, taken: set[str], parameter: str) -> list[str]:
    chosen: list[str] = []
    if spec.get("columns") is not None:
        chosen = chosen_by_columns(spec["columns"], names, parameter)
        twice = [name for name in chosen if name in taken]
        if twice:
            raise errors.DataError(f"{parameter}.columns",
                                   f"{twice} are already interpolated by an earlier feature interpolater")
    if spec.get("dtypes") is not None:
        try:
            wanted = {np.dtype(d) for d in _listed(spec["dtypes"])}
        except TypeError as exc:
            raise errors.DataError(f"{parameter}.dtypes", f"{spec['dtypes']!r} is not a dtype: {exc}") from None
        if dtype not in wanted:
            raise errors.DataError(f"{parameter}.dtypes", f"{spec['dtypes']!r} matches no feature: every feature of "
                                   f"these samples is {dtype}; give dtypes={str(dtype)!r}, or leave dtypes out")
        matched = [name for name in names if name not in taken and name not in chosen]
        if not matched:
            raise errors.DataError(f"{parameter}.dtypes", f"{spec['dtypes']!r} matches only features earlier feature "
                                   "interpolaters take; remove this step")
        chosen += matched
    if spec.get("columns") is None and spec.get("dtypes") is None:
        chosen = [name for name in names if name not in taken]
        if not chosen:
            raise errors.DataError(parameter, "there is no feature left to interpolate")
    return [name for name in names if name in chosen]


def _dry_run(step: Interpolater, probe: np.ndarray, names: list[str]) -> None:
    frame = pd.DataFrame(np.asarray(probe[0], dtype=np.float64)[:, [names.index(c) for c in step.columns]])
    try:
        frame.interpolate(**step.kwargs)
    except (ValueError, TypeError, ImportError) as exc:
        raise errors.DataError(f"{step.parameter}.interpolate_kwargs",
                               f"pandas.DataFrame.interpolate(**{step.kwargs!r}) fails: {exc}") from exc


def apply(steps: list[Interpolater], samples: np.ndarray, names: list[str]) -> np.ndarray:
    """``samples`` (samples x timesteps x ``names``) with each step's features interpolated along each sample's own
    timesteps; a new array when anything is filled (``samples`` is never changed), else ``samples`` itself."""
    out = samples
    for step in steps:
        columns = [names.index(c) for c in step.columns]
        gappy = np.flatnonzero(np.isnan(samples[..., columns]).any(axis=(1, 2)))
        if not len(gappy):
            continue
        if out is samples:
            out = samples.copy()
        for row in gappy:  # only samples with gaps: pandas leaves the others as they are
            frame = pd.DataFrame(out[row][:, columns])
            try:
                filled = frame.interpolate(**step.kwargs)
            except (ValueError, TypeError, ImportError) as exc:
                raise errors.DataError(f"{step.parameter}.interpolate_kwargs",
                                       f"pandas interpolate failed: {exc}") from exc
            out[row][:, columns] = filled.to_numpy(dtype=out.dtype)
    return out
