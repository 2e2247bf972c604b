"""Store the line reference in a trained checkpoint's model card (and beside it as JSON)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from visionseg.io.atomic import write_json
from visionseg.io.images import ImageReadError, read_image
from visionseg.io.scale16 import Scale16
from visionseg.models.checkpoint import update_card
from visionseg.monitor.reference import (
    DriftReferenceError,
    ExpectedNgRate,
    LineReference,
    build_reference,
    sample_paths,
)

log = logging.getLogger(__name__)

#: Training images read for the reference (a seeded sample of larger train splits).
REFERENCE_SAMPLE = 500
REFERENCE_FILE = "line_reference.json"


def expected_ng_rate(summary: Mapping[str, Any]) -> ExpectedNgRate | None:
    """The model's NG share from an evaluation summary (its ``image_level`` counts)."""
    counts = summary.get("image_level") or {}
    total = sum(int(counts.get(k, 0)) for k in ("tp", "fp", "fn", "tn"))
    if not total:
        return None
    ng = int(counts.get("tp", 0)) + int(counts.get("fp", 0))
    return ExpectedNgRate(ng / total, total, str(summary.get("split", "")))


def store_line_reference(
    checkpoints: Sequence[Path], train_images: Sequence[Path],
    summary: Mapping[str, Any], output_dir: Path, scale16: Scale16 | None = None,
) -> LineReference:
    """Build the reference from (a sample of) ``train_images`` (16-bit ones read as
    ``scale16``, as training read them), add it to each checkpoint's card and write
    ``line_reference.json`` beside them in ``output_dir``."""
    images = []
    for path in sample_paths(list(train_images), REFERENCE_SAMPLE):
        try:
            images.append(read_image(path, scale16))
        except ImageReadError as err:
            log.warning("drift reference skips %s", err)
    try:
        drift = build_reference(images)
    except DriftReferenceError as err:
        log.warning("no drift reference stored: %s", err)
        drift = None
    reference = LineReference(drift=drift, ng=expected_ng_rate(summary))
    meta = reference.to_meta()
    for checkpoint in checkpoints:
        update_card(checkpoint, **meta)
    write_json(Path(output_dir) / REFERENCE_FILE, meta)
    log.info("Line reference: %d training image(s), expected NG rate %s",
             drift.images if drift else 0, f"{reference.ng.rate:.3f}" if reference.ng else "n/a")
    return reference
