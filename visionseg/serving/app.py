"""The HTTP service: ``POST /inspect``, ``GET /health``, ``GET /metrics``.

FastAPI on uvicorn: the usual Python stack (plants' IT knows it), OpenAPI docs at
``/docs`` for free, and blocking work off the event loop. Inference runs in a worker
thread behind a capacity limiter of one, so uploads queue instead of running several
models at once, while ``/health`` and ``/metrics`` answer at once. A bad upload gets a 4xx
with its reason; an inference failure a 500; neither stops the server. A body over the
limit is refused as soon as the bytes read pass it (also a chunked one, which declares no
length); every answer is counted by status in ``/metrics``. With ``output=`` every upload
gets output names of its own (two ``part.png`` become ``part`` and ``part-2``).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import cv2
from fastapi import FastAPI, HTTPException, UploadFile
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field

from visionseg.monitor.results_log import RESULTS_FILE, ResultsLog, read_results
from visionseg.serving.asgi import BodyLimit, CountAnswers
from visionseg.serving.inspector import Inspection, Inspector
from visionseg.serving.metrics import ServiceMetrics
from visionseg.serving.settings import ServeSettings
from visionseg.serving.upload import UploadError, decode_upload

log = logging.getLogger(__name__)

#: Multipart overhead allowed on top of ``max_upload_mb`` before a request is refused.
FORM_OVERHEAD = 64 * 1024


class RegionAnswer(BaseModel):
    """One defect of the answer: a connected region of a defect class (or an instance)."""

    class_: str = Field(alias="class")
    class_id: int
    area: int
    x: int
    y: int
    width: int
    height: int
    mean_confidence: float | None
    instance_id: int | None = None


class InspectResponse(BaseModel):
    """The answer for one image."""

    name: str
    verdict: str
    defects: dict[str, int]
    regions: list[RegionAnswer]
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
        state["results"] = ResultsLog(output_dir / RESULTS_FILE) if output_dir else None
        state["names"] = OutputNames.from_log(output_dir / RESULTS_FILE if output_dir else None)
        await anyio.to_thread.run_sync(inspector.warm_up)
        metrics.set_status(inspector.monitor.status)
        log.info("Serving %s on http://%s:%d", inspector.method.name, settings.host,
                 settings.port)
        yield
        if state["results"] is not None:
            state["results"].close()

    app = FastAPI(title="visionseg inspection", lifespan=lifespan)
    app.add_middleware(BodyLimit, limit=settings.max_bytes + FORM_OVERHEAD,
                       allowed=settings.max_bytes)
    app.add_middleware(CountAnswers, count=metrics.answered)  # outermost: sees every answer

    def run(data: bytes, filename: str, with_mask: bool) -> InspectResponse:
        started = time.perf_counter()
        image = decode_upload(data, settings.max_pixels, inspector.scale16)
        results = state["results"]
        stem = Path(filename).stem or "upload"
        name = state["names"].claim(stem) if results is not None else stem
        inspection = inspector.inspect(image, name, (time.perf_counter() - started) * 1000.0)
        if results is not None:
            inspector.write(output_dir, image, inspection)
            results.append(inspection.log_record(filename))
        metrics.observe(inspection)
        for alert in inspection.monitor.alerts:
            log.warning("%s: %s", name, alert)
        return _response(inspection, with_mask)

    @app.post("/inspect", response_model=InspectResponse)
    async def inspect(file: UploadFile, mask: bool = False) -> InspectResponse:
        """Inspect one uploaded image; ``mask=true`` adds the class-id mask as base64 PNG."""
        data = await file.read(settings.max_bytes + 1)
        if len(data) > settings.max_bytes:
            raise HTTPException(413, f"upload is over the {settings.max_bytes:,} bytes allowed")
        filename = Path(file.filename or "upload").name or "upload"
        try:
            return await anyio.to_thread.run_sync(run, data, filename, mask,
                                                  limiter=state["limiter"])
        except UploadError as err:
            raise HTTPException(err.status, f"{file.filename}: {err.reason}") from None
        except Exception as err:  # the server answers the next request all the same
            log.exception("%s: inspection failed", file.filename)
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


class OutputNames:
    """Output names of the uploads, unique ignoring case: an upload's file stem, or the stem
    with ``-2``, ``-3``, ... when an earlier upload (also of an earlier run on the same
    output folder, from its results log) has it, so no upload's mask or overlay overwrites
    another's. Used by one inspection at a time (the service's limiter)."""

    def __init__(self, taken: set[str] | None = None) -> None:
        self._taken = {name.lower() for name in taken or ()}

    @classmethod
    def from_log(cls, path: Path | None) -> OutputNames:
        """The names an earlier run's results log already used (none without a log)."""
        if path is None or not path.is_file():
            return cls()
        return cls({str(record.get("name", "")) for record in read_results(path)})

    def claim(self, stem: str) -> str:
        """The first free name of ``stem``, ``stem-2``, ``stem-3``, ...; taken from now on."""
        name, n = stem, 1
        while name.lower() in self._taken:
            n += 1
            name = f"{stem}-{n}"
        self._taken.add(name.lower())
        return name


def _response(inspection: Inspection, with_mask: bool) -> InspectResponse:
    mask_png = None
    if with_mask:
        ok, encoded = cv2.imencode(".png", inspection.pred.mask)
        mask_png = base64.b64encode(encoded.tobytes()).decode("ascii") if ok else None
    return InspectResponse(
        name=inspection.name, verdict=inspection.verdict, defects=inspection.defects,
        regions=[RegionAnswer(**row.region()) for row in inspection.regions],
        width=inspection.width, height=inspection.height,
        latency_ms=inspection.latency_totals(), monitor=inspection.monitor.to_dict(),
        mask_png=mask_png,
    )
