"""format=openvino, run in a process of its own: importing openvino imports absl, whose
logging handler keeps the stderr of the moment, and a later in-process entry-point test
(tests/reliability) then dies writing to a closed capture stream. The cases themselves
are in openvino_cases.py."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.mark.skipif(importlib.util.find_spec("openvino") is None,
                    reason="openvino is not installed (pip install -e \".[openvino]\")")
def test_openvino_cases_pass_in_their_own_process():
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(HERE / "openvino_cases.py")],
        cwd=HERE.parent.parent, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "skipped" not in proc.stdout, proc.stdout[-2000:]
