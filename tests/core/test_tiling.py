import numpy as np
import pytest

from visionseg.core.tiling import blend_window, predict_tiled, tile_starts


@pytest.mark.parametrize(
    "length,tile,overlap", [(100, 32, 8), (64, 64, 16), (65, 32, 0), (10, 32, 8)]
)
def test_tiles_cover_everything(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    covered = np.zeros(length, bool)
    for s in starts:
        covered[s : s + tile] = True
    assert covered.all() and starts[-1] + min(tile, length) == length


def test_pixelwise_function_is_reproduced_exactly():
    """A per-pixel model gives the same answer tiled or not: blending is exact."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (150, 230, 3), dtype=np.uint8)

    def fn(tiles):
        x = tiles.astype(np.float32) / 255
        p = np.stack([x[..., 0], x[..., 1], x[..., 2]], axis=1) + 1e-3
        return p / p.sum(axis=1, keepdims=True)

    full = fn(image[None])[0]
    mask, conf, probs = predict_tiled(
        image, fn, 3, tile=64, overlap=16, batch_size=3, keep_probs=True
    )
    np.testing.assert_allclose(probs, full, rtol=1e-5, atol=1e-6)
    assert np.array_equal(mask, full.argmax(0))
    np.testing.assert_allclose(conf, full.max(0), rtol=1e-5)
    mask2, _, none = predict_tiled(image, fn, 3, tile=64, overlap=16)
    assert none is None and np.array_equal(mask, mask2)


def test_window_is_positive_and_peaks_inside():
    w = blend_window(32, 48, 8)
    assert w.min() > 0 and w.max() == 1 and w[16, 24] == 1


# Property-based: any image size, tile size and overlap.
from unittest import mock  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from visionseg.core import tiling  # noqa: E402


def _per_pixel(tiles: np.ndarray) -> np.ndarray:
    """A translation-equivariant per-pixel model: 3 class probabilities from the colour."""
    x = tiles.astype(np.float32) / 255
    logits = np.stack([x[..., 0], 0.7 * x[..., 1] + 0.1, 0.5 * x[..., 2] + 0.2], axis=1)
    p = np.exp(3 * logits)
    return p / p.sum(axis=1, keepdims=True)


@st.composite
def _tiling_case(draw):
    tile = draw(st.integers(16, 48))
    overlap = draw(st.integers(0, tile - 1))
    height, width = draw(st.integers(1, 130)), draw(st.integers(1, 130))
    seed = draw(st.integers(0, 2**16))
    image = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return image, tile, overlap, draw(st.integers(1, 4))


@settings(max_examples=60, deadline=None)
@given(_tiling_case())
def test_tiled_equals_untiled_and_every_pixel_is_written_once(case):
    image, tile, overlap, batch_size = case
    written = np.zeros(image.shape[:2], np.int32)
    finish = tiling._finish

    def counting(acc, weight, y, mask, confidence, probs):
        written[y : y + acc.shape[1]] += 1
        finish(acc, weight, y, mask, confidence, probs)

    with mock.patch.object(tiling, "_finish", counting):
        mask, conf, probs = predict_tiled(
            image, _per_pixel, 3, tile=tile, overlap=overlap, batch_size=batch_size,
            keep_probs=True,
        )
    assert (written == 1).all()
    full = _per_pixel(image[None])[0]
    np.testing.assert_allclose(probs, full, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(conf, full.max(0), rtol=1e-5, atol=1e-6)
    top2 = np.sort(full, axis=0)[-2:]
    clear = top2[1] - top2[0] > 1e-4  # no near-tie that rounding could flip
    assert np.array_equal(mask[clear], full.argmax(0)[clear])


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 3000), st.integers(16, 600), st.data())
def test_tile_starts_cover_once_in_order(length, tile, data):
    overlap = data.draw(st.integers(0, tile - 1))
    starts = tile_starts(length, tile, overlap)
    assert starts[0] == 0 and starts == sorted(set(starts))
    assert starts[-1] + min(tile, length) == length
    gaps = np.diff(starts)
    assert (gaps >= 1).all() and (gaps <= tile - overlap).all()
