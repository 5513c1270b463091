"""What backing up a trial after every epoch costs (trainer.backup, src/training/backup.py).

For each recurrent model of the main command (IMDB defaults, 25,000-review vocabulary and
lengths), the model is built and trained for one epoch on a few reviews, then the backup
`TrainingBackup` writes after every epoch (weights with optimizer state, the random streams, the
epoch) is written `--saves` times; the table gives the mean seconds per save and the backup's
size. Set against the epoch times of docs/benchmarks.md, this is the cost per epoch. Results in
benchmarks/results/backup-<stamp>.csv. Run it on an otherwise idle machine.

    python benchmarks/backup_cost.py [--source ../shared/data/aclImdb_v1_labeled.tar.gz] [--saves 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from hydra import compose, initialize_config_dir

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from src.training.backup import TrainingBackup  # noqa: E402
from src.training.trainer import build_model, prepare_data  # noqa: E402


def measure(model: str, source: str, saves: int) -> dict[str, float | str]:
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[f"model={model}", f"data.source={source}", "data.n_train=64", "data.n_test=64"])
    data = prepare_data(cfg)
    network = build_model(cfg, data)
    network.fit(data.x_train, data.y_train, epochs=1, batch_size=32, verbose=0)  # builds the optimizer's state
    with tempfile.TemporaryDirectory() as folder:
        backup = TrainingBackup(Path(folder) / "backup")
        backup.set_model(network)
        backup._current_epoch = 1
        backup._save_model()  # the first save creates the folder
        start = time.perf_counter()
        for _ in range(saves):
            backup._save_model()
        seconds = (time.perf_counter() - start) / saves
        size = sum(path.stat().st_size for path in (Path(folder) / "backup").iterdir())
    return {"model": model, "n_params": network.count_params(), "backup_mb": size / 1e6, "seconds_per_save": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(ROOT.parent / "shared" / "data" / "aclImdb_v1_labeled.tar.gz"))
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--models", default="simplernn,lstm,gru")
    args = parser.parse_args()
    table = pd.DataFrame([measure(model, args.source, args.saves) for model in args.models.split(",")])
    out = ROOT / "benchmarks" / "results" / f"backup-{time.strftime('%Y%m%d-%H%M%S')}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    print(table.to_string(index=False))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
