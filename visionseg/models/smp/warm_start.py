"""Start a network from another visionseg checkpoint: encoder, decoder and class head.

The use: self-supervised pre-training on planted defects (``experiment=pretrain_planted``)
learns a ``[good, planted]`` network; fine-tuning on the labelled classes starts from all of
it. The class head is mapped by name: a class the source has keeps its row; background
(class 0) takes the source's class 0; every other new class starts as the mean of the
source's defect rows, so each defect class begins by finding what the pre-training found
instead of learning from zero that defects exist.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from visionseg.models.checkpoint import card_of
from visionseg.models.optim import submodule_state
from visionseg.models.smp.network import WeightsUnavailableError

log = logging.getLogger(__name__)

#: Buffers of :class:`~visionseg.models.smp.network.Segmenter` that belong to the new run.
OWN_BUFFERS = {"mean", "std"}


def warm_start(net: nn.Module, path: Path, classes: Sequence[str]) -> int:
    """Copy every tensor of the checkpoint at ``path`` that fits ``net`` (same name and
    shape) and map its class head onto ``classes``; returns how many tensors were set."""
    source_classes, state = _read(path)
    target = net.state_dict()
    copied = 0
    for key, value in state.items():
        if key in OWN_BUFFERS or key not in target:
            continue
        if _is_head(key, value, len(source_classes), target[key]):
            target[key] = _map_rows(value, source_classes, classes).to(target[key].dtype)
        elif value.shape == target[key].shape:
            target[key] = value
        else:
            continue
        copied += 1
    if not copied:
        raise WeightsUnavailableError(f"{path}: none of its tensors fit this network "
                                      "(use the same model.arch and model.encoder)")
    net.load_state_dict(target)
    log.info("%s: %d of %d tensors taken (classes %s -> %s)", path, copied, len(target),
             source_classes, list(classes))
    return copied


def _read(path: Path) -> tuple[list[str], dict[str, torch.Tensor]]:
    if not path.is_file():
        raise WeightsUnavailableError(f"{path}: model.init_from checkpoint not found")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        return list(card_of(checkpoint, path).classes), submodule_state(checkpoint)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the same user error
        raise WeightsUnavailableError(
            f"{path}: not a visionseg segmentation checkpoint ({type(err).__name__}: {err})"
        ) from err


def _is_head(key: str, value: torch.Tensor, n_source: int, like: torch.Tensor) -> bool:
    """A class-head tensor (one row a class) whose rows fit the new head's."""
    return ("segmentation_head" in key and value.ndim >= 1 and value.shape[0] == n_source
            and value.shape[1:] == like.shape[1:])


def _map_rows(value: torch.Tensor, source: Sequence[str], classes: Sequence[str]
              ) -> torch.Tensor:
    defect_mean = value[1:].mean(0) if len(source) > 1 else value[0]
    rows = []
    for index, name in enumerate(classes):
        if name in source:
            rows.append(value[list(source).index(name)])
        else:
            rows.append(value[0] if index == 0 else defect_mean)
    return torch.stack(rows)
