"""`hydra/sweeper=optuna`: an Optuna study over Hydra's sweep syntax, with pruning, two
objectives, resume and MLflow links. `config.py` holds the options, `optuna_sweeper.py` is the
plugin Hydra finds, `_impl.py` the sweep loop (modules starting with `_` are not scanned by
Hydra, so Optuna is imported only when this sweeper is used)."""
