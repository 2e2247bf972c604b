"""Compare trained checkpoints and classical baselines on one split: ``python evaluate.py``.

See configs/evaluate.yaml for every option and docs/evaluation.md for the outputs.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("VISIONSEG_ROOT", str(Path(__file__).resolve().parent))

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from visionseg.apps.evaluate import run  # noqa: E402
from visionseg.cli import check_arguments  # noqa: E402


@hydra.main(version_base="1.3", config_path="configs", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    code = run(cfg)
    if code:
        sys.exit(code)


if __name__ == "__main__":
    check_arguments(sys.argv[1:])
    main()
