"""The pure Mask R-CNN network: torchvision's model, assembled from config, fed uint8 images.

The network is torchvision's ``MaskRCNN`` built from the same parts as
``maskrcnn_resnet50_fpn`` (v1) and ``maskrcnn_resnet50_fpn_v2`` (v2), so torchvision's COCO
weights load into it, with what factory images need made configurable: any torchvision
ResNet as backbone (resnet18/34 are much cheaper on CPU), FPN and head widths, anchor
sizes (defects are often far smaller than COCO's 32-pixel smallest anchor), and the input
size. ``min_size: null`` feeds images at their own resolution: torchvision would otherwise
upscale every image to 800 pixels (about 5x slower, and defects change scale between
training crops and whole images).

Weights never download unless asked for: ``weights`` (whole detector; COCO, resnet50
only) and ``weights_backbone`` (ImageNet backbone) are ``null`` (random init), a
torchvision weights name (``DEFAULT``, ``COCO_V1``, ``IMAGENET1K_V1``...) or the path of a
local state dict.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import nn
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import (
    FastRCNNConvFCHead,
    FastRCNNPredictor,
    TwoMLPHead,
)
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.models.detection.rpn import RPNHead
from torchvision.models.detection.transform import GeneralizedRCNNTransform
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool
from torchvision.ops.misc import FrozenBatchNorm2d

from visionseg.models.smp.network import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    WeightsUnavailableError,
    load_state_dict_file,
    looks_like_path,
)

log = logging.getLogger(__name__)

COCO_ANCHORS = (32, 64, 128, 256, 512)
_DETECTOR_WEIGHTS = {
    "v1": torchvision.models.detection.MaskRCNN_ResNet50_FPN_Weights,
    "v2": torchvision.models.detection.MaskRCNN_ResNet50_FPN_V2_Weights,
}
_OFFLINE_HINT = (
    "This machine is probably offline. To proceed offline, set model.weights=null and "
    "model.weights_backbone=null (train from scratch), or point model.weights (whole "
    "detector) or model.weights_backbone (ResNet backbone) at a local state dict file "
    "(.pth / .safetensors)."
)


class NativeSizeTransform(GeneralizedRCNNTransform):
    """torchvision's normalise-and-batch transform that resizes only when ``min_size`` is set.

    With ``min_size=None`` images keep their own resolution in training and inference;
    otherwise torchvision's rule applies (shorter side to ``min_size``, longer side at most
    ``max_size``).
    """

    def __init__(
        self,
        min_size: int | None,
        max_size: int | None,
        image_mean: Sequence[float],
        image_std: Sequence[float],
    ) -> None:
        super().__init__(min_size or 800, max_size or 1333, list(image_mean), list(image_std))
        self.native = min_size is None

    def resize(self, image, target=None):
        if self.native:
            return image, target
        return super().resize(image, target)


def _is_path(value: str | None) -> bool:
    return bool(value) and looks_like_path(str(value))


def _verify(resolve, what: str) -> Any:
    """A torchvision weights enum from its name; ValueError naming the setting if unknown."""
    try:
        return resolve()
    except (KeyError, ValueError) as err:
        raise ValueError(f"{what}: not a torchvision weights name ({err})") from err


def _download(what: str, name: str, fetch) -> Any:
    try:
        return fetch()
    except Exception as err:  # network failures surface as many exception types
        raise WeightsUnavailableError(
            f"Could not obtain pretrained weights '{name}' for the Mask R-CNN {what} "
            f"({type(err).__name__}: {err}). {_OFFLINE_HINT}"
        ) from err


def _load_matching(
    module: nn.Module, state: dict[str, torch.Tensor], source: str, what: str
) -> None:
    """Load the tensors of ``state`` whose name and shape fit ``module``; others are skipped."""
    expected = module.state_dict()
    usable = {k: v for k, v in state.items() if k in expected and v.shape == expected[k].shape}
    if not usable:
        raise WeightsUnavailableError(f"{source}: none of its tensors fit the Mask R-CNN {what}")
    skipped = len(expected) - len(usable)
    if skipped:
        log.info("%s: %d %s tensors not in the file or of another shape (e.g. the class "
                 "heads), left at random init", source, skipped, what)
    expected.update(usable)
    module.load_state_dict(expected)


def _backbone(
    name: str,
    weights_backbone: str | None,
    norm: str,
    trainable_layers: int,
    fpn_channels: int,
    fpn_norm: bool,
) -> BackboneWithFPN:
    norm_layer = FrozenBatchNorm2d if norm == "frozen" else nn.BatchNorm2d
    hub = None if _is_path(weights_backbone) else weights_backbone
    if hub is not None:
        weight_enum = _verify(lambda: torchvision.models.get_model_weights(name).verify(hub),
                              f"model.weights_backbone={hub} for {name}")
        body = torchvision.models.get_model(name, weights=None, norm_layer=norm_layer)
        state = _download("backbone", str(hub), lambda: weight_enum.get_state_dict(progress=True))
        body.load_state_dict(state)
    else:
        try:
            body = torchvision.models.get_model(name, weights=None, norm_layer=norm_layer)
        except ValueError as err:
            raise ValueError(f"model.backbone: unknown torchvision model '{name}' ({err})") from err
    if _is_path(weights_backbone):
        path = Path(str(weights_backbone))
        if not path.is_file():
            raise WeightsUnavailableError(f"{path}: backbone weights file not found")
        state = {k.removeprefix("backbone.body."): v for k, v in load_state_dict_file(path).items()}
        _load_matching(body, state, str(path), "backbone")
    if not 0 <= trainable_layers <= 5:
        raise ValueError(f"model.trainable_backbone_layers must be 0..5, got {trainable_layers}")
    train = ["layer4", "layer3", "layer2", "layer1", "conv1"][:trainable_layers]
    if trainable_layers == 5:
        train.append("bn1")
    for param_name, parameter in body.named_parameters():
        if not any(param_name.startswith(layer) for layer in train):
            parameter.requires_grad_(False)
    stage2 = body.inplanes // 8
    return BackboneWithFPN(
        body,
        return_layers={"layer1": "0", "layer2": "1", "layer3": "2", "layer4": "3"},
        in_channels_list=[stage2 * 2**i for i in range(4)],
        out_channels=fpn_channels,
        extra_blocks=LastLevelMaxPool(),
        norm_layer=nn.BatchNorm2d if fpn_norm else None,
    )


def build_maskrcnn(
    num_classes: int,
    backbone: str = "resnet50",
    version: str = "v1",
    weights: str | None = None,
    weights_backbone: str | None = None,
    trainable_backbone_layers: int | None = None,
    backbone_norm: str | None = None,
    fpn_channels: int = 256,
    head_channels: int = 256,
    representation_size: int = 1024,
    anchor_sizes: Sequence[int] = COCO_ANCHORS,
    min_size: int | None = None,
    max_size: int | None = None,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    **detector_kwargs: Any,
) -> tuple[MaskRCNN, dict[str, Any]]:
    """A torchvision MaskRCNN for ``num_classes`` (background included) and the resolved
    settings that rebuild it without weights (``backbone_norm``, ``trainable_backbone_layers``).

    As in torchvision: from scratch every backbone layer trains with BatchNorm; with
    pretrained weights v1 freezes the backbone's BatchNorm and trains its last 3 stages.
    """
    if version not in _DETECTOR_WEIGHTS:
        raise ValueError(f"model.version must be v1 or v2, got {version!r}")
    pretrained = bool(weights or weights_backbone)
    if backbone_norm is None:
        backbone_norm = "frozen" if pretrained and version == "v1" else "batch"
    if trainable_backbone_layers is None:
        trainable_backbone_layers = 3 if pretrained else 5
    v2 = version == "v2"
    fpn = _backbone(backbone, None if weights else weights_backbone, backbone_norm,
                    trainable_backbone_layers, fpn_channels, fpn_norm=v2)
    if len(anchor_sizes) != 5:
        raise ValueError("model.anchor_sizes needs 5 sizes, one per FPN level")
    anchors = AnchorGenerator(tuple((int(s),) for s in anchor_sizes), ((0.5, 1.0, 2.0),) * 5)
    norm = nn.BatchNorm2d if v2 else None
    if v2:
        box_head: nn.Module = FastRCNNConvFCHead((fpn_channels, 7, 7), [head_channels] * 4,
                                                 [representation_size], norm_layer=norm)
    else:
        box_head = TwoMLPHead(fpn_channels * 7 * 7, representation_size)
    model = MaskRCNN(
        fpn,
        num_classes=None,
        rpn_anchor_generator=anchors,
        rpn_head=RPNHead(fpn_channels, 3, conv_depth=2 if v2 else 1),
        box_head=box_head,
        box_predictor=FastRCNNPredictor(representation_size, num_classes),
        mask_head=MaskRCNNHeads(fpn_channels, [head_channels] * 4, 1, norm_layer=norm),
        mask_predictor=MaskRCNNPredictor(head_channels, head_channels, num_classes),
        **detector_kwargs,
    )
    model.transform = NativeSizeTransform(min_size, max_size, mean, std)
    if weights:
        _load_detector(model, str(weights), version, backbone)
    return model, {"backbone_norm": backbone_norm,
                   "trainable_backbone_layers": trainable_backbone_layers}


def _load_detector(model: MaskRCNN, weights: str, version: str, backbone: str) -> None:
    if _is_path(weights):
        path = Path(weights)
        if not path.is_file():
            raise WeightsUnavailableError(f"{path}: detector weights file not found")
        _load_matching(model, load_state_dict_file(path), str(path), "detector")
        return
    if backbone != "resnet50":
        raise ValueError(
            f"model.weights={weights}: torchvision has COCO Mask R-CNN weights for resnet50 "
            f"only (model.backbone is {backbone}); use model.weights_backbone instead"
        )
    weight_enum = _verify(lambda: _DETECTOR_WEIGHTS[version].verify(weights),
                          f"model.weights={weights} for Mask R-CNN {version}")
    state = _download("detector", weights, lambda: weight_enum.get_state_dict(progress=True))
    _load_matching(model, state, f"torchvision {weight_enum}", "detector")
    if version == "v1":
        for module in model.modules():
            if isinstance(module, FrozenBatchNorm2d):
                module.eps = 0.0


class InstanceSegmenter(nn.Module):
    """Mask R-CNN taking ``B x 3 x H x W`` uint8 images (or a list of ``3 x H x W``).

    Training mode returns torchvision's loss dict; eval mode its detections per image
    (``boxes``, ``labels``, ``scores``, ``masks`` ``N x 1 x H x W`` probabilities).
    ``config`` holds every argument needed to rebuild it without weights.
    """

    def __init__(self, num_classes: int, detector_kwargs: dict[str, Any] | None = None,
                 **options: Any) -> None:
        super().__init__()
        options = {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()}
        self.model, resolved = build_maskrcnn(num_classes, **options, **(detector_kwargs or {}))
        self.config = {
            "num_classes": num_classes,
            **options,
            **resolved,
            "weights": None,
            "weights_backbone": None,
            "detector_kwargs": dict(detector_kwargs or {}),
            "trained_from": {"weights": options.get("weights"),
                             "weights_backbone": options.get("weights_backbone")},
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> InstanceSegmenter:
        """Rebuild (random weights, nothing downloaded) from :attr:`config`."""
        options = {k: v for k, v in config.items() if k != "trained_from"}
        return cls(**options)

    def forward(self, images: torch.Tensor | Sequence[torch.Tensor],
                targets: list[dict[str, torch.Tensor]] | None = None):
        return self.model([image.to(torch.float32) / 255.0 for image in images], targets)
