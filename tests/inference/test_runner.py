import json

import cv2
import numpy as np
import pandas as pd

from visionseg.core import Method, Prediction
from visionseg.core.verdict import PartRule
from visionseg.inference.inputs import expand_inputs
from visionseg.inference.runner import run_inference
from visionseg.io import read_mask


class DarkPixels(Method):
    """Dark pixels are class 1: enough to check the path from files to outputs."""

    name = "dark"
    classes = ["background", "defect"]

    def predict(self, image):
        return Prediction(mask=(image.mean(axis=2) < 60).astype(np.uint8))


def _image(path, blobs):
    img = np.full((40, 50, 3), 200, np.uint8)
    for x, y in blobs:
        cv2.circle(img, (x, y), 4, (0, 0, 0), -1)
    cv2.imwrite(str(path), img)


def test_folder_with_a_corrupt_file(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _image(src / "a.png", [(10, 10), (35, 25)])
    _image(src / "b.jpg", [])
    (src / "c.png").write_bytes(b"not an image at all")
    out = tmp_path / "out"
    summary = run_inference(
        DarkPixels(),
        expand_inputs(str(src)),
        out,
        rule=PartRule(min_area=5),
        show_progress=False,
    )
    assert summary.failed == 1 and summary.images == 3
    by_name = {r["name"]: r for r in json.loads((out / "summary.json").read_text())["results"]}
    assert by_name["c"]["status"] == "error" and "cannot be decoded" in by_name["c"]["error"]
    assert by_name["a"]["verdict"] == "NG" and by_name["a"]["defects"] == 2
    assert by_name["b"]["verdict"] == "OK"
    mask = read_mask(out / "masks/a.png")
    assert mask.shape == (40, 50) and mask[10, 10] == 1 and mask[0, 0] == 0
    assert (out / "overlays/a.png").exists() and not (out / "masks/c.png").exists()
    table = pd.read_csv(out / "defects.csv")
    assert len(table) == 2 and set(table["class"]) == {"defect"}
    assert (table["area"] > 40).all()


def test_glob_and_earlier_outputs_survive_a_failing_rerun(tmp_path):
    _image(tmp_path / "x1.png", [(20, 20)])
    out = tmp_path / "out"
    run_inference(DarkPixels(), expand_inputs(str(tmp_path / "x*.png")), out, show_progress=False)
    before = (out / "masks/x1.png").read_bytes()

    class Broken(DarkPixels):
        def predict(self, image):
            raise RuntimeError("device lost")

    summary = run_inference(
        Broken(), expand_inputs(str(tmp_path / "x*.png")), out, show_progress=False
    )
    assert summary.failed == 1 and "device lost" in summary.records[0].error
    assert (out / "masks/x1.png").read_bytes() == before
    assert not [p for p in out.rglob("*") if ".part" in p.name]


def test_parallel_read_ahead_keeps_order_and_stops_early(tmp_path):
    import threading

    from visionseg.inference.runner import _read_ahead

    paths = []
    for i in range(11):
        path = tmp_path / f"{i:02d}.png"
        if i == 4:
            path.write_bytes(b"not a png")
        else:
            _image(path, [(10 + i, 10)])
        paths.append(path)
    names = [p.stem for p in paths]
    batches = list(_read_ahead(paths, names, batch_size=4, prefetch=1, threads=3))
    assert [len(b) for b in batches] == [4, 4, 3]
    flat = [item for batch in batches for item in batch]
    assert [name for _, name, _ in flat] == names
    assert isinstance(flat[4][2], Exception) and str(paths[4]) in str(flat[4][2])
    assert all(isinstance(item, np.ndarray) for i, (_, _, item) in enumerate(flat) if i != 4)
    # A consumer that stops after one batch leaves no reader thread behind.
    before = threading.active_count()
    reader = _read_ahead(paths, names, batch_size=2, prefetch=1, threads=3)
    next(reader)
    reader.close()
    assert threading.active_count() <= before
