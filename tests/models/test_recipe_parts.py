"""The parts of the real-defect recipe: classical input channels, the full-resolution
branch, the step schedule; each against a plain computation."""

import math

import cv2
import numpy as np
import pytest
import torch

from visionseg.core.errors import ConfigError
from visionseg.models.schedules import warmup_cosine, warmup_cosine_factor
from visionseg.models.smp.input_features import LocalContrast, RidgeResponse
from visionseg.models.smp.network import Segmenter


def test_local_contrast_matches_opencv_blur_in_the_interior():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (64, 80)).astype(np.float32)
    x = torch.from_numpy(grey)[None, None].repeat(1, 3, 1, 1)
    out = LocalContrast(sigma=3.0)(x)[0].numpy()
    blur = cv2.GaussianBlur(grey, (19, 19), 3.0, borderType=cv2.BORDER_REPLICATE)
    local = grey - blur
    np.testing.assert_allclose(out[0], local / 16.0, atol=2e-3)
    spread = np.sqrt(cv2.GaussianBlur(local * local, (19, 19), 3.0,
                                      borderType=cv2.BORDER_REPLICATE)) + 4.0
    np.testing.assert_allclose(out[1][10:-10, 10:-10], (local / spread)[10:-10, 10:-10],
                               atol=2e-3)


def test_local_contrast_ignores_a_lighting_ramp_and_finds_a_pit():
    ramp = np.tile(np.linspace(40, 200, 96, dtype=np.float32), (96, 1))
    ramp[48, 48] -= 60  # a one-pixel pit
    x = torch.from_numpy(ramp)[None, None].repeat(1, 3, 1, 1)
    out = LocalContrast(sigma=8.0)(x)[0, 0].numpy()
    assert abs(out[48, 48]) > 3.0
    interior = np.delete(out[20:-20, 20:-20].ravel(), (48 - 20) * 56 + (48 - 20))
    assert np.abs(interior).max() < 0.1


def test_ridge_hessian_matches_scikit_image():
    """The Hessian the ridge channels are built from equals scikit-image's (interior)."""
    from skimage.feature import hessian_matrix, hessian_matrix_eigvals

    rng = np.random.default_rng(1)
    grey = cv2.GaussianBlur(rng.normal(128, 30, (64, 64)).astype(np.float32), (0, 0), 1.0)
    x = torch.from_numpy(grey)[None, None].repeat(1, 3, 1, 1)
    ridge = RidgeResponse(sigmas=(2.0,), context_sigma=8.0)
    g = torch.from_numpy(grey)[None, None]
    local = g - ridge.context.blur(g)
    spread = (torch.sqrt(ridge.context.blur(local * local)) + 4.0)[0, 0].numpy()
    out = ridge(x)[0].numpy() * spread / 4.0  # undo the normalisation and the scale s^2
    h = hessian_matrix(grey.astype(np.float64), sigma=2.0, order="rc", mode="nearest",
                       use_gaussian_derivatives=True)
    hi, lo = hessian_matrix_eigvals(h)
    inner = np.s_[8:-8, 8:-8]
    np.testing.assert_allclose(out[0][inner], np.maximum(hi, 0)[inner], atol=0.05)
    np.testing.assert_allclose(out[1][inner], np.maximum(-lo, 0)[inner], atol=0.05)


def test_ridge_channels_find_dark_and_bright_lines_whatever_the_lighting():
    x = torch.full((1, 3, 64, 64), 120.0)
    x[..., 30, 10:50] = 90.0  # a dark 1-px line
    x[..., 10:12, 10:50] = 150.0  # a bright 2-px line
    out = RidgeResponse()(x)[0]
    assert out[0, 30, 30] > 0.8 and out[1, 30, 30] < 0.2 * out[0, 30, 30]
    assert out[1, 10, 30] > 0.8 and out[0, 10, 30] < 0.05
    assert out[:, 40:, :].abs().max() < 1e-3  # flat surface: nothing
    brighter = RidgeResponse()(x * 1.5 + 10)[0]
    assert abs(float(brighter[0, 30, 30] / out[0, 30, 30]) - 1) < 0.25


@pytest.mark.parametrize("kwargs", [{"input_features": ["local_contrast"]},
                                    {"input_features": ["local_contrast", "ridge"]},
                                    {"full_res_channels": 8},
                                    {"input_features": ["local_contrast"],
                                     "full_res_channels": 8}])
def test_segmenter_options_keep_the_image_size_and_rebuild_from_config(kwargs):
    net = Segmenter("Unet", "resnet18", num_classes=3, **kwargs).eval()
    x = torch.randint(0, 256, (1, 3, 45, 70), dtype=torch.uint8)
    with torch.no_grad():
        logits = net(x)
    assert logits.shape == (1, 3, 45, 70)
    again = Segmenter(**{k: v for k, v in net.config.items() if k != "encoder_weights"})
    again.load_state_dict(net.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(again.eval()(x), logits)


def test_segmenter_rejects_bad_settings():
    with pytest.raises(ConfigError, match="input_features"):
        Segmenter("Unet", "resnet18", input_features=["sobel"])
    with pytest.raises(ConfigError, match="full_res_channels"):
        Segmenter("Unet", "resnet18", full_res_channels=-1)
    with pytest.raises(ConfigError, match="contrast_sigma"):
        Segmenter("Unet", "resnet18", input_features=["local_contrast"], contrast_sigma=0)


def test_warmup_cosine_by_steps():
    assert warmup_cosine_factor(0, 1000, 100, 0.01) == pytest.approx(0.01)
    assert warmup_cosine_factor(99, 1000, 100, 0.01) == pytest.approx(1.0)
    assert warmup_cosine_factor(550, 1000, 100, 0.0) == pytest.approx(0.5)
    assert warmup_cosine_factor(1000, 1000, 100, 0.01) == pytest.approx(0.01)
    assert warmup_cosine_factor(5000, None, 100, 0.01) == 1.0
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    schedule = warmup_cosine(opt, total_steps=20, warmup_steps=2, min_ratio=0.0)
    rates = []
    for _ in range(20):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        schedule.step()
    assert rates[0] == pytest.approx(0.05) and rates[1] == pytest.approx(0.1)
    assert rates[11] == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 9 / 18)))
    with pytest.raises(ConfigError, match="warmup_steps"):
        warmup_cosine(opt, 10, warmup_steps=-1)


def test_input_features_stay_fp32_under_bf16_autocast():
    """A 2-grey-level pit at grey 200 is below bf16's step there: the classical channels
    must be computed in fp32 inside a bf16 training or inference step."""
    from visionseg.models.smp.input_features import build_features, input_channels

    features = build_features(["local_contrast", "ridge"], 8.0)
    x = torch.full((1, 3, 48, 48), 200.0)
    x[..., 20:23, 20:23] = 198.0
    reference = [f(x) for f in features]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = input_channels(features, x)
        plain = features[0](x)
    for got, want in zip(inside, reference, strict=True):
        assert got.dtype == torch.float32
        torch.testing.assert_close(got, want)
    assert (plain.float() - reference[0]).abs().max() > 0.01  # what the fp32 guard prevents
