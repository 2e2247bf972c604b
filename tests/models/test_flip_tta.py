"""Test-time flip averaging in the smp Method adapter."""

import numpy as np
import torch
from torch import nn

from visionseg.models.smp.method import SegmenterMethod


class Lopsided(nn.Module):
    """Logits from an asymmetric convolution: mirroring the input changes the answer."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            self.conv.weight.copy_(torch.randn(self.conv.weight.shape, generator=generator))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x.float() / 255.0)


def test_flip_averaging_is_the_mean_of_the_mirrored_passes():
    net = Lopsided().eval()
    images = np.random.default_rng(0).integers(0, 256, (2, 20, 24, 3), dtype=np.uint8)
    x = torch.from_numpy(images).permute(0, 3, 1, 2)
    with torch.no_grad():
        passes = [torch.softmax(net(x), 1)]
        passes += [torch.softmax(net(x.flip(d)), 1).flip(d) for d in (3, 2)]
    expected = (sum(passes) / 3).numpy()
    plain = SegmenterMethod(net, ["a", "b", "c"], device="cpu").probabilities(images)
    averaged = SegmenterMethod(net, ["a", "b", "c"], device="cpu", flip_tta=True)
    probs = averaged.probabilities(images)
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert np.abs(probs - plain).max() > 1e-3
    assert averaged.predict(images[0]).mask.shape == (20, 24)
