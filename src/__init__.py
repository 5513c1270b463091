"""seqsweep: run and compare hyperparameter sweeps of Keras sequence models."""

import os

# TensorFlow prints several lines of C++ start-up chatter per process; keep errors only
# unless the user asked for more.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
