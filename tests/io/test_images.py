import cv2
import numpy as np
import pytest

from visionseg.io import ImageReadError, Scale16, read_image, read_mask, write_json, write_png
from visionseg.io.atomic import atomic_path


def _write(path, array):
    assert cv2.imwrite(str(path), array)
    return path


def test_gray_rgba_16bit_become_uint8_rgb(tmp_path):
    gray = np.arange(64, dtype=np.uint8).reshape(8, 8)
    out = read_image(_write(tmp_path / "g.png", gray))
    assert out.shape == (8, 8, 3) and out.dtype == np.uint8
    assert np.array_equal(out[..., 0], gray) and np.array_equal(out[..., 2], gray)

    bgra = np.zeros((4, 4, 4), np.uint8)
    bgra[..., 0] = 200  # blue in OpenCV order
    bgra[..., 3] = 10  # alpha is dropped, not applied
    rgb = read_image(_write(tmp_path / "a.png", bgra))
    assert rgb.shape == (4, 4, 3) and (rgb[..., 2] == 200).all() and (rgb[..., 0] == 0).all()

    g16 = np.full((4, 4), 0x8000, np.uint16)
    assert (read_image(_write(tmp_path / "s.png", g16)) == 128).all()
    ramp = np.linspace(1000, 4000, 16, dtype=np.uint16).reshape(4, 4)
    stretched = read_image(_write(tmp_path / "r.tif", ramp), Scale16("stretch"))
    assert stretched.min() == 0 and stretched.max() == 255


def test_corrupt_and_missing_files_name_the_file(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(ImageReadError, match="broken.png.*cannot be decoded"):
        read_image(bad)
    with pytest.raises(ImageReadError, match="missing.png: file not found"):
        read_image(tmp_path / "missing.png")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty"):
        read_image(empty)


def test_colour_mask_is_refused(tmp_path):
    colour = np.zeros((4, 4, 3), np.uint8)
    colour[0, 0] = (1, 2, 3)
    with pytest.raises(ImageReadError, match="single-channel"):
        read_mask(_write(tmp_path / "m.png", colour))


def test_crash_mid_write_keeps_the_old_file_and_leaves_no_partial(tmp_path):
    target = tmp_path / "out.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text('{"v": 2, "trunc')
        raise RuntimeError("killed")
    assert target.read_text().strip().endswith("}") and '"v": 1' in target.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_write_png_roundtrip(tmp_path):
    mask = np.random.default_rng(0).integers(0, 4, (9, 7), dtype=np.uint8)
    write_png(tmp_path / "m.png", mask, rgb=False)
    assert np.array_equal(read_mask(tmp_path / "m.png"), mask)
