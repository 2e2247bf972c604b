"""precision=auto|fp32|bf16 for network inference: bf16 on CPU only when asked for."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from visionseg.core.errors import ConfigError
from visionseg.core.network import use_bf16


def test_auto_is_bf16_on_cuda_only():
    assert use_bf16("auto", torch.device("cuda")) and not use_bf16("auto", torch.device("cpu"))
    assert use_bf16("bf16", torch.device("cpu")) and not use_bf16("fp32", torch.device("cuda"))
    with pytest.raises(ConfigError, match="precision must be one of"):
        use_bf16("fp16", torch.device("cpu"))


def test_cpu_bf16_gives_the_fp32_mask_on_nearly_every_pixel():
    from visionseg.models.smp.method import SegmenterMethod
    from visionseg.models.smp.network import Segmenter

    torch.manual_seed(0)
    net = Segmenter("Unet", "resnet18", num_classes=3)
    rng = np.random.default_rng(0)
    image = rng.normal(128, 30, (128, 160, 3)).clip(0, 255).astype(np.uint8)
    fp32 = SegmenterMethod(net, ["a", "b", "c"], device="cpu", precision="fp32")
    bf16 = SegmenterMethod(net, ["a", "b", "c"], device="cpu", precision="bf16")
    assert bf16.amp and not fp32.amp
    p32, p16 = fp32.probabilities(image[None]), bf16.probabilities(image[None])
    assert p16.dtype == np.float32 and np.abs(p16 - p32).max() < 0.05
    assert (p16.argmax(1) == p32.argmax(1)).mean() >= 0.99
