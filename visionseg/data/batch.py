"""The training batch: what the data modules give the Lightning modules, typed."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class SegmentationBatch:
    """``image`` uint8 Bx3xHxW (normalised by the model), ``mask`` int64 BxHxW class ids
    (the ignore value where padded), ``name`` the samples' names. Instance data sets add
    ``targets`` (Mask R-CNN's boxes, labels and masks per image) and ``sizes`` (each image's
    height and width before padding). Not frozen: Lightning moves its tensors to the
    device by replacing fields."""

    image: torch.Tensor
    mask: torch.Tensor
    name: list[str]
    targets: list[dict[str, torch.Tensor]] | None = None
    sizes: list[tuple[int, int]] | None = None

    def __len__(self) -> int:
        return len(self.image)

    def pin_memory(self) -> SegmentationBatch:
        """Called by the DataLoader with ``pin_memory=True``: the tensors, page-locked."""
        targets = None if self.targets is None else [
            {k: v.pin_memory() for k, v in t.items()} for t in self.targets]
        return SegmentationBatch(self.image.pin_memory(), self.mask.pin_memory(), self.name,
                                 targets, self.sizes)
