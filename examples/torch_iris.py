"""The README example in PyTorch: iris, multi-class, a 2x2x2 grid repeated twice (16 trained models).

Torch has no ``fit``: ``fn_train`` calls the plugin's training helper ``assay_torch.fit`` in one line and returns
the model with its per-epoch history. The model ends in logits, one per class: the default loss,
``nn.CrossEntropyLoss``, applies the softmax itself, and the one-hot labels reach it as class indices.

Runs on the embedded SQLite default (a file under the user data directory; ASSAY_DATABASE_URL overrides it).
"""

from sklearn.preprocessing import OneHotEncoder, StandardScaler
from torch import nn

import assay
import assay_torch
from assay import datum

assay.setup()                      # creates or finds the SQLite database, migrates it to head
df = datum.to_pandas('iris.tsv')  # built-in datasets

splitset = assay.Pipeline.Tabular.make(
    df_or_path=df,
    label_column='species',
    label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
    feature_cols_excluded='species',
    feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=['float64'])],
    size_test=0.22, size_validation=0.12, fold_count=None, bin_count=None,
)

hyperparameters = {"neuron_count": [9, 12], "batch_size": [3, 5], "epoch_count": [30, 60]}

def fn_build(features_shape, label_shape, **hp):
    return nn.Sequential(
        nn.Linear(features_shape[0], hp['neuron_count']), nn.ReLU(),
        nn.Linear(hp['neuron_count'], label_shape[0]),   # logits: nn.CrossEntropyLoss applies the softmax
    )

def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate,
                                  epochs=hp['epoch_count'], batch_size=hp['batch_size'])

queue = assay.Experiment.make(
    library="torch", analysis_type="classification_multi",
    fn_build=fn_build, fn_train=fn_train,
    fn_lose=None, fn_optimize=None, fn_predict=None,   # defaults: nn.CrossEntropyLoss, Adamax, (argmax, softmax)
    repeat_count=2, hyperparameters=hyperparameters,
    splitset_id=splitset.id, hide_test=False,
)
queue.run_jobs()   # 16 models: 8 combinations x 2 repeats

if __name__ == "__main__":
    best = max(queue.predictors, key=lambda p: p.metrics["validation"]["accuracy"])
    print(f"best of {len(queue.predictors)} models: {best.hyperparameters} -> "
          f"validation accuracy {best.metrics['validation']['accuracy']:.3f}, "
          f"test accuracy {best.metrics['test']['accuracy']:.3f}")
