"""Imports only point down the layers README's Architecture section draws, and no modules
import each other in a circle.

A module may import its own package and any package of a lower layer, never a higher one:
the core knows nothing of the apps, and apps never import each other upwards. Inside a
package (and across packages of one layer) the module import graph has no cycle.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

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


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Ids of the import nodes under ``if TYPE_CHECKING:`` (never executed)."""
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            guarded |= {id(inner) for part in node.body for inner in ast.walk(part)}
    return guarded


def _module_edges(path: Path, modules: set[str]) -> set[str]:
    """The visionseg modules ``path`` imports, as module names (``from pkg import mod`` is
    the module ``pkg.mod``; a name defined in a package is the package's ``__init__``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    own = _module_name(path)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    skip, found = _type_checking_only(tree), set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                       for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != own:
                found.add(target)
    return found


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


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


def test_no_import_cycle_between_modules():
    """Every visionseg module's imports, lazy ones inside functions included (deferring an
    import hides a cycle from the interpreter, not from the design: the pandas and Spark
    engines used to import each other that way). Imports under ``if TYPE_CHECKING:`` are
    left out: they never run, and exist to name a type without depending on its module.
    A package's implicit import of its parent ``__init__`` is not an edge either."""
    paths = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    graph = {name: _module_edges(path, set(paths)) for name, path in paths.items()}
    cycles = import_cycles(graph)
    assert not cycles, "modules importing each other in a circle:\n" + "\n".join(
        " <-> ".join(group) for group in cycles)


def test_the_cycle_finder_finds_lazy_and_long_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert import_cycles(graph) == [["a", "b", "c"]]
    tree_path = PACKAGE / "tabular" / "fit.py"
    edges = _module_edges(tree_path, {"visionseg.tabular.spark.fit",
                                      "visionseg.tabular.pandas_engine",
                                      "visionseg.tabular.errors", "visionseg.tabular.results"})
    assert {"visionseg.tabular.spark.fit", "visionseg.tabular.pandas_engine"} <= edges


#: Packages only the ``tabular`` extra installs: nothing outside visionseg.tabular imports them.
TABULAR_ONLY = ("kmodes", "gower", "pyarrow", "joblib", "pyspark")


def test_the_image_side_needs_no_tabular_extra():
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}: {module}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if "tabular" not in path.relative_to(PACKAGE).parts
        for module in _modules(path)
        if module.split(".")[0] in TABULAR_ONLY
    ]
    assert not offenders, offenders


def test_the_tabular_extra_holds_its_packages_and_dev_installs_it():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["project"]

    def names(requirements: list[str]) -> set[str]:
        return {re.split(r"[<>=!~\[ ]", r, maxsplit=1)[0].lower() for r in requirements}

    extras = project["optional-dependencies"]
    base = names(project["dependencies"])
    assert not base & {"kmodes", "gower", "pyarrow", "joblib", "pyspark"}, base
    assert {"kmodes", "gower", "pyarrow", "joblib"} <= names(extras["tabular"])
    assert any("tabular" in r for r in extras["spark"]), "engine=spark needs the tabular extra"
    assert any("tabular" in r for r in extras["dev"]), "the test suite needs the tabular extra"
