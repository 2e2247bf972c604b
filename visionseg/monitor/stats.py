"""Per-image statistics compared between training images and line images.

Brightness and contrast are each channel's mean and standard deviation; sharpness is the
variance of the Laplacian of the grey image (a dirty or defocused lens lowers it); the
embedding is a downsampled grey image projected on the reference's first principal
components (layout, texture and illumination pattern in a few numbers, the same for every
method, baselines included).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

#: Names of the statistics every image gets, in order (the embedding's come after).
BASIC_FEATURES = (
    "brightness_r",
    "brightness_g",
    "brightness_b",
    "contrast_r",
    "contrast_g",
    "contrast_b",
    "sharpness",
)

#: Side of the grey thumbnail the embedding projects.
THUMB = 16


def basic_statistics(image: np.ndarray) -> np.ndarray:
    """``BASIC_FEATURES`` of an ``H x W x 3`` uint8 RGB image, as float64."""
    means, stds = cv2.meanStdDev(image)
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    laplacian = cv2.Laplacian(grey, cv2.CV_32F)
    sharpness = float(laplacian.var())
    return np.concatenate([means.ravel(), stds.ravel(), [sharpness]]).astype(np.float64)


def thumbnail(image: np.ndarray) -> np.ndarray:
    """The grey image shrunk to ``THUMB x THUMB`` (area averaging), flattened, in [0, 1]."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (THUMB, THUMB), interpolation=cv2.INTER_AREA)
    return small.astype(np.float64).ravel() / 255.0


@dataclass(frozen=True)
class Embedding:
    """A PCA projection of thumbnails: ``(thumb - mean) @ components.T``."""

    mean: np.ndarray  # THUMB*THUMB
    components: np.ndarray  # k x THUMB*THUMB

    @classmethod
    def fit(cls, thumbs: np.ndarray, k: int) -> Embedding:
        """The first ``k`` principal components of ``N x THUMB*THUMB`` thumbnails."""
        mean = thumbs.mean(axis=0)
        # A few hundred x 256 is small: BLAS threads only fight over busy cores (20x slower).
        with threadpool_limits(1):
            _, _, vt = np.linalg.svd(thumbs - mean, full_matrices=False)
        k = max(0, min(k, vt.shape[0], len(thumbs) - 1))
        return cls(mean=mean, components=vt[:k])

    def project(self, thumbs: np.ndarray) -> np.ndarray:
        """``N x k`` coordinates of ``N x THUMB*THUMB`` thumbnails (or ``k`` for one)."""
        return (thumbs - self.mean) @ self.components.T

    @property
    def names(self) -> list[str]:
        return [f"embedding_{i}" for i in range(len(self.components))]


def image_features(image: np.ndarray, embedding: Embedding | None) -> dict[str, float]:
    """Every monitored statistic of one image by name (embedding ones when one is given)."""
    values = dict(zip(BASIC_FEATURES, basic_statistics(image).tolist(), strict=True))
    if embedding is not None and len(embedding.components):
        coords = embedding.project(thumbnail(image))
        values.update(zip(embedding.names, coords.tolist(), strict=True))
    return values
