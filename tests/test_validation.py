"""Bad values stop the command in seconds, with one line naming the key, and leave no MLflow run.

The rows go through Hydra's compose API and `validate_config` in-process (the check the
entry point and the sweepers run); two real CLI calls check what the user sees: one
`error:` line, exit code 2, no traceback, no MLflow store.
"""

from __future__ import annotations

import time

import pytest
from hydra.errors import MissingConfigException

from src.data.imdb_archive import DataSourceError
from src.errors import ConfigError
from src.validation import validate_config

BAD_VALUES = [
    (["model=lstm", "model.units=-3"], "model.units=-3"),
    (["model.embedding_dim=0"], "model.embedding_dim=0"),
    (["trainer.epochs=0"], "trainer.epochs=0"),
    (["trainer.batch_size=-1"], "trainer.batch_size=-1"),
    (["data.maxlen=0"], "data.maxlen=0"),
    (["data.num_words=0"], "data.num_words=0"),
    (["model.dropout=1.0"], "model.dropout=1.0"),
    (["model.recurrent_dropout=-0.1"], "model.recurrent_dropout=-0.1"),
    (["model.activation=tanhh"], "model.activation=tanhh"),
    (["model=gru", "model.recurrent_activation=nope"], "model.recurrent_activation=nope"),
    (["optimizer.learning_rate=0"], "optimizer.learning_rate=0"),
    (["optimizer=sgd", "optimizer.learning_rate=-0.1"], "optimizer.learning_rate=-0.1"),
    (["data.n_train=600"], "data.n_train=600"),
    (["data.n_train=1"], "data.n_train=1"),
    (["data.n_train=450"], "data.n_train=450"),
    (["trainer.validation=split", "data.n_train=3"], "data.n_train=3"),
    (["trainer.validation_size=499"], "trainer.validation_size=499"),
    (["trainer.validation=fixd"], "trainer.validation=fixd"),
    (["trainer.validation_seed=-1"], "trainer.validation_seed=-1"),
    (["data.truncating=middle"], "data.truncating=middle"),
    (
        ["trainer.early_stopping.enabled=true", "trainer.early_stopping.monitor=val_accuracy"],
        "trainer.early_stopping.monitor=val_accuracy",
    ),
    (["trainer.early_stopping.enabled=true", "trainer.early_stopping.patience=-1"], "trainer.early_stopping.patience=-1"),
    (["tracking.ui_url=localhost:5000"], "tracking.ui_url=localhost:5000"),
]


@pytest.mark.parametrize(("overrides", "named"), BAD_VALUES, ids=[b[1] for b in BAD_VALUES])
def test_bad_value_is_refused_in_one_line(compose_config, overrides, named):
    cfg = compose_config(*overrides)
    with pytest.raises(ConfigError) as refused:
        validate_config(cfg)
    message = str(refused.value)
    assert message.startswith(named + " is not allowed: ") and "\n" not in message, message


def test_the_defaults_pass(compose_config):
    validate_config(compose_config())
    validate_config(compose_config("data=binary_addition"))


def test_model_that_cannot_take_the_data_says_why(compose_config):
    with pytest.raises(ConfigError) as refused:
        validate_config(compose_config("data=binary_addition", "model=dense_bow"))
    message = str(refused.value)
    assert "model=dense_bow" in message and "token_ids" in message and "features" in message


def test_missing_source_names_the_key(compose_config, tmp_path):
    with pytest.raises(DataSourceError, match="data.source="):
        validate_config(compose_config(f"data.source={tmp_path / 'nowhere.tar.gz'}"))


def test_unknown_optimizer_lists_the_choices(compose_config):
    with pytest.raises(MissingConfigException) as refused:
        compose_config("optimizer=adamw_typo")
    assert "optimizer" in str(refused.value) and "adam" in str(refused.value) and "sgd" in str(refused.value)


def test_the_cli_prints_one_error_line_and_exits_2(run_cli, tmp_path):
    start = time.perf_counter()
    done = run_cli("model=lstm", "model.units=-3", check=False)
    assert time.perf_counter() - start < 30
    assert done.returncode == 2
    error_lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert error_lines == ["error: model.units=-3 is not allowed: a whole number > 0"], done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "mlruns").exists(), "no MLflow run for a refused config"


@pytest.mark.slow
def test_one_bad_grid_point_stops_the_sweep_before_training(run_cli, tmp_path):
    done = run_cli("-m", "model=simplernn,lstm", "model.units=4,-3", "trainer.epochs=1", check=False)
    assert done.returncode == 2
    error_lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "model.units=-3" in error_lines[0], done.stderr[-2000:]
    assert "[trial]" not in done.stdout, "no trial may start"
    assert not (tmp_path / "mlruns").exists(), "no parent or child run for a refused sweep"


def test_the_sweeps_point_check_is_given_its_objectives(mini_archive, cache_dir):
    # conf/config.yaml names the check as a partial with `objectives: ${hydra.sweeper.objectives}`,
    # as the sweepers build it: a val_* objective without a validation split is refused per point.
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from tests.conftest import CONF

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            config_name="config",
            overrides=["trainer.validation=split", "trainer.validation_split=0"],
            return_hydra_config=True,
        )
    check = instantiate(cfg.hydra.sweeper.point_check)
    assert check.keywords["objectives"] == ["val_acc"]
    point = OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])
    point.data.source, point.data.cache_dir = str(mini_archive), str(cache_dir)
    with pytest.raises(ConfigError, match=r"^trainer\.validation_split=0 is not allowed: .*the sweep optimizes val_acc"):
        check(point)
