"""Training throughput: the loop train.py runs against bare torch + smp loops, same run.

    python -m benchmarks.train_throughput                      # CPU defaults (small)
    python -m benchmarks.train_throughput --device cuda --size 512 --batch 16 --steps 40 \
        --workers 8 --images 256 [--compile]

The same U-Net trains on the same data, batch, size and precision in each loop:
- bare/tensors: smp model, AdamW, CE + Dice on tensors already in memory (no loader);
- bare/disk: the straightforward expert loop: a torch DataLoader reading PNG files and
  augmenting with albumentations (flips, rot90, affine, brightness/contrast, normalize) in
  the worker, float tensors to the device, default memory layout on CPU;
- visionseg: ``lightning.Trainer.fit`` with visionseg's data module and LightningModule
  exactly as ``python train.py`` (CPU) or ``python train.py trainer=gpu`` (CUDA) builds
  them: decoded-image cache, defect-seeking crops, uint8 to the device, normalised there,
  channels-last, fused AdamW; augmentation per image in the workers on CPU, batched on the
  device under ``trainer=gpu``;
- the same with the other augmentation mode: ``visionseg/data/augment=device`` on CPU,
  ``visionseg/data/augment=albumentations`` on CUDA.
The loops run interleaved for ``--rounds`` rounds, so slow spells of a shared machine hit
them alike; each figure is the median over rounds of images/s after warm-up steps.
The loaders are also timed alone (no model), a device-augmenting one including its batched
augmentation on the device. Ratios are visionseg / bare.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import albumentations as A
import cv2
import segmentation_models_pytorch as smp
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from torch.utils.data import DataLoader, Dataset

from benchmarks.common import Timer, device_name, lightning_images_per_second, sync
from visionseg.data.batch import SegmentationBatch
from visionseg.data.synthetic import generate

ROOT = Path(__file__).resolve().parents[1]


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--images", type=int, default=64)
    p.add_argument("--encoder", default="resnet34")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--rounds", type=int, default=3)
    return p.parse_args()


def _transforms(size: int) -> A.Compose:
    return A.Compose(
        [
            A.RandomCrop(height=size, width=size),
            A.HorizontalFlip(p=0.5),
            A.VerticalFlip(p=0.5),
            A.RandomRotate90(p=0.5),
            A.Affine(scale=(0.9, 1.1), rotate=(-10, 10), p=0.3),
            A.RandomBrightnessContrast(p=0.5),
            A.Normalize(),
        ],
        seed=0,
    )


class PngDataset(Dataset):
    def __init__(self, root: Path, size: int) -> None:
        self.images = sorted((root / "train" / "images").glob("*.png"))
        self.masks = sorted((root / "train" / "masks").glob("*.png"))
        self.transform = _transforms(size)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        image = cv2.cvtColor(cv2.imread(str(self.images[i])), cv2.COLOR_BGR2RGB)
        mask = cv2.imread(str(self.masks[i]), cv2.IMREAD_GRAYSCALE)
        out = self.transform(image=image, mask=mask)
        return torch.from_numpy(out["image"].transpose(2, 0, 1)), torch.from_numpy(
            out["mask"]
        ).long()


def _model(args, device):
    model = smp.Unet(args.encoder, encoder_weights=None, classes=4).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    return torch.compile(model) if args.compile else model


def _loss():
    ce = torch.nn.CrossEntropyLoss(ignore_index=255)
    dice = smp.losses.DiceLoss("multiclass", ignore_index=255)
    return lambda logits, y: ce(logits, y) + dice(logits, y)


def _step(model, opt, loss_fn, x, y, device):
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        loss = loss_fn(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def bare_tensors(args, device) -> float:
    torch.manual_seed(0)
    model, loss_fn = _model(args, device), _loss()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(args.batch, 3, args.size, args.size, device=device)
    y = torch.randint(0, 4, (args.batch, args.size, args.size), device=device)
    if device.type == "cuda":
        x = x.contiguous(memory_format=torch.channels_last)
    for _ in range(args.warmup):
        _step(model, opt, loss_fn, x, y, device)
    with Timer(device) as t:
        for _ in range(args.steps):
            _step(model, opt, loss_fn, x, y, device)
    return args.steps * args.batch / t.seconds


def bare_disk(args, device, root: Path) -> float:
    torch.manual_seed(0)
    model, loss_fn = _model(args, device), _loss()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loader = DataLoader(
        PngDataset(root, args.size),
        batch_size=args.batch,
        shuffle=True,
        drop_last=True,
        num_workers=args.workers,
        pin_memory=device.type == "cuda",
        persistent_workers=args.workers > 0,
    )
    done, start = 0, None
    while done < args.warmup + args.steps:
        for x, y in loader:
            if done == args.warmup:
                sync(device)
                start = time.perf_counter()
            x = x.to(device, non_blocking=True)
            y = y.to(device, non_blocking=True)
            if device.type == "cuda":
                x = x.contiguous(memory_format=torch.channels_last)
            _step(model, opt, loss_fn, x, y, device)
            done += 1
            if done == args.warmup + args.steps:
                break
    sync(device)
    return args.steps * args.batch / (time.perf_counter() - start)


def _loader_rate(loader, batches: int, device: torch.device, augment=None,
                 warmup: int = 2) -> float:
    """Images/s of iterating a loader alone (decode + augment + collate [+ device augment])."""

    def endless():
        while True:
            yield from loader

    def take(batch) -> int:
        images, masks = ((batch.image, batch.mask) if isinstance(batch, SegmentationBatch)
                         else batch)
        if augment is not None:
            augment(images.to(device), masks.to(device))
        return len(images)

    stream = endless()
    for _ in range(warmup):
        take(next(stream))
    sync(device)
    start = time.perf_counter()
    images = sum(take(next(stream)) for _ in range(batches))
    sync(device)
    return images / (time.perf_counter() - start)


def loaders(args, device, root: Path, cfgs: dict) -> dict[str, float]:
    """Images/s of the bare loader, visionseg's without and with the cache, and the other
    augmentation mode's."""
    bare = DataLoader(PngDataset(root, args.size), batch_size=args.batch, shuffle=True,
                      drop_last=True, num_workers=args.workers,
                      persistent_workers=args.workers > 0)
    rates = {"bare": _loader_rate(bare, args.steps, device)}
    other = next(name for name in cfgs if name != "visionseg")
    for name, cfg, cache in (("visionseg, no cache", cfgs["visionseg"], False),
                             ("visionseg", cfgs["visionseg"], True),
                             (other, cfgs[other], True)):
        datamodule = instantiate(cfg.data, cache_bytes=cfg.data.cache_bytes if cache else 0)
        datamodule.setup("fit")
        rates[name] = _loader_rate(datamodule.train_dataloader(), args.steps, device,
                                   datamodule.device_transform)
    return rates


def compose_cfg(args, device, root: Path, *extra: str):
    overrides = [*extra,
        f"data.root={root}",
        "data.synthetic=null",
        f"data.crop_size={args.size}",
        f"data.batch_size={args.batch}",
        f"data.num_workers={args.workers}",
        f"model.encoder={args.encoder}",
        f"model.compile={str(args.compile).lower()}",
        "seed=0",
        "paths.output_dir=" + tempfile.mkdtemp(),
    ]
    if device.type == "cuda":
        overrides.insert(0, "trainer=gpu")
    with initialize_config_dir(str(ROOT / "configs"), version_base="1.3"):
        return compose("train", overrides=overrides)


def main() -> None:
    args = parse()
    device = torch.device(args.device)
    cv2.setNumThreads(1 if args.workers else cv2.getNumThreads())
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(
            Path(tmp) / "data", splits={"train": args.images}, size=max(args.size, 128), seed=0
        )
        print(
            f"device: {device_name(device)}; U-Net/{args.encoder} {args.size}x{args.size} "
            f"batch {args.batch}, {args.steps} timed steps after {args.warmup} warm-up, "
            f"{args.workers} loader workers, precision "
            f"{'bf16-mixed' if device.type == 'cuda' else 'fp32'}, {args.rounds} rounds"
            + (", torch.compile" if args.compile else "")
        )
        other = "data/augment=" + ("albumentations" if device.type == "cuda" else "device")
        cfgs = {
            "visionseg": compose_cfg(args, device, root),
            f"visionseg/{other}": compose_cfg(args, device, root, other),
        }
        loops = {
            "bare/tensors": lambda: bare_tensors(args, device),
            "bare/disk": lambda: bare_disk(args, device, root),
            **{
                name: (lambda cfg=cfg: lightning_images_per_second(
                    cfg, args.warmup, args.steps, args.batch, device))
                for name, cfg in cfgs.items()
            },
        }
        loader_rates: dict[str, list[float]] = {}
        results: dict[str, list[float]] = {name: [] for name in loops}
        for round_ in range(args.rounds):
            for name, rate in loaders(args, device, root, cfgs).items():
                loader_rates.setdefault(name, []).append(rate)
            for name, loop in loops.items():
                results[name].append(loop())
            print(f"round {round_ + 1}: " + ", ".join(
                f"{name} {values[-1]:.1f}" for name, values in results.items()))
    bare_loader = statistics.median(loader_rates["bare"])
    print("loader alone (images/s, median):")
    for name, values in loader_rates.items():
        print(f"  {name:38s} {statistics.median(values):8.1f}   ratio to bare "
              f"{statistics.median(values) / bare_loader:.2f}")
    print("training (images/s, median):")
    for name, values in results.items():
        print(f"  {name:38s} {statistics.median(values):8.1f}")
    for name in cfgs:
        for bare in ("bare/tensors", "bare/disk"):
            ratio = statistics.median(results[name]) / statistics.median(results[bare])
            print(f"ratio {name} / {bare}: {ratio:.2f}")


if __name__ == "__main__":
    main()
