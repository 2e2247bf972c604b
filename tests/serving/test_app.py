"""The HTTP service: a real uvicorn server in a thread on a free localhost port, spoken to
over HTTP with httpx."""

from __future__ import annotations

import base64
import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import cv2
import httpx
import numpy as np
import pandas as pd
import pytest
import uvicorn

from tests.monitor.streams import line_images
from tests.serving.conftest import CLASSES, encode_png, free_port, part_image, wait_for
from visionseg.baselines.threshold import OtsuBaseline
from visionseg.core.verdict import PartRule
from visionseg.inference.runner import run_inference
from visionseg.io.images import read_mask
from visionseg.monitor.reference import ExpectedNgRate, LineReference, build_reference
from visionseg.monitor.results_log import read_results
from visionseg.monitor.settings import MonitorSettings
from visionseg.monitor.window import RollingMonitor
from visionseg.serving.app import create_app
from visionseg.serving.inspector import Inspector
from visionseg.serving.settings import ServeSettings


@contextlib.contextmanager
def serving(inspector, settings=None, output_dir=None):
    port = free_port()
    settings = settings or ServeSettings(port=port)
    app = create_app(inspector, settings, output_dir)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started or not thread.is_alive(), what="uvicorn to start")
    assert server.started, "uvicorn did not start"
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(30)


def _upload(client, data: bytes, name: str = "part.png", **params):
    return client.post("/inspect", files={"file": (name, data, "image/png")}, params=params)


def test_inspect_answers_as_batch_inference_writes(inspector, tmp_path):
    image = part_image(3)
    path = tmp_path / "part.png"
    path.write_bytes(encode_png(image))
    run_inference(OtsuBaseline(CLASSES), [path], tmp_path / "batch", show_progress=False,
                  rule=PartRule())
    with serving(inspector) as client:
        answer = _upload(client, path.read_bytes(), mask="true").json()
    mask = cv2.imdecode(np.frombuffer(base64.b64decode(answer["mask_png"]), np.uint8), -1)
    np.testing.assert_array_equal(mask, read_mask(tmp_path / "batch" / "masks" / "part.png"))
    assert answer["verdict"] in ("OK", "NG") and answer["name"] == "part"
    assert set(answer["defects"]) == set(CLASSES[1:])
    assert sum(answer["defects"].values()) == len(answer["regions"])
    table = pd.read_csv(tmp_path / "batch" / "defects.csv")  # the same rows as the batch table
    assert [(r["class"], r["area"], r["x"], r["y"]) for r in answer["regions"]] == list(
        zip(table["class"], table["area"], table["x"], table["y"], strict=True))
    assert set(answer["latency_ms"]) >= {"decode", "predict", "postprocess", "total"}
    assert answer["monitor"]["drift"] == "unavailable"


def test_bad_uploads_get_4xx_and_the_server_carries_on(inspector):
    tiny = ServeSettings(port=0, max_upload_mb=0.05, max_megapixels=0.002)
    with serving(inspector, tiny) as client:
        assert _upload(client, b"").status_code == 400
        refused = _upload(client, b"GIF89a this is no image")
        assert refused.status_code == 415 and "decoded" in refused.json()["detail"]
        assert _upload(client, bytes(100_000)).status_code == 413  # read by the endpoint
        assert _upload(client, bytes(300_000)).status_code == 413  # refused from its header
        assert _upload(client, encode_png(part_image(0, size=64))).status_code == 413
        assert client.post("/inspect", data={"x": "1"}).status_code == 422
        assert client.get("/health").json()["status"] == "ok"
        assert _upload(client, encode_png(part_image(0, size=40))).status_code == 200
        metrics = client.get("/metrics").text
    assert 'visionseg_request_errors_total{status="415"} 1.0' in metrics
    assert 'visionseg_request_errors_total{status="413"} 3.0' in metrics


def test_one_inference_at_a_time(inspector):
    predict, active, peak = inspector.method.predict, [0], [0]
    lock = threading.Lock()

    def counting(image):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            return predict(image)
        finally:
            with lock:
                active[0] -= 1

    inspector.method.predict = counting
    data = encode_png(part_image(5, size=256))
    with serving(inspector) as client, ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(lambda _: _upload(client, data).status_code, range(6)))
        health = client.get("/health").json()
    assert codes == [200] * 6 and peak == [1] and health["inspections"] == 6


@pytest.fixture(scope="module")
def reference() -> LineReference:
    return LineReference(build_reference(line_images(0, 200)), ExpectedNgRate(0.5, 100, "test"))


def test_metrics_and_the_results_log_carry_drift_and_ng_rate(reference, tmp_path):
    monitor = RollingMonitor(reference, MonitorSettings(window=50))
    inspector = Inspector(OtsuBaseline(CLASSES), PartRule(), monitor=monitor)
    with serving(inspector, output_dir=tmp_path) as client:
        assert client.get("/health").json()["drift"] == "warming up"
        for i, image in enumerate(line_images(1, 50)):
            assert _upload(client, encode_png(image), name=f"i{i}.png").status_code == 200
        metrics = client.get("/metrics").text
        health = client.get("/health").json()
    assert health["drift"] in ("ok", "watch", "act") and health["inspections"] == 50
    assert 'visionseg_drift_psi{feature="brightness_r"}' in metrics
    assert f'visionseg_drift{{visionseg_drift="{health["drift"]}"}} 1.0' in metrics
    assert "visionseg_expected_ng_rate 0.5" in metrics
    assert 'visionseg_latency_seconds_bucket{le="0.5",stage="predict"}' in metrics
    assert 'visionseg_latency_recent_seconds{quantile="0.95",stage="total"}' in metrics
    counts = {v: f'visionseg_inspections_total{{verdict="{v}"}}' in metrics for v in ("OK", "NG")}
    assert any(counts.values())
    records = list(read_results(tmp_path / "results.jsonl"))
    assert len(records) == 50 and records[-1]["monitor"]["drift"] == health["drift"]
    assert (tmp_path / "masks" / "i49.png").is_file()
