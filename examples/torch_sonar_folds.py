"""Binary classification in PyTorch with cross-validation: sonar returns, rock (R) or mine (M), 3 folds.

Every combination of the grid runs on every fold: 2 combinations x 3 folds = 6 trained models. Each fold's
validation rows are the ``samples_evaluate`` its models see; the test split stays the same for all folds.
The model ends in one sigmoid unit, which the default loss ``nn.BCELoss`` and the default predict (threshold
at 0.5) expect; the label is one 0/1 column (``OrdinalEncoder``: M is 0, R is 1).

Runs on the embedded SQLite default (a file under the user data directory; ASSAY_DATABASE_URL overrides it).
"""

import numpy as np
from sklearn.preprocessing import OrdinalEncoder, StandardScaler
from torch import nn

import assay
import assay_torch
from assay import datum

assay.setup()
df = datum.to_pandas('sonar.csv')   # 208 rows, 60 frequency bands, label column 'object'

splitset = assay.Pipeline.Tabular.make(
    df_or_path=df,
    label_column='object',
    label_encoder=dict(sklearn_preprocess=OrdinalEncoder()),
    feature_cols_excluded='object',
    feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=['float64'])],  # fitted per fold
    size_test=0.2, size_validation=None, fold_count=3, bin_count=None,
)

hyperparameters = {"neuron_count": [16, 32], "batch_size": [8], "epoch_count": [25]}

def fn_build(features_shape, label_shape, **hp):
    return nn.Sequential(
        nn.Linear(features_shape[0], hp['neuron_count']), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(hp['neuron_count'], 1), nn.Sigmoid(),   # a probability: what nn.BCELoss and the threshold expect
    )

def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate,
                                  epochs=hp['epoch_count'], batch_size=hp['batch_size'])

queue = assay.Experiment.make(
    library="torch", analysis_type="classification_binary",
    fn_build=fn_build, fn_train=fn_train,   # defaults: nn.BCELoss, Adamax, (threshold at 0.5, sigmoid output)
    repeat_count=1, hyperparameters=hyperparameters,
    splitset_id=splitset.id, hide_test=False,
)
queue.run_jobs()   # 6 models: 2 combinations x 3 folds

if __name__ == "__main__":
    for neuron_count in hyperparameters["neuron_count"]:
        predictors = [p for p in queue.predictors if p.hyperparameters["neuron_count"] == neuron_count]
        scores = [p.metrics["validation"]["roc_auc"] for p in predictors]
        print(f"neuron_count={neuron_count}: validation roc_auc over {len(scores)} folds "
              f"{np.mean(scores):.3f} +/- {np.std(scores):.3f}, "
              f"test accuracy {np.mean([p.metrics['test']['accuracy'] for p in predictors]):.3f}")
