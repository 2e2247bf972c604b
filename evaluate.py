"""Compare trained checkpoints and classical baselines on one split: ``python evaluate.py``.

See configs/evaluate.yaml for every option and docs/evaluation.md for the outputs.
"""

import sys

import hydra
from omegaconf import DictConfig

from visionseg.evaluation.cli import apply_aliases, run


@hydra.main(version_base="1.3", config_path="configs", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    code = run(cfg)
    if code:
        sys.exit(code)


if __name__ == "__main__":
    sys.argv = apply_aliases(sys.argv)
    main()
