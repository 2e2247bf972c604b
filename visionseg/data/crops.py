"""Training crops that see every defect class as often as the others.

albumentations' ``CropNonEmptyMaskIfExists`` centres a crop on a random defect *pixel*, so
a stain of 3000 pixels is cropped a hundred times as often as a 30-pixel scratch in the
same image. :class:`BalancedDefectCrop` first draws one of the defect values present in the
mask, uniformly, then a pixel of it: on a class mask every present class is equally likely;
on an instance-label mask every instance is.
"""

from __future__ import annotations

from typing import Any

import albumentations as A
import numpy as np


class BalancedDefectCrop(A.CropNonEmptyMaskIfExists):
    """``CropNonEmptyMaskIfExists`` with the crop centre drawn per defect value, not per
    pixel (same arguments; ``ignore_values`` are never centred on)."""

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]
                                     ) -> dict[str, Any]:
        if "mask" not in data:
            return super().get_params_dependent_on_data(params, data)
        mask = self._preprocess_mask(data["mask"])
        if mask.ndim == 3:
            mask = mask.max(axis=-1)
        height, width = mask.shape[:2]
        values = np.unique(mask)
        values = values[values != 0]
        if len(values):
            chosen = values[self.py_random.randrange(len(values))]
            ys, xs = np.nonzero(mask == chosen)
            pick = self.py_random.randrange(len(ys))
            x_min = int(np.clip(xs[pick] - self.py_random.randint(0, self.width - 1), 0,
                                width - self.width))
            y_min = int(np.clip(ys[pick] - self.py_random.randint(0, self.height - 1), 0,
                                height - self.height))
        else:
            x_min = self.py_random.randint(0, width - self.width)
            y_min = self.py_random.randint(0, height - self.height)
        return {"crop_coords": (x_min, y_min, x_min + self.width, y_min + self.height)}
