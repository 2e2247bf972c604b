"""python -m visionseg.data.convert classfolders|mvtec: grey masks into a stratified split."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from visionseg.data.convert.__main__ import main
from visionseg.data.convert.split import split_counts
from visionseg.data.folder import audit_samples, list_split

SIZE = 24
SPLITS = ("train", "val", "test")
MAGNETIC_TILE = Path(__file__).resolve().parents[2].parent / "shared/datasets/magnetic-tile"


def soft_mask(seed: int, size: int = SIZE) -> np.ndarray:
    """A blurred disc: grey 0..255 with soft edges, as annotation tools export them."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((size, size), np.uint8)
    cx, cy = (int(v) for v in rng.integers(6, size - 6, 2))
    cv2.circle(mask, (cx, cy), int(rng.integers(3, 6)), 255, -1)
    return cv2.GaussianBlur(mask, (5, 5), 1.5)


def image(seed: int, size: int = SIZE) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size), dtype=np.uint8)


def class_folders(src: Path, counts: dict[str, int], sub: str = "Imgs",
                  masks_for_good: bool = True) -> Path:
    """``src/MT_<Class>/<sub>/<stem>.jpg`` with ``<stem>.png`` masks; ``Free`` is good."""
    seed = 0
    for name, n in counts.items():
        folder = src / f"MT_{name}" / sub
        folder.mkdir(parents=True)
        for _ in range(n):
            seed += 1
            assert cv2.imwrite(str(folder / f"img_{seed:03d}.jpg"), image(seed))
            if name != "Free":
                assert cv2.imwrite(str(folder / f"img_{seed:03d}.png"), soft_mask(seed))
            elif masks_for_good and seed % 2:
                assert cv2.imwrite(str(folder / f"img_{seed:03d}.png"),
                                   np.zeros((SIZE, SIZE), np.uint8))
    return src


def split_of(root: Path) -> dict[str, dict]:
    return json.loads((root / "split.json").read_text())["images"]


def test_class_folders_threshold_masks_and_good_parts(tmp_path, capsys):
    src = class_folders(tmp_path / "src", {"Crack": 5, "Blowhole": 4, "Free": 6})
    # Images and masks directly in the class folder are read too.
    flat = src / "MT_Uneven"
    flat.mkdir()
    for seed in (90, 91, 92):
        cv2.imwrite(str(flat / f"u{seed}.png"), image(seed))
        cv2.imwrite(str(flat / f"u{seed}_mask.png"), soft_mask(seed))
    root = tmp_path / "data"
    assert main(["classfolders", str(src), str(root), "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "free (good)" in out and "total" in out.splitlines()[-4]
    classes = json.loads((root / "classes.json").read_text())
    assert classes == ["background", "blowhole", "crack", "uneven"]
    records = split_of(root)
    assert len(records) == 18
    for key, record in records.items():
        source = src / key
        mask_dir = root / record["split"] / "masks"
        written = cv2.imread(str(mask_dir / f"{record['name']}.png"), cv2.IMREAD_UNCHANGED)
        target = root / record["split"] / "images" / f"{record['name']}{source.suffix}"
        assert target.read_bytes() == source.read_bytes()
        if record["group"] == "free":
            assert written.dtype == np.uint8 and not written.any()
            continue
        grey = cv2.imread(str(source.with_name(source.stem + (
            "_mask.png" if source.suffix == ".png" else ".png"))), cv2.IMREAD_GRAYSCALE)
        assert (grey % 255).astype(bool).sum() > 0, "the test masks must have soft edges"
        expected = np.where(grey > 127, classes.index(record["group"]), 0)
        np.testing.assert_array_equal(written, expected)
    for split in SPLITS:
        audit_samples(list_split(root, split), len(classes))


def test_threshold_option_moves_the_edge(tmp_path):
    src = class_folders(tmp_path / "src", {"Crack": 3})
    assert main(["classfolders", str(src), str(tmp_path / "d"), "--threshold", "200"]) == 0
    for key, record in split_of(tmp_path / "d").items():
        grey = cv2.imread(str((src / key).with_suffix(".png")), cv2.IMREAD_GRAYSCALE)
        mask = cv2.imread(str(tmp_path / "d" / record["split"] / "masks" /
                              f"{record['name']}.png"), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(mask > 0, grey > 200)


def test_split_is_stratified_seeded_and_recorded(tmp_path, capsys):
    src = class_folders(tmp_path / "src", {"Crack": 10, "Fray": 3, "Break": 7, "Free": 12},
                        masks_for_good=False)
    first, again, other = (tmp_path / n for n in ("a", "b", "c"))
    assert main(["classfolders", str(src), str(first), "--seed", "3"]) == 0
    assert main(["classfolders", str(src), str(again), "--seed", "3"]) == 0
    assert main(["classfolders", str(src), str(other), "--seed", "4",
                 "--split", "0.5,0.25,0.25"]) == 0
    capsys.readouterr()
    recorded = json.loads((first / "split.json").read_text())
    assert recorded["seed"] == 3 and recorded["fractions"] == dict(
        zip(SPLITS, (0.6, 0.2, 0.2), strict=True))
    assert recorded["good"] == ["free"]
    assert set(recorded["images"]) == {p.relative_to(src).as_posix()
                                       for p in src.rglob("*.jpg")}
    assert split_of(first) == split_of(again)
    assert split_of(first) != split_of(other)
    counts = recorded["counts"]
    assert counts["crack"] == {"train": 6, "val": 2, "test": 2}
    assert counts["fray"] == {"train": 1, "val": 1, "test": 1}
    assert counts["free"] == {"train": 7, "val": 3, "test": 2}  # largest remainder
    for split in SPLITS:
        groups = {r["group"] for r in split_of(first).values() if r["split"] == split}
        assert groups == {"crack", "fray", "break", "free"}
        names = {p.stem for p in (first / split / "images").iterdir()}
        assert names == {r["name"] for r in split_of(first).values() if r["split"] == split}


def test_split_counts_give_every_split_an_image_when_possible():
    assert split_counts(3, (0.6, 0.2, 0.2)) == [1, 1, 1]
    assert split_counts(2, (0.6, 0.2, 0.2)) == [1, 1, 0]
    assert split_counts(3, (0.9, 0.05, 0.05)) == [1, 1, 1]
    assert split_counts(10, (0.8, 0.2, 0.0)) == [8, 2, 0]
    assert sum(split_counts(57, (0.6, 0.2, 0.2))) == 57


def test_good_folders_detected_or_named_and_explicit_class_order(tmp_path, capsys):
    src = class_folders(tmp_path / "src", {"Crack": 3, "Spot": 3})
    clean, parts = src / "MT_Clean", src / "MT_Parts"
    for folder in (clean, parts):
        folder.mkdir()
    for seed in (50, 51, 52):
        cv2.imwrite(str(clean / f"c{seed}.jpg"), image(seed))  # every mask empty: good
        cv2.imwrite(str(clean / f"c{seed}.png"), np.zeros((SIZE, SIZE), np.uint8))
        cv2.imwrite(str(parts / f"p{seed}.jpg"), image(seed))  # no masks: say so
    err = run_error(["classfolders", str(src), str(tmp_path / "x")], capsys)
    assert f"{parts}: no image has a mask" in err and "pass --good parts" in err
    root = tmp_path / "named"
    assert main(["classfolders", str(src), str(root), "--classes", "background,spot,crack",
                 "--good", "parts,MT_Clean"]) == 0
    assert json.loads((root / "classes.json").read_text()) == ["background", "spot", "crack"]
    assert json.loads((root / "split.json").read_text())["good"] == ["clean", "parts"]
    for record in split_of(root).values():
        mask = root / record["split"] / "masks" / f"{record['name']}.png"
        assert cv2.imread(str(mask), cv2.IMREAD_UNCHANGED).any() == (
            record["group"] in ("spot", "crack"))
    shutil.rmtree(parts)
    assert main(["classfolders", str(src), str(tmp_path / "auto")]) == 0
    assert json.loads((tmp_path / "auto" / "split.json").read_text())["good"] == ["clean"]
    err = run_error(["classfolders", str(src), str(tmp_path / "x"), "--good", "spot"], capsys)
    assert "good part ('spot') whose mask has" in err
    err = run_error(["classfolders", str(src), str(tmp_path / "x"), "--classes", "crack,spot"],
                    capsys)
    assert "the first name is the background" in err


def test_colliding_stems_get_the_class_prefix(tmp_path):
    src = tmp_path / "src"
    for cls in ("scratch", "dent"):
        (src / cls).mkdir(parents=True)
        for seed in (1, 2, 3):
            cv2.imwrite(str(src / cls / f"{seed:04d}.bmp"), image(seed))
            cv2.imwrite(str(src / cls / f"{seed:04d}.png"), soft_mask(seed))
    assert main(["classfolders", str(src), str(tmp_path / "d")]) == 0
    names = sorted(r["name"] for r in split_of(tmp_path / "d").values())
    assert names == sorted(f"{c}_{s:04d}" for c in ("scratch", "dent") for s in (1, 2, 3))
    assert len(list((tmp_path / "d").glob("*/images/*.bmp"))) == 6


def mvtec_category(cat: Path) -> Path:
    seed = 0
    for folder, n in (("train/good", 4), ("test/good", 3), ("test/crack", 3), ("test/hole", 4)):
        (cat / folder).mkdir(parents=True)
        defect = folder.split("/")[1]
        if folder.startswith("test") and defect != "good":
            (cat / "ground_truth" / defect).mkdir(parents=True)
        for i in range(n):
            seed += 1
            cv2.imwrite(str(cat / folder / f"{i:03d}.png"), image(seed))
            if folder.startswith("test") and defect != "good":
                binary = np.where(soft_mask(seed) > 127, 255, 0).astype(np.uint8)
                cv2.imwrite(str(cat / "ground_truth" / defect / f"{i:03d}_mask.png"), binary)
    return cat


def test_mvtec_category(tmp_path, capsys):
    cat = mvtec_category(tmp_path / "mvtec" / "bottle")
    root = tmp_path / "d"
    assert main(["mvtec", str(cat), str(root), "--seed", "1"]) == 0
    assert "good (good)" in capsys.readouterr().out
    classes = json.loads((root / "classes.json").read_text())
    assert classes == ["background", "crack", "hole"]
    records = split_of(root)
    assert len(records) == 14
    assert all(records[f"train/good/{i:03d}.png"]["split"] == "train" for i in range(4))
    assert records["test/crack/000.png"]["name"] == "test_crack_000"
    for group in ("crack", "hole", "good"):
        drawn = {r["split"] for k, r in records.items() if r["group"] == group
                 and k.startswith("test/")}
        assert drawn == set(SPLITS), group
    for key, record in records.items():
        mask = cv2.imread(str(root / record["split"] / "masks" / f"{record['name']}.png"),
                          cv2.IMREAD_UNCHANGED)
        if record["group"] == "good":
            assert not mask.any()
        else:
            gt = cat / "ground_truth" / record["group"] / f"{Path(key).stem}_mask.png"
            expected = (cv2.imread(str(gt), cv2.IMREAD_GRAYSCALE) > 127)
            np.testing.assert_array_equal(mask, expected * classes.index(record["group"]))
    merged = tmp_path / "merged"
    assert main(["mvtec", str(cat), str(merged), "--mvtec-merge"]) == 0
    assert json.loads((merged / "classes.json").read_text()) == ["background", "defect"]
    assert {r["group"] for r in split_of(merged).values()} == {"crack", "hole", "good"}


def run_error(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    return err


def test_unreadable_layouts_exit_2_with_one_line(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = str(tmp_path / "out")
    err = run_error(["classfolders", str(empty), out], capsys)
    assert str(empty) in err and "expected one folder per class" in err
    assert len(err.strip().splitlines()) == 1
    err = run_error(["mvtec", str(empty), out], capsys)
    assert "expected an MVTec AD category folder" in err
    mvtec_category(tmp_path / "mvtec" / "bottle")
    err = run_error(["mvtec", str(tmp_path / "mvtec"), out], capsys)
    assert "pass one category folder" in err
    err = run_error(["classfolders", str(tmp_path / "x"), out, "--split", "0.5,0.5"], capsys)
    assert "--split" in err
    assert not (tmp_path / "out").exists()


def test_mask_size_and_missing_mask_are_named(tmp_path, capsys):
    src = class_folders(tmp_path / "src", {"Crack": 3, "Free": 2})
    wrong = src / "MT_Crack" / "Imgs" / "img_002.png"
    cv2.imwrite(str(wrong), np.zeros((SIZE + 2, SIZE), np.uint8))
    err = run_error(["classfolders", str(src), str(tmp_path / "out")], capsys)
    assert f"{wrong}: mask is {SIZE}x{SIZE + 2} but its image img_002.jpg is" in err
    assert len(err.strip().splitlines()) == 1
    wrong.unlink()
    err = run_error(["classfolders", str(src), str(tmp_path / "out")], capsys)
    assert f"{wrong.with_suffix('.jpg')}: image has no mask (expected img_002.png" in err
    for mask in (src / "MT_Crack" / "Imgs").glob("*.png"):
        mask.unlink()
    err = run_error(["classfolders", str(src), str(tmp_path / "out")], capsys)
    assert "no image has a mask" in err and "--good crack" in err
    assert not (tmp_path / "out").exists()


def test_output_must_be_new_empty_or_an_earlier_conversion(tmp_path, capsys):
    src = class_folders(tmp_path / "src", {"Crack": 4, "Free": 3})
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    err = run_error(["classfolders", str(src), str(busy)], capsys)
    assert "not empty and not an earlier conversion" in err
    assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]
    root = tmp_path / "data"
    root.mkdir()
    assert main(["classfolders", str(src), str(root), "--seed", "0"]) == 0
    stale = root / "train" / "images" / "stale.jpg"
    stale.write_bytes(b"old")
    assert main(["classfolders", str(src), str(root), "--seed", "5"]) == 0
    assert not stale.exists()
    assert sum(1 for _ in root.glob("*/images/*")) == 7
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    run_error(["classfolders", str(src), str(src / "out")], capsys)


@pytest.mark.skipif(not MAGNETIC_TILE.is_dir(), reason="magnetic tile set not beside the repo")
def test_real_magnetic_tile_folders(tmp_path, capsys):
    src = tmp_path / "mt"
    for name in ("MT_Fray", "MT_Crack"):
        shutil.copytree(MAGNETIC_TILE / name, src / name)
    free = src / "MT_Free" / "Imgs"
    free.mkdir(parents=True)
    for path in sorted((MAGNETIC_TILE / "MT_Free" / "Imgs").glob("*"))[:40]:
        shutil.copy(path, free)
    root = tmp_path / "data"
    assert main(["classfolders", str(src), str(root), "--seed", "0"]) == 0
    capsys.readouterr()
    assert json.loads((root / "classes.json").read_text()) == ["background", "crack", "fray"]
    counts = json.loads((root / "split.json").read_text())["counts"]
    assert counts["fray"] == {"train": 19, "val": 7, "test": 6}
    assert all(n > 0 for group in counts.values() for n in group.values())
    record = split_of(root)["MT_Fray/Imgs/" + sorted(p.name for p in (src / "MT_Fray" / "Imgs")
                                                      .glob("*.jpg"))[0]]
    mask = cv2.imread(str(root / record["split"] / "masks" / f"{record['name']}.png"),
                      cv2.IMREAD_UNCHANGED)
    grey = cv2.imread(str(src / "MT_Fray" / "Imgs" / f"{record['name']}.png"),
                      cv2.IMREAD_GRAYSCALE)
    np.testing.assert_array_equal(mask, np.where(grey > 127, 2, 0))
