"""Segmentation losses configured from Hydra: a weighted sum of any loss terms, and the
thin-structure terms (skeleton recall, soft clDice) for scratches and cracks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from visionseg.core.checks import check_int, check_number
from visionseg.core.errors import ConfigError


class CrossEntropy(nn.CrossEntropyLoss):
    """Cross-entropy with optional per-class weights given as a plain list (config-friendly)."""

    def __init__(
        self, class_weights: Sequence[float] | None = None, ignore_index: int = 255, **kwargs: Any
    ) -> None:
        weight = torch.tensor(list(class_weights), dtype=torch.float32) if class_weights else None
        super().__init__(weight=weight, ignore_index=ignore_index, **kwargs)


def check_loss_weights(weights: Sequence[Any]) -> list[float]:
    """The terms' weights, each finite and ``>= 0``, at least one above 0: a negative
    weight maximises its loss (an inverted model that trains without an error), and
    all-zero weights train nothing."""
    checked = [check_number(f"model.loss.terms[{i}].weight", w, 0.0)
               for i, w in enumerate(weights)]
    if not any(checked):
        raise ConfigError(f"model.loss.terms: every weight is 0 ({checked}); "
                          "at least one must be above 0")
    return checked


class WeightedSum(nn.Module):
    """``sum(weight_i * loss_i(logits, target))``; terms are ``{"loss": module, "weight": w}``."""

    def __init__(self, terms: Sequence[dict[str, Any]]) -> None:
        super().__init__()
        if not terms:
            raise ValueError("loss: at least one loss term is needed")
        self.losses = nn.ModuleList([term["loss"] for term in terms])
        self.weights = check_loss_weights([term.get("weight", 1.0) for term in terms])

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        total = logits.new_zeros(())
        for weight, loss in zip(self.weights, self.losses, strict=True):
            total = total + weight * loss(logits, target)
        return total


def soft_erode(x: torch.Tensor) -> torch.Tensor:
    """Grey-level erosion of ``B x C x H x W`` values with a 3x3 cross (min of two lines)."""
    across = -F.max_pool2d(-x, (3, 1), stride=1, padding=(1, 0))
    down = -F.max_pool2d(-x, (1, 3), stride=1, padding=(0, 1))
    return torch.minimum(across, down)


def soft_dilate(x: torch.Tensor) -> torch.Tensor:
    """Grey-level dilation with a 3x3 square."""
    return F.max_pool2d(x, 3, stride=1, padding=1)


def soft_skeleton(x: torch.Tensor, iterations: int) -> torch.Tensor:
    """Differentiable skeleton of soft masks in 0..1 (Shit et al., clDice, CVPR 2021).

    Repeated erosions; what each opening removes is added to the skeleton. On a binary
    mask it is the morphological skeleton for structures up to ``2 * iterations + 1``
    pixels wide (a 1-3 px line is its own centre line).
    """
    skeleton = F.relu(x - soft_dilate(soft_erode(x)))
    for _ in range(iterations):
        x = soft_erode(x)
        delta = F.relu(x - soft_dilate(soft_erode(x)))
        skeleton = skeleton + F.relu(delta - skeleton * delta)
    return skeleton


class _ThinClassLoss(nn.Module):
    """Shared parts of the thin-structure losses: which classes, softmax, one-hot target
    with the ignored pixels removed from both."""

    def __init__(
        self, classes: Sequence[str], thin_classes: Sequence[str], iterations: int = 3,
        ignore_index: int = 255, smooth: float = 1e-3,
    ) -> None:
        super().__init__()
        classes, thin = list(classes), list(thin_classes)
        unknown = [name for name in thin if name not in classes[1:]]
        if not thin or unknown:
            raise ConfigError(
                f"loss thin_classes must name defect classes of {classes[1:]}, got {thin}"
            )
        iterations = check_int("loss iterations", iterations, 1, maximum=50)
        smooth = check_number("loss smooth", smooth, 0.0, maximum=100.0)
        self.ids = [classes.index(name) for name in thin]
        self.num_classes = len(classes)
        self.iterations = int(iterations)
        self.ignore_index = ignore_index
        self.smooth = float(smooth)

    def split(self, logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Probabilities and one-hot target of the thin classes, ``B x K x H x W``."""
        valid = (target != self.ignore_index).unsqueeze(1).to(logits.dtype)
        probs = torch.softmax(logits.float(), dim=1)[:, self.ids] * valid
        ids = torch.tensor(self.ids, device=target.device).view(1, -1, 1, 1)
        truth = (target.unsqueeze(1) == ids).to(probs.dtype) * valid
        return probs, truth

    def ratio(self, part: torch.Tensor, whole: torch.Tensor) -> torch.Tensor:
        """``(sum(part) + smooth) / (sum(whole) + smooth)`` per class over the batch."""
        dims = (0, 2, 3)
        return (part.sum(dims) + self.smooth) / (whole.sum(dims) + self.smooth).clamp_min(1e-8)


class SkeletonRecall(_ThinClassLoss):
    """Skeleton recall loss (Kirchhoff et al., ECCV 2024): ``1 - recall`` of the target's
    skeleton under the predicted probability, per thin class, averaged over the classes
    present in the batch.

    Thin defects are a few pixels of a large image, so region losses barely notice a
    missed scratch; the skeleton counts every part of every scratch alike, however thin.
    The target skeleton comes from :func:`soft_skeleton` on the one-hot target (no
    loader change). Pair it with a region loss (CE + Dice): recall alone favours
    over-segmentation.
    """

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        probs, truth = self.split(logits, target)
        with torch.no_grad():
            skeleton = soft_skeleton(truth, self.iterations)
        present = skeleton.sum((0, 2, 3)) > 0
        if not bool(present.any()):
            return logits.sum() * 0.0
        recall = self.ratio(probs * skeleton, skeleton)
        return (1.0 - recall[present]).mean()


class SoftClDice(_ThinClassLoss):
    """Soft clDice (Shit et al., CVPR 2021): ``1 - harmonic mean`` of topology precision
    (predicted skeleton inside the target) and topology sensitivity (target skeleton
    covered by the prediction), per thin class, averaged over the classes in the batch.

    Predicting a class everywhere games the precision term's partner: always pair it
    with Dice (``model/loss=ce_dice_cldice`` does).
    """

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        probs, truth = self.split(logits, target)
        present = truth.sum((0, 2, 3)) > 0
        if not bool(present.any()):
            return logits.sum() * 0.0
        pred_skeleton = soft_skeleton(probs, self.iterations)
        with torch.no_grad():
            true_skeleton = soft_skeleton(truth, self.iterations)
        precision = self.ratio(pred_skeleton * truth, pred_skeleton)
        sensitivity = self.ratio(true_skeleton * probs, true_skeleton)
        cl_dice = 2.0 * precision * sensitivity / (precision + sensitivity).clamp_min(1e-8)
        return (1.0 - cl_dice[present]).mean()
