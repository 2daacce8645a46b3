"""Time-series forecasting in Keras: the daily climate of Delhi, a week ahead by a day.

``feature_window`` turns the rows of the series (one per day, oldest first) into windows of 7 days; each
window's label is the window one day later, so the model learns to forecast its own features and no label
column is needed. Splits keep time order: the last windows are the test split, the ones before them validation,
and windows straddling a boundary are dropped, so no model is evaluated on days it trained on. The scaler is
fitted on the train windows' days only.

Forecast metrics are computed on the original scale (the scaler is inverted): MAE, RMSE and R² over every
forecast value, and per step of the window (``mae_step_7`` is the error on the one new day).

Runs on the embedded SQLite default (a file under the user data directory; ASSAY_DATABASE_URL overrides it).
"""

import assay  # noqa: I001 (first: importing assay keeps the C++ start-up logs of TensorFlow quiet)
from assay import datum
from keras import Input, Sequential
from keras.layers import LSTM, Dense
from sklearn.preprocessing import StandardScaler

assay.setup()
df = datum.to_pandas('delhi_climate')   # 1575 days: temperature, humidity, wind, pressure (and day_of_year)

splitset = assay.Pipeline.Tabular.make(
    df_or_path=df,
    feature_cols_excluded=['day_of_year'],
    feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=['float64'])],
    feature_window=dict(size_window=7, size_shift=1, record_shifted=True),
    size_test=0.15, size_validation=0.15,
)

hyperparameters = {"neuron_count": [16], "epoch_count": [4]}

def fn_build(features_shape, label_shape, **hp):
    # (7 days, 4 columns) in, (7 days, 4 columns) out: one LSTM output per day, then the 4 columns of each day
    return Sequential([Input(shape=features_shape),
                       LSTM(hp['neuron_count'], return_sequences=True),
                       Dense(label_shape[-1])])

def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    model.compile(loss=loser, optimizer=optimizer)
    model.fit(samples_train["features"], samples_train["labels"],
              validation_data=(samples_evaluate["features"], samples_evaluate["labels"]),
              verbose=0, batch_size=32, epochs=hp['epoch_count'])
    return model

queue = assay.Experiment.make(
    library="keras", analysis_type="regression",
    fn_build=fn_build, fn_train=fn_train,   # defaults: mean squared error, Adamax
    repeat_count=1, hyperparameters=hyperparameters,
    splitset_id=splitset.id,
)
queue.run_jobs()

if __name__ == "__main__":
    predictor = queue.predictors[0]
    test = predictor.metrics["test"]
    print(f"test forecast: MAE {test['mae']:.3f}, RMSE {test['rmse']:.3f}, R² {test['r2']:.3f}; "
          f"the new day: MAE {test['mae_step_7']:.3f}")
    predictor.predictions["test"].plot_forecast(window=-1).savefig("delhi_forecast.png")
    forecast = predictor.infer(df.tail(30))   # the latest 7 of these days forecast the next window
    print(forecast.round(2).to_string())
