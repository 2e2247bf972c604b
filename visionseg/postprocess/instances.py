"""Keeping a prediction's instances consistent with a mask that post-processing changed.

An instance keeps only the pixels where the new mask still shows its class. A pixel the
step added to class ``c`` joins the nearest instance of class ``c``; where the image has
no instance of that class, each added connected region becomes a new instance (score 0,
when the instances carry scores, so that ranking metrics treat it as least certain).
Instances left without pixels are dropped and the rest renumbered 1..n.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from visionseg.core.prediction import Instances
from visionseg.core.regions import label_components


def sync_instances(instances: Instances | None, mask: np.ndarray) -> Instances | None:
    """Instances restricted and extended to agree with the class mask ``mask``."""
    if instances is None:
        return None
    labels = instances.labels.copy()
    class_of = np.zeros(len(instances) + 1, np.int64)
    class_of[1:] = instances.classes
    labels[class_of[labels] != mask] = 0
    classes = list(instances.classes)
    scores = None if instances.scores is None else list(instances.scores)
    for class_id in np.flatnonzero(np.bincount(mask.ravel(), minlength=2)[1:]) + 1:
        added = (mask == class_id) & (labels == 0)
        if not added.any():
            continue
        own = (labels > 0) & (class_of[labels] == class_id)
        if own.any():
            _, (iy, ix) = ndi.distance_transform_edt(~own, return_indices=True)
            labels[added] = labels[iy[added], ix[added]]
            continue
        parts, areas = label_components(added)
        count = len(areas) + 1
        first = len(classes) + 1
        labels[added] = parts[added] + first - 1
        classes.extend([int(class_id)] * (count - 1))
        class_of = np.concatenate([class_of, np.full(count - 1, class_id)])
        if scores is not None:
            scores.extend([0.0] * (count - 1))
    counts = np.bincount(labels.ravel(), minlength=len(classes) + 1)
    kept = np.flatnonzero(counts[1:]) + 1
    lut = np.zeros(len(classes) + 1, np.int32)
    lut[kept] = np.arange(1, len(kept) + 1, dtype=np.int32)
    return Instances(
        lut[labels],
        np.asarray(classes, np.int64)[kept - 1],
        None if scores is None else np.asarray(scores, np.float64)[kept - 1],
    )
