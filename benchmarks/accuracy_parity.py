"""Same seed, same budget: do the speed options change test accuracy?

    python -m benchmarks.accuracy_parity                       # CPU: 10 epochs, seeds 1 2
    python -m benchmarks.accuracy_parity --epochs 30 --seeds 1 2 3 trainer=gpu

Trains ``python train.py`` (the built-in synthetic set unless overrides say otherwise) once
per variant and seed, and prints each run's test mIoU and wall time:
- plain: no decoded-image cache, default memory layout, unfused AdamW;
- default: what ``python train.py`` does (cache, channels-last, fused AdamW);
- device-aug: the default plus ``data/augment=device`` (batched augmentation on the device).
The differences between variants are to be read against the spread between seeds of one
variant: that spread is the noise of the budget.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import device_name

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "plain": ["data.cache_bytes=0", "model.channels_last=false", "model.optimizer.fused=false"],
    "default": [],
    "device-aug": ["data/augment=device"],
}


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("overrides", nargs="*", help="extra train.py overrides for every run")
    return p.parse_args()


def run(variant: str, seed: int, args: argparse.Namespace, out: Path) -> dict:
    command = [
        sys.executable, str(ROOT / "train.py"), *VARIANTS[variant], *args.overrides,
        f"seed={seed}", f"trainer.max_epochs={args.epochs}", "evaluation.baselines=[]",
        "evaluation.chains=[none]", "trainer.enable_progress_bar=false",
        "callbacks.rich_progress_bar=null", f"hydra.run.dir={out}",
    ]
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{variant} seed {seed} failed:\n{proc.stderr[-3000:]}")
    metrics = json.loads((out / "metrics.json").read_text())["methods"]["trained"]["none"]
    return {
        "variant": variant,
        "seed": seed,
        "mIoU": metrics["defect_mIoU"],
        "per_class": {k: v["iou"] for k, v in metrics["per_class"].items()},
        "minutes": (time.perf_counter() - start) / 60,
    }


def main() -> None:
    args = parse()
    import torch

    device = torch.device("cuda" if "trainer=gpu" in args.overrides else "cpu")
    print(f"device: {device_name(device)}; {args.epochs} epochs, seeds {args.seeds}, "
          f"overrides {args.overrides or 'none'}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for variant in args.variants:
                result = run(variant, seed, args, Path(tmp) / f"{variant}_{seed}")
                results.append(result)
                classes = " ".join(f"{k} {v:.3f}" for k, v in result["per_class"].items())
                print(f"{variant:11s} seed {seed}: test mIoU {result['mIoU']:.4f} "
                      f"({classes}), {result['minutes']:.1f} min", flush=True)
    print("variant      mean mIoU  min - max         mean minutes")
    for variant in args.variants:
        scores = [r["mIoU"] for r in results if r["variant"] == variant]
        minutes = [r["minutes"] for r in results if r["variant"] == variant]
        print(f"{variant:11s}  {statistics.mean(scores):.4f}     "
              f"{min(scores):.4f} - {max(scores):.4f}   {statistics.mean(minutes):.1f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
