"""A run manifest: what produced this folder (config, versions, data fingerprint, git)."""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = (
    "visionseg",
    "torch",
    "torchvision",
    "segmentation-models-pytorch",
    "lightning",
    "albumentations",
    "opencv-python-headless",
    "scikit-image",
    "scikit-learn",
    "hydra-core",
    "numpy",
)


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each package (None: not installed); the one version helper of
    run manifests, checkpoints' cards, exports and tabular models."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_revision(path: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def fingerprint(paths: Iterable[Path]) -> str:
    """Hash of file names, sizes and modification times: cheap, and changes with the data."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{int(stat.st_mtime)}\n".encode())
    return digest.hexdigest()[:16]


def build_manifest(config: dict[str, Any], data_files: Iterable[Path], root: Path) -> dict:
    return {
        "command": sys.argv,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
        "git_revision": git_revision(root),
        "dataset_fingerprint": fingerprint(data_files),
        "config": config,
    }
