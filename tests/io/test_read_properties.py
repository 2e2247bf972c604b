"""Property-based: whatever a supported file holds (dtype, channels, size, aspect ratio),
reading gives H x W x 3 uint8 RGB with the values the policy promises."""

import tempfile
from pathlib import Path

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from visionseg.io import Scale16, read_image

SIZES = st.one_of(
    st.tuples(st.integers(1, 40), st.integers(1, 40)),
    st.sampled_from([(1, 1), (1, 2500), (2500, 1), (2, 1700), (1700, 3)]),  # huge aspect ratios
)


@st.composite
def _stored_image(draw):
    height, width = draw(SIZES)
    dtype = draw(st.sampled_from([np.uint8, np.uint16]))
    channels = draw(st.sampled_from([None, 1, 3, 4]))
    top = draw(st.sampled_from([255, 4095, 65535])) if dtype == np.uint16 else 255
    shape = (height, width) if channels is None else (height, width, channels)
    seed = draw(st.integers(0, 2**16))
    array = np.random.default_rng(seed).integers(0, top + 1, shape, dtype=np.int64).astype(dtype)
    suffix = draw(st.sampled_from([".png", ".tif"] + ([".bmp"] if dtype == np.uint8 else [])))
    return array, suffix


def _expected(array: np.ndarray) -> np.ndarray:
    """What the reader promises, computed directly from the stored array."""
    if array.dtype == np.uint16:
        array = Scale16().apply(array)
    if array.ndim == 2 or array.shape[2] == 1:
        gray = array.reshape(array.shape[:2])
        return np.stack([gray] * 3, axis=2)
    return array[:, :, 2::-1] if array.shape[2] >= 3 else array  # BGR(A) on disk -> RGB


@settings(max_examples=60, deadline=None)
@given(_stored_image())
def test_any_stored_image_reads_as_uint8_rgb(case):
    array, suffix = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"image{suffix}"
        assert cv2.imwrite(str(path), array)
        stored = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)  # what the codec kept
        image = read_image(path)
    assert image.dtype == np.uint8 and image.shape == (*array.shape[:2], 3)
    assert image.flags["C_CONTIGUOUS"]
    assert np.array_equal(image, _expected(stored))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 65535), st.integers(1, 65535), st.data())
def test_a_fixed_range_is_monotonic_and_clipped(low, span, data):
    high = min(low + span, 65535)
    if high == low:
        low -= 1
    policy = Scale16("range", low, high)
    values = np.array(sorted(data.draw(st.lists(st.integers(0, 65535), min_size=1,
                                                 max_size=50))), np.uint16)
    mapped = policy.apply(values).astype(int)
    assert (np.diff(mapped) >= 0).all()
    assert (mapped[values <= low] == 0).all() and (mapped[values >= high] == 255).all()
