"""What the dashboard shows of ensembles: a section on the queue page and a page per ensemble (metrics per split
with their notes, member combinations and weights, the selection curve, the bundle)."""

from __future__ import annotations

from typing import Any

from assay.db.queries import ensembles as queries
from assay.evaluation import ensemble_report


def queue_ensembles(queue_id: int) -> list[dict[str, Any]]:
    """One line per ensemble of a queue, oldest first: id, method, selection, size and its test metrics."""
    lines = []
    for row in queries.ensemble_rows(queue_id):
        predictions = {prediction.split: prediction for prediction in queries.prediction_rows(row.id)}
        shown = "test" if "test" in predictions else row.split
        lines.append({"id": row.id, "method": row.method, "metric": row.metric, "split": row.split,
                      "combinations": sum(1 for c in row.candidates if c["weight"] > 0),
                      "candidates": row.candidate_count, "shown_split": shown,
                      "value": (predictions[shown].metrics or {}).get(row.metric) if shown in predictions else None})
    return lines


def ensemble_page(ensemble_id: int) -> dict[str, Any]:
    """The context of an ensemble's page (raises NotFoundError for an unknown id)."""
    return {"ensemble": ensemble_report.summary(ensemble_id)}
