"""The image side's bad-input matrix, through the real entry points (docs/reliability.md).

Each case runs ``infer.py`` or ``train.py`` as a user would, in this process (``runpy``:
the script's own ``__main__`` block, Hydra and the error handling included) unless the
process boundary matters; the good cases run too, so a regression either way is caught.
Expected: a user mistake is one ``error:`` line and exit code 2 before any work; a bad
file in a batch is reported and the rest carry on, exit code 1 at the end.
"""

from __future__ import annotations

import json
import runpy
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from tests.conftest import ROOT, run_script
from visionseg.models.checkpoint import update_card


@dataclass
class Outcome:
    code: int
    err: str


def run_entry(script: str, *args: str, capsys) -> Outcome:
    """``python SCRIPT ARGS`` in this process; the exit code and what it printed to stderr."""
    saved = sys.argv
    sys.argv = [str(ROOT / script), *args]
    code = 0
    try:
        runpy.run_path(str(ROOT / script), run_name="__main__")
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        sys.argv = saved
    err = capsys.readouterr().err
    return Outcome(code, err)


def one_error_line(outcome: Outcome, *fragments: str) -> str:
    """The single ``error:`` line of a refused run (exit 2, no traceback)."""
    lines = [line for line in outcome.err.splitlines() if line.startswith("error:")]
    assert outcome.code == 2, outcome.err[-2000:]
    assert len(lines) == 1 and "Traceback" not in outcome.err, outcome.err[-2000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    """Real-looking inputs: photographs in 8 bit, a 12-bit and a 0..235 16-bit sensor image,
    a corrupt and a truncated file, and two inputs with the same stem."""
    root = tmp_path_factory.mktemp("inputs")
    good, bad, sixteen, stems = (root / n for n in ("good", "bad", "sixteen", "stems"))
    for folder in (good, bad, sixteen, stems):
        folder.mkdir()
    coins = data.coins()
    cv2.imwrite(str(good / "coins.png"), coins)
    cv2.imwrite(str(good / "camera.jpg"), data.camera())
    cv2.imwrite(str(bad / "fine.png"), coins)
    (bad / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 50)
    ok, png = cv2.imencode(".png", data.camera())
    (bad / "truncated.png").write_bytes(png.tobytes()[: len(png) // 2])
    cv2.imwrite(str(sixteen / "twelve_bit.png"), (coins.astype(np.uint16) * 16))
    small = (coins.astype(np.float32) * 235 / 255).astype(np.uint16)  # values 0..235
    cv2.imwrite(str(sixteen / "small.png"), small)
    cv2.imwrite(str(stems / "part.png"), coins)
    cv2.imwrite(str(stems / "part.jpg"), 255 - coins)
    return root


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def test_good_images_run(images, tmp_path, capsys):
    out = tmp_path / "out"
    outcome = run_entry("infer.py", "method=otsu", f"input={images / 'good'}", f"output={out}",
                        "progress=false", capsys=capsys)
    assert outcome.code == 0, outcome.err[-2000:]
    summary = _summary(out)
    assert summary["images"] == 2 and summary["failed"] == 0
    assert sorted(p.name for p in (out / "masks").glob("*.png")) == ["camera.png", "coins.png"]


def test_one_bad_file_is_reported_and_the_rest_carry_on(images, tmp_path, capsys):
    out = tmp_path / "out"
    outcome = run_entry("infer.py", "method=otsu", f"input={images / 'bad'}", f"output={out}",
                        "progress=false", capsys=capsys)
    assert outcome.code == 1 and "error: 2 image(s) failed" in outcome.err
    results = {r["name"]: r for r in _summary(out)["results"]}
    assert results["fine"]["status"] == "ok" and (out / "masks/fine.png").is_file()
    for name in ("corrupt", "truncated"):
        assert results[name]["status"] == "error" and "cannot be decoded" in results[name]["error"]


def test_sixteen_bit_sensor_images_work_with_otsu(images, tmp_path, capsys):
    out = tmp_path / "out"
    outcome = run_entry("infer.py", "method=otsu", f"input={images / 'sixteen'}",
                        f"output={out}", "progress=false", capsys=capsys)
    assert outcome.code == 0, outcome.err[-2000:]
    results = {r["name"]: r for r in _summary(out)["results"]}
    assert all(r["status"] == "ok" for r in results.values())
    reference = _otsu_mask(images)
    for name in ("twelve_bit", "small"):  # the same photograph, so nearly the same mask
        mask = cv2.imread(str(out / results[name]["outputs"]["mask"]), cv2.IMREAD_UNCHANGED)
        assert ((mask > 0) == reference).mean() > 0.97, name


def _otsu_mask(images: Path) -> np.ndarray:
    _, binary = cv2.threshold(data.coins(), 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return binary.astype(bool) if binary.mean() < 0.5 else ~binary.astype(bool)


def test_same_stems_get_their_own_outputs(images, tmp_path, capsys):
    out = tmp_path / "out"
    outcome = run_entry("infer.py", "method=otsu", f"input={images / 'stems'}",
                        f"output={out}", "progress=false", capsys=capsys)
    assert outcome.code == 0, outcome.err[-2000:]
    outputs = {Path(r["image"]).name: r["outputs"]["mask"] for r in _summary(out)["results"]}
    assert outputs == {"part.png": "masks/part_png.png", "part.jpg": "masks/part_jpg.png"}
    first, second = (cv2.imread(str(out / m), cv2.IMREAD_UNCHANGED) for m in outputs.values())
    assert not np.array_equal(first, second)  # inverted image: the other mask survived


@pytest.mark.parametrize(
    "override,fragment",
    [
        (["tile.size=64", "tile.overlap=64"], "0 <= tile.overlap < tile.size"),
        (["tile.overlap=-16"], "0 <= tile.overlap < tile.size"),
        (["batch_size=0"], "batch_size must be an integer >= 1"),
        (["io_threads=0"], "io_threads must be an integer >= 1"),
        (["overlay_alpha=1.5"], "overlay_alpha must be a number in [0, 1]"),
        (["image16.mode=range", "image16.high=0"], "image16.low and image16.high"),
        (["method=foo"], "otsu"),
    ],
)
def test_bad_settings_are_one_line_before_any_work(images, tmp_path, capsys, override, fragment):
    out = tmp_path / "out"
    args = ["method=otsu", *override] if not override[0].startswith("method") else override
    outcome = run_entry("infer.py", *args, f"input={images / 'good'}", f"output={out}",
                        capsys=capsys)
    one_error_line(outcome, fragment)
    assert not (out / "masks").exists()


def test_output_problems_are_one_line(images, tmp_path, capsys):
    existing = tmp_path / "a_file"
    existing.write_text("not a folder")
    outcome = run_entry("infer.py", "method=otsu", f"input={images / 'good'}",
                        f"output={existing}", capsys=capsys)
    one_error_line(outcome, f"output={existing} is an existing file")
    locked = Path("/sys/kernel/visionseg-out")
    if Path("/sys/kernel").is_dir():  # a real folder no one may write into, root included
        outcome = run_entry("infer.py", "method=otsu", f"input={images / 'good'}",
                            f"output={locked}", capsys=capsys)
        one_error_line(outcome, f"output={locked} cannot be written")


def test_missing_inputs_and_checkpoints_are_one_line(tmp_path, capsys):
    outcome = run_entry("infer.py", "method=otsu", f"input={tmp_path / 'none*.png'}",
                        f"output={tmp_path / 'o'}", capsys=capsys)
    one_error_line(outcome, "no image file, folder or glob match found")
    outcome = run_entry("infer.py", f"ckpt={tmp_path / 'nope.ckpt'}",
                        f"input={tmp_path}", f"output={tmp_path / 'o'}", capsys=capsys)
    one_error_line(outcome, "nope.ckpt: checkpoint file not found")


def test_leftovers_of_a_killed_run_are_cleared(images, tmp_path, capsys):
    out = tmp_path / "out"
    (out / "masks").mkdir(parents=True)
    leftover = out / "masks" / ".coins.png.a1b2.part"
    leftover.write_bytes(b"half a mask")
    outcome = run_entry("infer.py", "method=otsu", f"input={images / 'good'}", f"output={out}",
                        "progress=false", capsys=capsys)
    assert outcome.code == 0 and not leftover.exists()
    assert sorted(p.name for p in (out / "masks").glob("*")) == ["camera.png", "coins.png"]


def test_the_checkpoints_16_bit_policy_is_used(trained_run, images, tmp_path, capsys):
    """(``image16.mode=...`` on the command line wins: tests/io/test_scale16.py.)"""
    ckpt = tmp_path / "model.ckpt"
    ckpt.write_bytes((trained_run / "checkpoints/last.ckpt").read_bytes())
    update_card(ckpt, image16={"mode": "range", "low": 0, "high": 1023})
    out = tmp_path / "out"
    outcome = run_entry("infer.py", f"ckpt={ckpt}", f"input={images / 'sixteen/twelve_bit.png'}",
                        f"output={out}", "progress=false", capsys=capsys)
    assert outcome.code == 0, outcome.err[-2000:]
    assert _summary(out)["settings"]["scale16"] == {"mode": "range", "low": 0, "high": 1023}


@pytest.mark.parametrize(
    "override,fragment",
    [
        (["data.batch_size=0"], "data.batch_size must be an integer >= 1, got 0"),
        (["data.val_fraction=1.5"], "data.val_fraction must be a number in (0, 1)"),
        (["data.image16.mode=linear"], "image16.mode must be one of"),
        (["ckpt_path=/nonexistent/last.ckpt"], "checkpoint file not found"),
    ],
)
def test_bad_training_settings_are_one_line(tiny_data, tmp_path, capsys, override, fragment):
    outcome = run_entry("train.py", f"data.root={tiny_data}", "data.synthetic=null",
                        *override, f"hydra.run.dir={tmp_path / 'run'}", capsys=capsys)
    one_error_line(outcome, fragment)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_training_output_that_is_a_file_is_one_line(tmp_path):
    existing = tmp_path / "a_file"
    existing.write_text("x")
    proc = run_script("train.py", f"hydra.run.dir={existing}", check=False, timeout=300)
    one_error_line(Outcome(proc.returncode, proc.stderr), "is an existing file, not a folder")
