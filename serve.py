"""Serve a checkpoint or a baseline over HTTP: python serve.py ckpt=... (or method=otsu)"""

import os
import sys
from pathlib import Path

os.environ.setdefault("VISIONSEG_ROOT", str(Path(__file__).resolve().parent))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
# Idle OpenMP threads sleep rather than spin: on a busy line PC spinning torch threads wait
# on each other (predict ran 8x slower on a loaded 2-core machine). Before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from visionseg.cli import check_arguments, user_errors  # noqa: E402


@hydra.main(version_base="1.3", config_path="configs", config_name="serve")
def main(cfg: DictConfig) -> None:
    from visionseg.apps.serve import serve

    with user_errors():
        serve(cfg)


if __name__ == "__main__":
    check_arguments(sys.argv[1:])
    main()
