import shutil

import cv2
import numpy as np
import pytest

from visionseg.data.folder import DatasetError, audit_samples, list_split, load_split
from visionseg.data.synthetic import CLASSES, generate


@pytest.fixture
def data(tmp_path, tiny_data):
    root = tmp_path / "d"
    shutil.copytree(tiny_data, root)
    return root


def test_synthetic_is_deterministic_and_has_every_class(tmp_path):
    a = generate(tmp_path / "a", splits={"train": 8}, size=48, seed=3)
    b = generate(tmp_path / "b", splits={"train": 8}, size=48, seed=3)
    for name in ("train_0000.png", "train_0007.png"):
        for kind in ("images", "masks"):
            x = cv2.imread(str(a / "train" / kind / name), cv2.IMREAD_UNCHANGED)
            y = cv2.imread(str(b / "train" / kind / name), cv2.IMREAD_UNCHANGED)
            assert np.array_equal(x, y)
    report = audit_samples(list_split(a, "train"), len(CLASSES))
    assert report["images"] == 8
    big = generate(tmp_path / "c", splits={"train": 40}, size=64, seed=0)
    hist = audit_samples(list_split(big, "train"), len(CLASSES))["class_pixels"]
    assert all(count > 0 for count in hist)


def test_clean_split_loads(data):
    samples = load_split(data, "train", num_classes=4)
    assert len(samples) == 24 and all(s.mask.exists() for s in samples)


def test_unpaired_files_are_listed(data):
    (data / "train/masks/train_0001.png").unlink()
    (data / "train/images/train_0002.png").rename(data / "train/images/renamed.png")
    with pytest.raises(DatasetError) as err:
        list_split(data, "train")
    text = str(err.value)
    assert "train_0001.png: image has no mask" in text
    assert "renamed.png: image has no mask" in text
    assert "train_0002.png: mask has no image" in text


def test_size_mismatch_bad_values_and_undecodable_images_are_listed(data):
    cv2.imwrite(str(data / "train/masks/train_0003.png"), np.zeros((10, 10), np.uint8))
    bad_values = np.zeros((64, 64), np.uint8)
    bad_values[0, 0] = 7
    cv2.imwrite(str(data / "train/masks/train_0004.png"), bad_values)
    (data / "train/images/train_0005.png").write_bytes(b"garbage")
    with pytest.raises(DatasetError) as err:
        load_split(data, "train", num_classes=4)
    text = str(err.value)
    assert "train_0003.png: mask is 10x10 but its image is 64x64" in text
    assert "train_0004.png: values [7] are neither class ids 0..3 nor 255" in text
    assert "train_0005.png: cannot be decoded" in text


def test_empty_and_missing_split(tmp_path):
    (tmp_path / "train/images").mkdir(parents=True)
    (tmp_path / "train/masks").mkdir()
    with pytest.raises(DatasetError, match="holds no images"):
        list_split(tmp_path, "train")
    with pytest.raises(DatasetError, match="split 'test' has no images/ folder"):
        list_split(tmp_path, "test")


def test_preloaded_dataset_serves_the_same_arrays(tiny_data):
    from visionseg.data.dataset import SegmentationDataset

    samples = list_split(tiny_data, "val")
    plain, cached = SegmentationDataset(samples), SegmentationDataset(samples)
    assert not cached.preload(max_bytes=100)
    assert cached.preload(max_bytes=10**8) and len(cached.cache) == len(samples)
    for i in range(len(samples)):
        a, b = plain[i], cached[i]
        assert np.array_equal(a["image"].numpy(), b["image"].numpy())
        assert np.array_equal(a["mask"].numpy(), b["mask"].numpy())


def test_regenerating_with_other_settings_leaves_no_stale_files(tmp_path):
    root = generate(tmp_path / "s", splits={"train": 6, "val": 2}, size=32, seed=0)
    generate(root, splits={"train": 3}, size=32, seed=0)
    assert len(list_split(root, "train")) == 3 and not (root / "val").exists()


def test_preload_gives_up_when_larger_images_overrun_the_bound(tmp_path):
    from visionseg.data.dataset import SegmentationDataset
    from visionseg.io import write_png

    for i, size in enumerate((8, 8, 64, 8)):
        write_png(tmp_path / "train" / "images" / f"{i}.png", np.zeros((size, size, 3), np.uint8))
        write_png(tmp_path / "train" / "masks" / f"{i}.png", np.zeros((size, size), np.uint8),
                  rgb=False)
    dataset = SegmentationDataset(list_split(tmp_path, "train"))
    # The first image suggests 4 x 256 bytes; the 64 px one alone takes 16 KiB.
    assert not dataset.preload(max_bytes=4096, threads=2) and dataset.cache is None
    assert dataset.preload(max_bytes=10**6, threads=2) and len(dataset.cache) == 4
    assert [image.shape[0] for image, _ in dataset.cache] == [8, 8, 64, 8]
