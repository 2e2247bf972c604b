"""The results log: whole lines only, a torn last line dropped, a full disk stops."""

from __future__ import annotations

import errno
import os

import pytest

from visionseg.monitor.results_log import OutputUnwritableError, ResultsLog, read_results


def test_appended_records_read_back_in_order(tmp_path):
    with ResultsLog(tmp_path / "out" / "results.jsonl") as log:
        for i in range(3):
            log.append({"name": f"img{i}", "status": "ok"})
    assert [r["name"] for r in read_results(log.path)] == ["img0", "img1", "img2"]


def test_a_torn_last_line_is_dropped_when_the_log_is_opened_again(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_bytes(b'{"name": "a", "status": "ok"}\n{"name": "b", "sta')
    assert [r["name"] for r in read_results(path)] == ["a"]
    with ResultsLog(path) as log:
        log.append({"name": "c", "status": "ok"})
    assert path.read_bytes() == b'{"name": "a", "status": "ok"}\n{"name":"c","status":"ok"}\n'


def test_a_torn_only_line_leaves_an_empty_log(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_bytes(b'{"name": "a"')
    ResultsLog(path).close()
    assert path.read_bytes() == b""


def test_a_full_disk_stops_with_the_path_and_takes_back_the_partial_line(tmp_path, monkeypatch):
    path = tmp_path / "results.jsonl"
    log = ResultsLog(path)
    log.append({"name": "a"})
    real_write = os.write

    def half_then_full(fd, data):
        real_write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(OutputUnwritableError, match="No space left on device") as info:
        log.append({"name": "b"})
    assert str(path) in str(info.value)
    monkeypatch.undo()
    log.close()
    assert [r["name"] for r in read_results(path)] == ["a"]
    assert path.read_bytes().endswith(b"\n")


def test_an_output_folder_that_cannot_be_created_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputUnwritableError, match="cannot write"):
        ResultsLog(blocker / "out" / "results.jsonl")
