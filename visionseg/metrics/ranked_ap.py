"""Mask AP that does not depend on the file order of tied scores.

COCO AP ranks detections by score; pycocotools breaks ties by image and annotation order,
so when several instances of a class share a score (a classifier's probability with a few
distinct values, or every instance at 1.0) one AP is "AP in file order". Here the tied
instances are put in several seeded random orders (scores keep their order, ties are broken
at random) and AP is computed for each: when every order gives the same figure it is
reported, otherwise its range is, and no single number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from visionseg.metrics.instances import CocoSet, coco_mask_ap

#: Random tie orders evaluated when tied scores exist.
TIE_ORDERS = 8
_SAME = 1e-12


@dataclass(frozen=True)
class TiedFigure:
    """A ranking figure over the orders of tied scores: ``low == high`` when ties don't matter."""

    low: float
    high: float

    @property
    def varies(self) -> bool:
        """True when the order of tied instances changes the figure."""
        return self.high - self.low > _SAME  # False for NaN

    @property
    def value(self) -> float:
        """The figure, or NaN when it depends on the order of tied scores."""
        return float("nan") if self.varies else self.low

    @classmethod
    def over(cls, values: Sequence[float]) -> TiedFigure:
        """Range of one figure over orders (NaN, e.g. a class without ground truth, in all)."""
        kept = [v for v in values if not math.isnan(v)]
        return cls(min(kept), max(kept)) if kept else cls(float("nan"), float("nan"))


@dataclass
class ClassAP:
    ap: TiedFigure
    ap50: TiedFigure
    ap75: TiedFigure


@dataclass
class MaskAP:
    """COCO mask AP (IoU 0.50:0.95), AP50, AP75 over tie orders, overall and per class."""

    ap: TiedFigure
    ap50: TiedFigure
    ap75: TiedFigure
    per_class: dict[str, ClassAP]
    scored: int  # instances with a score
    distinct_scores: int
    tied: int  # instances sharing their score with another instance of their class
    orders: int  # tie orders evaluated (1: no ties)

    @property
    def note(self) -> str:
        """Why AP is a range or not available ('' when it is one number without ties)."""
        if not self.tied:
            return ""
        share = (f"{self.tied} of {self.scored} instances share their score with another of "
                 f"their class ({self.distinct_scores} distinct score(s))")
        if not self.ap.varies:
            return f"{share}; AP is the same in {self.orders} random tie orders"
        return (f"{share}: the scores cannot rank them, AP is not one number; "
                f"{self.ap.low:.3f}-{self.ap.high:.3f} over {self.orders} random tie orders")


def ranked_mask_ap(
    gt: CocoSet,
    dt: CocoSet,
    class_names: Sequence[str],
    orders: int = TIE_ORDERS,
    seed: int = 0,
) -> MaskAP:
    """Mask AP of ``dt`` (every annotation scored) against ``gt``, over tie orders.

    Without ties pycocotools runs once. With ties, each of ``orders`` seeded permutations
    re-scores the detections by (rank of their score, position in the permutation), which
    keeps every strict score order and breaks each tie at random.
    """
    scores = np.array([ann["score"] for ann in dt.annotations], np.float64)
    classes = np.array([ann["category_id"] for ann in dt.annotations], np.int64)
    tied = _tied(scores, classes)
    if tied:
        _, rank = np.unique(scores, return_inverse=True)
        rng = np.random.default_rng(seed)
        runs = [coco_mask_ap(gt, dt.rescored(rank * (len(scores) + 1.0) + rng.permutation(
            len(scores))), class_names) for _ in range(orders)]
    else:
        runs = [coco_mask_ap(gt, dt, class_names)]

    def over(pick) -> TiedFigure:
        return TiedFigure.over([pick(run) for run in runs])

    per_class = {
        name: ClassAP(over(lambda r, n=name: r["per_class"][n]["AP"]),
                      over(lambda r, n=name: r["per_class"][n]["AP50"]),
                      over(lambda r, n=name: r["per_class"][n]["AP75"]))
        for name in class_names[1:]
    }
    return MaskAP(
        ap=over(lambda r: r["AP"]),
        ap50=over(lambda r: r["AP50"]),
        ap75=over(lambda r: r["AP75"]),
        per_class=per_class,
        scored=len(scores),
        distinct_scores=len(np.unique(scores)),
        tied=tied,
        orders=len(runs),
    )


def _tied(scores: np.ndarray, classes: np.ndarray) -> int:
    """How many detections share their exact score with another one of their class."""
    if not len(scores):
        return 0
    pairs = np.stack([classes.astype(np.float64), scores], axis=1)
    _, inverse, counts = np.unique(pairs, axis=0, return_inverse=True, return_counts=True)
    return int((counts[inverse.ravel()] > 1).sum())
