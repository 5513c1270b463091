"""Names Keras accepts in the config: activations, initializers (and which have a scale), metrics.

Listed here, not read from Keras, because the config checks answer a mistake before Keras and
TensorFlow are imported (importing them takes 5-10 s). tests/test_keras_names.py compares each
list with the installed Keras, so an upgrade that adds or drops a name fails a test. Abstract
bases (`Metric`, `Initializer`) are left out: Keras looks them up but cannot train with them.
"""

from __future__ import annotations

# keras.activations' functions, as `keras.activations.get` and the layers' `activation=` take them.
ACTIVATIONS = frozenset(
    {
        "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish",
        "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish", "relu", "relu6", "selu",
        "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign", "sparse_plus", "sparse_sigmoid",
        "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink", "threshold",
    }
)  # fmt: skip

# `keras.initializers.get` names, and whether `src.models.initializers.scaled_initializer` can
# set a scale on each (a variance scale, a standard deviation or a gain).
SCALABLE_INITIALIZERS = frozenset(
    {
        "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform", "Orthogonal",
        "OrthogonalInitializer", "RandomNormal", "TruncatedNormal", "VarianceScaling", "glorot_normal",
        "glorot_uniform", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform", "normal", "orthogonal",
        "random_normal", "truncated_normal", "variance_scaling",
    }
)  # fmt: skip
UNSCALABLE_INITIALIZERS = frozenset(
    {
        "Identity", "IdentityInitializer", "Ones", "RandomUniform", "STFT", "STFTInitializer", "Zeros",
        "identity", "one", "ones", "random_uniform", "stft", "uniform", "zero", "zeros",
    }
)  # fmt: skip
INITIALIZERS = SCALABLE_INITIALIZERS | UNSCALABLE_INITIALIZERS

# `keras.metrics.get` names that need no arguments (IoU and the *AtRecall family need some).
METRICS = frozenset(
    {
        "AUC", "Accuracy", "BCE", "BinaryAccuracy", "BinaryCrossentropy", "BinaryIoU", "CategoricalAccuracy",
        "CategoricalCrossentropy", "CategoricalHinge", "ConcordanceCorrelation", "CosineSimilarity",
        "F1Score", "FBetaScore", "FalseNegatives", "FalsePositives", "Hinge", "KLDivergence", "LogCoshError",
        "MAE", "MAPE", "MSE", "MSLE", "Mean", "MeanAbsoluteError", "MeanAbsolutePercentageError",
        "MeanSquaredError", "MeanSquaredLogarithmicError", "PearsonCorrelation", "Poisson",
        "Precision", "R2Score", "Recall", "RootMeanSquaredError", "SparseCategoricalAccuracy",
        "SparseCategoricalCrossentropy", "SparseTopKCategoricalAccuracy", "SquaredHinge", "Sum",
        "TopKCategoricalAccuracy", "TrueNegatives", "TruePositives", "accuracy", "auc", "bce",
        "binary_accuracy", "binary_crossentropy", "binary_io_u", "categorical_accuracy",
        "categorical_crossentropy", "categorical_hinge", "concordance_correlation", "cosine_similarity",
        "f1_score", "f_beta_score", "false_negatives", "false_positives", "hinge", "kl_divergence",
        "log_cosh_error", "mae", "mape", "mean", "mean_absolute_error", "mean_absolute_percentage_error",
        "mean_squared_error", "mean_squared_logarithmic_error", "mse", "msle",
        "pearson_correlation", "poisson", "precision", "r2_score", "recall", "root_mean_squared_error",
        "sparse_categorical_accuracy", "sparse_categorical_crossentropy", "sparse_top_k_categorical_accuracy",
        "squared_hinge", "sum", "top_k_categorical_accuracy", "true_negatives", "true_positives",
    }
)  # fmt: skip
