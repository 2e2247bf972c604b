"""Export a trained checkpoint for the line: python export.py ckpt=... format=onnx output=DIR

See configs/export.yaml for every option and docs/line.md for the outputs.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("VISIONSEG_ROOT", str(Path(__file__).resolve().parent))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from visionseg.cli import check_arguments, user_errors  # noqa: E402


@hydra.main(version_base="1.3", config_path="configs", config_name="export")
def main(cfg: DictConfig) -> None:
    from visionseg.apps.export import export

    with user_errors():
        export(cfg)


if __name__ == "__main__":
    check_arguments(sys.argv[1:])
    main()
