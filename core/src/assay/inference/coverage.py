"""``predictor.coverage(split)``: a stored conformal calibration measured on a split's stored predictions."""

from __future__ import annotations

from typing import Any

from assay import errors
from assay.db.queries import comparison as queries
from assay.evaluation import conformal as calibrating
from assay.inference import conformal


def coverage(predictor_id: int, split: str = "test") -> dict[str, Any]:
    """How a predictor's calibration does on ``split``: ``coverage`` (share of rows whose set or interval holds the
    true value; about ``1 - alpha`` or more on rows exchangeable with the calibration split), ``alpha``, ``n``,
    ``split``, ``method``, and ``mean_set_size`` (classification) or ``mean_interval_width`` (regression).

    Raises:
        assay.errors.ValidationError: the predictor is not calibrated, or has no predictions on ``split``.
    """
    calibration = queries.predictor_calibration(predictor_id)
    if not calibration:
        raise errors.ValidationError(
            "predictor", f"predictor {predictor_id} is not calibrated; call predictor.calibrate(alpha=0.1) first")
    frame, labels, _ = calibrating.stored_split(predictor_id, split)
    return {**conformal.coverage_of(calibration, frame, labels), "split": split}
