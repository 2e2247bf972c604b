"""AdamW step time for a U-Net: torch's default implementation against the fused one.

    python -m benchmarks.optimizer_step [--device cuda] [--encoder resnet34]

Times ``optimizer.step()`` alone (gradients already set) for AdamW as one writes it by hand
and with ``fused=True`` (what ``model.optimizer`` uses), interleaved over ``--rounds``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import segmentation_models_pytorch as smp
import torch

from benchmarks.common import device_name, sync


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--encoder", default="resnet34")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    device = torch.device(args.device)
    model = smp.Unet(args.encoder, encoder_weights=None, classes=4).to(device)
    for param in model.parameters():
        param.grad = torch.randn_like(param)
    variants = {"default": {}, "fused": {"fused": True}}
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, kwargs in variants.items():
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, **kwargs)
            optimizer.step()
            sync(device)
            start = time.perf_counter()
            for _ in range(args.steps):
                optimizer.step()
            sync(device)
            times[name].append((time.perf_counter() - start) / args.steps * 1000)
    count = sum(p.numel() for p in model.parameters()) / 1e6
    print(f"device: {device_name(device)}; U-Net/{args.encoder}, {count:.1f} M parameters")
    for name, values in times.items():
        print(f"AdamW {name:8s} {statistics.median(values):8.2f} ms/step")
    print(f"ratio default / fused: "
          f"{statistics.median(times['default']) / statistics.median(times['fused']):.2f}")


if __name__ == "__main__":
    main()
