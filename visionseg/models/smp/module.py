"""Lightning wrapper around :class:`Segmenter`: loss, optimisation, whole-split metrics.

Hyper-parameters are stored as plain containers (never OmegaConf objects, which break
Lightning 2.6's weights-only checkpoint loading) and hold everything inference needs:
classes, network config, training image size.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf
from torchmetrics.classification import MulticlassConfusionMatrix

from visionseg.core.model_card import ModelCard
from visionseg.data.batch import SegmentationBatch
from visionseg.data.folder import IGNORE_INDEX
from visionseg.metrics.confusion import summarize_confusion
from visionseg.models.checkpoint import module_card, put_card
from visionseg.models.optim import check_optimizer, configure_optimizers, submodule_state
from visionseg.models.smp.method import SegmenterMethod
from visionseg.models.smp.network import IMAGENET_MEAN, IMAGENET_STD, Segmenter
from visionseg.models.smp.warm_start import warm_start


def plain(value: Any) -> Any:
    """OmegaConf containers -> plain Python containers (others unchanged)."""
    if isinstance(value, DictConfig | ListConfig):
        return OmegaConf.to_container(value, resolve=True)
    return value


class SegmentationModule(L.LightningModule):
    """Semantic segmentation training for any smp architecture.

    ``arch``/``encoder``/``encoder_weights``/``arch_kwargs`` choose the smp network,
    ``input_features`` / ``contrast_sigma`` / ``full_res_channels`` its extra input
    channels and full-resolution branch (see :class:`Segmenter`). ``loss``, ``optimizer``
    (partial) and ``scheduler`` (partial, optional) are Hydra configs with ``_target_``,
    instantiated here so the stored hyper-parameters stay plain data. ``init_from``: a
    visionseg checkpoint (e.g. of planted-defect pre-training) to start the whole network
    from (:func:`~visionseg.models.smp.warm_start.warm_start`).
    """

    #: The Method a checkpoint of this module loads as; its parameters are the settings
    #: ``visionseg.export.loader.load`` accepts (anything else does not apply to this model).
    method_class = SegmenterMethod

    def __init__(
        self,
        classes: Sequence[str],
        loss: dict[str, Any],
        optimizer: dict[str, Any],
        arch: str = "Unet",
        encoder: str = "resnet34",
        encoder_weights: str | None = None,
        arch_kwargs: dict[str, Any] | None = None,
        in_channels: int = 3,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        scheduler: dict[str, Any] | None = None,
        image_size: int | Sequence[int] | None = None,
        channels_last: bool = False,
        compile: bool = False,
        init_from: str | None = None,
        input_features: Sequence[str] = (),
        contrast_sigma: float = 8.0,
        full_res_channels: int = 0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(
            {
                "classes": list(plain(classes)),
                "net": {
                    "arch": arch,
                    "encoder": encoder,
                    "encoder_weights": encoder_weights,
                    "arch_kwargs": plain(arch_kwargs) or {},
                    "in_channels": in_channels,
                    "mean": list(plain(mean)),
                    "std": list(plain(std)),
                    "input_features": list(plain(input_features) or []),
                    "contrast_sigma": float(contrast_sigma),
                    "full_res_channels": int(full_res_channels),
                },
                "loss": plain(loss),
                "optimizer": check_optimizer(plain(optimizer)),
                "scheduler": plain(scheduler),
                "image_size": plain(image_size),
                "channels_last": channels_last,
                "compile": compile,
                "init_from": init_from,
            }
        )
        self.classes = list(self.hparams.classes)
        self.net = Segmenter(num_classes=len(self.classes), **self.hparams.net)
        if init_from:
            warm_start(self.net, Path(init_from), self.classes)
        self.criterion = instantiate(self.hparams.loss)
        self.val_confusion = MulticlassConfusionMatrix(len(self.classes), ignore_index=IGNORE_INDEX)
        self.test_confusion = MulticlassConfusionMatrix(
            len(self.classes), ignore_index=IGNORE_INDEX
        )
        if channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        # Kept out of the module registry so the state dict holds the weights once.
        self.__dict__["_compiled"] = torch.compile(self.net) if compile else None

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.hparams.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        net = self._compiled if self._compiled is not None else self.net
        return net(images)

    def training_step(self, batch: SegmentationBatch, batch_idx: int) -> torch.Tensor:
        logits = self(batch.image)
        loss = self.criterion(logits.float(), batch.mask)  # fp32 loss also under bf16 autocast
        self.log(
            "train/loss",
            loss,
            prog_bar=True,
            on_step=True,
            on_epoch=True,
            batch_size=len(batch),
        )
        return loss

    def _eval_step(self, batch: SegmentationBatch, confusion: MulticlassConfusionMatrix,
                   stage: str) -> None:
        logits = self(batch.image)
        loss = self.criterion(logits.float(), batch.mask)
        self.log(
            f"{stage}/loss", loss, on_epoch=True, sync_dist=True, batch_size=len(batch)
        )
        confusion.update(logits.argmax(dim=1), batch.mask)

    def _eval_epoch_end(self, confusion: MulticlassConfusionMatrix, stage: str) -> dict:
        summary = summarize_confusion(confusion.compute().cpu().numpy(), self.classes)
        confusion.reset()
        self.log(f"{stage}/mIoU", _finite(summary["mIoU"]), prog_bar=True, sync_dist=False)
        values = {f"{stage}/mDice": summary["mDice"]}
        for name, stats in summary["per_class"].items():
            values[f"{stage}/IoU_{name}"] = stats["iou"]
        self.log_dict({k: _finite(v) for k, v in values.items()})
        return summary

    def validation_step(self, batch: SegmentationBatch, batch_idx: int) -> None:
        self._eval_step(batch, self.val_confusion, "val")

    def on_validation_epoch_end(self) -> None:
        self.last_val_summary = self._eval_epoch_end(self.val_confusion, "val")

    def test_step(self, batch: SegmentationBatch, batch_idx: int) -> None:
        self._eval_step(batch, self.test_confusion, "test")

    def on_test_epoch_end(self) -> None:
        self.last_test_summary = self._eval_epoch_end(self.test_confusion, "test")

    def configure_optimizers(self) -> Any:
        return configure_optimizers(
            self, self.parameters(), self.hparams.optimizer, self.hparams.scheduler
        )

    @classmethod
    def method_from_checkpoint(
        cls, card: ModelCard, state_dict: dict, device: str = "auto", **kwargs: Any
    ) -> SegmenterMethod:
        """Rebuild the network of ``card`` with a checkpoint's weights (no weight download)
        as a Method carrying the card."""
        net_cfg = {k: v for k, v in card.net.items() if k != "encoder_weights"}
        net = Segmenter(encoder_weights=None, **net_cfg)
        net.load_state_dict(submodule_state({"state_dict": state_dict}))
        return SegmenterMethod(net, card.classes, device=device, card=card, **kwargs)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        put_card(checkpoint, module_card(self))


def _finite(value: float) -> float:
    return 0.0 if value != value else float(value)
