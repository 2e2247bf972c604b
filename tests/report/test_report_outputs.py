"""The report of a tiny run: every table, every referenced image, no network, atomic files."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from visionseg.core import Method, Prediction
from visionseg.data.folder import list_split
from visionseg.evaluation import Identity
from visionseg.io import write_png
from visionseg.metrics import semantic_instances
from visionseg.postprocess import PostProcess
from visionseg.report.pipeline import evaluate_and_report

CLASSES = ["background", "scratch", "spot"]


class Dark(Method):
    name = "dark"

    def __init__(self) -> None:
        self.classes = CLASSES

    def predict(self, image):
        if image[0, 0, 0] == 1:
            raise RuntimeError("cannot threshold a flat image")
        return Prediction(np.where(image[..., 0] < 80, 2, 0).astype(np.uint8))


class Bright(Dark):
    name = "bright"

    def predict(self, image):
        mask = np.where(image[..., 0] > 180, 1, 0).astype(np.uint8)
        inst = semantic_instances(mask, len(CLASSES))
        inst.scores = np.linspace(0.9, 0.6, len(inst))
        return Prediction(mask, instances=inst)


class Grow(PostProcess):
    """Dilates every defect by one pixel."""

    name = "grow"

    def __call__(self, image, pred):
        import cv2

        return pred.with_(mask=cv2.dilate(pred.mask, np.ones((3, 3), np.uint8)))


EXPECTED_TABLES = [
    "Ranking of every method x post-processing chain",
    "IoU per class",
    "Per-class figures",
    "Thin classes: tolerant skeleton figures",
    "Part level: OK/NG decision",
    "Defect level by size",
    "Defect level by class",
    "Instance level (methods that separate objects)",
    "What each post-processing step brings",
    "Failures",
    "Data and settings",
]
EXPECTED_SECTIONS = ["Summary", "Confusion matrices", "Gallery", "Post-processing gain"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(3)
    for i in range(3):
        image = np.full((20, 28, 3), 128, np.uint8)
        mask = np.zeros((20, 28), np.uint8)
        y, x = rng.integers(2, 12, size=2)
        image[y : y + 5, x : x + 5] = 40
        mask[y : y + 5, x : x + 5] = 2
        image[16:18, 3:25] = 220
        mask[16:18, 3:25] = 1
        image[0, 0] = 1 if i == 2 else 128
        write_png(root / "test" / "images" / f"part {i}.png", image)
        write_png(root / "test" / "masks" / f"part {i}.png", mask, rgb=False)
    samples = list_split(root, "test")
    out = tmp_path_factory.mktemp("out")
    results = evaluate_and_report([Dark(), Bright()], samples, CLASSES, out,
                                  chains={"none": Identity(), "grow": Grow()},
                                  context={"split": "test"})
    return out, results


def test_markdown_has_every_table_and_its_images_exist(report):
    out, results = report
    md = (out / "report.md").read_text()
    for title in EXPECTED_TABLES:
        assert f"### {title}\n" in md, title
    for section in EXPECTED_SECTIONS:
        assert f"## {section}\n" in md, section
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(images) >= 6 + 3 * (2 + 4)  # charts, legend, 3 gallery rows of 6 panels
    for ref in images:
        assert not ref.startswith(("/", "http")) and (out / ref).is_file(), ref
    ranking = md.split("### Ranking")[1].split("###")[0]
    assert sum(line.startswith("| ") for line in ranking.splitlines()) == 1 + 4
    best = results.ranking()[0]
    assert (f"| 1 | {best.method} | {best.chain} | {best.defect_miou:.3f} | "
            f"{best.miou_all:.3f} |") in ranking
    header = next(line for line in ranking.splitlines() if line.startswith("| #"))
    assert "| Defect mIoU | mIoU (all classes) |" in header and "| mIoU |" not in header


def test_html_is_self_contained_with_the_same_tables(report):
    out, _ = report
    page = (out / "report.html").read_text()
    assert "http://" not in page and "https://" not in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"<link|@import|url\(", page)
    for title in EXPECTED_TABLES:
        assert f">{title}</h3>" in page, title
    md_images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (out / "report.md").read_text())
    assert len(sources) == len(md_images)


def test_tables_and_json_hold_every_method_chain_and_class(report):
    out, results = report
    frame = pd.read_csv(out / "metrics.csv")
    assert len(frame) == 2 * 2 * len(CLASSES)
    assert set(zip(frame["method"], frame["chain"], strict=True)) == {
        ("dark", "none"), ("dark", "grow"), ("bright", "none"), ("bright", "grow")}
    per_image = pd.read_csv(out / "per_image.csv")
    assert len(per_image) == 2 * 2 * 3
    assert per_image["failed"].sum() == 2  # dark on part 2, both chains
    assert {"defect_mIoU", "mIoU_all", "iou_scratch", "boundary_f1"} <= set(per_image.columns)
    assert "mIoU" not in per_image.columns and "mIoU" not in frame.columns

    def no_nan(token):
        raise AssertionError(f"metrics.json holds {token}")

    metrics = json.loads((out / "metrics.json").read_text(), parse_constant=no_nan)
    for method in ("dark", "bright"):
        for chain in ("none", "grow"):
            entry = metrics["methods"][method][chain]
            for name in CLASSES:
                assert set(entry["per_class"][name]) >= {"iou", "dice", "precision", "recall",
                                                          "support"}
            for key in ("defect_mIoU", "defect_mDice", "mIoU_all", "mDice_all"):
                assert key in entry
            assert "mIoU" not in entry and "mIoU" not in entry["per_image"]
            ours = results.entry(method, chain)
            row = frame[(frame.method == method) & (frame.chain == chain)
                        & (frame["class"] == "spot")].iloc[0]
            assert row["iou"] == pytest.approx(ours.pixel.per_class["spot"].iou)
            if not math.isnan(ours.pixel.defect_miou):
                assert entry["defect_mIoU"] == pytest.approx(ours.pixel.defect_miou)
            assert entry["boundary"]["f1"] == pytest.approx(ours.boundary.f1)
    bright = metrics["methods"]["bright"]["none"]["instances"]
    assert bright["AP"] is not None and bright["AP_range"] == [bright["AP"], bright["AP"]]
    assert metrics["ranking"][0]["defect_mIoU"] == pytest.approx(results.ranking()[0].defect_miou)
    assert metrics["methods"]["dark"]["none"]["instances"] is None
    assert [f["stage"] for f in metrics["failures"]] == ["predict"]
    # scratch is a thin class by default: the bright bar found exactly, and grown by 1 px
    # (IoU down, skeleton figures unchanged); dark finds none of it.
    thin = {(m, c): metrics["methods"][m][c]["thin"]["per_class"] for m in ("dark", "bright")
            for c in ("none", "grow")}
    assert set(thin["bright", "none"]) == {"scratch"}
    assert thin["bright", "none"]["scratch"]["fixed"]["f1"] == 1.0
    assert thin["bright", "grow"]["scratch"]["fixed"]["f1"] == 1.0
    assert thin["dark", "none"]["scratch"]["fixed"]["f1"] == 0.0
    scratch = frame[(frame.method == "bright") & (frame["class"] == "scratch")]
    assert scratch["skeleton_f1"].tolist() == [1.0, 1.0]
    assert frame[frame["class"] == "spot"]["skeleton_f1"].isna().all()


def test_no_temporary_files_are_left(report):
    out, _ = report
    leftovers = [p.name for p in out.rglob("*") if ".part" in p.name]
    assert leftovers == []
