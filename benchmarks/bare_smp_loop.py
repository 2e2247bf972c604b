"""The bare segmentation-models-pytorch + Lightning loop an expert writes first: the
reference visionseg's defaults must beat (issue 20).

U-Net / ResNet-18 from scratch, Adam 1e-3, cross-entropy + Dice, pad + random crop 256 +
flips, whole validation images, a wall-time budget. Nothing of visionseg but the folder
reader, so the comparison is of recipes, not of readers.

    python -m benchmarks.bare_smp_loop ROOT OUT --classes background,crack --max-time 1800
"""

from __future__ import annotations

import argparse
import os
import random
from datetime import timedelta
from pathlib import Path

import lightning as L
import numpy as np
import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch import nn
from torch.utils.data import DataLoader, Dataset

from visionseg.data.folder import list_split
from visionseg.io.images import read_image, read_mask
from visionseg.training.clock import CostClock

CROP = 256


class BareNet(nn.Module):
    """uint8 ``B x 3 x H x W`` -> logits: ImageNet normalisation, pad to 32, smp U-Net."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.model = smp.Unet("resnet18", encoder_weights=None, classes=num_classes)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = F.pad((x.float() - self.mean) / self.std, (0, (-w) % 32, 0, (-h) % 32),
                  mode="replicate")
        return self.model(x)[..., :h, :w]


class Folder(Dataset):
    def __init__(self, root: Path, split: str, train: bool) -> None:
        self.samples, self.train = list_split(root, split), train
        self.data = [(read_image(s.image), read_mask(s.mask)) for s in self.samples]

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask = self.data[i]
        if self.train:
            ph, pw = max(0, CROP - mask.shape[0]), max(0, CROP - mask.shape[1])
            image = np.pad(image, ((0, ph), (0, pw), (0, 0)))
            mask = np.pad(mask, ((0, ph), (0, pw)), constant_values=255)
            y = random.randint(0, mask.shape[0] - CROP)
            x = random.randint(0, mask.shape[1] - CROP)
            image, mask = image[y:y + CROP, x:x + CROP], mask[y:y + CROP, x:x + CROP]
            if random.random() < 0.5:
                image, mask = image[:, ::-1], mask[:, ::-1]
            if random.random() < 0.5:
                image, mask = image[::-1], mask[::-1]
        return (torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))),
                torch.from_numpy(np.ascontiguousarray(mask)).long())


class Bare(L.LightningModule):
    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.net, self.n = BareNet(num_classes), num_classes
        self.dice = smp.losses.DiceLoss("multiclass", ignore_index=255)
        self.confusion = torch.zeros(num_classes, num_classes, dtype=torch.long)

    def training_step(self, batch, _):
        logits = self.net(batch[0])
        loss = F.cross_entropy(logits, batch[1], ignore_index=255) + self.dice(logits, batch[1])
        self.log("train/loss", loss)
        return loss

    def validation_step(self, batch, _):
        image, mask = batch
        pred = self.net(image).argmax(1)
        keep = mask != 255
        self.confusion += torch.bincount(mask[keep] * self.n + pred[keep],
                                         minlength=self.n * self.n).view(self.n, self.n)

    def on_validation_epoch_end(self):
        c = self.confusion.double()
        iou = c.diag() / (c.sum(0) + c.sum(1) - c.diag()).clamp_min(1)
        self.log_dict({f"val/IoU_{i}": v for i, v in enumerate(iou.tolist())})
        self.log("val/mIoU", iou[1:].mean())
        self.confusion.zero_()

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--classes", required=True)
    ap.add_argument("--max-time", type=float, default=1800.0, help="wall seconds")
    ap.add_argument("--val-every", type=int, default=150, help="optimiser steps")
    a = ap.parse_args(argv)
    L.seed_everything(0)
    n = len(a.classes.split(","))
    train = DataLoader(Folder(a.root, "train", True), batch_size=8, shuffle=True,
                       drop_last=True)
    val = DataLoader(Folder(a.root, "val", False), batch_size=1)
    trainer = L.Trainer(
        accelerator="cpu", max_epochs=-1, max_time=timedelta(seconds=a.max_time),
        val_check_interval=a.val_every, check_val_every_n_epoch=None,
        logger=CSVLogger(a.out, name="csv", version=""), enable_progress_bar=False,
        callbacks=[CostClock(), ModelCheckpoint(a.out, "best", monitor="val/mIoU",
                                                mode="max")],
        num_sanity_val_steps=0, enable_model_summary=False)
    trainer.fit(Bare(n), train, val)
    best = torch.load(a.out / "best.ckpt", weights_only=True)["state_dict"]
    torch.save({k[4:]: v for k, v in best.items() if k.startswith("net.")}, a.out / "net.pt")
    print(f"bare loop: {trainer.global_step} steps, best val defect mIoU "
          f"{float(trainer.checkpoint_callback.best_model_score):.4f}", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    main()
