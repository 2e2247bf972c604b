"""Output files: temporary names never match output globs, a killed run's debris is
cleared, and an unusable output folder is refused before any work."""

import errno
import tempfile

import numpy as np
import pytest

from visionseg.io import atomic_path, remove_partial_files, write_png
from visionseg.io.atomic import is_partial_file
from visionseg.io.writable import OutputPathError, ensure_writable_dir


def test_a_temporary_file_does_not_look_like_an_output(tmp_path):
    target = tmp_path / "masks" / "part.png"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and is_partial_file(tmp)
        tmp.write_bytes(b"half")
        # What a later run's glob sees while (or after kill -9) the file is written.
        assert list(target.parent.glob("*.png")) == []
        assert list(target.parent.rglob("*.png")) == []
    assert [p.name for p in target.parent.iterdir()] == ["part.png"]


def test_debris_of_a_killed_run_is_removed_and_nothing_else(tmp_path):
    write_png(tmp_path / "a.png", np.zeros((3, 3), np.uint8), rgb=False)
    debris = [tmp_path / ".a.png.x1y2.part", tmp_path / ".b.png.k3j4.part.png"]  # new, old
    for path in debris:
        path.write_bytes(b"partial")
    keep = [tmp_path / ".hidden", tmp_path / "notes.part", tmp_path / ".config.yaml"]
    for path in keep:
        path.write_text("user file")
    assert sorted(remove_partial_files(tmp_path)) == sorted(debris)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["a.png", *(p.name for p in keep)])
    assert remove_partial_files(tmp_path / "absent") == []


def test_an_output_path_that_is_a_file_is_named(tmp_path):
    existing = tmp_path / "report.txt"
    existing.write_text("x")
    with pytest.raises(OutputPathError, match=r"output=.*report.txt is an existing file"):
        ensure_writable_dir(existing, "output")
    with pytest.raises(OutputPathError, match=r"is inside .*report.txt, which is an existing"):
        ensure_writable_dir(existing / "sub", "output")
    assert ensure_writable_dir(tmp_path / "new" / "deep", "output").is_dir()
    assert list((tmp_path / "new" / "deep").iterdir()) == []  # the write test cleans up


def test_a_read_only_folder_is_named(tmp_path, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(OutputPathError, match="hydra.run.dir=.* cannot be written: Read-only"):
        ensure_writable_dir(tmp_path, "hydra.run.dir")
