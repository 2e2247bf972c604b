"""Inference throughput on large images: ``infer.py``'s path against a bare tiled loop.

    python -m benchmarks.infer_throughput                        # CPU defaults (small)
    python -m benchmarks.infer_throughput --device cuda --size 2048 --images 16 --tile 512

Both read PNG files from disk, cut the same tiles (same size, overlap and batch), run the
same weights and write class-id PNG masks. The bare loop is what one writes by hand:
read, accumulate probabilities for the whole image, argmax, write; default memory layout
on CPU, channels-last and bf16 on CUDA. visionseg's is ``run_inference`` (read-ahead
thread, blended strips, writer threads, defect table; channels-last everywhere).
The two run interleaved for ``--rounds`` rounds; megapixels/s are medians over rounds.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch

from benchmarks.common import Timer, device_name
from visionseg.core.tiling import tile_starts
from visionseg.inference.runner import InferenceSettings, run_inference
from visionseg.models.smp.method import SegmenterMethod
from visionseg.models.smp.network import Segmenter


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
        acc = np.zeros((4, h, w), np.float32)
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


def main() -> None:
    args = parse()
    device = torch.device(args.device)
    torch.manual_seed(0)
    net = Segmenter("Unet", args.encoder, num_classes=4).to(device).eval()
    bare_net = copy.deepcopy(net)
    if device.type == "cuda":
        bare_net = bare_net.to(memory_format=torch.channels_last)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = []
        for i in range(args.images):
            path = tmp / f"img_{i}.png"
            cv2.imwrite(str(path), rng.integers(0, 256, (args.size, args.size, 3), np.uint8))
            paths.append(path)
        method = SegmenterMethod(
            net,
            ["bg", "a", "b", "c"],
            device=str(device),
            tile_size=args.tile,
            tile_overlap=args.overlap,
            batch_size=args.batch,
            max_probs_bytes=0,
        )
        settings = InferenceSettings(batch_size=1, overlays=False)
        run_inference(method, paths[:1], tmp / "warm", settings=settings, show_progress=False)
        (tmp / "bare").mkdir()
        bare(bare_net, paths[:1], tmp / "bare", args, device)
        t_bare, t_vs = [], []
        for round_ in range(args.rounds):
            with Timer(device) as timer:
                bare(bare_net, paths, tmp / "bare", args, device)
            t_bare.append(timer.seconds)
            with Timer(device) as timer:
                run_inference(method, paths, tmp / f"vs{round_}", settings=settings,
                              show_progress=False)
            t_vs.append(timer.seconds)
    t_bare, t_vs = statistics.median(t_bare), statistics.median(t_vs)
    mpix = args.images * args.size * args.size / 1e6
    print(
        f"device: {device_name(device)}; U-Net/{args.encoder}, {args.images} images of "
        f"{args.size}x{args.size}, tile {args.tile} overlap {args.overlap} batch {args.batch}"
    )
    print(f"bare tiled loop  {mpix / t_bare:8.2f} megapixels/s")
    print(f"visionseg infer  {mpix / t_vs:8.2f} megapixels/s (masks, defect table, summary)")
    print(f"ratio visionseg / bare: {t_bare / t_vs:.2f}")


if __name__ == "__main__":
    main()
