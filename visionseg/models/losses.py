"""Segmentation losses configured from Hydra: a weighted sum of any loss terms."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn


class CrossEntropy(nn.CrossEntropyLoss):
    """Cross-entropy with optional per-class weights given as a plain list (config-friendly)."""

    def __init__(
        self, class_weights: Sequence[float] | None = None, ignore_index: int = 255, **kwargs: Any
    ) -> None:
        weight = torch.tensor(list(class_weights), dtype=torch.float32) if class_weights else None
        super().__init__(weight=weight, ignore_index=ignore_index, **kwargs)


class WeightedSum(nn.Module):
    """``sum(weight_i * loss_i(logits, target))``; terms are ``{"loss": module, "weight": w}``."""

    def __init__(self, terms: Sequence[dict[str, Any]]) -> None:
        super().__init__()
        if not terms:
            raise ValueError("loss: at least one loss term is needed")
        self.losses = nn.ModuleList([term["loss"] for term in terms])
        self.weights = [float(term.get("weight", 1.0)) for term in terms]

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        total = logits.new_zeros(())
        for weight, loss in zip(self.weights, self.losses, strict=True):
            total = total + weight * loss(logits, target)
        return total
