"""MLflow tracking: the store, one run per trial, one parent run per multirun.

Training code never imports this package; `src.train` wires it in through Keras callbacks.
"""

import os

# MLflow 3 reports usage telemetry by default; machines without internet would only wait on it.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
