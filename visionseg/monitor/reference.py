"""The line reference stored with a model: image statistics of its training images (drift)
and the NG rate its evaluation found (defect rate).

Built at the end of ``train.py`` from (a seeded sample of) the train split and kept in the
model card's ``drift_reference`` and ``expected_ng_rate`` fields, as plain lists and
numbers, so weights-only loading reads it and an export carries it in its copy of the
card. A model without it (an older checkpoint, a baseline) still runs; drift is then
reported as unavailable.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from visionseg.core.errors import UserError
from visionseg.core.model_card import ModelCard
from visionseg.core.psi import bin_shares, quantile_edges
from visionseg.monitor.stats import BASIC_FEATURES, Embedding, basic_statistics, thumbnail

log = logging.getLogger(__name__)

REFERENCE_VERSION = 1
#: Most quantile bins per feature; a small training set gets fewer (about 20 images a bin),
#: since PSI's noise floor grows with bins / reference size.
MAX_BINS = 10
IMAGES_PER_BIN = 20
EMBEDDING_DIMS = 4
MIN_REFERENCE_IMAGES = 20


class DriftReferenceError(UserError):
    """A stored reference that cannot be used (wrong version, malformed)."""


@dataclass(frozen=True)
class FeatureReference:
    """One statistic's reference: quantile bin edges, the share of images in each bin, and
    its mean and standard deviation (shown in summaries)."""

    name: str
    edges: np.ndarray
    proportions: np.ndarray
    mean: float
    std: float


@dataclass(frozen=True)
class DriftReference:
    """Reference distributions of every monitored statistic over the training images."""

    features: list[FeatureReference]
    embedding: Embedding | None
    images: int

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def to_dict(self) -> dict[str, Any]:
        emb = self.embedding
        return {
            "version": REFERENCE_VERSION,
            "images": self.images,
            "features": [
                {"name": f.name, "edges": f.edges.tolist(),
                 "proportions": f.proportions.tolist(), "mean": f.mean, "std": f.std}
                for f in self.features
            ],
            "embedding": None if emb is None else {
                "mean": emb.mean.tolist(), "components": emb.components.tolist()
            },
        }

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> DriftReference:
        if value.get("version") != REFERENCE_VERSION:
            raise DriftReferenceError(
                f"drift reference version {value.get('version')} is not {REFERENCE_VERSION}; "
                "rebuild it by training again"
            )
        try:
            features = [
                FeatureReference(str(f["name"]), np.asarray(f["edges"], dtype=np.float64),
                                 np.asarray(f["proportions"], dtype=np.float64),
                                 float(f["mean"]), float(f["std"]))
                for f in value["features"]
            ]
            emb = value.get("embedding")
            embedding = None if not emb else Embedding(
                np.asarray(emb["mean"], dtype=np.float64),
                np.asarray(emb["components"], dtype=np.float64).reshape(-1, len(emb["mean"])),
            )
            return cls(features=features, embedding=embedding, images=int(value["images"]))
        except (KeyError, TypeError, ValueError) as err:
            raise DriftReferenceError(f"drift reference is malformed ({err})") from err


@dataclass(frozen=True)
class ExpectedNgRate:
    """The share of parts the model called NG in its evaluation."""

    rate: float
    images: int
    split: str

    def to_dict(self) -> dict[str, Any]:
        return {"rate": self.rate, "images": self.images, "split": self.split}

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> ExpectedNgRate:
        return cls(float(value["rate"]), int(value["images"]), str(value.get("split", "")))


@dataclass(frozen=True)
class LineReference:
    """What a model carries for line monitoring; either part may be missing."""

    drift: DriftReference | None = None
    ng: ExpectedNgRate | None = None

    @classmethod
    def from_card(cls, card: ModelCard | None) -> LineReference:
        """The reference a model's card carries (a checkpoint's or an export's); empty
        (drift unavailable) for a card without one or no card (a baseline)."""
        if card is None:
            return cls()
        drift, ng = card.drift_reference, card.expected_ng_rate
        return cls(
            drift=DriftReference.from_dict(drift) if drift else None,
            ng=ExpectedNgRate.from_dict(ng) if ng else None,
        )

    def to_meta(self) -> dict[str, Any]:
        """The card's two fields (``ModelCard.with_changes(**to_meta())``), also written as
        ``line_reference.json``."""
        return {
            "drift_reference": self.drift.to_dict() if self.drift else None,
            "expected_ng_rate": self.ng.to_dict() if self.ng else None,
        }


def build_reference(images: Iterable[np.ndarray], embedding_dims: int = EMBEDDING_DIMS
                    ) -> DriftReference:
    """The drift reference of ``images`` (``H x W x 3`` uint8 RGB)."""
    basic, thumbs = [], []
    for image in images:
        basic.append(basic_statistics(image))
        thumbs.append(thumbnail(image))
    if len(basic) < MIN_REFERENCE_IMAGES:
        raise DriftReferenceError(
            f"a drift reference needs at least {MIN_REFERENCE_IMAGES} images, got {len(basic)}"
        )
    # The PCA is fitted on every other image and the bins come from the projections of
    # the rest: in-sample projections overstate the spread along the top components, which
    # every line image (out of sample) would then show as drift.
    thumbs_array = np.stack(thumbs)
    embedding = Embedding.fit(thumbs_array[0::2], embedding_dims)
    held_out = embedding.project(thumbs_array[1::2])
    coords = np.empty((len(thumbs), held_out.shape[1]))
    coords[0::2] = np.nan
    coords[1::2] = held_out
    table = np.concatenate([np.stack(basic), coords], axis=1)
    names = [*BASIC_FEATURES, *embedding.names]
    bins = max(2, min(MAX_BINS, len(basic) // (2 * IMAGES_PER_BIN)))
    features = []
    for name, column in zip(names, table.T, strict=True):
        column = column[~np.isnan(column)]
        edges = quantile_edges(column, bins)
        features.append(FeatureReference(
            name, edges, bin_shares(column, edges), float(column.mean()), float(column.std())
        ))
    return DriftReference(features=features, embedding=embedding, images=len(basic))


def sample_paths(paths: Sequence[Any], limit: int, seed: int = 0) -> list[Any]:
    """At most ``limit`` of ``paths``, a seeded sample in their original order."""
    if len(paths) <= limit:
        return list(paths)
    keep = np.sort(np.random.default_rng(seed).choice(len(paths), size=limit, replace=False))
    return [paths[i] for i in keep]
