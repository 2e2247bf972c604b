"""Real defects, per class: visionseg's defaults against the bare smp loop and every
classical baseline, on one seeded split, in one run (issue 20).

    python -m visionseg.data.convert classfolders ../shared/datasets/magnetic-tile data/mt
    python -m benchmarks.real_defects --data data/mt --budget-s 1800 [--parallel]

Both networks train for the same wall time (``--budget-s``; ``--parallel`` trains them at
once on one core each, for the same CPU-seconds). Then the two best checkpoints and the
baselines are scored by evaluate.py's code on the test split: ``OUT/report/`` (the
report), ``OUT/results.json``, ``OUT/table.md`` (per-class IoU, mIoU over all classes,
defect mIoU, part precision / recall) and ``OUT/curves.png`` (validation IoU per class
against optimiser steps and CPU-seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from benchmarks.bare_smp_loop import BareNet
from benchmarks.common import cpu_facts

ROOT = Path(__file__).resolve().parents[1]
BASELINES = ["otsu", "multi_otsu", "adaptive", "watershed", "kmeans", "ridge"]


def classes_of(data: Path, given: str | None) -> list[str]:
    if given:
        return given.split(",")
    return json.loads((data / "classes.json").read_text())


def launch(args: argparse.Namespace, classes: list[str]) -> list[tuple[str, subprocess.Popen]]:
    """Start both trainings (at once with ``--parallel``, one thread each)."""
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    if args.parallel:
        env |= {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    seconds = int(args.budget_s)
    days, hours = seconds // 86400, seconds // 3600 % 24
    max_time = f"{days:02d}:{hours:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    jobs = {
        "visionseg": [sys.executable, str(ROOT / "train.py"), "data=folder",
                      f"data.root={args.data}", f"data.classes=[{','.join(classes)}]",
                      "test=false", f"hydra.run.dir={args.out / 'visionseg'}",
                      f"data.max_time='{max_time}'", "data.max_steps=-1",
                      "trainer.enable_progress_bar=false", "callbacks.rich_progress_bar=null",
                      *args.override],
        "bare": [sys.executable, "-m", "benchmarks.bare_smp_loop", str(args.data),
                 str(args.out / "bare"), "--classes", ",".join(classes),
                 "--max-time", str(args.budget_s)],
    }
    running = []
    for name, command in jobs.items():
        if name in args.skip:
            continue
        log = open(args.out / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        running.append((name, proc))
        if not args.parallel:
            proc.wait()
    for name, proc in running:
        if proc.wait() != 0:
            for _, other in running:
                other.terminate()
            raise SystemExit(f"error: the {name} training failed, see {args.out / name}.log")
    return running


def methods(args: argparse.Namespace, classes: list[str]) -> list:
    from visionseg.export.loader import load
    from visionseg.models.smp.method import SegmenterMethod
    from visionseg.registry import build_baselines

    folder = args.out / "visionseg/checkpoints"
    best = folder / "best.ckpt" if (folder / "best.ckpt").is_file() else folder / "last.ckpt"
    ours = load(best, device="cpu", name="visionseg defaults").method
    trained = [ours]
    if (args.out / "bare/net.pt").is_file():  # absent with --skip bare
        net = BareNet(len(classes))
        net.load_state_dict(torch.load(args.out / "bare/net.pt", weights_only=True))
        trained.append(SegmenterMethod(net.eval(), classes, name="bare smp loop", device="cpu"))
    return [*trained, *build_baselines(BASELINES, classes)]


def score(args: argparse.Namespace, classes: list[str]) -> dict:
    """Every method on the test split through evaluate.py's code; the summary rows."""
    from visionseg.data.folder import list_split
    from visionseg.report.pipeline import evaluate_and_report

    results = evaluate_and_report(
        methods(args, classes), list_split(args.data, "test"), classes, args.out / "report",
        train_samples=list_split(args.data, "train"), title="Real defects: magnetic tile",
        context={"split": "test", "data_root": str(args.data)})
    rows = []
    for entry in results.entries:
        if entry.chain != "none":
            continue
        pixel, part = entry.pixel, entry.image_level
        rows.append({"method": entry.method,
                     **{c: round(pixel.per_class[c].iou, 3) for c in classes[1:]},
                     "mIoU_all": round(pixel.miou_all, 3),
                     "defect_mIoU": round(pixel.defect_miou, 3),
                     "part_precision": round(part.precision, 3),
                     "part_recall": round(part.recall, 3),
                     **{f"{c} skeleton F1 ({results.settings.thin_tolerance:g} px)":
                        round(f.fixed.f1, 3) for c, f in entry.thin.per_class.items()}})
    return {"rows": rows}


def curves(args: argparse.Namespace, classes: list[str]) -> None:
    """Validation IoU per defect class against optimiser steps and CPU-seconds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    defect = classes[1:]
    fig, axes = plt.subplots(2, len(defect), figsize=(3.2 * len(defect), 6), squeeze=False)
    for run, style in (("visionseg", "-o"), ("bare", "--s")):
        path = args.out / run / "csv" / "metrics.csv"
        if not path.is_file():
            continue
        log = pd.read_csv(path).dropna(subset=["time/cpu_s"])
        for j, name in enumerate(defect):
            column = f"val/IoU_{name}" if run == "visionseg" else f"val/IoU_{j + 1}"
            for i, x in enumerate(("step", "time/cpu_s")):
                axes[i][j].plot(log[x], log[column], style, ms=3, label=run)
                axes[i][j].set_xlabel("optimiser steps" if i == 0 else "CPU-seconds")
            axes[0][j].set_title(name)
    axes[0][0].set_ylabel("validation IoU")
    axes[1][0].set_ylabel("validation IoU")
    axes[0][0].legend()
    fig.tight_layout()
    fig.savefig(args.out / "curves.png", dpi=110)


def table(rows: list[dict]) -> str:
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(r[k]) for k in head) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="folder layout with test/")
    ap.add_argument("--out", type=Path, default=ROOT / "outputs" / "real_defects")
    ap.add_argument("--classes", default=None, help="default: DATA/classes.json")
    ap.add_argument("--budget-s", type=float, default=1800.0, help="wall seconds each")
    ap.add_argument("--parallel", action="store_true", help="both at once, a core each")
    ap.add_argument("--skip", nargs="*", default=[], choices=["visionseg", "bare"],
                    help="reuse that run's earlier outputs in OUT")
    ap.add_argument("--override", nargs="*", default=[], help="train.py overrides")
    args = ap.parse_args(argv)
    args.data, args.out = args.data.resolve(), args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    classes = classes_of(args.data, args.classes)
    facts = {**cpu_facts(), "started": time.strftime("%Y-%m-%d %H:%M")}
    print(json.dumps(facts), flush=True)
    launch(args, classes)
    facts["load_average_after_training"] = [round(x, 2) for x in os.getloadavg()]
    summary = {"machine": facts, "budget_s": args.budget_s, "parallel": args.parallel,
               **score(args, classes)}
    curves(args, classes)
    (args.out / "results.json").write_text(json.dumps(summary, indent=2))
    (args.out / "table.md").write_text(table(summary["rows"]) + "\n")
    print(table(summary["rows"]))


if __name__ == "__main__":
    main()
