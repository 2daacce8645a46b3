"""``assay.Pipeline.Tabular.make``: from a DataFrame or file to a persisted, encoded, split :class:`Splitset`.

Everything is checked, split and fitted in memory first; only then one transaction writes the dataset, label,
features, splitset, folds and encoders. Bad input therefore never leaves rows behind.
"""

from __future__ import annotations

from typing import Any

from assay.data import fitting, ingest, splitting
from assay.data.splitsets import SplitsetData
from assay.db.queries import data as data_queries
from assay.objects.data import Splitset


class Pipeline:
    """Pipelines that turn raw data into a persisted :class:`~assay.Splitset`. Tabular data: ``Pipeline.Tabular``."""

    class Tabular:
        """Tabular data: a DataFrame or a .csv/.tsv/.parquet file."""

        @staticmethod
        def make(
            df_or_path: Any,
            label_column: str | None = None,
            label_encoder: dict[str, Any] | None = None,
            feature_cols_excluded: str | list[str] | None = None,
            feature_encoders: list[dict[str, Any]] | None = None,
            size_test: float | None = None,
            size_validation: float | None = None,
            fold_count: int | None = None,
            bin_count: int | None = None,
            seed: int = splitting.DEFAULT_SEED,
            feature_interpolaters: list[dict[str, Any]] | None = None,
            label_interpolater: dict[str, Any] | None = None,
        ) -> Splitset:
            """Ingest, split, fit encoders and persist everything; returns the :class:`~assay.Splitset`.

            Args:
                df_or_path: a DataFrame, or the path of a ``.csv``, ``.tsv``, ``.parquet``/``.pq`` file.
                label_column: the column to predict; ``None`` for unsupervised data (no labels, no stratification).
                label_encoder: ``dict(sklearn_preprocess=OneHotEncoder())`` or another transformer. Categorical
                    encoders are fitted on all rows, others (scalers for regression) on the train rows only.
                feature_cols_excluded: column(s) that are not features; the label column never is one.
                feature_encoders: list of ``dict(sklearn_preprocess=..., dtypes=[...], columns=[...])``, applied
                    in order, each to the columns that match its dtypes and/or columns (all remaining columns when
                    neither is given) among those earlier encoders left. Remaining columns pass through as they
                    are and must be numeric. Non-categorical encoders are fitted on train rows only, and per fold.
                size_test: fraction of all rows held out for testing.
                size_validation: fraction of all rows for validation (needs ``size_test``; not with folds).
                fold_count: number of stratified cross-validation folds made on the train split.
                bin_count: quantile bins used to stratify a continuous label (default 4).
                seed: seed of the shuffling, so the same call gives the same splits.
                feature_interpolaters: list of ``dict(interpolate_kwargs=dict(method="linear", ...), dtypes=[...],
                    columns=[...])``: float feature columns whose gaps ``pandas.DataFrame.interpolate`` fills
                    (default arguments ``method="linear", limit_direction="both"``). Each split is interpolated
                    among its own rows, in dataset order, so no split borrows values from another; encoders are
                    fitted on the interpolated train rows, and inference interpolates the new rows the same way.
                label_interpolater: ``dict(interpolate_kwargs=...)`` for a float label column with gaps, applied
                    split by split like the feature interpolaters.

            Raises:
                assay.errors.ValidationError: (a subclass naming the parameter) for unusable input; nothing is
                    written then.
            """
            plan = fitting.plan(df_or_path, label_column, label_encoder, feature_cols_excluded, feature_encoders,
                         size_test, size_validation, fold_count, bin_count, seed, feature_interpolaters,
                         label_interpolater)
            fits, label_fit = fitting.fit_all(plan)
            return _write(plan, fits, label_fit)


def _write(plan: fitting.Plan, fits: list[fitting.Fit], label_fit: fitting.Fit | None) -> Splitset:
    """Store dataset, label, features, splitset, folds and encoders in one transaction."""
    label_columns, shapes = fitting.outputs(plan, fits, label_fit)
    with ingest.serialize(plan.df) as serialized:
        splitset_row, label_row, feature_row = data_queries.store_splitset(
            serialized, ingest.dataset_fields(plan.df, plan.name), label=label_columns,
            features=dict(columns=plan.feature_columns, columns_excluded=plan.excluded,
                          dtypes=ingest.dtype_names(plan.features)),
            splitset=dict(
                samples=fitting.as_lists(plan.samples),
                split_sizes={split: len(rows) for split, rows in plan.samples.items()}, **shapes,
                interpolaters=[step.to_json() for step in plan.interpolaters] or None, **plan.settings,
            ),
            folds=[fitting.as_lists(fold) for fold in plan.folds],
            encoders=[fitting.encoder_rows(fit) for fit in ([label_fit] if label_fit else []) + fits],
        )
    data = SplitsetData(splitset_row)
    # the data and related rows are in memory already: the first samples_for() need not read them back
    data.prime(plan.df, label_row, feature_row)
    return Splitset(splitset_row, data)
