"""Keep a trained Keras model as an MLflow model (the `keras` flavor), so it loads and predicts later.

    info = log_trained_model(result.model, example_inputs=result.data.x_train[:5], run_id=run_id)
    predict = mlflow.pyfunc.load_model(info.model_uri).predict     # or mlflow.keras.load_model
    probabilities = predict(token_ids)                             # shape (n, 1), P(positive)

The model takes what the trainer fed it, not raw review text: for IMDB token ids, int32 of
shape (n, data.maxlen), made by `src.data.tokenize` with the vocabulary fitted on the training
reviews (`data.num_words`, `data.truncating`, `data.padding`). The vocabulary is not part of
the artifact: the trainer only ever sees the cached ids, and a `TextVectorization` layer alone
cannot reproduce the pre-truncation (last `maxlen` words) the ids use.

MLflow's `keras` flavor is the one written for Keras 3 (it saves a `.keras` file); the
`tensorflow` flavor expects tf.keras models.
"""

from __future__ import annotations

import keras
import mlflow
import numpy as np
import tensorflow as tf
from mlflow.models import ModelSignature, infer_signature

ARTIFACT_NAME = "model"


def log_trained_model(
    model: keras.Model, example_inputs: np.ndarray, run_id: str | None = None, name: str = ARTIFACT_NAME
) -> mlflow.models.model.ModelInfo:
    """Log `model` as an MLflow model of run `run_id` (default: the active run) and return its info.

    `example_inputs` (a few rows of what the model was trained on) give the model's signature,
    so MLflow checks the type and shape of whatever it is asked to predict on. Inside the
    run's own `with mlflow.start_run()` block it logs there; otherwise it reopens the run
    for the logging only.
    """
    signature = _signature(model, example_inputs)
    # Pinned requirements: MLflow would otherwise infer them by loading the model again in
    # a subprocess, seconds per logged model for a list we already know.
    requirements = [f"tensorflow=={tf.__version__}", f"keras=={keras.__version__}"]
    active = mlflow.active_run()
    if run_id is None or (active is not None and active.info.run_id == run_id):
        if active is None:
            raise RuntimeError("log_trained_model needs a run_id or an active MLflow run")
        return mlflow.keras.log_model(model, name=name, signature=signature, pip_requirements=requirements)
    with mlflow.start_run(run_id=run_id, nested=active is not None):
        return mlflow.keras.log_model(model, name=name, signature=signature, pip_requirements=requirements)


def _signature(model: keras.Model, example_inputs: np.ndarray) -> ModelSignature:
    return infer_signature(example_inputs, model.predict(example_inputs, verbose=0))
