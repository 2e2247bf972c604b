"""infer.py watch=true and serve.py as a user runs them: real processes, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.monitor.streams import line_images
from tests.serving.conftest import (
    encode_png,
    free_port,
    part_image,
    save_tiny_checkpoint,
    wait_for,
)
from visionseg.core.errors import ConfigError
from visionseg.io.images import write_png
from visionseg.monitor.results_log import read_results
from visionseg.monitor.stored import store_line_reference
from visionseg.serving.settings import ServeSettings, WatchSettings

ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "HYDRA_FULL_ERROR": "0", "OMP_NUM_THREADS": "1"}


def _start(script: str, *overrides: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / script), *overrides], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    return proc.returncode, out


@dataclass
class Started:
    """Both entry points, started together (each spends most of its start importing)."""

    watch: subprocess.Popen
    inbox: Path
    out: Path
    serve: subprocess.Popen
    url: str
    served: Path


@pytest.fixture(scope="module")
def started(tmp_path_factory) -> Iterator[Started]:
    tmp = tmp_path_factory.mktemp("entry_points")
    inbox, out = tmp / "in", tmp / "out"
    inbox.mkdir()
    ckpt = save_tiny_checkpoint(tmp / "tiny.ckpt")
    train = []
    for i, image in enumerate(line_images(0, 40)):
        train.append(tmp / "train" / f"{i}.png")
        write_png(train[-1], image)
    store_line_reference([ckpt], train, {"image_level": {"tp": 1, "tn": 9}}, tmp)
    port = free_port()
    procs = Started(
        watch=_start("infer.py", "method=otsu", f"input={inbox}", f"output={out}",
                     "watch=true", "watch_settings.settle=0.1", "watch_settings.poll=0.05"),
        inbox=inbox, out=out,
        serve=_start("serve.py", f"ckpt={ckpt}", f"server.port={port}", "device=cpu",
                     "server.log_level=warning", f"output={tmp / 'served'}"),
        url=f"http://127.0.0.1:{port}", served=tmp / "served",
    )
    yield procs
    for proc in (procs.watch, procs.serve):
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_watch_mode_runs_until_sigterm_and_exits_cleanly(started):
    try:
        for i in range(2):
            (started.inbox / f"p{i}.png").write_bytes(encode_png(part_image(i)))
        log = started.out / "results.jsonl"
        wait_for(lambda: log.exists() and len(list(read_results(log))) == 2, timeout=180,
                 what="two results from infer.py watch=true")
    finally:
        code, text = _finish(started.watch)
    assert code == 0, text
    assert "drift is reported as unavailable" in text and "Stopped: 2 image(s)" in text


def test_serve_py_serves_a_checkpoint_with_its_drift_reference(started):
    url = started.url
    try:
        wait_for(lambda: _healthy(url, started.serve), timeout=180, what="serve.py to answer")
        health = httpx.get(f"{url}/health").json()
        answer = httpx.post(f"{url}/inspect", timeout=60,
                            files={"file": ("x.png", encode_png(part_image(1, 64)))})
    finally:
        code, text = _finish(started.serve)
    assert health["drift"] == "warming up" and health["ng_rate_status"] == "warming up", health
    assert health["classes"][0] == "background"
    assert answer.status_code == 200, answer.text
    assert answer.json()["monitor"]["ng_expected"] == pytest.approx(0.1)
    assert code in (0, -signal.SIGTERM), text
    assert len(list(read_results(started.served / "results.jsonl"))) == 1


def _healthy(url: str, proc: subprocess.Popen) -> bool:
    if proc.poll() is not None:
        raise AssertionError(f"serve.py exited {proc.returncode}: {proc.stdout.read()}")
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.parametrize(("cls", "bad", "match"), [
    (ServeSettings, {"port": 70000}, "server.port"),
    (ServeSettings, {"max_upload_mb": 0}, "server.max_upload_mb"),
    (ServeSettings, {"hosts": "x"}, "unknown server setting"),
    (WatchSettings, {"settle": -1}, "watch_settings.settle"),
    (WatchSettings, {"unreadable": "delete"}, "watch_settings.unreadable"),
])
def test_settings_are_range_checked(cls, bad, match):
    with pytest.raises(ConfigError, match=match):
        cls.from_dict(bad)
