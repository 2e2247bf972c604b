"""format=openvino cases, run by test_openvino.py in their own process: the IR beside the
ONNX graph, bound to model.json, run as the line runs it, with the masks and verdicts of
ONNX Runtime."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tests.export.conftest import RULE, TILE
from visionseg.export.errors import ExportError

pytest.importorskip("openvino")
pytest.importorskip("onnxruntime")


def _images() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    images = []
    for shape in ((64, 64), (50, 70), (150, 130)):  # whole, odd-sized, tiled (64 px tiles)
        image = rng.normal(120, 30, (*shape, 3)).clip(0, 255).astype(np.uint8)
        image[10:30, 5:40] = 15
        images.append(image)
    return images


@pytest.fixture(scope="module")
def ir_export(calibrated_ckpt, tmp_path_factory):
    from visionseg.export.onnx_export import ExportRequest, export_model

    out = tmp_path_factory.mktemp("openvino") / "line"
    meta = export_model(ExportRequest(calibrated_ckpt, out, format="openvino", tile=TILE,
                                      parity_images=2))
    return out, meta


def test_openvino_export_writes_the_ir_bound_to_model_json(ir_export):
    from visionseg.export.metadata import read_metadata

    out, meta = ir_export
    assert (out / "model.xml").is_file() and (out / "model.bin").is_file()
    assert (out / "model.onnx").is_file()  # the graph the IR came from stays the card's
    assert meta.openvino is not None and meta.openvino.agreement >= 0.999
    assert read_metadata(out / "model.onnx").openvino == meta.openvino


def test_the_folder_runs_the_ir_with_onnx_runtimes_masks_and_rule(ir_export):
    from visionseg.export.loader import load
    from visionseg.export.openvino_ir import OpenVinoMethod
    from visionseg.export.runtime import OnnxMethod

    out, _ = ir_export
    ir = load(out, device="cpu", **TILE.method_kwargs())
    onnx = load(out / "model.onnx", device="cpu", **TILE.method_kwargs())
    assert isinstance(ir.method, OpenVinoMethod) and isinstance(onnx.method, OnnxMethod)
    assert ir.rule == onnx.rule == RULE and ir.method.classes == onnx.method.classes
    for image in _images():
        a, b = ir.method.predict(image), onnx.method.predict(image)
        assert a.mask.shape == image.shape[:2]
        assert (a.mask == b.mask).mean() >= 0.999
        assert np.abs(a.confidence - b.confidence).max() < 1e-3
        classes = ir.method.classes
        assert RULE.judge(RULE.apply(a, classes), classes).label == \
            RULE.judge(RULE.apply(b, classes), classes).label


def test_an_ir_that_is_not_the_one_model_json_describes_is_refused(ir_export, tmp_path):
    from visionseg.export.loader import load

    out, _ = ir_export
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    weights = bytearray((copy / "model.bin").read_bytes())
    weights[-1] ^= 0xFF
    (copy / "model.bin").write_bytes(bytes(weights))
    with pytest.raises(ExportError, match=r"model\.bin: missing or not the IR model\.json"):
        load(copy / "model.xml")


def test_an_int8_graph_converts_and_still_agrees(calibrated_ckpt, tmp_path):
    from visionseg.export.onnx_export import ExportRequest, export_model
    from visionseg.export.quantize import QuantizeSettings

    meta = export_model(ExportRequest(
        calibrated_ckpt, tmp_path / "int8", format="openvino", tile=TILE, parity_images=2,
        quantize="int8", int8=QuantizeSettings(calibration_images=2, parity_images=2,
                                               min_agreement=0.0, max_iou_change=1.0)))
    assert meta.quantization is not None and meta.openvino is not None
    assert 0.0 <= meta.openvino.agreement <= 1.0  # untrained: bounded by int8.min_agreement


def test_an_ir_below_its_bound_is_refused_with_the_setting_named(exported, tmp_path):
    from visionseg.export.openvino_ir import convert_to_ir

    model = tmp_path / "model.onnx"
    shutil.copy(exported, model)
    image = _images()[0]

    def disagreeing(batch):  # a reference whose every pixel differs
        return {"mask": np.full(batch.shape[:3], 7, np.uint8)}

    with pytest.raises(ExportError, match=r"OpenVINO masks agree with the test's on 0.00000 "
                                          r"of the pixels, below parity.min_agreement=0.999"):
        convert_to_ir(model, [image], disagreeing, "the test's", "parity.min_agreement", 0.999)


def test_without_openvino_the_folder_runs_its_onnx_graph_and_the_ir_names_the_extra(
        ir_export, monkeypatch):
    import importlib.util

    from visionseg.export.loader import load
    from visionseg.export.openvino_ir import require_openvino
    from visionseg.export.runtime import OnnxMethod

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "openvino" else real(name, *a))
    with pytest.raises(ExportError, match=r'format=openvino needs openvino, not installed '
                                          r'here: pip install -e "\.\[openvino\]"'):
        require_openvino("format=openvino")
    out, _ = ir_export
    assert isinstance(load(out, device="cpu").method, OnnxMethod)
    with pytest.raises(ExportError, match="running an OpenVINO export needs openvino"):
        load(out / "model.xml")
