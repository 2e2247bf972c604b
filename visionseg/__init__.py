"""visionseg: defect segmentation for factory inspection, with honest baselines."""

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

__version__ = "0.1.0"
