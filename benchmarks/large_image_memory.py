"""Peak memory of tiled inference on one very large image (default 10000 x 8000).

    python -m benchmarks.large_image_memory [--height 8000 --width 10000 --tile 512]

Runs ``infer.py``'s path (read, tile, predict, write mask, overlay and defect table) with a
small real U-Net on a synthetic inspection image, and prints the process's peak resident
memory next to the size of the image itself and of the full probability map that an
untiled or naive tiled loop would hold.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from visionseg.inference.runner import InferenceSettings, run_inference
from visionseg.models.smp.method import SegmenterMethod
from visionseg.models.smp.network import Segmenter


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--height", type=int, default=8000)
    p.add_argument("--width", type=int, default=10000)
    p.add_argument("--tile", type=int, default=512)
    p.add_argument("--encoder", default="resnet18")
    args = p.parse_args()
    torch.manual_seed(0)
    net = Segmenter(
        "Unet",
        args.encoder,
        num_classes=4,
        arch_kwargs={"encoder_depth": 3, "decoder_channels": [32, 16, 8]},
    )
    method = SegmenterMethod(
        net, ["bg", "a", "b", "c"], device="cpu", tile_size=args.tile, tile_overlap=32, batch_size=4
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "large.png"
        image = np.random.default_rng(0).integers(90, 160, (args.height, args.width, 3), np.uint8)
        cv2.imwrite(str(path), image)
        del image
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        start = time.perf_counter()
        summary = run_inference(
            method,
            [path],
            Path(tmp) / "out",
            settings=InferenceSettings(batch_size=1),
            show_progress=False,
        )
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    pixels = args.height * args.width
    print(
        f"image {args.width}x{args.height} ({pixels / 1e6:.0f} MP), status "
        f"{summary.records[0].status}, {seconds:.0f} s on CPU"
    )
    print(
        f"peak RSS {peak:.2f} GiB (before inference {base:.2f} GiB); the RGB image is "
        f"{pixels * 3 / 2**30:.2f} GiB, a full float32 probability map would be "
        f"{pixels * 4 * 4 / 2**30:.2f} GiB"
    )


if __name__ == "__main__":
    main()
