"""Segment images with a checkpoint or a baseline: python infer.py ckpt=... input=... output=..."""

import os
import sys
from pathlib import Path

os.environ.setdefault("VISIONSEG_ROOT", str(Path(__file__).resolve().parent))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from visionseg.cli import check_arguments, user_errors  # noqa: E402


@hydra.main(version_base="1.3", config_path="configs", config_name="infer")
def main(cfg: DictConfig) -> None:
    if cfg.get("watch"):  # a watched folder (visionseg.serving.watcher), as serve.py runs it
        from visionseg.apps.serve import watch as run
    else:
        from visionseg.apps.infer import infer as run

    with user_errors():
        summary = run(cfg)
    if summary.failed:
        print(
            f"error: {summary.failed} image(s) failed; see {cfg.output}/summary.json",
            file=sys.stderr,
        )
        raise SystemExit(1)


if __name__ == "__main__":
    check_arguments(sys.argv[1:])
    main()
