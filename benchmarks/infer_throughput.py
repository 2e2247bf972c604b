"""Inference throughput on large images: a bare torch tiled loop, infer.py's path with the
checkpoint, and infer.py's path with the exported model: ONNX Runtime fp32 and INT8, and
OpenVINO fp32 and INT8 when it is installed (CPU only).

    nice -n 10 python -m benchmarks.infer_throughput                # CPU defaults (small)
    python -m benchmarks.infer_throughput --device cuda --size 2048 --images 16 --tile 512

All three read the same PNG files, cut the same tiles (size, overlap, batch) and write
class-id PNG masks from the same weights. The bare loop is what one writes by hand: read,
accumulate probabilities for the whole image, argmax, write; default memory layout on CPU,
channels-last and bf16 on CUDA. "checkpoint" is ``run_inference`` with the checkpoint's
Method (as ``infer.py ckpt=best.ckpt`` runs it: read-ahead thread, blended strips, writer
threads, defect table, channels-last); "onnx" is the same ``run_inference`` with the model
exported by ``export.py`` (parity checked there), as ``infer.py ckpt=DIR/model.onnx`` runs
it (ONNX Runtime's CUDA provider on a GPU when the installed build has it). The paths run
interleaved for ``--rounds`` rounds; images/s are medians over rounds, and the ONNX masks
are compared pixel by pixel with the checkpoint path's.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import os
import statistics
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch

from benchmarks.common import Timer, cpu_facts, device_name
from visionseg.core.tiling import TileSettings, tile_starts
from visionseg.data.synthetic import make_sample
from visionseg.inference.runner import InferenceSettings, run_inference
from visionseg.models.smp.method import SegmenterMethod
from visionseg.models.smp.network import Segmenter

CLASSES = ["bg", "a", "b", "c"]


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--size", type=int, default=768)
    p.add_argument("--images", type=int, default=3)
    p.add_argument("--tile", type=int, default=256)
    p.add_argument("--overlap", type=int, default=32)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--encoder", default="resnet18")
    p.add_argument("--rounds", type=int, default=3)
    return p.parse_args()


@torch.inference_mode()
def bare(net, paths, out: Path, args, device) -> None:
    amp = device.type == "cuda"
    for path in paths:
        image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        h, w = image.shape[:2]
        acc = np.zeros((len(CLASSES), h, w), np.float32)
        count = np.zeros((h, w), np.float32)
        coords = [
            (y, x)
            for y in tile_starts(h, args.tile, args.overlap)
            for x in tile_starts(w, args.tile, args.overlap)
        ]
        for i in range(0, len(coords), args.batch):
            chunk = coords[i : i + args.batch]
            tiles = np.stack([image[y : y + args.tile, x : x + args.tile] for y, x in chunk])
            x_t = torch.from_numpy(tiles).to(device).permute(0, 3, 1, 2)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                probs = torch.softmax(net(x_t).float(), 1).cpu().numpy()
            for (y, x), p in zip(chunk, probs, strict=True):
                acc[:, y : y + args.tile, x : x + args.tile] += p
                count[y : y + args.tile, x : x + args.tile] += 1
        mask = (acc / count).argmax(0).astype(np.uint8)
        cv2.imwrite(str(out / f"{path.stem}.png"), mask)


def export_onnx(net: Segmenter, folder: Path, args, quantize: str | None = None,
                ir: bool = False) -> Path:
    """Save ``net`` as a visionseg checkpoint and export it as export.py does (``quantize``:
    ``int8``; ``ir``: also the OpenVINO IR); the export folder."""
    from visionseg.core.model_card import ModelCard
    from visionseg.export.onnx_export import ExportRequest, export_model
    from visionseg.models.checkpoint import save_checkpoint

    ckpt = save_checkpoint(folder / "bench.ckpt", ModelCard(
        "visionseg.models.smp.module.SegmentationModule", CLASSES, net.config, args.tile),
        {f"net.{k}": v for k, v in net.state_dict().items()})
    from visionseg.export.quantize import QuantizeSettings

    out = folder / f"export_{quantize or 'fp32'}"
    # Untrained weights: the INT8 bounds are off here; speed is what counts.
    meta = export_model(ExportRequest(
        ckpt, out, tile=TileSettings(args.tile, args.overlap), parity_images=2,
        format="openvino" if ir else "onnx", quantize=quantize,
        int8=QuantizeSettings(calibration_images=8, parity_images=2, min_agreement=0.0,
                              max_iou_change=1.0)))
    print(f"export {quantize or 'fp32'}: max |dp| {meta.parity.max_abs_prob_diff:.1e}, mask "
          f"agreement {meta.parity.mask_agreement:.5f}")
    return out


def agreement(a: Path, b: Path) -> float:
    """Share of equal pixels over the masks of two output folders."""
    equal = total = 0
    for mask in sorted((a / "masks").glob("*.png")):
        x = cv2.imread(str(mask), cv2.IMREAD_UNCHANGED)
        y = cv2.imread(str(b / "masks" / mask.name), cv2.IMREAD_UNCHANGED)
        equal += int((x == y).sum())
        total += x.size
    return equal / max(total, 1)


def main() -> None:
    args = parse()
    load_before = [round(x, 2) for x in os.getloadavg()]
    from visionseg.export.runtime import OnnxMethod

    device = torch.device(args.device)
    torch.manual_seed(0)
    net = Segmenter("Unet", args.encoder, num_classes=len(CLASSES)).eval()
    bare_net = copy.deepcopy(net).to(device)
    if device.type == "cuda":
        bare_net = bare_net.to(memory_format=torch.channels_last)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = []
        for i in range(args.images):
            paths.append(tmp / f"img_{i}.png")
            cv2.imwrite(str(paths[-1]), make_sample(rng, args.size, p_good=0.0)[0])
        kwargs = {"device": str(device), "tile_size": args.tile, "tile_overlap": args.overlap,
                  "batch_size": args.batch, "max_probs_bytes": 0}
        ir = device.type == "cpu" and importlib.util.find_spec("openvino") is not None
        if not ir:
            print("OpenVINO rows skipped: openvino is not installed, or not a CPU run")
        methods = {"checkpoint": SegmenterMethod(copy.deepcopy(net), CLASSES, **kwargs)}
        for quantize in (None, "int8"):
            folder = export_onnx(net, tmp, args, quantize, ir)
            label = "onnx" + (" INT8" if quantize else "")
            methods[label] = OnnxMethod(folder / "model.onnx", **kwargs)
            if ir:
                from visionseg.export.openvino_ir import OpenVinoMethod

                kwargs_ir = {k: v for k, v in kwargs.items()
                             if k not in ("device", "max_probs_bytes")}
                methods[label.replace("onnx", "openvino")] = OpenVinoMethod(
                    folder / "model.xml", **kwargs_ir)
        settings = InferenceSettings(batch_size=1, overlays=False)
        (tmp / "bare").mkdir()
        bare(bare_net, paths[:1], tmp / "bare", args, device)  # warm-up
        for name, method in methods.items():
            run_inference(method, paths[:1], tmp / f"warm_{name}", settings=settings,
                          show_progress=False)
        seconds: dict[str, list[float]] = {"bare": [], **{k: [] for k in methods}}
        for round_ in range(args.rounds):
            with Timer(device) as timer:
                bare(bare_net, paths, tmp / "bare", args, device)
            seconds["bare"].append(timer.seconds)
            for name, method in methods.items():
                with Timer(device) as timer:
                    run_inference(method, paths, tmp / f"{name}{round_}", settings=settings,
                                  show_progress=False)
                seconds[name].append(timer.seconds)
        agree = agreement(tmp / "checkpoint0", tmp / "onnx0")
    report(args, device, seconds, agree, load_before)


def report(args, device, seconds: dict[str, list[float]], agree: float,
           load_before: list[float]) -> None:
    rate = {k: args.images / statistics.median(v) for k, v in seconds.items()}
    print(f"device: {device_name(device)}; U-Net/{args.encoder}, {args.images} images of "
          f"{args.size}x{args.size}, tile {args.tile} overlap {args.overlap} batch "
          f"{args.batch}; medians of {args.rounds} interleaved rounds")
    facts = cpu_facts()
    print(f"CPU {facts['cpu']}, {facts['cores']} cores, ISA {facts['isa']}, torch CPU "
          f"capability {facts['torch_cpu_capability']}; load average {load_before} before "
          f"the run (above ~0.5 other jobs were running), {facts['load_average']} at its end")
    labels = {"bare": "bare torch tiled loop", "checkpoint": "infer.py, checkpoint",
              **{k: f"infer.py, {k}" for k in seconds if k.startswith(("onnx", "openvino"))}}
    for key, label in labels.items():
        spread = ", ".join(f"{args.images / s:.3f}" for s in seconds[key])
        print(f"{label:<26} {rate[key]:7.3f} images/s, {1 / rate[key]:6.2f} s/image  "
              f"(rounds: {spread})")
    print(f"ONNX / bare torch loop: {rate['onnx'] / rate['bare']:.2f}x; ONNX / checkpoint "
          f"path: {rate['onnx'] / rate['checkpoint']:.2f}x; ONNX masks equal to the "
          f"checkpoint path's: {agree:.5%} of pixels")
    for key in labels:
        if key not in ("bare", "checkpoint", "onnx"):
            print(f"{key} / bare torch loop: {rate[key] / rate['bare']:.2f}x; / ONNX fp32: "
                  f"{rate[key] / rate['onnx']:.2f}x")


if __name__ == "__main__":
    main()
