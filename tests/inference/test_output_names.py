"""infer.py's outputs: one set per input, never overwritten by another input, mapped in
summary.json; a killed run's temporary files are cleared; 16-bit inputs read as told."""

import json
from pathlib import Path

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from visionseg.core import Method, Prediction
from visionseg.inference.inputs import expand_inputs, unique_names
from visionseg.inference.runner import InferenceSettings, run_inference
from visionseg.io import Scale16, read_mask


class Threshold(Method):
    """Pixels darker than ``level`` are class 1."""

    name = "threshold"
    classes = ["background", "defect"]

    def __init__(self, level: int = 100) -> None:
        self.level = level

    def predict(self, image):
        return Prediction(mask=(image[..., 0] < self.level).astype(np.uint8))


def _dark_square(path: Path, corner: int, value: int = 0, dtype=np.uint8) -> np.ndarray:
    image = np.full((24, 24), 200 if dtype == np.uint8 else 3000, dtype)
    image[corner : corner + 6, corner : corner + 6] = value
    assert cv2.imwrite(str(path), image)
    return image


def test_same_stems_never_overwrite_each_other(tmp_path):
    src = tmp_path / "in"
    for folder in ("lineA/cam", "lineB/cam"):
        (src / folder).mkdir(parents=True)
    _dark_square(src / "lineA/cam/part.png", 0)
    _dark_square(src / "lineB/cam/part.png", 6)
    _dark_square(src / "lineA/cam/part.bmp", 12)
    _dark_square(src / "lineA/cam/other.png", 18)
    paths = expand_inputs(str(src / "**/*.*"))
    out = tmp_path / "out"
    summary = run_inference(Threshold(), paths, out, show_progress=False)
    assert summary.failed == 0
    results = json.loads((out / "summary.json").read_text())["results"]
    assert len({r["outputs"]["mask"] for r in results}) == 4
    by_input = {Path(r["image"]).relative_to(src).as_posix(): r for r in results}
    assert by_input["lineA/cam/other.png"]["name"] == "other"
    expected_corner = {"lineA/cam/part.png": 0, "lineB/cam/part.png": 6, "lineA/cam/part.bmp": 12}
    for name, corner in expected_corner.items():
        mask = read_mask(out / by_input[name]["outputs"]["mask"])
        assert mask[corner + 2, corner + 2] == 1 and mask.sum() == 36, name
        assert (out / by_input[name]["outputs"]["overlay"]).is_file()
    assert sorted(p.name for p in (out / "masks").iterdir()) == sorted(
        f"{r['name']}.png" for r in results
    )


def test_names_are_readable_and_deterministic():
    paths = [Path("x/part.png"), Path("x/part.jpg"), Path("a/l/part.png"), Path("q.png")]
    assert unique_names(paths) == ["x_part_png", "x_part_jpg", "a_l_part_png", "q"]
    assert unique_names([Path("a/l/p.png"), Path("b/l/p.png")]) == ["a_l_p", "b_l_p"]
    assert unique_names([Path("P.png"), Path("p.png")]) == ["P", "p-2"]  # case-insensitive disks


@settings(max_examples=80, deadline=None)
@given(st.lists(
    st.tuples(st.sampled_from(["a", "b", "a/b", "b/a", "A"]),
              st.sampled_from(["part", "Part", "a_part", "b_part", "x"]),
              st.sampled_from([".png", ".jpg", ".PNG", ".tif"])),
    min_size=1, max_size=12, unique=True,
))
def test_names_are_unique_for_any_inputs(parts):
    paths = [Path(folder) / f"{stem}{ext}" for folder, stem, ext in parts]
    names = unique_names(paths)
    assert len({n.lower() for n in names}) == len(paths)
    assert names == unique_names(list(paths))
    for path, name in zip(paths, names, strict=True):
        assert path.stem in name and "/" not in name


def test_a_killed_runs_temporary_files_are_removed(tmp_path):
    _dark_square(tmp_path / "a.png", 0)
    out = tmp_path / "out"
    (out / "masks").mkdir(parents=True)
    debris = [out / "masks/.a.png.k1l2.part", out / "masks/.b.png.x9y8.part.png",
              out / ".summary.json.q.part"]
    for path in debris:
        path.write_bytes(b"half written")
    run_inference(Threshold(), [tmp_path / "a.png"], out, show_progress=False)
    assert not any(path.exists() for path in debris)
    assert [p.name for p in (out / "masks").glob("*.png")] == ["a.png"]


def test_sixteen_bit_inputs_are_read_with_the_given_policy(tmp_path):
    _dark_square(tmp_path / "twelve.png", 4, value=400, dtype=np.uint16)  # 12-bit sensor
    out = tmp_path / "out"
    auto = run_inference(Threshold(level=60), [tmp_path / "twelve.png"], out, show_progress=False)
    assert auto.records[0].defect_pixels["defect"] == 36  # 400/4095 -> 25 < 60
    assert auto.settings["scale16"] == {"mode": "auto", "low": 0, "high": 65535}
    full = run_inference(Threshold(level=60), [tmp_path / "twelve.png"], out,
                         settings=InferenceSettings(scale16=Scale16("full")),
                         show_progress=False)
    assert full.records[0].defect_pixels["defect"] == 24 * 24  # all nearly black


def test_infer_settings_use_the_models_policy_unless_forced():
    from omegaconf import OmegaConf

    from visionseg.apps.infer import inference_settings

    cfg = OmegaConf.create({"batch_size": 2, "overlays": True, "overlay_alpha": 0.5,
                            "io_threads": None, "image16": {"mode": None}})
    trained = Scale16("range", 0, 4095)
    assert inference_settings(cfg).scale16 == Scale16()
    assert inference_settings(cfg, trained).scale16 == trained
    cfg.image16 = {"mode": "range", "low": 0, "high": 1023}
    assert inference_settings(cfg, trained).scale16 == Scale16("range", 0, 1023)
