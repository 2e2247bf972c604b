"""Lightning wrapper around :class:`InstanceSegmenter`: losses, optimisation, validation.

Validation rasterises the predicted instances into a class mask exactly as the Method
does at inference and accumulates the same confusion matrix as the U-Net module, so
``val/mIoU`` (what checkpoints are chosen by) means the same for every model; mask AP of
the validation instances is logged as ``val/AP`` and ``val/AP50``. Hyper-parameters are
plain containers (Lightning 2.6 refuses OmegaConf objects in checkpoints).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
from torchmetrics.classification import MulticlassConfusionMatrix

from visionseg.core.checks import check_fraction
from visionseg.core.errors import ConfigError
from visionseg.core.instance_merge import paint_instances
from visionseg.core.model_card import ModelCard
from visionseg.core.prediction import Instances
from visionseg.data.batch import SegmentationBatch
from visionseg.data.folder import IGNORE_INDEX
from visionseg.metrics.confusion import summarize_confusion
from visionseg.metrics.instances import CocoSet, coco_mask_ap
from visionseg.models.checkpoint import module_card, put_card
from visionseg.models.maskrcnn.method import MaskRCNNMethod, detections_from_output
from visionseg.models.maskrcnn.network import COCO_ANCHORS, InstanceSegmenter
from visionseg.models.optim import check_optimizer, configure_optimizers, submodule_state
from visionseg.models.smp.module import plain
from visionseg.models.smp.network import IMAGENET_MEAN, IMAGENET_STD


class MaskRCNNModule(L.LightningModule):
    """Mask R-CNN instance segmentation training.

    Network options (``backbone``, ``version``, ``weights``, ``weights_backbone``, ...) are
    those of :func:`visionseg.models.maskrcnn.network.build_maskrcnn`. ``optimizer`` and
    ``scheduler`` are Hydra partial configs; a scheduler factory that takes
    ``total_steps`` gets the run's number of optimiser steps. ``score_threshold`` and
    ``mask_threshold`` decide which detections and pixels become instances, in validation
    and in the Method built from a checkpoint. ``channels_last`` (set by ``trainer=gpu``)
    stores the convolution weights channels-last, the layout bf16 tensor cores prefer.
    """

    #: The Method a checkpoint of this module loads as; its parameters are the settings
    #: ``visionseg.export.loader.load`` accepts (anything else does not apply to this model).
    method_class = MaskRCNNMethod

    def __init__(
        self,
        classes: Sequence[str],
        optimizer: dict[str, Any],
        scheduler: dict[str, Any] | None = None,
        backbone: str = "resnet50",
        version: str = "v1",
        weights: str | None = None,
        weights_backbone: str | None = None,
        trainable_backbone_layers: int | None = None,
        fpn_channels: int = 256,
        head_channels: int = 256,
        representation_size: int = 1024,
        anchor_sizes: Sequence[int] = COCO_ANCHORS,
        min_size: int | None = None,
        max_size: int | None = None,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        detector_kwargs: dict[str, Any] | None = None,
        score_threshold: float = 0.5,
        mask_threshold: float = 0.5,
        image_size: int | Sequence[int] | None = None,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(
            {
                "classes": list(plain(classes)),
                "net": {
                    "backbone": backbone,
                    "version": version,
                    "weights": weights,
                    "weights_backbone": weights_backbone,
                    "trainable_backbone_layers": trainable_backbone_layers,
                    "fpn_channels": fpn_channels,
                    "head_channels": head_channels,
                    "representation_size": representation_size,
                    "anchor_sizes": list(plain(anchor_sizes)),
                    "min_size": min_size,
                    "max_size": max_size,
                    "mean": list(plain(mean)),
                    "std": list(plain(std)),
                    "detector_kwargs": plain(detector_kwargs) or {},
                },
                "optimizer": check_optimizer(plain(optimizer)),
                "scheduler": plain(scheduler),
                "score_threshold": check_fraction("model.score_threshold", score_threshold),
                "mask_threshold": check_fraction("model.mask_threshold", mask_threshold),
                "image_size": plain(image_size),
                "channels_last": channels_last,
            }
        )
        self.classes = list(self.hparams.classes)
        self.net = InstanceSegmenter(num_classes=len(self.classes), **self.hparams.net)
        if channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        self.val_confusion = MulticlassConfusionMatrix(len(self.classes), ignore_index=IGNORE_INDEX)
        self._val_gt = CocoSet()
        self._val_dt = CocoSet()

    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer else None
        if datamodule is not None and not getattr(datamodule, "provides_instances", False):
            raise ConfigError(
                f"Mask R-CNN needs instance targets, but data is {type(datamodule).__name__}: "
                "use data=instances (python train.py model=maskrcnn picks it unless data= is "
                "given on the command line)"
            )

    def forward(self, images: torch.Tensor, targets: list[dict] | None = None) -> Any:
        return self.net(images, targets)

    def training_step(self, batch: SegmentationBatch, batch_idx: int) -> torch.Tensor:
        losses = self.net(batch.image, batch.targets)
        loss = sum(losses.values())
        size = len(batch)
        self.log("train/loss", loss, prog_bar=True, on_step=True, on_epoch=True, batch_size=size)
        self.log_dict({f"train/{k}": v for k, v in losses.items()}, on_step=False, on_epoch=True,
                      batch_size=size)
        return loss

    def validation_step(self, batch: SegmentationBatch, batch_idx: int) -> None:
        outputs = self.net(batch.image)
        shape = tuple(batch.image.shape[-2:])
        for i, output in enumerate(outputs):
            height, width = batch.sizes[i]
            detections = detections_from_output(
                output, self.hparams.score_threshold, self.hparams.mask_threshold
            )
            mask, _, instances = paint_instances(detections, shape, self.hparams.mask_threshold)
            self.val_confusion.update(
                torch.from_numpy(mask[:height, :width]).to(self.device).long()[None],
                batch.mask[i, :height, :width][None],
            )
            image_id = len(self._val_gt.images) + 1
            pred = Instances(instances.labels[:height, :width], instances.classes,
                             instances.scores)
            self._val_gt.add(image_id, (height, width), target_instances(batch.targets[i],
                                                                         height, width))
            self._val_dt.add(image_id, (height, width), pred)

    def on_validation_epoch_end(self) -> None:
        summary = summarize_confusion(self.val_confusion.compute().cpu().numpy(), self.classes)
        self.val_confusion.reset()
        values = {"val/mIoU": summary["mIoU"], "val/mDice": summary["mDice"]}
        values.update({f"val/IoU_{name}": s["iou"] for name, s in summary["per_class"].items()})
        if self._val_gt.images:
            ap = coco_mask_ap(self._val_gt, self._val_dt, self.classes)
            values.update({"val/AP": ap["AP"], "val/AP50": ap["AP50"]})
        self._val_gt, self._val_dt = CocoSet(), CocoSet()
        self.log("val/mIoU", _finite(values.pop("val/mIoU")), prog_bar=True)
        self.log_dict({k: _finite(v) for k, v in values.items()})
        self.last_val_summary = summary

    def configure_optimizers(self) -> Any:
        params = [p for p in self.parameters() if p.requires_grad]
        return configure_optimizers(
            self, params, self.hparams.optimizer, self.hparams.scheduler, default_interval="step"
        )

    @classmethod
    def method_from_checkpoint(
        cls, card: ModelCard, state_dict: dict, device: str = "auto", **kwargs: Any
    ) -> MaskRCNNMethod:
        """Rebuild the network of ``card`` with a checkpoint's weights (no weight download)
        as a Method carrying the card; its thresholds start from the card's."""
        net = InstanceSegmenter.from_config(card.net)
        net.load_state_dict(submodule_state({"state_dict": state_dict}))
        for key, value in card.method_settings.items():
            kwargs.setdefault(key, value)
        return MaskRCNNMethod(net, card.classes, device=device, card=card, **kwargs)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        put_card(checkpoint, module_card(
            self,
            score_threshold=self.hparams.score_threshold,
            mask_threshold=self.hparams.mask_threshold,
        ))


def target_instances(target: dict[str, torch.Tensor], height: int, width: int) -> Instances:
    """A training target (``masks`` N x H x W, ``labels``) as an instance label image."""
    masks = target["masks"][:, :height, :width].cpu().numpy()
    labels = np.zeros((height, width), np.int32)
    for k, binary in enumerate(masks, start=1):
        labels[binary > 0] = k
    return Instances(labels, target["labels"].cpu().numpy())


def _finite(value: float) -> float:
    return 0.0 if value != value else float(value)
