"""Thin defects on photographed textures: what each measure changes, per class, and its cost.

    python -m benchmarks.thin_defects make                # the data set (once, seconds)
    nice -n 10 python -m benchmarks.thin_defects train --variant default [--variant skeleton]
    python -m benchmarks.thin_defects posthoc --variant default   # flips, thresholds
    python -m benchmarks.thin_defects table               # Markdown table of every result

The data set is built the way the reviewer of issue 15 built theirs, independently of
:mod:`visionseg.data.synthetic`: 256-pixel crops of the photographs scikit-image ships
(grass, gravel, brick; rotated, rescaled, tinted), with planted thin scratches (1-3 px,
low contrast: 0.5-1.1 texture standard deviations) and soft stains; 96 train, 24 val,
48 test images, classes background/scratch/stain. Every variant trains with ``train.py``
and its defaults (U-Net ResNet-18 from scratch, 256-pixel crops = whole images, batch 8)
for 15 epochs, plus the overrides of the variant. ``posthoc`` measures, on the best
checkpoint of a variant, test-time flip averaging and per-class probability thresholds
chosen on validation (a grid; the test split only scores the choice).
Results go to ``outputs/thin_defects/results.json``; ``table`` prints them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from visionseg.data.textured import bent_path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "datasets" / "photo_textures"
OUT = ROOT / "outputs" / "thin_defects"
CLASSES = ["background", "scratch", "stain"]
SPLITS = {"train": 96, "val": 24, "test": 48}
SIZE = 256
EPOCHS = 15

#: Overrides of train.py per variant (on top of the shared ones in :func:`train`).
VARIANTS: dict[str, list[str]] = {
    "default": [],
    "skeleton": ["model/loss=ce_dice_skeleton"],
    "cldice": ["model/loss=ce_dice_cldice"],
    "weighted": ["model.loss.terms.0.loss.class_weights=[1.0,3.0,1.0]"],
    "skeleton_weighted": ["model/loss=ce_dice_skeleton",
                          "model.loss.terms.0.loss.class_weights=[1.0,5.0,1.0]"],
}


# ----------------------------------------------------------------------------- data set
def _texture(rng: np.random.Generator) -> np.ndarray:
    """A 256-pixel RGB crop of a scikit-image photograph, rotated, rescaled and tinted."""
    import skimage.data

    photo = getattr(skimage.data, str(rng.choice(["grass", "gravel", "brick"])))()
    scale = rng.uniform(0.7, 1.4)
    photo = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    centre = (photo.shape[1] / 2, photo.shape[0] / 2)
    turn = cv2.getRotationMatrix2D(centre, float(rng.uniform(0, 360)), 1.0)
    photo = cv2.warpAffine(photo, turn, photo.shape[::-1], borderMode=cv2.BORDER_REFLECT)
    y, x = (rng.integers(0, max(1, n - SIZE)) for n in photo.shape)
    crop = photo[y : y + SIZE, x : x + SIZE].astype(np.float32)
    tint = rng.uniform(0.85, 1.15, size=3)
    return crop[..., None] * tint[None, None, :]


def _scratch(rng: np.random.Generator, image: np.ndarray, mask: np.ndarray) -> None:
    layer = np.zeros((SIZE, SIZE), np.uint8)
    points = bent_path(rng, SIZE, (0.2, 0.6), 0.1)
    cv2.polylines(layer, [points], False, 1, thickness=int(rng.integers(1, 4)))
    contrast = rng.uniform(0.5, 1.1) * float(image.std()) * rng.choice([-1.0, 1.0])
    image += layer[..., None] * np.float32(contrast)
    mask[layer > 0] = 1


def _stain(rng: np.random.Generator, image: np.ndarray, mask: np.ndarray) -> None:
    layer = np.zeros((SIZE, SIZE), np.uint8)
    centre = tuple(int(v) for v in rng.uniform(0.15, 0.85, 2) * SIZE)
    axes = tuple(int(v) for v in rng.uniform(0.04, 0.14, 2) * SIZE)
    cv2.ellipse(layer, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    soft = cv2.GaussianBlur(layer.astype(np.float32), (0, 0), 3.0)
    colour = np.array([35.0, 12.0, -30.0], np.float32) * rng.uniform(0.8, 1.3)
    image += soft[..., None] * colour[None, None, :]
    mask[(layer > 0) & (mask == 0)] = 2


def make_sample(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One photographed-texture image (uint8 RGB) with 0-3 scratches and 0-2 stains."""
    image = _texture(rng)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    for _ in range(int(rng.integers(0, 3))):
        _stain(rng, image, mask)
    for _ in range(int(rng.integers(0, 4))):
        _scratch(rng, image, mask)
    image += rng.normal(0, 3, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8), mask


def make(root: Path = DATA, seed: int = 15) -> Path:
    """Write the data set (deterministic for ``seed``); skipped when the marker matches."""
    from visionseg.io.images import write_png

    marker = root / "photo_textures.json"
    settings = {"splits": SPLITS, "size": SIZE, "seed": seed, "classes": CLASSES}
    if marker.is_file() and json.loads(marker.read_text()) == settings:
        return root
    for offset, (split, count) in enumerate(SPLITS.items()):
        rng = np.random.default_rng([seed, offset])
        for i in range(count):
            image, mask = make_sample(rng)
            write_png(root / split / "images" / f"{split}_{i:04d}.png", image)
            write_png(root / split / "masks" / f"{split}_{i:04d}.png", mask, rgb=False)
    marker.write_text(json.dumps(settings, indent=2))
    return root


# ----------------------------------------------------------------------------- runs
def _record(key: str, value: dict) -> None:
    path = OUT / "results.json"
    results = json.loads(path.read_text()) if path.is_file() else {}
    results[key] = value
    OUT.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))


def _script(script: str, *overrides: str) -> float:
    """Run a top-level script under ``nice``; its wall time in seconds."""
    start = time.perf_counter()
    command = ["nice", "-n", "10", sys.executable, str(ROOT / script), *overrides]
    subprocess.run(command, check=True, cwd=ROOT)
    return time.perf_counter() - start


def train(variant: str, epochs: int = EPOCHS) -> None:
    """Train one variant with train.py (defaults + the variant's overrides), record its
    test figures (raw network output) and wall time. A run folder that already holds its
    metrics.json is only recorded (wall time: config.yaml to metrics.json)."""
    run_dir = OUT / _run_name(variant, epochs)
    if (run_dir / "metrics.json").is_file():
        stamps = [(run_dir / f).stat().st_mtime for f in ("config.yaml", "metrics.json")]
        _record_run(run_dir, variant, epochs, stamps[1] - stamps[0])
        return
    seconds = _script(
        "train.py",
        "data=folder",
        f"data.root={DATA}",
        f"data.classes=[{','.join(CLASSES)}]",
        f"trainer.max_epochs={epochs}",
        "callbacks.rich_progress_bar=null",
        "trainer.enable_progress_bar=false",
        "evaluation.baselines=[]",
        "evaluation.chains=[none]",
        f"hydra.run.dir={run_dir}",
        *VARIANTS[variant],
    )
    _record_run(run_dir, variant, epochs, seconds)


def _record_run(run_dir: Path, variant: str, epochs: int, seconds: float) -> None:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    trained = next(iter(metrics["methods"].values()))["none"]
    _record(f"train/{_run_name(variant, epochs)}", {"seconds": seconds, **_figures(trained)})


def _run_name(variant: str, epochs: int) -> str:
    return variant if epochs == EPOCHS else f"{variant}_{epochs}ep"


def baselines(names: list[str]) -> None:
    """The classical baselines with their defaults on the test split (fitted on train)."""
    out = OUT / "baselines"
    seconds = _script("evaluate.py", f"data.root={DATA}", f"data.classes=[{','.join(CLASSES)}]",
                      f"baselines=[{','.join(names)}]", "chains=[none]", f"output={out}")
    metrics = json.loads((out / "metrics.json").read_text())
    for name, chains in metrics["methods"].items():
        _record(f"baseline/{name}", {"seconds": seconds, **_figures(chains["none"])})


def _figures(entry: dict) -> dict:
    per_class = {name: fig["iou"] for name, fig in entry["per_class"].items()}
    # metrics.json of versions before the rename call the defect-class mean "mIoU".
    return {"mIoU": entry.get("defect_mIoU", entry.get("mIoU")), "iou": per_class}


# ----------------------------------------------------------------------------- post hoc
THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)


def _probabilities(method, split: str) -> tuple[list[np.ndarray], list[np.ndarray], float]:
    """Probabilities and masks of every image of ``split``; seconds per image."""
    from visionseg.io.images import read_image, read_mask

    folder = DATA / split
    names = sorted(p.name for p in (folder / "images").glob("*.png"))
    images = [read_image(folder / "images" / n) for n in names]
    masks = [read_mask(folder / "masks" / n) for n in names]
    start = time.perf_counter()
    probs = [p.probs for p in method.predict_batch(images)]
    return probs, masks, (time.perf_counter() - start) / len(images)


def _ious(preds: list[np.ndarray], masks: list[np.ndarray]) -> dict[str, float]:
    from visionseg.metrics.confusion import confusion_counts

    counts = sum(confusion_counts(p, m, len(CLASSES)) for p, m in zip(preds, masks, strict=True))
    inter = np.diag(counts).astype(float)
    union = counts.sum(0) + counts.sum(1) - inter
    return {name: float(inter[c] / union[c]) if union[c] else float("nan")
            for c, name in enumerate(CLASSES)}


def _masks(probs: list[np.ndarray], thresholds: dict[str, float]) -> list[np.ndarray]:
    from visionseg.core.prediction import Prediction
    from visionseg.core.verdict import ClassRule, PartRule

    rule = PartRule(per_class={k: ClassRule(pixel_threshold=v) for k, v in thresholds.items()})
    return [rule.apply(Prediction.from_probs(p), CLASSES).mask for p in probs]


def choose_thresholds(probs: list[np.ndarray], masks: list[np.ndarray]) -> dict[str, float]:
    """Per defect class, the grid threshold with the best validation IoU of that class
    (argmax kept when no threshold beats it)."""
    chosen: dict[str, float] = {}
    for name in CLASSES[1:]:
        best = _ious(_masks(probs, {}), masks)[name]
        for t in THRESHOLDS:
            iou = _ious(_masks(probs, {name: t}), masks)[name]
            if iou > best:
                best, chosen[name] = iou, t
    return chosen


def posthoc(variant: str, epochs: int = EPOCHS) -> None:
    """Flip averaging and validation-chosen thresholds on a trained variant's test split."""
    from visionseg.models.checkpoint import load_method

    name = _run_name(variant, epochs)
    checkpoint = OUT / name / "checkpoints" / "best.ckpt"
    for tta in (False, True):
        method = load_method(checkpoint, device="cpu", flip_tta=tta, tile_size=None)
        val_probs, val_masks, _ = _probabilities(method, "val")
        test_probs, test_masks, seconds = _probabilities(method, "test")
        chosen = choose_thresholds(val_probs, val_masks)
        suffix = "+flips" if tta else ""
        for label, thresholds in ((suffix or "raw", {}), (f"thresholds{suffix}", chosen)):
            iou = _ious(_masks(test_probs, thresholds), test_masks)
            _record(f"posthoc/{name}/{label}", {
                "mIoU": float(np.nanmean([iou[c] for c in CLASSES[1:]])), "iou": iou,
                "ms_per_image": 1000 * seconds, "thresholds": thresholds})


# ----------------------------------------------------------------------------- table
def table() -> str:
    """Markdown table of every recorded result (test split)."""
    results = json.loads((OUT / "results.json").read_text())
    lines = ["| result | defect mIoU | " + " | ".join(f"{c} IoU" for c in CLASSES[1:])
             + " | cost |", "|---|---|" + "---|" * len(CLASSES[1:]) + "---|"]
    for key, r in results.items():
        cost = (f"{r['seconds'] / 60:.1f} min" if "seconds" in r
                else f"{r['ms_per_image']:.0f} ms/image")
        extra = f" (thresholds {r['thresholds']})" if r.get("thresholds") else ""
        cells = " | ".join(f"{(r['iou'].get(c) or 0.0):.3f}" for c in CLASSES[1:])
        lines.append(f"| {key}{extra} | {r['mIoU']:.3f} | {cells} | {cost} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["make", "train", "baselines", "posthoc", "table"])
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS))
    parser.add_argument("--baseline", action="append")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    args = parser.parse_args()
    make()
    for variant in args.variant or ["default"]:
        if args.command == "train":
            train(variant, args.epochs)
        elif args.command == "posthoc":
            posthoc(variant, args.epochs)
    if args.command == "baselines":
        baselines(args.baseline or ["otsu", "watershed", "kmeans", "ridge"])
    if args.command == "table":
        print(table())


if __name__ == "__main__":
    main()
