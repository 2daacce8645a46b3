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
    summary = ensemble_report.summary(ensemble_id)
    return {"ensemble": summary, "significance": versus_best(summary)}


def versus_best(summary: dict[str, Any]) -> dict[str, Any]:
    """``queue.compare(ensemble, best)`` against the leaderboard's rank-1 combination on the ensemble's metric, on
    ``test`` when the ensemble has it and was not selected on it (else on its selection split, marked optimistic):
    the numbers, a sentence and the posterior as a PNG data URI, or the reason it cannot be computed."""
    from assay import errors
    from assay.evaluation import comparison, leaderboard

    splits = [entry["split"] for entry in summary["splits"]]
    split = "test" if "test" in splits and summary["split"] != "test" else summary["split"]
    shown = {"a_name": f"ensemble {summary['id']}", "b_name": "the best combination", "split": split}
    try:
        board = leaderboard.leaderboard(summary["queue_id"], significance=False)
        ranked = board[board["rank"].notna()]
        if ranked.empty:
            return {**shown, "error": "the queue has no ranked combination to compare with"}
        best = int(ranked.iloc[0]["combo_index"])
        shown["b_name"] = f"combination {best}"
        result = comparison.compare(summary["queue_id"], comparison.EnsembleSide(summary["id"]), best,
                                    metric=summary["metric"], split=split)
    except errors.ValidationError as exc:
        return {**shown, "error": str(exc)}
    return {**shown, "error": None, "summary": result.summary, "rows": comparison.comparison_rows(result),
            "image": comparison.comparison_png(result)}
