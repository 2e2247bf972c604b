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
