"""Build baselines and post-processing chains by name from the Hydra groups
``configs/method/`` and ``configs/postprocess/``, the same way in train.py's final
evaluation, evaluate.py, infer.py and serve.py; check ``group=option`` command-line choices
before Hydra runs; turn config nodes into plain Python values.

A ``method`` file is one ``_target_`` config; a ``postprocess`` file is ``{step name: step
config}``, so that Hydra's multi-select ``postprocess=[morphology,crf]`` composes one chain,
and a chain name ``morphology+crf`` builds the same chain from the files. (The part rule is
built from the ``decision`` node by :meth:`visionseg.core.verdict.PartRule.from_dict`.)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf

from visionseg.core.errors import ConfigError
from visionseg.core.method import Method
from visionseg.postprocess.chain import Chain

#: Config groups chosen on the command line as ``group=option``; checked before Hydra runs.
GROUPS = ("method", "postprocess", "decision", "tile", "metrics", "model", "data", "trainer",
          "callbacks", "logger", "experiment", "debug", "evaluation", "hparams_search")


def config_dir() -> Path:
    """The project's ``configs/`` folder (next to train.py)."""
    root = os.environ.get("VISIONSEG_ROOT")
    base = Path(root) if root else Path(__file__).resolve().parents[1]
    return base / "configs"


def options(group: str) -> list[str]:
    """The option names of one config group."""
    return sorted(p.stem for p in (config_dir() / group).glob("*.yaml"))


def _load(group: str, name: str) -> Any:
    path = config_dir() / group / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"{group}={name}: no such option; available: {', '.join(options(group))}")
    return OmegaConf.load(path)


def names(value: Any) -> list[str]:
    """A config value that may be null, one name, or a list of names, as a list."""
    if value is None:
        return []
    if isinstance(value, (list, tuple, ListConfig)):
        return [str(v) for v in value]
    return [str(value)]


def build_method(cfg: Mapping[str, Any] | DictConfig, classes: Sequence[str], name: str) -> Method:
    """Instantiate one ``configs/method`` node for ``classes``; named ``name`` unless the
    node names it."""
    try:
        method = instantiate(cfg, classes=list(classes))
    except ConfigError:
        raise
    except Exception as err:  # noqa: BLE001 - a bad setting, reported as one line
        raise ConfigError(f"method '{name}' cannot be built: {_root_cause(err)}") from err
    if not getattr(method, "name", None) or method.name == "method":
        method.name = name
    return method


def build_baselines(baseline_names: Iterable[str], classes: Sequence[str]) -> list[Method]:
    """One Method per ``configs/method/<name>.yaml``."""
    return [build_method(_load("method", n), classes, n) for n in baseline_names]


def chain_from_steps(steps: Mapping[str, Any] | None) -> Chain:
    """A Chain from a composed ``postprocess`` node: ``{step name: step config}`` in order."""
    built = []
    for step_name, node in (steps or {}).items():
        try:
            built.append(instantiate(node))
        except Exception as err:  # noqa: BLE001 - a bad setting, reported as one line
            _raise_config_error(err)
            raise ConfigError(
                f"post-processing '{step_name}' cannot be built: {_root_cause(err)}"
            ) from err
    return Chain(built)


def build_chain(chain: str | Iterable[str] | None) -> Chain:
    """The chain of ``configs/postprocess`` files named ``a+b`` (or ``[a, b]``), in order."""
    parts = chain.split("+") if isinstance(chain, str) else list(chain or [])
    steps: dict[str, Any] = {}
    for part in parts:
        steps.update(_load("postprocess", part) or {})
    return chain_from_steps(steps)


def build_chains(chain_names: Sequence[str]) -> dict[str, Chain]:
    """``{name: chain}`` of the chains an evaluation compares (``none`` = raw output)."""
    return {name: build_chain(name) for name in chain_names or ["none"]}


def check_group_choices(argv: Sequence[str]) -> None:
    """``group=option`` arguments naming no file of the group: one clear ConfigError, before
    Hydra answers with its own multi-line block."""
    for arg in argv:
        key, sep, value = arg.partition("=")
        key = key.lstrip("+~")
        if not sep or key not in GROUPS or not (config_dir() / key).is_dir():
            continue
        chosen = [v.strip() for v in value.strip("[]").split(",") if v.strip()]
        for option in chosen:
            if option != "null" and not (config_dir() / key / f"{option}.yaml").is_file():
                raise ConfigError(
                    f"{key}={option}: no such option; available: {', '.join(options(key))}"
                )


def to_plain(node: Any) -> Any:
    """A config node as plain Python containers (resolved)."""
    if isinstance(node, (DictConfig, ListConfig)):
        return OmegaConf.to_container(node, resolve=True)
    return node


def _raise_config_error(err: BaseException) -> None:
    """Re-raise the ConfigError Hydra's instantiate wrapped, if that is the root cause: its
    line already names the setting (``postprocess.morphology.open_radius``)."""
    while err.__cause__ is not None:
        err = err.__cause__
    if isinstance(err, ConfigError):
        raise err


def _root_cause(err: BaseException) -> str:
    while err.__cause__ is not None:
        err = err.__cause__
    return f"{type(err).__name__}: {err}"
