"""Without the ``tabular`` extra, importing visionseg.tabular says which install is missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import visionseg.tabular


def test_a_missing_extra_package_names_the_install_command():
    # a fresh interpreter in which kmodes cannot be imported (as on a line PC)
    code = "import sys; sys.modules['kmodes'] = None; import visionseg.tabular"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last == ("ImportError: visionseg.tabular needs its extra, missing kmodes: "
                    "pip install -e '.[tabular]'")
    assert set(visionseg.tabular.EXTRA) == {"kmodes", "gower", "joblib"}
