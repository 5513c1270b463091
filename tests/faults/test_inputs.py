"""Inputs that used to slip through end in one line naming the key, before any run.

Configs are composed with Hydra's compose API from the project's conf/, as the entry point
composes them, then checked by `validate_config`; one real CLI call shows the exit code.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from src.errors import ConfigError
from src.validation import validate_config

CONF = Path(__file__).resolve().parents[2] / "conf"


@pytest.fixture()
def composed(mini_archive, cache_dir):
    """compose(overrides) -> the config `python -m src.train OVERRIDES` would run, on the mini archive.

    `++` because a preset may switch to data without a source (binary_addition); there the
    two keys are known (conf/data/imdb.yaml has them) and unused.
    """
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        yield lambda *overrides, small=True: compose(
            "config",
            overrides=[
                *overrides,
                f"++data.source={mini_archive}",
                f"++data.cache_dir={cache_dir}",
                *(["data.n_train=100"] if small else []),
            ],
        )


REFUSED = [
    (["trainer.seed=-1"], "trainer.seed=-1", "whole number >= 0"),
    (["trainer.seed=abc"], "trainer.seed=abc", "whole number >= 0"),
    (["trainer.seed=1.5"], "trainer.seed=1.5", "whole number >= 0"),
    (["data.num_words=1"], "data.num_words=1", ">= 3"),
    (["data.num_words=2"], "data.num_words=2", ">= 3"),
    (["tracking.experiment_name=''"], "tracking.experiment_name=''", "non-empty"),
    (["tracking.experiment_name=' '"], "tracking.experiment_name=' '", "non-empty"),
    (["trainer.verbose=7"], "trainer.verbose=7", "0 (silent)"),
    (["trainer.verbose=-1"], "trainer.verbose=-1", "0 (silent)"),
    (["tracking.outage_s=-1"], "tracking.outage_s=-1", "a number of seconds >= 0"),
    (["trainer.backup=sometimes"], "trainer.backup=sometimes", "true (a lost trial's rerun"),
    (["trainer.backup_dir=''"], "trainer.backup_dir=''", "a folder every node of the cluster reaches"),
    (["+model.unitz=3"], "model.unitz=3", "did you mean model.units?"),
    (["+trainer.epoch=3"], "trainer.epoch=3", "did you mean trainer.epochs?"),
    (["+foo.bar=1"], "foo.bar=1", "known keys: data, model, optimizer, tracking, trainer"),
    (["+optimizer.learning_rat=0.1"], "optimizer.learning_rat=0.1", "did you mean optimizer.learning_rate?"),
]


@pytest.mark.parametrize(("overrides", "named", "allowed"), REFUSED, ids=[r[1] for r in REFUSED])
def test_bad_input_is_refused_naming_key_value_and_what_is_allowed(composed, overrides, named, allowed):
    with pytest.raises(ConfigError) as refused:
        validate_config(composed(*overrides))
    message = str(refused.value)
    assert message.startswith(f"{named} is not allowed: ") and allowed in message
    assert "\n" not in message


ACCEPTED = [
    [],
    ["trainer.seed=0"],
    ["trainer.verbose=0"],
    ["trainer.verbose=2"],
    ["trainer.backup=false"],
    ["trainer.backup_dir=/shared/backups"],
    ["data.num_words=3"],
    # A key only another option of the group defines is known once that option is chosen.
    ["model=gru", "model.unroll=true"],
    ["model=pretrained"],
    ["optimizer=sgd", "optimizer.momentum=0.9"],
    ["tracking.experiment_name=my-study"],
]


@pytest.mark.parametrize("overrides", ACCEPTED, ids=lambda o: " ".join(o) or "defaults")
def test_good_input_is_accepted(composed, overrides):
    validate_config(composed(*overrides))


def test_every_sweep_preset_uses_known_keys_only(composed):
    presets = sorted((CONF.parent / "sweeps").glob("*.yaml"))
    assert presets
    for preset in presets:
        # As the preset sets it: not every task has data.n_train (iris uses all 150 flowers).
        validate_config(composed(f"+sweeps={preset.stem}", small=False))


def test_no_validation_split_is_refused_when_the_objective_is_a_validation_metric(composed):
    cfg = composed("trainer.validation=split", "trainer.validation_split=0")
    with pytest.raises(ConfigError, match=r"^trainer.validation_split=0 is not allowed: .*val_acc"):
        validate_config(cfg, objectives=["val_acc"])
    early_stopping = composed("trainer.validation=split", "trainer.validation_split=0", "trainer.early_stopping.enabled=true")
    with pytest.raises(ConfigError, match="trainer.early_stopping.monitor=val_loss"):
        validate_config(early_stopping)


def test_no_validation_split_is_warned_once_otherwise(composed, caplog):
    from src.validation import _warn_once

    _warn_once.cache_clear()
    with caplog.at_level(logging.WARNING, logger="src.validation"):
        for _ in range(3):  # a sweep checks every point
            validate_config(composed("trainer.validation=split", "trainer.validation_split=0"), objectives=["test_acc"])
    warnings = [r.getMessage() for r in caplog.records if r.name == "src.validation"]
    assert warnings == ["trainer.validation_split=0: no validation data, so no val_* metrics are logged"]


@pytest.mark.slow
def test_unknown_key_on_the_command_line_exits_2_with_one_line(run_cli, tmp_path):
    done = run_cli("+model.unitz=3", check=False)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "error: model.unitz=3 is not allowed: an unknown key (see conf/); did you mean model.units?"
    )
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "mlruns").exists()


@pytest.mark.parametrize("argument", ["model.units=choice()", "model.units=choice(4,"])
def test_an_override_hydra_cannot_parse_is_one_line_and_exit_2(argument, capsys):
    from src.command_line import refuse_command_line_mistakes

    with pytest.raises(SystemExit) as stop:
        refuse_command_line_mistakes(["-m", "model=lstm", argument])
    assert stop.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {argument} is not allowed: Hydra's override syntax (")
