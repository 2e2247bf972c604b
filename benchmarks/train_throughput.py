"""Training throughput: the loop train.py runs against bare torch + smp loops, same run.

    python -m benchmarks.train_throughput                      # CPU defaults (small)
    python -m benchmarks.train_throughput --device cuda --size 512 --batch 16 --steps 60 \
        --workers 8 --images 256

Three loops train the same U-Net on the same data, batch, size and precision:
- bare/tensors: smp model, AdamW, CE + Dice on tensors already in memory (no loader);
- bare/disk: the straightforward expert loop: a torch DataLoader reading PNG files and
  augmenting with albumentations, normalising in the worker, float tensors to the device;
- visionseg: ``lightning.Trainer.fit`` with visionseg's data module and LightningModule,
  exactly as ``python train.py`` builds them (uint8 to the device, normalised there).
Each prints images/s after warm-up steps; ratios are visionseg / bare.
"""

from __future__ import annotations

import argparse
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
    p.add_argument("--cache", type=int, default=0, help="data.cache_bytes for visionseg")
    return p.parse_args()


def _transforms(size: int, normalize: bool) -> A.Compose:
    ops = [
        A.RandomCrop(height=size, width=size),
        A.HorizontalFlip(p=0.5),
        A.VerticalFlip(p=0.5),
        A.RandomRotate90(p=0.5),
        A.Affine(scale=(0.9, 1.1), rotate=(-10, 10), p=0.3),
        A.RandomBrightnessContrast(p=0.5),
    ]
    if normalize:
        ops.append(A.Normalize())
    return A.Compose(ops, seed=0)


class PngDataset(Dataset):
    def __init__(self, root: Path, size: int) -> None:
        self.images = sorted((root / "train" / "images").glob("*.png"))
        self.masks = sorted((root / "train" / "masks").glob("*.png"))
        self.transform = _transforms(size, normalize=True)

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


def _loader_rate(loader, batches: int, warmup: int = 2) -> float:
    """Images/s of iterating a loader alone (decode + augment + collate)."""
    done, images, start = 0, 0, None
    while done < warmup + batches:
        for batch in loader:
            if done == warmup:
                start = time.perf_counter()
            elif done > warmup:
                images += len(batch["image"] if isinstance(batch, dict) else batch[0])
            done += 1
            if done == warmup + batches:
                break
    return images / (time.perf_counter() - start)


def loaders(args, root: Path, cfg) -> tuple[float, float]:
    bare = DataLoader(PngDataset(root, args.size), batch_size=args.batch, shuffle=True,
                      drop_last=True, num_workers=args.workers,
                      persistent_workers=args.workers > 0)
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    return (_loader_rate(bare, args.steps),
            _loader_rate(datamodule.train_dataloader(), args.steps))


def compose_cfg(args, device, root: Path):
    overrides = [
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
    overrides += [f"data.cache_bytes={args.cache}"]
    with initialize_config_dir(str(ROOT / "configs"), version_base="1.3"):
        return compose("train", overrides=overrides)


def visionseg_loop(args, device, cfg) -> float:
    return lightning_images_per_second(cfg, args.warmup, args.steps, args.batch, device)


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
            f"{'bf16-mixed' if device.type == 'cuda' else 'fp32'}"
        )
        cfg = compose_cfg(args, device, root)
        bare_loader, vs_loader = loaders(args, root, cfg)
        results = {
            "bare/tensors": bare_tensors(args, device),
            "bare/disk": bare_disk(args, device, root),
            "visionseg": visionseg_loop(args, device, cfg),
        }
    print(f"loader alone: bare {bare_loader:.1f} images/s, visionseg {vs_loader:.1f} images/s, "
          f"ratio {vs_loader / bare_loader:.2f}")
    for name, value in results.items():
        print(f"{name:14s} {value:8.1f} images/s")
    print(f"ratio visionseg / bare-tensors: {results['visionseg'] / results['bare/tensors']:.2f}")
    print(f"ratio visionseg / bare-disk:    {results['visionseg'] / results['bare/disk']:.2f}")


if __name__ == "__main__":
    main()
