"""The pure segmentation network: any smp architecture/encoder plus its own pre-processing.

Normalisation and padding to the encoder's stride live inside ``forward`` so that the
trained module, evaluation and inference all see exactly the same input path, and a raw
uint8 image of any height and width can be fed directly.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F
from torch import nn

from visionseg.core.errors import ConfigError, UserError
from visionseg.models.smp.full_res import FullResHead, decoder_out_channels
from visionseg.models.smp.input_features import FEATURES, build_features, input_channels

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class WeightsUnavailableError(UserError):
    """Pretrained weights could not be obtained; the message says how to run offline."""


def looks_like_path(value: str) -> bool:
    return (Path(value).suffix in {".pth", ".pt", ".bin", ".safetensors", ".ckpt"}
            or Path(value).exists())


def load_state_dict_file(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state.get("state_dict", state) if isinstance(state, dict) else state


def _encoder_tensors(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The encoder's tensors of an encoder state dict, an smp model's state dict or a
    visionseg checkpoint (``net.model.encoder.*``, e.g. of planted-defect pre-training),
    named as the encoder names them."""
    marker = "encoder."
    if not any(marker in key for key in state):
        return state
    return {key.split(marker, 1)[1]: value for key, value in state.items() if marker in key}


class Segmenter(nn.Module):
    """smp model that takes ``B x C x H x W`` images in 0..255 (uint8 or float).

    ``encoder_weights``: ``None`` (random init, works offline), a name smp knows
    (``"imagenet"``; downloaded from the model hub), or a path to a local state dict of the
    encoder (``.pth``/``.pt``/``.safetensors``) or to a visionseg checkpoint (``.ckpt``,
    e.g. of self-supervised pre-training) whose encoder is taken.

    ``input_features`` (e.g. ``["local_contrast"]``) appends classical responses to the
    normalised image (:mod:`~visionseg.models.smp.input_features`); ``full_res_channels``
    > 0 adds a full-resolution branch before the head for 1-3 px defects
    (:mod:`~visionseg.models.smp.full_res`).
    """

    def __init__(
        self,
        arch: str = "Unet",
        encoder: str = "resnet34",
        num_classes: int = 2,
        in_channels: int = 3,
        encoder_weights: str | None = None,
        mean: tuple[float, ...] = IMAGENET_MEAN,
        std: tuple[float, ...] = IMAGENET_STD,
        arch_kwargs: dict[str, Any] | None = None,
        input_features: list[str] | tuple[str, ...] = (),
        contrast_sigma: float = 8.0,
        full_res_channels: int = 0,
    ) -> None:
        super().__init__()
        if int(full_res_channels) != full_res_channels or not 0 <= full_res_channels <= 256:
            raise ConfigError(
                f"model.full_res_channels must be an integer in 0..256, got {full_res_channels}"
            )
        self.config = {
            "arch": arch,
            "encoder": encoder,
            "num_classes": num_classes,
            "in_channels": in_channels,
            "encoder_weights": encoder_weights,
            "mean": list(mean),
            "std": list(std),
            "arch_kwargs": dict(arch_kwargs or {}),
            "input_features": list(input_features),
            "contrast_sigma": float(contrast_sigma),
            "full_res_channels": int(full_res_channels),
        }
        self.features = build_features(list(input_features), contrast_sigma)
        net_in = in_channels + sum(FEATURES[name] for name in input_features)
        local = encoder_weights if encoder_weights and looks_like_path(encoder_weights) else None
        hub = None if local else encoder_weights
        try:
            self.model = smp.create_model(
                arch,
                encoder_name=encoder,
                encoder_weights=hub,
                in_channels=net_in,
                classes=num_classes,
                **(arch_kwargs or {}),
            )
        except (KeyError, ValueError) as err:
            raise ValueError(f"model: cannot build {arch} with encoder {encoder}: {err}") from err
        except Exception as err:  # network failures surface as many exception types
            raise WeightsUnavailableError(
                f"Could not obtain pretrained weights '{hub}' for encoder '{encoder}' "
                f"({type(err).__name__}: {err}). This machine is probably offline. To proceed "
                "offline, set model.encoder_weights=null (train from scratch) or "
                "model.encoder_weights=/path/to/encoder_state_dict.pth (a local file)."
            ) from err
        if local:
            self._load_encoder(Path(local))
        self.full_res = (
            FullResHead(net_in, decoder_out_channels(self.model), int(full_res_channels),
                        num_classes)
            if full_res_channels else None
        )
        self.register_buffer(
            "mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1) * 255
        )
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1) * 255)
        self.stride = int(getattr(self.model.encoder, "output_stride", 32))

    def _load_encoder(self, path: Path) -> None:
        if not path.is_file():
            raise WeightsUnavailableError(f"{path}: encoder weights file not found")
        state = _encoder_tensors(load_state_dict_file(path))
        expected = self.model.encoder.state_dict()
        usable = {k: v for k, v in state.items() if k in expected and v.shape == expected[k].shape}
        if not usable:
            raise WeightsUnavailableError(
                f"{path}: none of its tensors fit encoder '{self.config['encoder']}'"
            )
        missing = len(expected) - len(usable)
        if missing:
            log.warning(
                "%s: %d encoder tensors not in the file, left at random init", path, missing
            )
        expected.update(usable)
        self.model.encoder.load_state_dict(expected)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() - self.mean) / self.std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``B x num_classes x H x W`` at the input's own size."""
        height, width = x.shape[-2:]
        pad_h = (-height) % self.stride
        pad_w = (-width) % self.stride
        if pad_h or pad_w:
            x = F.pad(x.float(), (0, pad_w, 0, pad_h), mode="replicate")
        return self.padded_logits(x)[..., :height, :width]

    def padded_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of an image in 0..255 already padded to a multiple of ``stride``: the
        one path of training, inference and the ONNX graph."""
        inputs = [self.normalize(x)] + input_channels(self.features, x)
        x = torch.cat(inputs, dim=1) if len(inputs) > 1 else inputs[0]
        if self.full_res is None:
            return self.model(x)
        return self.full_res(x, self.model.decoder(self.model.encoder(x)))
