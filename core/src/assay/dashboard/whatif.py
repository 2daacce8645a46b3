"""AIQC 7's what-if form on a predictor's page: change one raw feature, see the prediction and probabilities.

One field per original feature column, typed by its training dtype (numbers, true/false, categories), starting at
the training split's median (numbers) or most frequent value (anything else). A prediction runs the stored model
through its own fitted encoders (:class:`assay.inference.infer.Inference`), exactly as ``predictor.infer`` does,
but stores nothing: the dashboard only reads. Tabular models only; other kinds say why.

Fields are named by position (``f0``, ``f1``...), never by column name, so a column name is only ever shown as text.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd

from assay import errors
from assay.dashboard.formatting import number
from assay.inference.schema import dtype_kind

#: distinct training values up to which a text column gets a list to choose from
CHOICES_MAX = 60
#: models kept loaded for what-if requests (loading a model costs far more than predicting one row)
CACHED_MODELS = 4


def _shown(value: Any) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(float(value))
    return str(value)


class WhatIf:
    """The form of each predictor and the models behind it (a few kept loaded)."""

    def __init__(self) -> None:
        self._inferences: OrderedDict[int, Any] = OrderedDict()
        self._forms: dict[int, dict[str, Any]] = {}  # a stored model's form never changes
        self._lock = threading.Lock()

    def _splitset(self, predictor_id: int) -> Any:
        from assay.data.read.splitsets import SplitsetData
        from assay.experiment.trained import Trained

        trained = Trained.load(predictor_id)
        return trained, SplitsetData.load(trained.queue.splitset_id)

    def form(self, predictor_id: int) -> dict[str, Any]:
        """``{"supported": True, "fields": [...]}`` or ``{"supported": False, "reason": ...}``."""
        if predictor_id not in self._forms:
            self._forms[predictor_id] = self._form(predictor_id)
        return self._forms[predictor_id]

    def page(self, predictor_id: int, query: Any) -> dict[str, Any]:
        """The form as the predictor page shows it: the values asked for (``f0=...``, else the defaults) and their
        prediction, or the error that names the value the model cannot take."""
        form = self.form(predictor_id)
        if not form["supported"]:
            return form
        values = {field["name"]: str(query.get(field["name"], field["default"]))[:500] for field in form["fields"]}
        fields = [{**field, "value": values[field["name"]]} for field in form["fields"]]
        try:
            return {**form, "fields": fields, "result": self.predict(predictor_id, values), "error": None}
        except errors.AssayError as exc:
            # a value the model refuses, or a model its plugin cannot load: the page still shows, saying which
            return {**form, "fields": fields, "result": None, "error": str(exc)}

    def _form(self, predictor_id: int) -> dict[str, Any]:
        _, splitset = self._splitset(predictor_id)
        if splitset.kind != "tabular":
            return {"supported": False, "reason": f"The what-if form takes one row of a table; this model was trained "
                    f"on {splitset.kind} data."}
        if splitset.window is not None:
            return {"supported": False, "reason": "This model forecasts windows of rows; the what-if form takes one "
                    "row. Use predictor.infer(recent_rows)."}
        frame = splitset.frame()
        rows = frame.iloc[np.asarray(splitset.row_indices("train"), dtype=np.int64)]
        fields = []
        for position, column in enumerate(splitset.feature_columns):
            dtype = str(splitset.feature_dtypes[column])
            kind = dtype_kind(dtype)  # datetime and other kinds are offered as text
            values = rows[column].dropna()
            field: dict[str, Any] = {"name": f"f{position}", "column": column, "dtype": dtype, "kind": kind}
            if kind in ("integer", "float"):
                median = float(values.median()) if len(values) else 0.0
                field["default"] = _shown(round(median) if kind == "integer" else median)
                field["min"], field["max"] = (_shown(values.min()), _shown(values.max())) if len(values) else ("", "")
                field["step"] = "1" if kind == "integer" else "any"
            else:
                counts = values.astype(str).value_counts(sort=False)
                # most frequent first; ties in order of first appearance, as the data has them
                field["default"] = str(counts.idxmax()) if len(counts) else ""
                field["choices"] = sorted(counts.index)[:CHOICES_MAX] if len(counts) <= CHOICES_MAX else None
                if kind == "bool":
                    field["choices"] = ["True", "False"]
            fields.append(field)
        return {"supported": True, "fields": fields, "label_column": splitset.label_column}

    def _inference(self, predictor_id: int) -> Any:
        from assay.experiment.trained import Trained
        from assay.inference.infer import inference_for

        with self._lock:
            if predictor_id in self._inferences:
                self._inferences.move_to_end(predictor_id)
                return self._inferences[predictor_id]
        inference = inference_for(Trained.load(predictor_id))
        with self._lock:
            self._inferences[predictor_id] = inference
            while len(self._inferences) > CACHED_MODELS:
                self._inferences.popitem(last=False)
        return inference

    def predict(self, predictor_id: int, values: dict[str, str]) -> dict[str, Any]:
        """The prediction (and probabilities) of one row made of the form's ``values`` (``f0``... -> text), the
        fields not given at their defaults.

        Raises:
            assay.errors.ValidationError: a value that is not of its field's type, or that the model's encoders
                refuse (an unknown category, ...), naming the column.
        """
        form = self.form(predictor_id)
        if not form["supported"]:
            raise errors.ValidationError("predictor", form["reason"])
        row: dict[str, Any] = {}
        for field in form["fields"]:
            text = str(values.get(field["name"], field["default"]))[:500]
            row[field["column"]] = _parse(field, text)
        df = pd.DataFrame([row])
        for field in form["fields"]:
            if field["kind"] != "text":
                df[field["column"]] = df[field["column"]].astype(field["dtype"])
        inference = self._inference(predictor_id)
        try:
            outcome = inference.predict(df, parameter="what-if")
        except errors.AssayError as exc:
            raise errors.ValidationError("what-if", str(exc)) from exc
        result = outcome.frame.iloc[0]
        probabilities = [(str(name[len("probability_"):]), float(result[name]))
                         for name in outcome.frame.columns if str(name).startswith("probability_")]
        return {"prediction": _shown(result["prediction"]) if not isinstance(result["prediction"], str)
                else result["prediction"],
                "probabilities": [{"class": name, "probability": value, "shown": number(value)}
                                  for name, value in probabilities],
                "label_column": form["label_column"]}


def _parse(field: dict[str, Any], text: str) -> Any:
    kind, column = field["kind"], field["column"]
    if kind == "text":
        return text
    if kind == "bool":
        if text not in ("True", "False"):
            raise errors.ValidationError(column, f"must be True or False, got {text!r}")
        return text == "True"
    try:
        value = float(text.strip())
    except ValueError:
        raise errors.ValidationError(column, f"must be a number ({field['dtype']}), got {text!r}") from None
    if not np.isfinite(value):
        raise errors.ValidationError(column, f"must be a finite number, got {text!r}")
    if kind == "integer":
        if not value.is_integer():
            raise errors.ValidationError(column, f"must be a whole number ({field['dtype']}), got {text!r}")
        return int(value)
    return value
