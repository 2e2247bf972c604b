"""Train a segmentation model: python train.py [group=option] [key=value] (see README.md)."""

import os
import sys
from pathlib import Path

os.environ.setdefault("VISIONSEG_ROOT", str(Path(__file__).resolve().parent))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from visionseg.cli import check_arguments, user_errors  # noqa: E402


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    from visionseg.training.run import train

    with user_errors():
        summary = train(cfg)
    return summary.get("defect_mIoU")


if __name__ == "__main__":
    check_arguments(sys.argv[1:])
    sys.exit(main())
