"""Faults of the line features (issue 22): the watched folder and the HTTP service, each
run for real (a watcher thread on real folders, uvicorn on 127.0.0.1) with the faults a
line produces: a file the operating system refuses to read, a re-shot part under a name
already done, a zero-byte file, two uploads of the same name, a chunked upload far over
the limit, and answers the metrics did not count."""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.serving.conftest import CLASSES, encode_png, part_image, wait_for
from tests.serving.test_app import _upload, serving
from tests.serving.test_watcher import watching
from visionseg.baselines.threshold import OtsuBaseline
from visionseg.core.verdict import PartRule
from visionseg.io.images import read_mask
from visionseg.monitor.results_log import read_results
from visionseg.serving.inspector import Inspector
from visionseg.serving.settings import ServeSettings, WatchSettings


@pytest.fixture
def inspector() -> Inspector:
    return Inspector(OtsuBaseline(CLASSES), PartRule())


def _lines(out: Path) -> list[dict]:
    path = out / "results.jsonl"
    return list(read_results(path)) if path.exists() else []


def _make_unreadable(path: Path) -> None:
    """A file ``open`` refuses with PermissionError, for real: chmod 000 for a normal user;
    as root (who reads anything chmod-ed), a link to a write-only sysfs attribute, which the
    kernel refuses to open for reading even for root."""
    if os.geteuid() != 0:
        path.write_bytes(encode_png(part_image(7)))
        path.chmod(0)
        return
    for target in ("/sys/bus/pci/rescan", *sorted(glob.glob("/sys/devices/*/*/rescan"))):
        try:
            with open(target, "rb"):
                continue
        except PermissionError:
            path.symlink_to(target)
            return
        except OSError:
            continue
    pytest.skip("no file here that root cannot read")


def _present(path: Path) -> bool:
    """The file or link is there (a link to a file root cannot read counts)."""
    return path.is_symlink() or path.exists()


# --- 1. a file the operating system refuses --------------------------------------------


def test_a_file_that_cannot_be_read_is_moved_aside_and_the_line_goes_on(inspector, tmp_path):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    _make_unreadable(inbox / "locked.png")
    with watching(inspector, inbox, out):
        wait_for(lambda: len(_lines(out)) == 1, 15, "the unreadable file's record")
        (inbox / "after.png").write_bytes(encode_png(part_image(1)))
        wait_for(lambda: len(_lines(out)) == 2, 15, "the next image")
    locked, after = _lines(out)
    assert locked["file"] == "locked.png" and locked["status"] == "error"
    assert "Permission denied" in locked["error"]
    moved = out / "unreadable" / "locked.png"
    assert locked["moved_to"] == str(moved) and _present(moved)
    assert not _present(inbox / "locked.png")
    assert after["file"] == "after.png" and after["status"] == "ok"


def test_an_unreadable_file_left_in_place_is_recorded_once_across_restarts(inspector, tmp_path):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    _make_unreadable(inbox / "locked.png")
    keep = WatchSettings(poll=0.05, settle=0.3, unreadable="list")
    for i in range(2):  # the second run is the restart that used to crash the same way
        (inbox / f"p{i}.png").write_bytes(encode_png(part_image(i)))
        with watching(inspector, inbox, out, keep):
            wait_for(lambda n=i: len(_lines(out)) == 2 + n, 15, f"run {i}'s new image")
            time.sleep(0.5)
    records = _lines(out)
    assert [r["file"] for r in records if r["status"] == "error"] == ["locked.png"]
    assert records[0]["moved_to"] is None and _present(inbox / "locked.png")
    assert [r["file"] for r in records if r["status"] == "ok"] == ["p0.png", "p1.png"]


# --- 2. a new image under a name already done ------------------------------------------


def _replace(path: Path, data: bytes, age_s: float) -> None:
    """The camera writes a new ``path`` (counter reset, re-shot part), with its own mtime."""
    path.write_bytes(data)
    stamp = time.time() + age_s
    os.utime(path, (stamp, stamp))


def test_a_re_shot_part_under_a_done_name_is_inspected_with_its_own_outputs(
    inspector, tmp_path
):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    first, second, third = (part_image(seed, size=48 + 8 * seed) for seed in (1, 2, 3))
    with watching(inspector, inbox, out):
        _replace(inbox / "part.png", encode_png(first), -60)
        wait_for(lambda: len(_lines(out)) == 1, 15, "the first part")
        _replace(inbox / "part.png", encode_png(second), -30)
        wait_for(lambda: len(_lines(out)) == 2, 15, "the re-shot part")
    with watching(inspector, inbox, out):  # a restart: both are done, the third is new
        time.sleep(0.8)
        assert len(_lines(out)) == 2
        _replace(inbox / "part.png", encode_png(third), 0)
        wait_for(lambda: len(_lines(out)) == 3, 15, "the part after the restart")
    records = _lines(out)
    assert [r["file"] for r in records] == ["part.png"] * 3
    assert [r["status"] for r in records] == ["ok"] * 3
    names = [r["name"] for r in records]
    assert len(set(names)) == 3
    for record, image in zip(records, (first, second, third), strict=True):
        assert (record["width"], record["height"]) == image.shape[1::-1]
        assert read_mask(out / "masks" / f"{record['name']}.png").shape == image.shape[:2]


# --- 3. a zero-byte file ---------------------------------------------------------------


def test_a_zero_byte_file_is_recorded_and_moved_aside_after_settling(inspector, tmp_path):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    with watching(inspector, inbox, out):
        (inbox / "empty.png").write_bytes(b"")
        (inbox / "good.png").write_bytes(encode_png(part_image(2)))
        wait_for(lambda: len(_lines(out)) == 2, 15, "the empty and the good file")
    records = {r["file"]: r for r in _lines(out)}
    assert records["good.png"]["status"] == "ok"
    empty = records["empty.png"]
    assert empty["status"] == "error" and "empty" in empty["error"]
    assert (out / "unreadable" / "empty.png").is_file() and not (inbox / "empty.png").exists()


# --- 4. two uploads of the same name ---------------------------------------------------


def _mask_of(answer: dict) -> np.ndarray:
    import base64

    return cv2.imdecode(np.frombuffer(base64.b64decode(answer["mask_png"]), np.uint8), -1)


def test_uploads_of_the_same_name_get_their_own_outputs(inspector, tmp_path):
    images = [part_image(seed, size=40 + 8 * seed) for seed in (1, 2, 3)]
    answers = []
    with serving(inspector, output_dir=tmp_path) as client:
        for image in images[:2]:
            answers.append(_upload(client, encode_png(image), "part.png", mask="true").json())
    with serving(inspector, output_dir=tmp_path) as client:  # a restart on the same folder
        answers.append(_upload(client, encode_png(images[2]), "part.png", mask="true").json())
    records = _lines(tmp_path)
    assert [r["file"] for r in records] == ["part.png"] * 3
    names = [a["name"] for a in answers]
    assert names == [r["name"] for r in records] == ["part", "part-2", "part-3"]
    for name, answer in zip(names, answers, strict=True):
        np.testing.assert_array_equal(read_mask(tmp_path / "masks" / f"{name}.png"),
                                      _mask_of(answer))
        assert (tmp_path / "overlays" / f"{name}.png").is_file()


# --- 5. a chunked upload far over the limit --------------------------------------------


def _chunked_body(total: int, sent: list[int]) -> Iterator[bytes]:
    """A multipart upload of ``total`` bytes sent in chunks (no Content-Length);
    ``sent[0]`` counts what the server let the client send."""
    yield (b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
           b"Content-Type: image/png\r\n\r\n")
    chunk = bytes(256 * 1024)
    while sent[0] < total:
        sent[0] += len(chunk)
        yield chunk
    yield b"\r\n--b--\r\n"


def test_a_chunked_upload_over_the_limit_is_refused_without_reading_it(inspector):
    limit_mb, total = 2, 64 * 1024 * 1024
    sent = [0]
    with serving(inspector, ServeSettings(port=0, max_upload_mb=limit_mb)) as client:
        try:
            answer = client.post("/inspect", content=_chunked_body(total, sent),
                                 headers={"content-type": "multipart/form-data; boundary=b"})
            status = answer.status_code
        except Exception as err:  # noqa: BLE001 - reported below
            status = err
        assert client.get("/health").json()["status"] == "ok"
        metrics = client.get("/metrics").text
    assert status == 413
    # What the client got to send: the limit plus what the two sockets buffer, not the body.
    assert sent[0] < total // 2, f"the server read {sent[0]:,} of {total:,} bytes"
    assert 'visionseg_request_errors_total{status="413"} 1.0' in metrics


# --- 6. every answer counted by status -------------------------------------------------


def test_every_answer_is_counted_by_status(inspector, tmp_path):
    path = tmp_path / "f.tiff"
    assert cv2.imwrite(str(path), np.random.default_rng(0).random((16, 16), dtype=np.float32))
    with serving(inspector) as client:
        codes = [
            _upload(client, path.read_bytes(), "f.tiff").status_code,  # refused by decoding
            client.post("/inspect", data={"x": "1"}).status_code,  # no file: FastAPI's 422
            _upload(client, encode_png(part_image(0)), mask="maybe").status_code,  # bad query
            _upload(client, encode_png(part_image(0))).status_code,
        ]
        metrics = client.get("/metrics").text
    assert codes == [422, 422, 422, 200]
    assert 'visionseg_request_errors_total{status="422"} 3.0' in metrics
    assert 'visionseg_responses_total{status="422"} 3.0' in metrics
    assert 'visionseg_responses_total{status="200"} 1.0' in metrics
