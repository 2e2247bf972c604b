"""Shared pieces of the serving tests: an Otsu inspector, PNG bytes, a tiny checkpoint,
polling with a deadline, a free localhost port."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from visionseg.baselines.threshold import OtsuBaseline
from visionseg.core.verdict import PartRule
from visionseg.serving.inspector import Inspector

CLASSES = ["background", "scratch", "spot", "stain"]


def part_image(seed: int, size: int = 48) -> np.ndarray:
    """A grey part with one dark scratch (NG under the default rule for most seeds)."""
    rng = np.random.default_rng(seed)
    image = rng.normal(140, 6, (size, size, 3))
    row = int(rng.integers(8, size - 8))
    image[row : row + 3, 6 : size - 6] -= 70
    return np.clip(image, 0, 255).astype(np.uint8)


def encode_png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image[:, :, ::-1] if image.ndim == 3 else image)
    assert ok
    return data.tobytes()


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Poll ``condition`` until true; fail after ``timeout`` seconds (a deadline for a busy
    machine, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def save_tiny_checkpoint(path: Path, **meta) -> Path:
    """An untrained small U-Net saved as train.py's checkpoints are (module, classes, net)."""
    from visionseg.models.smp.network import Segmenter

    net = Segmenter("Unet", "mobilenet_v2", num_classes=len(CLASSES),
                    arch_kwargs={"decoder_channels": [16, 16, 8, 8, 8]})
    torch.save({
        "state_dict": {f"net.{k}": v for k, v in net.state_dict().items()},
        "visionseg": {"module": "visionseg.models.smp.module.SegmentationModule",
                      "classes": CLASSES, "net": net.config, "image_size": 64, **meta},
    }, path)
    return path


@pytest.fixture
def inspector() -> Inspector:
    return Inspector(OtsuBaseline(CLASSES), PartRule())
