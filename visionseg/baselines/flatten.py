"""Illumination flattening and noise level: what lets one threshold rule fit a whole line.

Parts on a line are lit unevenly, so a global threshold on raw intensity finds the bright
side of the part, not its defects. Subtracting a smooth background estimate (a Gaussian
blur much wider than any defect) leaves the local deviation, on which thresholds work.
The blur is computed on a downscaled copy: a wide blur at full resolution of a 2048 px
image would cost seconds, while the background it estimates has no fine detail anyway.
"""

from __future__ import annotations

import cv2
import numpy as np

WORK_SIGMA = 4.0  # blur sigma, in pixels of the downscaled copy
BLOCK_SAMPLES = 6  # samples per block side averaged into one downscaled pixel
NOISE_ROWS = 64  # rows sampled for the noise estimate


def background_small(channels: np.ndarray, sigma_frac: float) -> tuple[np.ndarray, int]:
    """Blurred background of ``H x W`` or ``H x W x C`` data, downscaled by an integer factor.

    The blur sigma is ``sigma_frac`` times the shorter image side. The image is reduced by
    an integer factor ``f`` that leaves a sigma of about ``WORK_SIGMA`` px: each small pixel
    averages a block of ``f x f`` pixels, sampled on a grid of about ``BLOCK_SAMPLES`` per
    side (plenty for a background that is blurred further). OpenCV's fast block average
    needs an integer factor, so the last ``< f`` rows and columns are left out.
    Returns the small background and ``f``.
    """
    h, w = channels.shape[:2]
    sigma = max(sigma_frac * min(h, w), 1e-6)
    factor = int(min(max(1, sigma // WORK_SIGMA), min(h, w)))
    small = channels
    if factor > 1:
        stride = max(1, factor // BLOCK_SAMPLES)
        factor = factor // stride * stride
        hc, wc = h // factor * factor, w // factor * factor
        sampled = np.ascontiguousarray(channels[:hc:stride, :wc:stride])
        small = cv2.resize(sampled, (wc // factor, hc // factor), interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(small, (0, 0), sigma / factor, borderType=cv2.BORDER_REFLECT)
    return blurred, factor


def background(channels: np.ndarray, sigma_frac: float) -> np.ndarray:
    """Smooth illumination estimate at full resolution (see :func:`background_small`)."""
    h, w = channels.shape[:2]
    small, factor = background_small(channels, sigma_frac)
    if factor == 1:
        return small
    hc, wc = small.shape[0] * factor, small.shape[1] * factor
    full = cv2.resize(small, (wc, hc), interpolation=cv2.INTER_LINEAR)
    if (hc, wc) != (h, w):
        full = cv2.copyMakeBorder(full, 0, h - hc, 0, w - wc, cv2.BORDER_REPLICATE)
    return full


def deviation(gray: np.ndarray, sigma_frac: float | None) -> np.ndarray:
    """Signed deviation of a grey image from its background (float32).

    With ``sigma_frac=None`` there is no flattening: the deviation is from the image median.
    """
    values = gray.astype(np.float32)
    if sigma_frac is None:
        return values - np.float32(np.median(values))
    return values - background(values, sigma_frac)


def noise_sigma(gray: np.ndarray) -> float:
    """Robust pixel-noise level of a grey image, in grey levels.

    Median absolute difference of horizontal neighbours (a MAD estimate, scaled to a
    Gaussian sigma), on at most ``NOISE_ROWS`` evenly spaced rows. Texture and edges
    barely move a median, so this measures the sensor noise a threshold must clear.
    """
    step = max(1, gray.shape[0] // NOISE_ROWS)
    rows = gray[::step].astype(np.float32)
    diffs = np.abs(np.diff(rows, axis=1))
    if diffs.size == 0:
        return 0.0
    return float(1.4826 * np.median(diffs) / np.sqrt(2.0))
