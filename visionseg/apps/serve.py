"""What serve.py and ``infer.py watch=true`` do with their config: build one inspector
(method, post-processing, part rule, monitor) and serve it over HTTP or on a folder."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from omegaconf import DictConfig

from visionseg.apps.infer import build_infer_method, inference_settings
from visionseg.core.tiling import TileSettings
from visionseg.core.verdict import PartRule
from visionseg.export.loader import rule_for_run
from visionseg.monitor.reference import LineReference
from visionseg.monitor.results_log import RESULTS_FILE, ResultsLog
from visionseg.monitor.settings import MonitorSettings
from visionseg.monitor.window import RollingMonitor
from visionseg.registry import chain_from_steps, to_plain
from visionseg.serving.inspector import Inspector
from visionseg.serving.settings import ServeSettings, WatchSettings
from visionseg.serving.watcher import FolderWatcher, WatchSummary, stop_on_signals

log = logging.getLogger(__name__)


def build_inspector(cfg: DictConfig) -> Inspector:
    """The method of ``ckpt=``/``method=``, the ``postprocess`` chain, the ``decision``
    rule and a monitor with the reference the model carries (none for baselines)."""
    settings = MonitorSettings.from_dict(to_plain(cfg.get("monitor")))
    tile = TileSettings.from_dict(to_plain(cfg.tile))
    rule = PartRule.from_dict(to_plain(cfg.decision))
    loaded = build_infer_method(cfg, tile)
    method = loaded.method
    choice = rule_for_run([loaded], rule)
    scale16 = inference_settings(cfg, loaded.scale16).scale16
    reference = LineReference.from_card(loaded.card)
    if reference.drift is None:
        log.warning("%s carries no drift reference: drift is reported as unavailable",
                    cfg.ckpt or f"baseline {method.name}")
    chain = chain_from_steps(to_plain(cfg.get("postprocess")))
    return Inspector(
        method, choice.rule, chain if len(chain) else None, RollingMonitor(reference, settings),
        overlays=cfg.overlays, overlay_alpha=cfg.overlay_alpha, scale16=scale16,
    )


def watch(cfg: DictConfig) -> WatchSummary:
    """Inspect images landing in ``cfg.input`` until SIGINT/SIGTERM; returns what this
    run did (``failed`` is 0: unreadable files are logged and moved aside, not fatal)."""
    settings = WatchSettings.from_dict(to_plain(cfg.get("watch_settings")))
    inspector = build_inspector(cfg)
    stop = threading.Event()
    watcher = FolderWatcher(inspector, Path(cfg.input), Path(cfg.output), settings, stop)
    with stop_on_signals(stop):
        try:
            summary = watcher.run()
        except KeyboardInterrupt:
            log.warning("Abandoned the image in hand; a restart redoes it")
            summary = watcher.summary
    return summary


def serve(cfg: DictConfig) -> None:
    """Run the HTTP service until stopped (uvicorn handles SIGINT/SIGTERM)."""
    import uvicorn

    from visionseg.serving.app import create_app

    settings = ServeSettings.from_dict(to_plain(cfg.server))
    inspector = build_inspector(cfg)
    output = Path(cfg.output) if cfg.get("output") else None
    if output is not None:
        ResultsLog(output / RESULTS_FILE).close()  # an unwritable folder stops here, clearly
    app = create_app(inspector, settings, output)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level)
