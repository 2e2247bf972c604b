"""Mask R-CNN training throughput: the loop train.py runs against a bare torchvision loop.

    python -m benchmarks.maskrcnn_throughput                       # CPU defaults (small)
    python -m benchmarks.maskrcnn_throughput --device cuda --size 512 --batch 8 --steps 40 \
        --workers 8 --images 128

Both loops train torchvision's Mask R-CNN ResNet-50 FPN v1 from scratch on the same
batches, with the same batch, size and precision (bf16 autocast on CUDA, fp32 on CPU):
- bare: ``torchvision.models.detection.maskrcnn_resnet50_fpn`` with ``min_size`` /
  ``max_size`` set to the image size, AdamW, on batches taken once from visionseg's data
  module and kept on the device as float tensors (no loader in the timed loop);
- visionseg: ``lightning.Trainer.fit`` with the data module and LightningModule exactly as
  ``python train.py model=maskrcnn`` builds them (PNG decoding, augmentation, instance
  targets in loader workers; uint8 to the device, normalised there).
Each prints images/s after warm-up steps; the ratio is visionseg / bare (target >= 0.9).
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from pathlib import Path

import cv2
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from torchvision.models.detection import maskrcnn_resnet50_fpn

from benchmarks.common import Timer, device_name, lightning_images_per_second
from visionseg.data.batch import SegmentationBatch
from visionseg.data.synthetic import generate

ROOT = Path(__file__).resolve().parents[1]


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--images", type=int, default=32)
    p.add_argument("--no-cudnn-benchmark", action="store_true",
                   help="visionseg loop with trainer.benchmark=false (trainer=gpu sets true; "
                   "Mask R-CNN's head shapes change every step)")
    return p.parse_args()


def _config(args, root: Path, device: torch.device):
    overrides = [
        "model=maskrcnn",
        f"data.root={root}",
        "data.synthetic=null",
        f"data.crop_size={args.size}",
        f"data.batch_size={args.batch}",
        f"data.num_workers={args.workers}",
        f"data.persistent_workers={str(args.workers > 0).lower()}",
        "seed=0",
        "paths.output_dir=" + tempfile.mkdtemp(),
    ]
    if device.type == "cuda":
        overrides.insert(0, "trainer=gpu")
    if args.no_cudnn_benchmark:
        overrides.append("trainer.benchmark=false")
    with initialize_config_dir(str(ROOT / "configs"), version_base="1.3"):
        return compose("train", overrides=overrides)


def _batches(cfg, count: int) -> list[SegmentationBatch]:
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    loader = datamodule.train_dataloader()
    return list(itertools.islice(itertools.cycle(loader), count))


def bare(args, device: torch.device, batches: list[SegmentationBatch]) -> float:
    torch.manual_seed(0)
    model = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=4,
                                  min_size=args.size, max_size=args.size).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-4, weight_decay=1e-4)
    data = [
        ([image.to(device).float() / 255 for image in batch.image],
         [{k: v.to(device) for k, v in t.items()} for t in batch.targets])
        for batch in batches
    ]

    def step(images, targets):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = sum(model(images, targets).values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for images, targets in data[: args.warmup]:
        step(images, targets)
    with Timer(device) as t:
        for images, targets in data[args.warmup :]:
            step(images, targets)
    return args.steps * args.batch / t.seconds


def visionseg_loop(args, device: torch.device, cfg) -> float:
    return lightning_images_per_second(cfg, args.warmup, args.steps, args.batch, device)


def main() -> None:
    args = parse()
    device = torch.device(args.device)
    cv2.setNumThreads(1 if args.workers else cv2.getNumThreads())
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "data", splits={"train": args.images, "val": 2},
                        size=args.size, seed=0)
        cfg = _config(args, root, device)
        print(
            f"device: {device_name(device)}; Mask R-CNN R50-FPN v1 from scratch, "
            f"{args.size}x{args.size} batch {args.batch}, {args.steps} timed steps after "
            f"{args.warmup} warm-up, {args.workers} loader workers, precision "
            f"{'bf16-mixed' if device.type == 'cuda' else 'fp32'}"
        )
        results = {
            "bare/tensors": bare(args, device, _batches(cfg, args.warmup + args.steps)),
            "visionseg": visionseg_loop(args, device, cfg),
        }
    for name, value in results.items():
        print(f"{name:14s} {value:8.2f} images/s")
    print(f"ratio visionseg / bare-tensors: {results['visionseg'] / results['bare/tensors']:.2f}")


if __name__ == "__main__":
    main()
