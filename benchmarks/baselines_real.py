"""Each baseline with default settings against the textbook scikit-image recipe, on real images.

The images, their ground truths (none made by the methods compared) and the references
are those of ``tests/baselines/real_images.py``: coins (scikit-image gallery truth),
generated fluorescence-like nuclei, binary blobs with noise, an unevenly lit page, and
thin lines drawn on real textures. Foreground IoU for every baseline; for watershed also
instance F1 at IoU 0.5 and the number of instances. Nothing is fitted: this is what a
user gets without a train split.

    python -m benchmarks.baselines_real
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from tests.baselines import real_images as real
from visionseg.baselines import (
    AdaptiveBaseline,
    MultiOtsuBaseline,
    OtsuBaseline,
    RidgeBaseline,
    WatershedBaseline,
)
from visionseg.baselines.base import RegionBaseline

CLASSES = ["background", "object"]
BLOBS = ["coins", "nuclei", "nuclei_b", "blobs", "page"]
LINES = ["moon_dark", "moon_bright", "camera_dark", "brick_dark"]
PLAN: list[tuple[type[RegionBaseline], Callable[[real.Case], np.ndarray], list[str]]] = [
    (OtsuBaseline, real.ref_otsu, BLOBS),
    (MultiOtsuBaseline, real.ref_multi_otsu, BLOBS),
    (AdaptiveBaseline, real.ref_adaptive, BLOBS),
    (WatershedBaseline, real.ref_watershed, BLOBS),
    (RidgeBaseline, real.ref_ridge, LINES),
]


@functools.cache
def case(name: str) -> real.Case:
    if name == "nuclei_b":
        return real.nuclei(seed=5)
    if "_" in name:
        texture, side = name.split("_")
        return real.scratches(texture, sign=-1.0 if side == "dark" else 1.0, contrast=(50, 80))
    return getattr(real, name)()


def rows() -> list[dict]:
    out = []
    for cls, reference, names in PLAN:
        method = cls(CLASSES)
        for name in names:
            image = case(name)
            pred = method.predict(image.rgb)
            textbook = reference(image)
            row = {
                "method": method.name,
                "image": name,
                "ref_iou": real.iou(textbook > 0, image.foreground),
                "iou": real.iou(pred.mask > 0, image.foreground),
            }
            if cls is WatershedBaseline:
                labels = pred.instances.labels
                row.update(
                    ref_f1=real.instance_f1(textbook, image.truth),
                    f1=real.instance_f1(labels, image.truth),
                    ref_n=len(np.unique(textbook)) - 1,
                    n=int(labels.max()),
                    truth_n=len(np.unique(image.truth)) - 1,
                )
            out.append(row)
    return out


def main() -> None:
    header = ("baseline", "image", "textbook IoU", "ours IoU", "textbook F1 (n)", "ours F1 (n)")
    print("| " + " | ".join(header) + " |")
    print("|---|---|---|---|---|---|")
    for row in rows():
        f1 = ("", "")
        if "f1" in row:
            f1 = (
                f"{row['ref_f1']:.3f} ({row['ref_n']}/{row['truth_n']})",
                f"{row['f1']:.3f} ({row['n']}/{row['truth_n']})",
            )
        print(
            f"| {row['method']} | {row['image']} | {row['ref_iou']:.3f} | {row['iou']:.3f} "
            f"| {f1[0]} | {f1[1]} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
