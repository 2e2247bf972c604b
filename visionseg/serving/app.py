"""The HTTP service: ``POST /inspect``, ``GET /health``, ``GET /metrics``.

FastAPI on uvicorn: the usual Python stack (plants' IT knows it), OpenAPI docs at
``/docs`` for free, and blocking work off the event loop. Inference runs in a worker
thread behind a capacity limiter of one, so uploads queue instead of running several
models at once, while ``/health`` and ``/metrics`` answer at once. A bad upload gets a 4xx
with its reason; an inference failure a 500; neither stops the server.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import cv2
from fastapi import FastAPI, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from visionseg.monitor.results_log import ResultsLog
from visionseg.serving.inspector import Inspection, Inspector
from visionseg.serving.metrics import ServiceMetrics
from visionseg.serving.settings import ServeSettings
from visionseg.serving.upload import UploadError, decode_upload

log = logging.getLogger(__name__)

#: Multipart overhead allowed on top of ``max_upload_mb`` before a request is refused.
FORM_OVERHEAD = 64 * 1024


class InspectResponse(BaseModel):
    """The answer for one image."""

    name: str
    verdict: str
    defects: dict[str, int]
    regions: list[dict[str, Any]]
    width: int
    height: int
    latency_ms: dict[str, float]
    monitor: dict[str, Any]
    mask_png: str | None = None


class Health(BaseModel):
    status: str
    model: str
    classes: list[str]
    inspections: int
    drift: str
    ng_rate_status: str


def create_app(
    inspector: Inspector,
    settings: ServeSettings,
    output_dir: Path | None = None,
    metrics: ServiceMetrics | None = None,
) -> FastAPI:
    """The service around ``inspector``; with ``output_dir`` every image is also written
    as batch inference writes it, and logged to ``output_dir/results.jsonl``."""
    metrics = metrics or ServiceMetrics()
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state["limiter"] = anyio.CapacityLimiter(1)
        state["results"] = ResultsLog(output_dir / "results.jsonl") if output_dir else None
        await anyio.to_thread.run_sync(inspector.warm_up)
        metrics.set_status(inspector.monitor.status)
        log.info("Serving %s on http://%s:%d", inspector.method.name, settings.host,
                 settings.port)
        yield
        if state["results"] is not None:
            state["results"].close()

    app = FastAPI(title="visionseg inspection", lifespan=lifespan)
    _refuse_large_bodies(app, settings.max_bytes, metrics)

    def run(data: bytes, name: str, with_mask: bool) -> InspectResponse:
        started = time.perf_counter()
        image = decode_upload(data, settings.max_pixels, inspector.scale16)
        inspection = inspector.inspect(image, name, (time.perf_counter() - started) * 1000.0)
        results = state["results"]
        if results is not None:
            inspector.write(output_dir, image, inspection)
            results.append(inspection.log_record(name))
        metrics.observe(inspection)
        for alert in inspection.monitor.alerts:
            log.warning("%s: %s", name, alert)
        return _response(inspection, with_mask)

    @app.post("/inspect", response_model=InspectResponse)
    async def inspect(file: UploadFile, mask: bool = False) -> InspectResponse:
        """Inspect one uploaded image; ``mask=true`` adds the class-id mask as base64 PNG."""
        data = await file.read(settings.max_bytes + 1)
        if len(data) > settings.max_bytes:
            metrics.error(413)
            raise HTTPException(413, f"upload is over the {settings.max_bytes:,} bytes allowed")
        name = Path(file.filename or "upload").stem or "upload"
        try:
            return await anyio.to_thread.run_sync(run, data, name, mask,
                                                  limiter=state["limiter"])
        except UploadError as err:
            metrics.error(err.status)
            raise HTTPException(err.status, f"{file.filename}: {err.reason}") from None
        except Exception as err:  # the server answers the next request all the same
            log.exception("%s: inspection failed", file.filename)
            metrics.error(500)
            raise HTTPException(500, f"inspection failed: {type(err).__name__}: {err}") from None

    @app.get("/health", response_model=Health)
    async def health() -> Health:
        status = inspector.monitor.status
        return Health(status="ok", model=inspector.method.name, classes=inspector.classes,
                      inspections=status.images, drift=status.drift, ng_rate_status=status.ng)

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return app


def _refuse_large_bodies(app: FastAPI, max_bytes: int, metrics: ServiceMetrics) -> None:
    """413 from the Content-Length header, before the body is read and spooled."""

    @app.middleware("http")
    async def refuse(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > max_bytes + FORM_OVERHEAD:
            metrics.error(413)
            return JSONResponse(status_code=413, content={"detail": (
                f"upload of {int(length):,} bytes is over the {max_bytes:,} allowed")})
        return await call_next(request)


def _response(inspection: Inspection, with_mask: bool) -> InspectResponse:
    mask_png = None
    if with_mask:
        ok, encoded = cv2.imencode(".png", inspection.pred.mask)
        mask_png = base64.b64encode(encoded.tobytes()).decode("ascii") if ok else None
    record = inspection.log_record(inspection.name)
    return InspectResponse(
        name=inspection.name, verdict=inspection.verdict, defects=inspection.defects,
        regions=inspection.regions, width=inspection.width, height=inspection.height,
        latency_ms=record["latency_ms"], monitor=record["monitor"], mask_png=mask_png,
    )
