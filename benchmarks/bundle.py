"""Bundles without pickle against today's cloudpickle bundles: export time, file size and load time.

One torch model (iris, a 12-unit MLP) is trained once. Its bundle is written the new way (a ``torch.export``
program checked against the model, skops encoders) and the way assay wrote bundles before format 2 (the
``state_dict``, ``functions.cloudpickle`` with ``fn_build``, pickled encoders), built from the same stored model.
Each is timed ``--rounds`` times (median): export, and load = ``load_bundle`` + loading the model and encoders +
predicting one row (what a fresh process pays before its first answer).

    python benchmarks/bundle.py --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import zipfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from overhead import iris_splitset  # noqa: E402

import assay  # noqa: E402
from assay import datum, plugins  # noqa: E402
from assay.db.queries import experiments as queries  # noqa: E402
from assay.experiment.functions import serialise_functions  # noqa: E402
from assay.experiment.trained import Trained  # noqa: E402
from assay.inference import bundle as bundles  # noqa: E402
from assay.inference import export as exporting  # noqa: E402


def fn_build(features_shape, label_shape, **hp):
    import torch

    return torch.nn.Sequential(torch.nn.Linear(features_shape[0], 12), torch.nn.ReLU(),
                               torch.nn.Linear(12, label_shape[0]))


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=5,
                                  batch_size=8, seed=0)


def cloudpickle_members(predictor_id: int) -> dict[str, bytes]:
    """The bundle as assay wrote it before format 2, from the same stored model and encoders."""
    members = exporting.bundle_members(predictor_id)
    document = json.loads(members.pop("manifest.json"))
    family = plugins.encoder_family_named("sklearn")
    for name in [name for name in members if name.startswith("model.")]:
        del members[name]
    members["model.pt"] = queries.model_blob(predictor_id)
    members["functions.cloudpickle"] = serialise_functions({"fn_build": Trained.load(predictor_id).functions[
        "fn_build"]})
    for entry in [document["encoders"]["label"], *document["encoders"]["features"]]:
        fitted = family.safe_loads(members.pop(entry["file"]), [])
        entry["file"] = entry["file"].replace(".skops", ".bin")
        members[entry["file"]] = family.dumps(fitted)
        del entry["format"], entry["trusts"]
    document.update(format_version=1, model_file="model.pt", model_format="torch_state_dict",
                    functions_file="functions.cloudpickle", functions=["fn_build"],
                    trusts=dict.fromkeys(members, "pickle"))
    del document["export"], document["metrics"]
    members["manifest.json"] = json.dumps(document).encode()
    return members


def timed(function, rounds: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        assay.setup(f"sqlite:///{Path(folder) / 'assay.sqlite3'}")
        splitset = iris_splitset()
        df = datum.to_pandas("iris.tsv")
        queue = assay.Experiment.make(library="torch", analysis_type="classification_multi", fn_build=fn_build,
                                      fn_train=fn_train, hyperparameters={"unused": [0]}, splitset_id=splitset.id)
        queue.run_jobs(progress=False)
        predictor_id = queue.predictors[0].id
        row = df.drop(columns="species").head(1)
        new_path, old_path = Path(folder, "new.assay"), Path(folder, "old.assay")

        old_members = cloudpickle_members(predictor_id)

        def write_old() -> None:  # what export did before: read the model, cloudpickle fn_build, zip
            members = {**old_members, "model.pt": queries.model_blob(predictor_id),
                       "functions.cloudpickle": serialise_functions(
                           {"fn_build": Trained.load(predictor_id).functions["fn_build"]})}
            with zipfile.ZipFile(old_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name, data in members.items():
                    archive.writestr(name, data)

        new_export, _ = timed(lambda: exporting.export(predictor_id, new_path), args.rounds)
        old_export, _ = timed(write_old, args.rounds)
        new_load, _ = timed(lambda: bundles.load_bundle(new_path).predict(row), args.rounds)
        old_load, _ = timed(lambda: bundles.load_bundle(old_path, trust=True).predict(row), args.rounds)
        rows = [("export (ms)", new_export * 1e3, old_export * 1e3),
                ("file size (KB)", new_path.stat().st_size / 1024, old_path.stat().st_size / 1024),
                ("load + 1 row (ms)", new_load * 1e3, old_load * 1e3)]
        print(f"torch iris MLP, median of {args.rounds} rounds (cloudpickle export: reading the stored model, "
              "cloudpickling fn_build, zipping with the stored encoder pickles)")
        print(f"{'':<20}{'torch.export+skops':>20}{'cloudpickle':>14}{'ratio':>8}")
        for name, new, old in rows:
            print(f"{name:<20}{new:>20.1f}{old:>14.1f}{new / old:>8.2f}")


if __name__ == "__main__":
    main()
