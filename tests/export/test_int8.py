"""INT8 static quantisation: the graph it writes, and the parity bounds that refuse it."""

from __future__ import annotations

import numpy as np
import pytest

from visionseg.core.errors import ConfigError
from visionseg.export.errors import ExportError
from visionseg.export.quantize import (
    QuantizeSettings,
    class_ious,
    int8_parity,
    int8_samples,
    quantize_int8,
)

pytest.importorskip("onnxruntime")
CLASSES = ["background", "scratch", "spot"]


def _images(count: int, side: int = 64) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    images = []
    for _ in range(count):
        image = rng.normal(120, 25, (side, side, 3)).clip(0, 255).astype(np.uint8)
        image[20:30, 10:50] = 20
        images.append(image)
    return images


def test_quantised_graph_is_int8_inside_and_float_at_both_ends(exported, tmp_path):
    import onnx
    import onnxruntime as ort

    out = tmp_path / "int8.onnx"
    quantize_int8(exported, out, _images(4))
    graph = onnx.load(str(out)).graph
    ops = [node.op_type for node in graph.node]
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    # The softmax and the rule's thresholds read float probabilities, unquantised.
    softmax = next(i for i, node in enumerate(graph.node) if node.op_type == "Softmax")
    assert "QuantizeLinear" not in ops[softmax:]
    fp32 = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    int8 = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    batch = np.stack(_images(2, 96))
    p32 = fp32.run(["probs"], {"image": batch})[0]
    p8 = int8.run(["probs"], {"image": batch})[0]
    assert p8.shape == p32.shape and np.allclose(p8.sum(1), 1.0, atol=1e-4)
    assert np.abs(p8 - p32).mean() < 0.05  # quantisation noise, not another model


def _masks() -> tuple[np.ndarray, np.ndarray]:
    truth = np.zeros((10, 10), np.uint8)
    truth[2:4, 2:7] = 1  # 10 scratch pixels
    return truth, truth.copy()


def test_parity_counts_agreement_and_iou_change_exactly():
    truth, fp32_mask = _masks()
    int8_mask = fp32_mask.copy()
    int8_mask[2, 2] = 0  # one scratch pixel lost: agreement 99/100, IoU 1.0 -> 0.9
    parity = int8_parity(lambda x: fp32_mask[None], lambda x: int8_mask[None],
                         [np.zeros((10, 10, 3), np.uint8)], [truth], CLASSES, "test",
                         QuantizeSettings(min_agreement=0.99, max_iou_change=0.2))
    assert parity.agreement == pytest.approx(0.99)
    assert parity.iou_fp32 == {"background": 1.0, "scratch": 1.0}
    assert parity.iou_int8["scratch"] == pytest.approx(0.9)
    assert parity.worst_iou_change == pytest.approx(0.1)
    assert parity.to_dict()["worst_iou_change"] == pytest.approx(0.1)


@pytest.mark.parametrize("settings,match", [
    (QuantizeSettings(min_agreement=0.995, max_iou_change=0.5), "agree with fp32 on 0.9900"),
    (QuantizeSettings(min_agreement=0.9, max_iou_change=0.01), "class 'scratch' IoU moves"),
])
def test_a_missed_bound_refuses_the_export_with_the_reason(settings, match):
    truth, fp32_mask = _masks()
    int8_mask = fp32_mask.copy()
    int8_mask[2, 2] = 0
    with pytest.raises(ExportError, match=match):
        int8_parity(lambda x: fp32_mask[None], lambda x: int8_mask[None],
                    [np.zeros((10, 10, 3), np.uint8)], [truth], CLASSES, "test", settings)


def test_class_ious_match_a_direct_count():
    rng = np.random.default_rng(0)
    truth, pred = rng.integers(0, 3, 500), rng.integers(0, 3, 500)
    confusion = np.bincount(truth * 3 + pred, minlength=9).reshape(3, 3)
    ious = class_ious(confusion, CLASSES)
    for k, name in enumerate(CLASSES):
        inter = np.sum((truth == k) & (pred == k))
        union = np.sum((truth == k) | (pred == k))
        assert ious[name] == pytest.approx(inter / union, abs=1e-6)


@pytest.mark.parametrize("value", [{"calibration_images": 0}, {"min_agreement": 1.5},
                                   {"max_iou_change": -0.1}])
def test_settings_are_range_checked(value):
    with pytest.raises(ConfigError, match="int8"):
        QuantizeSettings(**value)


def test_export_with_quantize_int8_writes_a_bound_int8_export_that_loads(calibrated_ckpt,
                                                                         tmp_path):
    import onnx

    from visionseg.export.loader import load
    from visionseg.export.metadata import read_metadata
    from visionseg.export.onnx_export import ExportRequest, export_model

    out = tmp_path / "int8"
    # The fixture's network is untrained (near-uniform probabilities), so the bound is off
    # here; the refusal itself is tested above on exact masks.
    meta = export_model(ExportRequest(calibrated_ckpt, out, parity_images=2, quantize="int8",
                                      int8=QuantizeSettings(calibration_images=2,
                                                            parity_images=2,
                                                            min_agreement=0.0,
                                                            max_iou_change=1.0)))
    assert meta.quantization is not None and 0.0 <= meta.quantization["agreement"] <= 1.0
    assert meta.quantization["calibration_images"] == 2 and meta.quantization["images"] == 2
    assert meta.quantization["iou_fp32"] is not None  # generated images come with masks
    assert read_metadata(out / "model.onnx").quantization == meta.quantization
    ops = {node.op_type for node in onnx.load(str(out / "model.onnx")).graph.node}
    assert "QuantizeLinear" in ops
    loaded = load(out)
    mask = loaded.method.predict(_images(1, 80)[0]).mask
    assert mask.shape == (80, 80) and mask.max() < len(CLASSES)


def test_an_unknown_quantize_value_is_refused(calibrated_ckpt, tmp_path):
    from visionseg.export.onnx_export import ExportRequest, export_model

    with pytest.raises(ExportError, match="quantize=int4: unknown"):
        export_model(ExportRequest(calibrated_ckpt, tmp_path / "x", parity_images=1,
                                   quantize="int4"))
    assert not (tmp_path / "x").exists()


def _split(root, split: str, count: int, masks: bool = True) -> None:
    import cv2

    for folder in ("images", "masks") if masks else ("images",):
        (root / split / folder).mkdir(parents=True)
    for i, image in enumerate(_images(count, 40)):
        cv2.imwrite(str(root / split / "images" / f"{i:02d}.png"), image)
        if masks:
            cv2.imwrite(str(root / split / "masks" / f"{i:02d}.png"),
                        np.full((40, 40), i % 3, np.uint8))


def test_int8_parity_images_are_held_out_from_calibration_and_carry_their_masks(tmp_path):
    _split(tmp_path, "val", 5)
    samples = int8_samples(str(tmp_path), "val",
                           QuantizeSettings(calibration_images=3, parity_images=4), side=32)
    assert len(samples.calibration) == 3 and len(samples.parity) == 2  # 5 images in all
    assert samples.masks is not None and [m.max() for m in samples.masks] == [0, 1]  # 03, 04
    assert all(im.shape == (32, 32, 3) for im in samples.calibration + samples.parity)
    assert samples.source == f"split 'val' of {tmp_path}"


def test_int8_samples_fall_back_to_the_train_split_and_say_when_they_overlap(tmp_path):
    _split(tmp_path, "train", 2, masks=False)
    samples = int8_samples(str(tmp_path), "val",
                           QuantizeSettings(calibration_images=4, parity_images=4), side=64)
    assert len(samples.calibration) == 2 and len(samples.parity) == 2
    assert samples.masks is None  # a split without masks: agreement only
    assert "split 'train'" in samples.source and "too few images" in samples.source
