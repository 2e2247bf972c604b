"""The watched folder with a real watcher thread on a temporary folder."""

from __future__ import annotations

import contextlib
import errno
import shutil
import threading
import time
from pathlib import Path

import pytest

from tests.serving.conftest import encode_png, part_image, wait_for
from visionseg.monitor.results_log import OutputUnwritableError, read_results
from visionseg.serving.settings import WatchSettings
from visionseg.serving.watcher import FolderWatcher

FAST = WatchSettings(poll=0.05, settle=0.3)


def _lines(out: Path) -> list[dict]:
    path = out / "results.jsonl"
    return list(read_results(path)) if path.exists() else []


@contextlib.contextmanager
def watching(inspector, inbox: Path, out: Path, settings: WatchSettings = FAST):
    stop = threading.Event()
    watcher = FolderWatcher(inspector, inbox, out, settings, stop)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            watcher.run()
        except BaseException as err:  # noqa: BLE001 - reported by the test
            errors.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield watcher
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive() and not errors, errors


def test_a_file_written_slowly_is_read_once_and_whole(inspector, tmp_path):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    data = encode_png(part_image(0, size=96))
    with watching(inspector, inbox, out, WatchSettings(poll=0.05, settle=1.0)):
        with (inbox / "slow.png").open("wb") as handle:
            handle.write(data[: len(data) // 2])
            handle.flush()
            time.sleep(0.3)  # several scans see the half-written file
            handle.write(data[len(data) // 2 :])
        wait_for(lambda: len(_lines(out)) == 1, what="the slow file's result")
        time.sleep(0.5)
    (line,) = _lines(out)
    assert line["status"] == "ok" and (line["width"], line["height"]) == (96, 96)
    assert (out / "masks" / "slow.png").is_file()


def test_temporary_names_and_dotfiles_are_ignored_until_renamed(inspector, tmp_path):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    with watching(inspector, inbox, out):
        for name in ("a.png.part", "b.tmp", "c.png~", ".d.png"):
            (inbox / name).write_bytes(encode_png(part_image(1)))
        time.sleep(0.8)
        assert _lines(out) == []
        (inbox / "a.png.part").rename(inbox / "a.png")
        wait_for(lambda: len(_lines(out)) == 1)
    assert [r["file"] for r in _lines(out)] == ["a.png"]


def test_a_burst_unreadable_files_and_a_restart(inspector, tmp_path):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    with watching(inspector, inbox, out):
        (inbox / "bad.png").write_bytes(b"not a png at all")
        for i in range(8):
            (inbox / f"p{i}.png").write_bytes(encode_png(part_image(i)))
        wait_for(lambda: len(_lines(out)) == 9, what="a burst of 9 files")
    first = _lines(out)
    bad = next(r for r in first if r["file"] == "bad.png")
    assert bad["status"] == "error" and "decoded" in bad["error"]
    assert (out / "unreadable" / "bad.png").is_file() and not (inbox / "bad.png").exists()
    ok = [r for r in first if r["status"] == "ok"]
    assert {r["verdict"] for r in ok} <= {"OK", "NG"} and len(ok) == 8
    assert set(ok[0]["latency_ms"]) >= {"decode", "predict", "postprocess", "write", "total"}
    assert set(ok[0]["defects"]) == {"scratch", "spot", "stain"}

    with (out / "results.jsonl").open("ab") as handle:  # a crash mid-line
        handle.write(b'{"name": "p9", "fi')
    (inbox / "p9.png").write_bytes(encode_png(part_image(9)))
    with watching(inspector, inbox, out):
        wait_for(lambda: len(_lines(out)) == 10, what="the new file after a restart")
        time.sleep(0.5)
    files = [r["file"] for r in _lines(out)]
    assert sorted(files) == sorted({*files}) and files[-1] == "p9.png"


def test_stopping_finishes_the_image_in_hand(inspector, tmp_path):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    for i in range(3):
        (inbox / f"p{i}.png").write_bytes(encode_png(part_image(i)))
    stop = threading.Event()
    predict = inspector.method.predict

    def predict_then_stop(image):
        stop.set()  # as SIGTERM would, while the first image is in hand
        return predict(image)

    inspector.method.predict = predict_then_stop
    FolderWatcher(inspector, inbox, out, WatchSettings(poll=0.05, settle=0.0), stop).run()
    assert [r["status"] for r in _lines(out)] == ["ok"]


def test_a_full_disk_stops_the_watcher_with_the_reason(inspector, tmp_path, monkeypatch):
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    (inbox / "p.png").write_bytes(encode_png(part_image(0)))

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(inspector, "write", full)
    watcher = FolderWatcher(inspector, inbox, out, WatchSettings(poll=0.05, settle=0.0))
    with pytest.raises(OutputUnwritableError, match="No space left on device"):
        watcher.run()
    assert _lines(out) == []


def test_an_output_under_a_file_is_refused_before_watching(inspector, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "blocker").write_text("x")
    watcher = FolderWatcher(inspector, tmp_path / "in", tmp_path / "blocker" / "out")
    with pytest.raises(OutputUnwritableError, match="cannot write"):
        watcher.run()
    shutil.rmtree(tmp_path / "in")
