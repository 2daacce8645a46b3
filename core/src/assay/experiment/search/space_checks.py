"""The hyperparameter space, checked and converted: each name's list of values or ``assay.space`` range, as the
user gives it, as stored (JSON), as Optuna distributions and parameters, and as a key that identifies a
combination."""

from __future__ import annotations

from typing import Any

from assay import errors, space
from assay.db import jsontype


def check_space(hyperparameters: Any) -> dict[str, Any]:
    """The user's hyperparameters checked: name → list of JSON values, or an ``assay.space`` range."""
    if hyperparameters is None or hyperparameters == {}:
        return {}
    if not isinstance(hyperparameters, dict):
        raise errors.ExperimentError(
            "hyperparameters",
            f"must be a dict of lists or ranges such as {{'epochs': [10, 20], 'lr': assay.space.Float(1e-4, 1e-1, "
            f"log=True)}}, got {type(hyperparameters).__name__}",
        )
    checked: dict[str, Any] = {}
    for key, values in hyperparameters.items():
        # any string reaches **hp, identifier or not (AIQC grids use keys such as "2nd_dense_neurons")
        if not isinstance(key, str) or not key:
            raise errors.ExperimentError("hyperparameters", f"key {key!r} must be a non-empty string")
        if space.is_range(values):
            checked[key] = values
            continue
        if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple, range)):
            raise errors.ExperimentError(
                "hyperparameters", f"{key!r} must map to a list of values or an assay.space range, e.g. "
                f"{{{key!r}: [{values!r}]}} or assay.space.Int(1, 10)"
            )
        if len(values) == 0:
            raise errors.ExperimentError("hyperparameters", f"{key!r} has an empty list; give at least one value")
        if not jsontype.is_storable(list(values)):
            raise errors.ExperimentError(
                "hyperparameters", f"{key!r} holds values that cannot be stored (only numbers, strings, booleans, "
                "None, lists, tuples, dicts, numpy scalars, dtypes and classes); pass a name and build the object "
                "inside your function"
            )
        checked[key] = list(values)
    return checked


def has_ranges(checked: dict[str, Any]) -> bool:
    return any(space.is_range(values) for values in checked.values())


def stored_space(checked: dict[str, Any]) -> dict[str, Any]:
    """The space as stored in ``hyperparamset.grid``: lists as lists, ranges as their JSON document."""
    return {name: values.to_json() if space.is_range(values) else values for name, values in checked.items()}


def loaded_space(stored: dict[str, Any]) -> dict[str, Any]:
    return {name: space.from_json(values) for name, values in stored.items()}


def space_size(checked: dict[str, Any]) -> float:
    """How many distinct combinations the space holds (``inf`` with a real-valued range)."""
    size: float = 1
    for values in checked.values():
        size *= values.size if space.is_range(values) else len(values)
    return size


def distributions(checked: dict[str, Any]) -> dict[str, Any]:
    """Optuna distributions of the space. Lists become a categorical over their indices (any JSON value works)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    result: dict[str, Any] = {}
    for name, values in checked.items():
        if isinstance(values, space.Int):
            result[name] = IntDistribution(values.low, values.high, step=values.step, log=values.log)
        elif isinstance(values, space.Float):
            result[name] = FloatDistribution(values.low, values.high, log=values.log)
        else:
            result[name] = CategoricalDistribution(list(range(len(values))))
    return result


def to_params(checked: dict[str, Any], hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """A stored combination as Optuna params (list values as their index); ``None`` if it is outside the space."""
    params: dict[str, Any] = {}
    for name, values in checked.items():
        if name not in hyperparameters:
            return None  # type: ignore[return-value]
        value = hyperparameters[name]
        if space.is_range(values):
            params[name] = value
        else:
            try:
                params[name] = values.index(value)
            except ValueError:
                return None  # type: ignore[return-value]
    return params


def from_params(checked: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Optuna params back to the hyperparameters a user function receives (plain ints and floats)."""
    values: dict[str, Any] = {}
    for name, choices in checked.items():
        value = params[name]
        if isinstance(choices, space.Int):
            values[name] = int(value)
        elif isinstance(choices, space.Float):
            values[name] = float(value)
        else:
            values[name] = choices[int(value)]
    return values


def combination_key(hyperparameters: dict[str, Any]) -> str:
    import json

    # the stored (JSON) form, so numpy scalars, dtypes and classes compare like the values read back
    return json.dumps(jsontype.encode(hyperparameters), sort_keys=True, default=str)
