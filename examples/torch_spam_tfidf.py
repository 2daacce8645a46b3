"""Text classification in PyTorch: SMS messages, ham or spam, from a TF-IDF encoding of the raw text.

The text column ``TextData`` is a feature like any other: ``TfidfVectorizer`` is its encoder
(``columns=['TextData']``), fitted on the train rows only, so words seen only in validation or test do not enter
the vocabulary. ``max_features`` sets the vocabulary size, hence the width of the features. The vectorizer's
sparse output is densified a few hundred rows at a time into the float32 features the model trains on.

A trained model then predicts raw strings: ``predictor.infer`` takes a DataFrame with a ``TextData`` column.

Runs on the embedded SQLite default (a file under the user data directory; ASSAY_DATABASE_URL overrides it).
"""

import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import OrdinalEncoder
from torch import nn

import assay
import assay_torch
from assay import datum

assay.setup()
df = datum.to_pandas('spam')   # 1000 SMS messages: columns 'label' (ham/spam) and 'TextData'

splitset = assay.Pipeline.Tabular.make(
    df_or_path=df,
    label_column='label',
    label_encoder=dict(sklearn_preprocess=OrdinalEncoder()),   # ham is 0, spam is 1
    feature_encoders=[dict(sklearn_preprocess=TfidfVectorizer(max_features=500, stop_words='english'),
                           columns=['TextData'])],
    size_test=0.2, size_validation=0.2,
)

hyperparameters = {"neuron_count": [16, 32], "batch_size": [16], "epoch_count": [20]}

def fn_build(features_shape, label_shape, **hp):
    return nn.Sequential(
        nn.Linear(features_shape[0], hp['neuron_count']), nn.ReLU(),
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
queue.run_jobs()   # 2 models

if __name__ == "__main__":
    best = max(queue.predictors, key=lambda p: p.metrics["validation"]["roc_auc"])
    print(f"best of {len(queue.predictors)} models: {best.hyperparameters} -> "
          f"validation roc_auc {best.metrics['validation']['roc_auc']:.3f}, "
          f"test accuracy {best.metrics['test']['accuracy']:.3f}")
    new_messages = pd.DataFrame({"TextData": ["WINNER! Claim your free prize now, call 09061701461",
                                              "Are we still meeting for lunch tomorrow?"]})
    print(best.infer(new_messages)[["prediction", "probability_spam"]].to_string())
    importance = best.feature_importance("test", permutation_count=2)   # the text column is one feature
    print(importance[["feature", "importance_mean"]].to_string(index=False))
