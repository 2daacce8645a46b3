"""Images with PyTorch: 80 grayscale brain MRI slices (1 x 160 x 120), tumor or not, a small CNN on 2 folds.

``Pipeline.Image.make`` reads the folder with Pillow into samples x channels x height x width: channels first,
as ``nn.Conv2d`` takes them, so ``fn_build`` gets ``features_shape = (1, 160, 120)``. (The same splitset used
with Keras hands Conv2D channels-last samples of shape (160, 120, 1); nobody transposes by hand.)

Runs on the embedded SQLite default (a file under the user data directory; ASSAY_DATABASE_URL overrides it).
"""

from sklearn.preprocessing import MinMaxScaler
from torch import nn

import assay
import assay_torch
from assay import datum

assay.setup()
folder = datum.get_image_folder('brain_tumor.csv')   # 80 .jpg files, read in natural order
labels = datum.image_labels('brain_tumor.csv')       # the label table in the same order

splitset = assay.Pipeline.Image.make(
    feature_folder_or_urls=folder,
    feature_encoders=[dict(sklearn_preprocess=MinMaxScaler(), axis="channel")],   # pixels to 0..1 per channel
    label_df_or_path=labels, label_column='status',
    size_test=0.2, fold_count=2,
)

hyperparameters = {"filters": [4], "batch_size": [8], "epoch_count": [8]}

def fn_build(features_shape, label_shape, **hp):
    channels, height, width = features_shape
    return nn.Sequential(
        nn.Conv2d(channels, hp['filters'], kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(4),
        nn.Conv2d(hp['filters'], hp['filters'], kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(4),
        nn.Flatten(),
        nn.Linear(hp['filters'] * (height // 16) * (width // 16), label_shape[0]), nn.Sigmoid(),
    )

def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate,
                                  epochs=hp['epoch_count'], batch_size=hp['batch_size'])

queue = assay.Experiment.make(
    library="torch", analysis_type="classification_binary",
    fn_build=fn_build, fn_train=fn_train,
    repeat_count=1, hyperparameters=hyperparameters, splitset_id=splitset.id,
)
queue.run_jobs()   # 2 models: one per fold

if __name__ == "__main__":
    for predictor in queue.predictors:
        print(f"fold {predictor.fold_index}: validation accuracy {predictor.metrics['validation']['accuracy']:.3f}, "
              f"test accuracy {predictor.metrics['test']['accuracy']:.3f}")
    print(queue.predictors[0].infer(datum.get_image_files('brain_tumor.csv')[:3]))   # new files, shape-checked
