"""The synthetic set's two modes: the textured one is hard in the ways it claims (thin,
low-contrast scratches), its settings are range-checked, and its folder is regenerated
exactly when a setting changes."""

import json

import cv2
import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from skimage.morphology import skeletonize

from tests.conftest import ROOT
from visionseg.core.errors import ConfigError
from visionseg.data.synthetic import generate, make_sample
from visionseg.data.textured import TexturedSettings, make_textured_sample


def _scratch_figures(make, n: int = 40) -> tuple[float, float]:
    """Median scratch contrast (|scratch - surroundings| / surroundings' std, grey) and
    median width (area / skeleton length) over the scratches of ``n`` images."""
    rng = np.random.default_rng(5)
    contrasts, widths = [], []
    for _ in range(n):
        image, mask = make(rng)
        grey, scratch = image.astype(np.float32).mean(axis=2), mask == 1
        if scratch.sum() < 10:
            continue
        ring = (cv2.dilate(scratch.astype(np.uint8), np.ones((9, 9))) > 0) & (mask == 0)
        contrasts.append(abs(grey[scratch].mean() - grey[ring].mean()) / grey[ring].std())
        widths.append(scratch.sum() / skeletonize(scratch).sum())
    return float(np.median(contrasts)), float(np.median(widths))


def test_textured_scratches_are_thin_and_faint_where_easy_ones_are_not():
    textured = _scratch_figures(lambda r: make_textured_sample(r, 128, 0.0, TexturedSettings()))
    easy = _scratch_figures(lambda r: make_sample(r, 128, 0.0))
    assert textured[0] < 1.5 < 5.0 < easy[0]
    assert 1.0 <= textured[1] <= 3.0
    one_pixel = TexturedSettings(scratch_width=(1, 1))
    assert _scratch_figures(lambda r: make_textured_sample(r, 96, 0.0, one_pixel), 10)[1] < 1.05


def test_settings_are_range_checked_by_name():
    for bad, name in (({"scratch_width": [3, 1]}, "scratch_width"),
                      ({"backgrounds": ["marble"]}, "backgrounds"),
                      ({"gradient": -0.1}, "gradient"),
                      ({"max_defects": 0}, "max_defects"),
                      ({"shine": 1}, "shine")):
        with pytest.raises(ConfigError, match=name):
            TexturedSettings.from_any(bad)
    with pytest.raises(ConfigError, match="mode"):
        generate("unused", mode="hard")
    with pytest.raises(ConfigError, match="size"):
        generate("unused", size=8)


def test_the_folder_is_regenerated_exactly_when_a_setting_changes(tmp_path):
    root = tmp_path / "set"
    splits = {"train": 3, "val": 1}
    generate(root, splits=splits, size=48, seed=2, textured={"backgrounds": ["weave"]})
    image = root / "train/images/train_0001.png"
    before, stamp = image.read_bytes(), image.stat().st_mtime_ns
    generate(root, splits=splits, size=48, seed=2, textured={"backgrounds": ["weave"]})
    assert image.stat().st_mtime_ns == stamp
    generate(root, splits=splits, size=48, seed=2, textured={"backgrounds": ["brushed"]})
    assert image.read_bytes() != before
    marker = json.loads((root / "synthetic.json").read_text())
    assert marker["mode"] == "textured" and marker["textured"]["backgrounds"] == ["brushed"]
    generate(root, splits=splits, size=48, seed=2, mode="easy")
    assert "textured" not in json.loads((root / "synthetic.json").read_text())


@pytest.mark.parametrize(("data", "mode"), [("synthetic", "textured"), ("synthetic_easy", "easy")])
def test_the_default_demo_is_textured_in_its_own_folder(tmp_path, data, mode):
    folder = tmp_path / data
    with initialize_config_dir(str(ROOT / "configs"), version_base="1.3"):
        cfg = compose("train", overrides=[
            f"data={data}", f"data.root={folder}", f"data.synthetic.root={folder}",
            "data.synthetic.splits={train: 4, val: 2}", "data.synthetic.size=48"])
    default_roots = {"synthetic": "synthetic_textured", "synthetic_easy": "synthetic_defects"}
    with initialize_config_dir(str(ROOT / "configs"), version_base="1.3"):
        plain = compose("train", overrides=[f"data={data}"])
    assert plain.data.root.endswith(default_roots[data])
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    assert json.loads((folder / "synthetic.json").read_text())["mode"] == mode
    assert len(datamodule.splits["train"]) == 4
