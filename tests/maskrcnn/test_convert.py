"""python -m visionseg.data.convert: COCO and LabelMe into images, class and instance masks."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT
from tests.maskrcnn.annotations import (
    COCO_OBJECTS,
    SIZE,
    coco_file,
    labelme_file,
    read_png,
    rectangle,
    reference_masks,
)
from visionseg.data.convert.__main__ import main
from visionseg.data.folder import audit_samples, list_split
from visionseg.data.instances import InstanceTargets

CLASSES = ["background", "scratch", "spot", "stain"]


def objects_of(labels: np.ndarray, semantic: np.ndarray) -> list[tuple[int, frozenset]]:
    """Each instance id's class (from the class mask) and pixel set, sorted."""
    out = []
    for i in range(1, int(labels.max()) + 1):
        pixels = labels == i
        assert pixels.any(), f"instance ids must be consecutive, {i} is missing"
        classes = np.unique(semantic[pixels])
        assert len(classes) == 1
        out.append((int(classes[0]), frozenset(zip(*np.nonzero(pixels), strict=True))))
    return sorted(out, key=lambda o: (o[0], min(o[1])))


def expected_objects(objects) -> list[tuple[int, frozenset]]:
    masks = reference_masks(objects)
    # Smaller instances are drawn over larger ones.
    order = sorted(range(len(masks)), key=lambda i: -masks[i].sum())
    owner = np.zeros(SIZE, int)
    for i in order:
        owner[masks[i]] = i + 1
    out = [(CLASSES.index(label), frozenset(zip(*np.nonzero(owner == i + 1), strict=True)))
           for i, (label, _) in enumerate(objects)]
    return sorted(out, key=lambda o: (o[0], min(o[1])))


def test_coco_round_trip_to_folder_and_instances(tmp_path, capsys):
    src = coco_file(tmp_path / "src")
    root = tmp_path / "data"
    assert main(["coco", str(src), str(root), "--split", "train"]) == 0
    assert "3 image(s), 5 instance(s)" in capsys.readouterr().out
    assert json.loads((root / "classes.json").read_text()) == CLASSES
    for name, objects in COCO_OBJECTS.items():
        labels = read_png(root / "train/instances" / f"{name}.png")
        semantic = read_png(root / "train/masks" / f"{name}.png")
        assert labels.dtype == np.uint16 and semantic.dtype == np.uint8
        assert labels.shape == semantic.shape == SIZE
        assert (semantic > 0).sum() == (labels > 0).sum()
        assert objects_of(labels, semantic) == expected_objects(objects)
        src_image = (tmp_path / "src" / f"{name}.png").read_bytes()
        assert (root / "train/images" / f"{name}.png").read_bytes() == src_image

    samples = list_split(root, "train")
    audit_samples(samples, len(CLASSES))
    targets = InstanceTargets(CLASSES)
    attached, problems = targets.attach(samples)
    assert problems == [] and {s.source for s in attached} == {"instances"}
    for sample in attached:
        semantic = read_png(sample.mask)
        inst = targets.read(sample, semantic)
        expected = expected_objects(COCO_OBJECTS[sample.name])
        got = sorted(((int(c), frozenset(zip(*np.nonzero(inst.labels == i), strict=True)))
                      for i, c in enumerate(inst.classes, start=1)),
                     key=lambda o: (o[0], min(o[1])))
        assert got == expected


def test_coco_in_the_data_folder_is_read_when_there_are_no_instance_masks(tmp_path):
    root = tmp_path / "data"
    assert main(["coco", str(coco_file(tmp_path / "src")), str(root)]) == 0
    for png in (root / "train/instances").iterdir():
        png.unlink()
    (root / "train/instances").rmdir()
    coco_file(root / "train/images")
    (root / "train/images/instances.json").rename(root / "train/coco.json")
    attached, problems = InstanceTargets(CLASSES).attach(list_split(root, "train"))
    assert problems == [] and {s.source for s in attached} == {"coco"}
    sample = next(s for s in attached if s.name == "part_a")
    inst = InstanceTargets(CLASSES).read(sample, read_png(sample.mask))
    assert sorted(inst.classes.tolist()) == [1, 1, 2]


def test_labelme_round_trip_with_groups_rectangles_and_embedded_images(tmp_path):
    src = tmp_path / "labelme"
    labelme_file(src, "one", [
        {"label": "scratch", "points": np.reshape(rectangle((4, 6, 30, 10)), (-1, 2)).tolist(),
         "shape_type": "polygon", "group_id": None},
        {"label": "spot", "points": [[40, 20], [48, 28]], "shape_type": "rectangle"},
        # Two parts of one scratch: same group_id and label -> one instance.
        {"label": "scratch", "points": [[10, 30], [20, 30], [20, 36], [10, 36]], "group_id": 3},
        {"label": "scratch", "points": [[10, 38], [20, 38], [20, 44], [10, 44]], "group_id": 3},
    ])
    labelme_file(src, "two", [{"label": "stain", "points": [[2, 2], [22, 18]],
                               "shape_type": "rectangle"}], embed=True)
    root = tmp_path / "data"
    assert main(["labelme", str(src), str(root), "--classes", ",".join(CLASSES)]) == 0
    labels = read_png(root / "train/instances/one.png")
    semantic = read_png(root / "train/masks/one.png")
    group = np.zeros(SIZE, bool)
    group[30:36, 10:20] = group[38:44, 10:20] = True
    expected = sorted(
        [(1, frozenset(zip(*np.nonzero(m), strict=True))) for m in
         (reference_masks([("s", (4, 6, 30, 10))])[0], group)]
        + [(2, frozenset(zip(*np.nonzero(reference_masks([("s", (40, 20, 48, 28))])[0]),
                             strict=True)))],
        key=lambda o: (o[0], min(o[1])))
    assert objects_of(labels, semantic) == expected
    assert (root / "train/images/two.png").is_file()
    assert objects_of(read_png(root / "train/instances/two.png"),
                      read_png(root / "train/masks/two.png")) == expected_objects(
        [("stain", (2, 2, 22, 18))])


def test_malformed_coco_lists_every_annotation_and_writes_nothing(tmp_path, capsys):
    src = coco_file(tmp_path / "src")
    data = json.loads(src.read_text())
    data["annotations"][1]["segmentation"] = [[1, 1, 5, 5]]
    data["annotations"][2]["bbox"] = [60, 40, 20, 20]
    del data["annotations"][3]["category_id"]
    src.write_text(json.dumps(data))
    root = tmp_path / "data"
    assert main(["coco", str(src), str(root), "--classes", "background,scratch,spot"]) == 2
    err = capsys.readouterr().err
    assert f"{src}: image 'part_a.png', annotation 2: polygon has 2 point(s), at least 3" in err
    assert "annotation 3: bbox [60, 40, 20, 20] lies outside the 64x48 image" in err
    assert "annotation 4: missing key(s) ['category_id']" in err
    assert "annotation 5: unknown category name 'spot'" not in err
    assert "part_b.png', annotation 4" not in err
    # Stains are not among the classes given.
    data["annotations"] = data["annotations"][:1] + [
        {"id": 9, "image_id": 2, "category_id": 9, "segmentation": [rectangle((2, 2, 22, 18))]}]
    src.write_text(json.dumps(data))
    assert main(["coco", str(src), str(root), "--classes", "background,scratch,spot"]) == 2
    assert "image 'part_b.png', annotation 9: unknown category name 'stain'" in \
        capsys.readouterr().err
    assert not root.exists()
    del data["categories"]
    src.write_text(json.dumps(data))
    assert main(["coco", str(src), str(root)]) == 2
    assert f"{src}: missing top-level key(s) ['categories']" in capsys.readouterr().err


def test_malformed_labelme_from_the_command_line(tmp_path):
    src = tmp_path / "labelme"
    labelme_file(src, "bad", [
        {"label": "scratch", "points": [[1, 1], [9, 9]], "shape_type": "polygon"},
        {"label": "scratch", "points": [[1, 1], [9, 9]], "shape_type": "line"},
        {"label": "spot", "points": [[10, 10], [90, 10], [90, 20]]},
    ])
    (src / "broken.json").write_text('{"shapes": [')
    proc = subprocess.run(
        [sys.executable, "-m", "visionseg.data.convert", "labelme", str(src), str(tmp_path / "d")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{src / 'bad.json'}: shape 0 ('scratch'): polygon has 2 point(s)" in proc.stderr
    assert "shape 1 ('scratch'): shape_type 'line' encloses no area" in proc.stderr
    assert "shape 2 ('spot'): polygon lies outside the 64x48 image" in proc.stderr
    assert f"{src / 'broken.json'}: not valid JSON" in proc.stderr
    assert not (tmp_path / "d").exists()


def test_zero_area_instances_are_dropped_with_a_warning(tmp_path, caplog):
    objects = {"flat": [("scratch", (4, 6, 30, 10)), ("spot", (10, 10, 10, 20))]}
    src = coco_file(tmp_path / "src", objects)
    data = json.loads(src.read_text())
    data["annotations"].append({"id": 3, "image_id": 1, "category_id": 8,
                                "segmentation": [[5, 5, 10, 10, 15, 15]]})
    src.write_text(json.dumps(data))
    from visionseg.data.convert import convert_coco

    with caplog.at_level(logging.WARNING):
        summary = convert_coco(src, tmp_path / "data")
    assert summary.instances == 1 and len(summary.dropped) == 2
    assert "dropped 2 zero-area instance(s): annotation 2, annotation 3" in caplog.text
    labels = read_png(tmp_path / "data/train/instances/flat.png")
    assert np.array_equal(labels > 0, reference_masks(objects["flat"][:1])[0])


@pytest.mark.parametrize("bad", ["images", "annotations"])
def test_non_object_entries_are_reported(tmp_path, bad, capsys):
    src = coco_file(tmp_path / "src")
    data = json.loads(src.read_text())
    data[bad][0] = "oops"
    src.write_text(json.dumps(data))
    assert main(["coco", str(src), str(tmp_path / "d")]) == 2
    assert f"{bad}[0]: not an object" in capsys.readouterr().err
