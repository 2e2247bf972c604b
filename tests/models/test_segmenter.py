import pytest
import segmentation_models_pytorch as smp
import torch

from visionseg.models.smp.network import Segmenter, WeightsUnavailableError


@pytest.mark.parametrize("size", [(37, 50), (64, 64), (1, 33)])
def test_any_input_size_is_padded_and_cropped_back(size):
    net = Segmenter("Unet", "resnet18", num_classes=3).eval()
    x = torch.randint(0, 256, (2, 3, *size), dtype=torch.uint8)
    with torch.no_grad():
        out = net(x)
    assert out.shape == (2, 3, *size)


def test_other_architectures_build():
    for arch in ("FPN", "DeepLabV3Plus"):
        net = Segmenter(arch, "resnet18", num_classes=2).eval()
        with torch.no_grad():
            assert net(torch.zeros(1, 3, 64, 64)).shape == (1, 2, 64, 64)


def test_download_failure_says_how_to_run_offline(monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(smp, "create_model", offline)
    with pytest.raises(WeightsUnavailableError) as err:
        Segmenter("Unet", "resnet18", num_classes=2, encoder_weights="imagenet")
    message = str(err.value)
    assert "encoder_weights=null" in message and "local file" in message


def test_local_encoder_weights_are_loaded(tmp_path):
    source = Segmenter("Unet", "resnet18", num_classes=2)
    path = tmp_path / "encoder.pth"
    torch.save(source.model.encoder.state_dict(), path)
    net = Segmenter("Unet", "resnet18", num_classes=2, encoder_weights=str(path))
    for key, value in source.model.encoder.state_dict().items():
        assert torch.equal(net.model.encoder.state_dict()[key], value)
    wrong = tmp_path / "wrong.pth"
    torch.save({"nothing.here": torch.zeros(1)}, wrong)
    with pytest.raises(WeightsUnavailableError, match="none of its tensors fit"):
        Segmenter("Unet", "resnet18", num_classes=2, encoder_weights=str(wrong))


def test_channels_last_method_matches_the_default_layout():
    from visionseg.models.smp.method import SegmenterMethod

    torch.manual_seed(0)
    net = Segmenter("Unet", "resnet18", num_classes=3).eval()
    images = torch.randint(0, 256, (2, 48, 40, 3), dtype=torch.uint8)
    with torch.no_grad():
        expected = torch.softmax(net(images.permute(0, 3, 1, 2).contiguous()), dim=1)
    method = SegmenterMethod(net, ["a", "b", "c"], device="cpu", tile_size=None)
    probs = method.probabilities(images.numpy())
    assert torch.allclose(torch.from_numpy(probs), expected, atol=1e-4)
