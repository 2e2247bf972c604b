"""Thin defects on photographed textures: what each measure changes, per class, and its cost.

    python -m benchmarks.thin_defects make                # the data set (once, seconds)
    nice -n 10 python -m benchmarks.thin_defects train --variant default [--variant skeleton]
    python -m benchmarks.thin_defects posthoc --variant default   # flips, thresholds
    python -m benchmarks.thin_defects contrast            # how fast curves are learnt, by contrast
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
#: Unlabelled images of good surfaces (no defects) for self-supervised pre-training.
GOOD = ROOT / "datasets" / "photo_textures_good"
GOOD_COUNT = 384
OUT = ROOT / "outputs" / "thin_defects"
CLASSES = ["background", "scratch", "stain"]
SPLITS = {"train": 96, "val": 24, "test": 48}
SIZE = 256
EPOCHS = 15

BALANCED = ("data.train_transform.transforms.1.transforms.0._target_="
            "visionseg.data.crops.BalancedDefectCrop")
#: Overrides of train.py per variant (on top of the shared ones in :func:`train`).
VARIANTS: dict[str, list[str]] = {
    "default": [],
    "skeleton": ["model/loss=ce_dice_skeleton"],
    "cldice": ["model/loss=ce_dice_cldice"],
    "weighted": ["model.loss.terms.0.loss.class_weights=[1.0,3.0,1.0]"],
    "skeleton_weighted": ["model/loss=ce_dice_skeleton",
                          "model.loss.terms.0.loss.class_weights=[1.0,5.0,1.0]"],
    # 4 defect-seeking 128-px crops of every image per epoch: the same pixels, 4x the steps.
    "crops": ["data.crop_size=128", "data.crops_per_image=4"],
    "crops_weighted": ["data.crop_size=128", "data.crops_per_image=4",
                       "model.loss.terms.0.loss.class_weights=[1.0,3.0,1.0]"],
    # CE weighted by median frequency balancing (Eigen & Fergus 2015) of the training masks.
    "median_frequency": ["model.loss.terms.0.loss.class_weights=[0.0216,3.557,1.0]"],
    # ... with crops centred on each defect class equally often (not on stain pixels).
    "balanced": ["data.crop_size=128", "data.crops_per_image=4", BALANCED],
    # Pre-trained on unlabelled good images (planted defects), then the defaults: the whole
    # network (head mapped by class), or only its encoder.
    "pretrained": [],
    "pretrained_encoder": [],
    "pretrained_skeleton": ["model/loss=ce_dice_skeleton"],
}
#: Pre-training run (train.py experiment=pretrain_planted) on the unlabelled good images.
PRETRAIN_EPOCHS = 40
PRETRAIN = ["data.crop_size=128", f"trainer.max_epochs={PRETRAIN_EPOCHS}"]


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


def make_good(root: Path = GOOD, count: int = GOOD_COUNT, seed: int = 16) -> Path:
    """Unlabelled images of good surfaces (same textures and noise, no defects, another
    seed): what a line collects by the thousand. Skipped when the marker matches."""
    from visionseg.io.images import write_png

    marker = root / "photo_textures_good.json"
    settings = {"count": count, "size": SIZE, "seed": seed}
    if marker.is_file() and json.loads(marker.read_text()) == settings:
        return root
    rng = np.random.default_rng(seed)
    for i in range(count):
        image = _texture(rng) + rng.normal(0, 3, (SIZE, SIZE, 3)).astype(np.float32)
        write_png(root / "train" / "images" / f"good_{i:04d}.png",
                  np.clip(image, 0, 255).astype(np.uint8))
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
    extra = []
    if variant.startswith("pretrained"):
        key = "encoder_weights" if variant == "pretrained_encoder" else "init_from"
        extra = [f"model.{key}={pretrain()}"]
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
        *extra,
    )
    _record_run(run_dir, variant, epochs, seconds)


def pretrain() -> Path:
    """Self-supervised pre-training on the unlabelled good images (once); its checkpoint."""
    run_dir = OUT / "pretrain"
    checkpoint = run_dir / "checkpoints" / "best.ckpt"
    if checkpoint.is_file():
        return checkpoint
    seconds = _script("train.py", "experiment=pretrain_planted", f"data.root={make_good()}",
                      "callbacks.rich_progress_bar=null", "trainer.enable_progress_bar=false",
                      f"hydra.run.dir={run_dir}", *PRETRAIN)
    _record("pretrain", {"seconds": seconds})
    return checkpoint


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
    from visionseg.export.loader import load

    name = _run_name(variant, epochs)
    checkpoint = OUT / name / "checkpoints" / "best.ckpt"
    for tta in (False, True):
        method = load(checkpoint, device="cpu", flip_tta=tta, tile_size=None).method
        val_probs, val_masks, _ = _probabilities(method, "val")
        test_probs, test_masks, seconds = _probabilities(method, "test")
        chosen = choose_thresholds(val_probs, val_masks)
        suffix = "+flips" if tta else ""
        for label, thresholds in ((suffix or "raw", {}), (f"thresholds{suffix}", chosen)):
            iou = _ious(_masks(test_probs, thresholds), test_masks)
            _record(f"posthoc/{name}/{label}", {
                "mIoU": float(np.nanmean([iou[c] for c in CLASSES[1:]])), "iou": iou,
                "ms_per_image": 1000 * seconds, "thresholds": thresholds})


# ----------------------------------------------------------------------------- contrast
CONTRASTS = {"strong 2-4": (2.0, 4.0), "faint 0.3-1.5": (0.3, 1.5)}


def contrast_study(steps: int = 150, seed: int = 0) -> None:
    """How fast a from-scratch U-Net learns planted random curves on the good surfaces, per
    contrast band (texture standard deviations): train curves only, 128-px crops, batch 8,
    the defaults' loss and AdamW 2e-3; validation IoU of the curve class on 48 held-out
    images with curves of the same band, every 50 steps."""
    import albumentations as A
    import torch
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from visionseg.data.folder import list_split
    from visionseg.data.planted import PlantSettings
    from visionseg.data.planted_datamodule import PlantedDataset
    from visionseg.models.smp.network import Segmenter

    samples = list_split(make_good(), "train", False)
    loss = OmegaConf.to_container(OmegaConf.load(ROOT / "configs/model/loss/ce_dice.yaml"))
    for label, band in CONTRASTS.items():
        torch.manual_seed(seed)
        planted = PlantSettings(kinds=(1.0, 0.0, 0.0), contrast=band)
        train_set = PlantedDataset(samples[:-48], A.Compose([A.RandomCrop(128, 128)], seed=seed),
                                   planted=planted)
        val_set = PlantedDataset(samples[-48:], A.Compose([A.CenterCrop(128, 128)]),
                                 planted=planted, fixed_seed=seed)
        net, criterion = Segmenter("Unet", "resnet18", num_classes=2), instantiate(loss)
        optimizer = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
        loader = torch.utils.data.DataLoader(train_set, batch_size=8, shuffle=True,
                                             drop_last=True)
        curve, step, start = [], 0, time.perf_counter()
        while step < steps:
            for batch in loader:
                optimizer.zero_grad()
                criterion(net(batch["image"]), batch["mask"]).backward()
                optimizer.step()
                step += 1
                if step % 50 == 0:
                    curve.append({"step": step, "iou": _curve_iou(net, val_set)})
                if step >= steps:
                    break
        _record(f"contrast/{label}", {"curve": curve, "seconds": time.perf_counter() - start})
        print(label, curve)


def _curve_iou(net, dataset) -> float:
    import torch

    net.eval()
    with torch.no_grad():
        items = [dataset[i] for i in range(len(dataset))]
        pred = net(torch.stack([d["image"] for d in items])).argmax(1) == 1
        truth = torch.stack([d["mask"] for d in items]) == 1
    net.train()
    union = int((pred | truth).sum())
    return int((pred & truth).sum()) / union if union else 0.0


# ----------------------------------------------------------------------------- table
def table() -> str:
    """Markdown table of every recorded result (test split)."""
    results = json.loads((OUT / "results.json").read_text())
    lines = ["| result | defect mIoU | " + " | ".join(f"{c} IoU" for c in CLASSES[1:])
             + " | cost |", "|---|---|" + "---|" * len(CLASSES[1:]) + "---|"]
    for key, r in results.items():
        if "curve" in r:  # the contrast study
            steps = ", ".join(f"{c['iou']:.3f} @ {c['step']}" for c in r["curve"])
            lines.append(f"| {key}: curve IoU {steps} | | {'| ' * len(CLASSES[1:])}"
                         f"{r['seconds'] / 60:.1f} min |")
            continue
        if "mIoU" not in r:  # a cost only (the pre-training run)
            blanks = "| " * len(CLASSES[1:])
            lines.append(f"| {key} | | {blanks}{r['seconds'] / 60:.1f} min |")
            continue
        cost = (f"{r['seconds'] / 60:.1f} min" if "seconds" in r
                else f"{r['ms_per_image']:.0f} ms/image")
        extra = f" (thresholds {r['thresholds']})" if r.get("thresholds") else ""
        cells = " | ".join(f"{(r['iou'].get(c) or 0.0):.3f}" for c in CLASSES[1:])
        lines.append(f"| {key}{extra} | {r['mIoU']:.3f} | {cells} | {cost} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command",
                        choices=["make", "train", "baselines", "posthoc", "contrast", "table"])
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
    if args.command == "contrast":
        contrast_study()
    if args.command == "baselines":
        baselines(args.baseline or ["otsu", "watershed", "kmeans", "ridge"])
    if args.command == "table":
        print(table())


if __name__ == "__main__":
    main()
