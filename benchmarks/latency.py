"""Single-image latency on the line: p50/p95/p99 per stage at batch 1, for the checkpoint
(fp32, and bf16 autocast) and the exported model under ONNX Runtime (fp32, and INT8) and
OpenVINO (fp32 and INT8, when it is installed), whole
(``tile.size=auto``, the default) and tiled (``--tile`` px), plus the HTTP round trip on
localhost.

    nice -n 10 python -m benchmarks.latency                         # 1024 and 2048 px, CPU
    python -m benchmarks.latency --sizes 1024 --images 20 --device cuda

The model is an untrained U-Net (``--encoder``, default resnet18, 4 classes): latency does
not depend on the weights' values, only on the architecture and the image size. Each image
goes through what the watched folder and the service run: decode (read_image of a PNG),
predict (whole under ``--max-megapixels``, or tiled with ``--tile``/``--overlap``),
post-process (part rule, defect rows), monitor (image statistics and the rolling PSI/NG
windows against a reference), write (mask and overlay PNGs). One warm-up image per model
and size is not counted. The HTTP row posts the same PNG files to a real uvicorn server
(``serving.app``) and times the client's round trip; ``overhead`` is the round trip minus
the server's own stages.
"""

from __future__ import annotations

import os

# Idle OpenMP threads sleep instead of spinning: on a busy CPU (a line PC, a shared
# machine) spinning threads wait on each other and torch in the main thread ran 8x slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import importlib.util  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.common import cpu_facts, device_name  # noqa: E402
from visionseg.core.tiling import TileSettings  # noqa: E402
from visionseg.core.verdict import PartRule  # noqa: E402
from visionseg.data.synthetic import make_sample  # noqa: E402
from visionseg.io.images import read_image  # noqa: E402
from visionseg.models.smp.method import SegmenterMethod  # noqa: E402
from visionseg.models.smp.network import Segmenter  # noqa: E402
from visionseg.monitor.reference import LineReference, build_reference  # noqa: E402
from visionseg.monitor.window import RollingMonitor  # noqa: E402
from visionseg.serving.inspector import STAGES, Inspector  # noqa: E402

CLASSES = ["background", "scratch", "spot", "stain"]
QUANTILES = (50, 95, 99)
#: Images of the drift reference the monitor stage compares with (its cost does not depend
#: on how many).
REFERENCE_IMAGES = 24


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048])
    p.add_argument("--images", type=int, default=10, help="timed images per model and size")
    p.add_argument("--tile", type=int, default=512, help="the tiled rows' tile side")
    p.add_argument("--max-megapixels", type=float, default=4.0,
                   help="the whole rows' budget (tile.max_megapixels)")
    p.add_argument("--overlap", type=int, default=64)
    p.add_argument("--tile-batch", type=int, default=4)
    p.add_argument("--encoder", default="resnet18")
    p.add_argument("--no-onnx", action="store_true")
    p.add_argument("--no-http", action="store_true")
    return p.parse_args()


def write_images(folder: Path, size: int, count: int) -> list[Path]:
    rng = np.random.default_rng(size)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        paths.append(folder / f"{size}_{i}.png")
        cv2.imwrite(str(paths[-1]), make_sample(rng, size)[0][:, :, ::-1])
    return paths


def save_checkpoint(net: Segmenter, path: Path, tile: int) -> Path:
    from visionseg.core.model_card import ModelCard
    from visionseg.models import checkpoint

    card = ModelCard("visionseg.models.smp.module.SegmentationModule", CLASSES, net.config, tile)
    return checkpoint.save_checkpoint(path, card,
                                      {f"net.{k}": v for k, v in net.state_dict().items()})


def tilings(args) -> dict[str, TileSettings]:
    """The two tile policies compared: whole images (auto) and fixed tiles."""
    return {"whole": TileSettings("auto", args.overlap, args.max_megapixels),
            f"tiled {args.tile}": TileSettings(args.tile, args.overlap)}


def onnx_methods(ckpt: Path, folder: Path, args) -> dict:
    """The checkpoint exported as export.py does, run by ONNX Runtime with each tiling,
    and its ``quantize=int8`` export whole; empty without ONNX."""
    try:
        from visionseg.export.onnx_export import ExportRequest, export_model
        from visionseg.export.quantize import QuantizeSettings
        from visionseg.export.runtime import OnnxMethod
    except ImportError as err:
        print(f"ONNX path skipped: {err}")
        return {}
    tile = TileSettings(args.tile, args.overlap)
    export_model(ExportRequest(ckpt, folder / "export", tile=tile, parity_images=1))
    ir = "openvino" if importlib.util.find_spec("openvino") else "onnx"
    if ir == "onnx":
        print("OpenVINO rows skipped: openvino is not installed (pip install -e \".[openvino]\")")
    export_model(ExportRequest(ckpt, folder / "export", tile=tile, parity_images=1, format=ir))
    # The model is untrained, so INT8 parity is not bounded here; latency is what counts.
    export_model(ExportRequest(ckpt, folder / "int8", tile=tile, parity_images=1, format=ir,
                               quantize="int8", int8=QuantizeSettings(
                                   calibration_images=8, parity_images=2, min_agreement=0.0,
                                   max_iou_change=1.0)))
    whole = tilings(args)["whole"].method_kwargs()
    methods = {f"onnx, {name}": OnnxMethod(folder / "export" / "model.onnx", device=args.device,
                                           batch_size=args.tile_batch, **t.method_kwargs())
               for name, t in tilings(args).items()}
    methods["onnx INT8, whole"] = OnnxMethod(folder / "int8" / "model.onnx", device=args.device,
                                             batch_size=args.tile_batch, **whole)
    if ir == "openvino" and args.device == "cpu":
        from visionseg.export.openvino_ir import OpenVinoMethod

        for label, sub in (("openvino", "export"), ("openvino INT8", "int8")):
            methods[f"{label}, whole"] = OpenVinoMethod(folder / sub / "model.xml",
                                                        batch_size=args.tile_batch, **whole)
    return methods


def time_stages(inspector: Inspector, paths: list[Path], out: Path) -> dict[str, list[float]]:
    """Milliseconds per stage and image, after one warm-up image."""
    laps: dict[str, list[float]] = {stage: [] for stage in (*STAGES, "total")}
    for i, path in enumerate([paths[0], *paths]):
        started = time.perf_counter()
        image = read_image(path)
        inspection = inspector.inspect(image, path.stem, (time.perf_counter() - started) * 1e3)
        inspector.write(out, image, inspection)
        if i == 0:
            continue
        for stage in STAGES:
            laps[stage].append(inspection.latency_ms[stage])
        laps["total"].append(sum(inspection.latency_ms.values()))
    return laps


def http_round_trips(inspector: Inspector, paths: list[Path]) -> dict[str, list[float]]:
    """Client round trip and the server's own stages for each posted PNG (warm-up first)."""
    import httpx
    import uvicorn

    from visionseg.serving.app import create_app
    from visionseg.serving.settings import ServeSettings

    with contextlib.closing(__import__("socket").socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(inspector, ServeSettings(port=port)),
                                           host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    trips: dict[str, list[float]] = {"round trip": [], "server stages": [], "overhead": []}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
            for i, path in enumerate([paths[0], *paths]):
                data = path.read_bytes()
                started = time.perf_counter()
                answer = client.post("/inspect", files={"file": (path.name, data)}).json()
                trip = (time.perf_counter() - started) * 1e3
                if i:
                    trips["round trip"].append(trip)
                    trips["server stages"].append(answer["latency_ms"]["total"])
                    trips["overhead"].append(trip - answer["latency_ms"]["total"])
    finally:
        server.should_exit = True
        thread.join(30)
    return trips


def row(model: str, size: int, stage: str, values: list[float]) -> str:
    q = np.percentile(values, QUANTILES)
    return f"| {model} | {size} | {stage} | {q[0]:.1f} | {q[1]:.1f} | {q[2]:.1f} |"


def main() -> None:
    args = parse()
    load_before = [round(x, 2) for x in os.getloadavg()]
    net = Segmenter("Unet", args.encoder, num_classes=len(CLASSES)).eval()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ckpt = save_checkpoint(net, tmp / "bench.ckpt", args.tile)
        methods = {f"checkpoint, {name}": SegmenterMethod(
            net, CLASSES, device=args.device, batch_size=args.tile_batch, **tile.method_kwargs())
            for name, tile in tilings(args).items()}
        methods["checkpoint bf16, whole"] = SegmenterMethod(
            net, CLASSES, device=args.device, batch_size=args.tile_batch, precision="bf16",
            **tilings(args)["whole"].method_kwargs())
        if not args.no_onnx:
            methods.update(onnx_methods(ckpt, tmp, args))
        for size in args.sizes:
            paths = write_images(tmp / "images", size, args.images)
            rng = np.random.default_rng(0)
            reference = LineReference(build_reference(
                make_sample(rng, size)[0] for _ in range(REFERENCE_IMAGES)))
            for model, method in methods.items():
                inspector = Inspector(method, PartRule(), monitor=RollingMonitor(reference))
                laps = time_stages(inspector, paths, tmp / f"out_{model}_{size}")
                rows += [row(model, size, stage, v) for stage, v in laps.items()]
                print(rows[-1], flush=True)
            if not args.no_http and size == args.sizes[0]:
                inspector = Inspector(methods["checkpoint, whole"], PartRule(),
                                      monitor=RollingMonitor(reference))
                trips = http_round_trips(inspector, paths)
                rows += [row("HTTP, checkpoint, whole", size, k, v) for k, v in trips.items()]
    facts = cpu_facts()
    print(f"\nDevice: {device_name(torch.device(args.device))}; CPU {facts['cpu']}, "
          f"{facts['cores']} cores, ISA {facts['isa']}, torch CPU capability "
          f"{facts['torch_cpu_capability']}, load average {load_before} before the run "
          f"(above ~0.5 other jobs were running) and {facts['load_average']} at its end; "
          "torch threads "
          f"{torch.get_num_threads()}, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}; "
          f"{args.encoder} U-Net (untrained); whole = tile.size=auto with "
          f"{args.max_megapixels} Mpx; tiled = {args.tile} px tiles (overlap {args.overlap}, "
          f"{args.tile_batch} per batch); {args.images} timed image(s) per row, batch 1.\n")
    print("| model | size (px) | stage | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
