"""Where each training image's instances come from, and reading them as a label image.

For an image ``ROOT/<split>/images/NAME.ext`` the first of these that exists is used:

1. ``ROOT/<split>/instances/NAME.png``: instance ids (8 or 16 bit, 0 = none); each
   object's class is the majority defect class of its pixels in the class mask
   (objects on background or ignore pixels only are dropped);
2. ``ROOT/<split>/coco.json`` listing the image (by file stem): its polygons/RLEs;
3. ``ROOT/<split>/labelme/NAME.json``: its LabelMe shapes;
4. otherwise each 8-connected region of each defect class of the class mask, regions
   smaller than ``min_area`` pixels left out.

``python -m visionseg.data.convert`` writes form 1 from COCO or LabelMe files, and the
evaluation reads the same ``instances/`` folder for its ground truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from visionseg.core.prediction import Instances
from visionseg.data.convert.annotations import (
    AnnotatedImage,
    class_problems,
    rasterize,
    warn_dropped,
)
from visionseg.data.convert.coco import read_coco
from visionseg.data.convert.labelme import read_labelme_file
from visionseg.data.folder import Sample
from visionseg.io.images import ImageReadError, read_mask
from visionseg.metrics.instances import (
    instances_from_labels,
    read_instance_labels,
    semantic_instances,
)

INSTANCE_DIR = "instances"
COCO_FILE = "coco.json"
LABELME_DIR = "labelme"
SOURCES = ("instances", "coco", "labelme", "components")


@dataclass(frozen=True)
class InstanceSample(Sample):
    """A folder sample and where its instances come from (one of :data:`SOURCES`).

    ``instances`` is the instance-id PNG when ``source == "instances"`` (the evaluation
    reads it as ground truth); ``annotation`` the parsed COCO/LabelMe annotation.
    """

    instances: Path | None = None
    source: str = "components"
    annotation: AnnotatedImage | None = None

    def __hash__(self) -> int:
        return hash((self.name, self.image, self.mask))


class InstanceTargets:
    """Attaches instance sources to folder samples and reads their instances.

    ``classes`` maps COCO/LabelMe category names to ids; ``min_area`` applies to instances
    taken from connected regions of the class mask.
    """

    def __init__(self, classes: Sequence[str], min_area: int = 0) -> None:
        self.classes = list(classes)
        self.class_ids = {name: i for i, name in enumerate(self.classes)}
        self.min_area = min_area
        self._coco: dict[Path, dict[str, AnnotatedImage]] = {}

    def _coco_images(self, split_dir: Path, problems: list[str]) -> dict[str, AnnotatedImage]:
        if split_dir not in self._coco:
            images: dict[str, AnnotatedImage] = {}
            path = split_dir / COCO_FILE
            if path.is_file():
                parsed, _, found = read_coco(path, split_dir / "images")
                problems.extend(found)
                images = {image.name: image for image in parsed}
            self._coco[split_dir] = images
        return self._coco[split_dir]

    def attach(
        self, samples: Sequence[Sample], audit: bool = True
    ) -> tuple[list[InstanceSample], list[str]]:
        """Each sample with its instance source, and the problems found (empty when usable).

        With ``audit``, instance PNGs are decoded and checked against their class mask.
        """
        out: list[InstanceSample] = []
        problems: list[str] = []
        for sample in samples:
            split_dir = Path(sample.image).parent.parent
            png = split_dir / INSTANCE_DIR / f"{sample.name}.png"
            labelme = split_dir / LABELME_DIR / f"{sample.name}.json"
            coco = self._coco_images(split_dir, problems)
            base = {"name": sample.name, "image": sample.image, "mask": sample.mask}
            if png.is_file():
                item = InstanceSample(**base, instances=png, source="instances")
                if audit:
                    problems.extend(self._check_png(item))
            elif sample.name in coco:
                item = InstanceSample(**base, source="coco", annotation=coco[sample.name])
            elif labelme.is_file():
                found: list[str] = []
                annotation = read_labelme_file(labelme, found)
                problems.extend(found)
                item = InstanceSample(**base, source="labelme", annotation=annotation)
            else:
                item = InstanceSample(**base)
            if item.annotation is not None:
                problems.extend(class_problems([item.annotation], self.class_ids))
            out.append(item)
        return out, problems

    def _check_png(self, sample: InstanceSample) -> list[str]:
        try:
            labels = read_instance_labels(sample.instances)  # type: ignore[arg-type]
        except ValueError as err:
            return [str(err)]
        if sample.mask is None:
            return []
        try:
            shape = read_mask(sample.mask).shape
        except ImageReadError:
            return []  # the folder audit reports the mask itself
        if labels.shape != shape:
            return [f"{sample.instances}: instance mask is {labels.shape[1]}x{labels.shape[0]} "
                    f"but its class mask is {shape[1]}x{shape[0]}"]
        return []

    def read(self, sample: Sample, semantic: np.ndarray) -> Instances:
        """The instances of ``sample`` (``semantic`` is its class mask, already read)."""
        source = getattr(sample, "source", "components")
        if source == "instances":
            labels = read_instance_labels(sample.instances)  # type: ignore[attr-defined]
            if labels.shape != semantic.shape:
                raise ValueError(f"{sample.instances}: instance mask size differs from the image")  # type: ignore[attr-defined]
            return instances_from_labels(labels, semantic, len(self.classes))
        if source in ("coco", "labelme"):
            annotation: AnnotatedImage = sample.annotation  # type: ignore[attr-defined]
            if (annotation.height, annotation.width) != semantic.shape:
                raise ValueError(
                    f"{annotation.origin}: annotated as {annotation.width}x{annotation.height}, "
                    f"the image is {semantic.shape[1]}x{semantic.shape[0]}"
                )
            masks = rasterize(annotation, self.class_ids)
            warn_dropped(annotation.origin, masks.dropped)
            return Instances(masks.labels.astype(np.int32), masks.classes)
        return semantic_instances(semantic, len(self.classes), self.min_area)
