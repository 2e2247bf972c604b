"""Typed results of inference: one defect, one image, one run.

The batch runner, the watched folder and the service build their files and answers from
these (``to_dict`` gives the documented JSON / CSV layout), not from dicts read by key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visionseg.io.images import ImageReadError

#: The columns of ``defects.csv``, in order (``instance_id`` follows for instance methods).
DEFECT_COLUMNS = [
    "image",
    "class",
    "class_id",
    "area",
    "x",
    "y",
    "width",
    "height",
    "mean_confidence",
]


@dataclass(frozen=True)
class DefectRow:
    """One defect of one image: a connected region of a defect class, or an instance."""

    image: str
    class_name: str
    class_id: int
    area: int
    bbox: tuple[int, int, int, int]  # x, y, width, height
    mean_confidence: float
    instance_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``defects.csv`` row (``class`` for ``class_name``)."""
        return {"image": self.image, **self.region()}

    def region(self) -> dict[str, Any]:
        """The row without the image name: a region of an inspection's answer."""
        x, y, width, height = self.bbox
        row: dict[str, Any] = {"class": self.class_name, "class_id": self.class_id,
                               "area": self.area, "x": x, "y": y, "width": width,
                               "height": height, "mean_confidence": self.mean_confidence}
        if self.instance_id is not None:
            row["instance_id"] = self.instance_id
        return row


@dataclass
class ImageRecord:
    """What happened to one input: its verdict and counts, or why it failed."""

    image: str
    name: str
    status: str = "ok"
    width: int = 0
    height: int = 0
    defect_pixels: dict[str, int] = field(default_factory=dict)
    defects: int = 0
    ng_regions: int = 0
    verdict: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def ng(self) -> bool:
        return self.verdict == "NG"

    @classmethod
    def failure(cls, path: Path | str, name: str, err: BaseException | str) -> ImageRecord:
        """The record of an input that could not be read or processed, with the reason."""
        if isinstance(err, ImageReadError):
            reason = err.reason
        elif isinstance(err, BaseException):
            reason = f"{type(err).__name__}: {err}"
        else:
            reason = err
        return cls(image=str(path), name=name, status="error", error=reason)

    def fail(self, reason: str) -> None:
        """Mark a judged image failed after the fact (its outputs could not be written)."""
        self.status, self.error = "error", reason

    def to_dict(self) -> dict[str, Any]:
        """``summary.json``'s entry: a failed input has its reason, not the verdict fields."""
        if not self.ok and self.verdict is None:
            return {"image": self.image, "name": self.name, "status": self.status,
                    "error": self.error}
        record: dict[str, Any] = {
            "image": self.image,
            "name": self.name,
            "status": self.status,
            "width": self.width,
            "height": self.height,
            "defect_pixels": dict(self.defect_pixels),
            "defects": self.defects,
            "ng_regions": self.ng_regions,
            "verdict": self.verdict,
            "outputs": dict(self.outputs),
        }
        if self.error is not None:
            record["error"] = self.error
        return record


@dataclass
class InferenceSummary:
    """One batch run: the method and settings it ran with and every input's record."""

    method: str
    classes: list[str]
    settings: dict[str, Any]
    decision: dict[str, Any]
    records: list[ImageRecord]
    seconds: float = 0.0

    @property
    def images(self) -> int:
        return len(self.records)

    @property
    def failed(self) -> int:
        return sum(not r.ok for r in self.records)

    @property
    def ng(self) -> int:
        return sum(r.ng for r in self.records)

    def to_dict(self) -> dict[str, Any]:
        """``summary.json``."""
        return {
            "method": self.method,
            "classes": list(self.classes),
            "settings": self.settings,
            "decision": self.decision,
            "images": self.images,
            "failed": self.failed,
            "ng": self.ng,
            "seconds": round(self.seconds, 3),
            "results": [r.to_dict() for r in self.records],
        }
