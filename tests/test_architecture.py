"""Imports only point down the layers README's Architecture section draws.

A module may import its own package and any package of a lower layer, never a higher one:
the core knows nothing of the apps, and apps never import each other upwards.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "visionseg"

#: Layer of each top-level package or module of visionseg (lower = more basic).
LAYERS = {
    "core": 0,
    "io": 1,
    "metrics": 1,
    "postprocess": 1,
    "baselines": 2,
    "data": 2,
    "models": 3,
    "registry": 4,
    "evaluation": 5,
    "calibration": 6,
    "report": 7,
    "inference": 8,
    "monitor": 8,
    "export": 9,
    "training": 9,
    "serving": 10,
    "apps": 11,
    "cli": 12,
    "tabular": 12,
}
#: The few imports the rule allows across its order, each for a stated reason.
ALLOWED: set[tuple[str, str]] = set()


def _modules(path: Path) -> list[str]:
    """Every absolute import of a file, lazy ones inside functions included."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


def _imports(path: Path) -> list[str]:
    return [name for name in _modules(path) if name.split(".")[0] == "visionseg"]


def _top(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_package_has_a_layer():
    tops = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
            if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))}
    tops.discard("__init__")
    assert tops <= set(LAYERS), f"give these a layer: {sorted(tops - set(LAYERS))}"


def test_imports_point_down():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _top("visionseg." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
        if source not in LAYERS:
            continue
        for module in _imports(path):
            target = _top(module)
            if target is None or target == source or (source, target) in ALLOWED:
                continue
            if LAYERS.get(target, 99) > LAYERS[source]:
                upward.append(f"{path.relative_to(PACKAGE.parent)} imports {module}")
    assert not upward, "imports pointing up the layers:\n" + "\n".join(upward)


def test_core_is_free_of_apps_and_frameworks():
    heavy = ("lightning", "hydra", "omegaconf", "segmentation_models_pytorch", "pandas")
    offenders = [
        f"{path.name}: {module}"
        for path in sorted((PACKAGE / "core").rglob("*.py"))
        for module in _modules(path)
        if module.split(".")[0] in heavy
    ]
    assert not offenders, offenders

