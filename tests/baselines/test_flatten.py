"""Background flattening and the noise estimate on images with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from visionseg.baselines.flatten import background, deviation, noise_sigma


@pytest.mark.parametrize("shape", [(96, 128), (257, 190)])
def test_background_follows_smooth_lighting_and_barely_sees_a_small_defect(shape):
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    lit = 100 + 40 * np.sin(xx / w * np.pi) + 20 * yy / h
    clean = background(lit, 0.1)
    assert clean.shape == lit.shape
    inner = (slice(h // 8, -h // 8), slice(w // 8, -w // 8))
    assert np.abs(clean - lit)[inner].max() < 2.5
    gray = lit.copy()
    gray[h // 2 - 3 : h // 2 + 3, w // 2 - 3 : w // 2 + 3] -= 60
    # a Gaussian background dips by about area x contrast / (2 pi sigma^2) under a defect
    sigma = 0.1 * min(h, w)
    expected = 36 * 60 / (2 * np.pi * sigma**2)
    dip = -(background(gray, 0.1) - clean).min()
    assert dip == pytest.approx(expected, rel=0.3)
    dev = deviation(np.round(gray).astype(np.uint8), 0.1)
    assert dev[h // 2, w // 2] < -50
    assert np.median(np.abs(dev[inner])) < 2.0


def test_noise_sigma_recovers_gaussian_noise():
    rng = np.random.default_rng(0)
    for sigma in (2.0, 5.0, 10.0):
        gray = np.clip(128 + rng.normal(0, sigma, (200, 300)), 0, 255).round().astype(np.uint8)
        assert noise_sigma(gray) == pytest.approx(sigma, rel=0.15)
    assert noise_sigma(np.full((10, 10), 7, np.uint8)) == 0.0
