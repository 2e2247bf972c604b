"""trainer=ddp with Hydra on CPU: two processes, one run folder, checkpoints kept."""

import json

from tests.conftest import TINY_TRAIN, run_script


def test_ddp_two_cpu_processes_share_one_run_directory(tiny_data, tmp_path):
    runs = tmp_path / "outputs"
    proc = run_script(
        "train.py",
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "trainer.precision=32-true",
        "trainer.sync_batchnorm=false",
        "trainer.benchmark=false",
        "data.num_workers=0",
        "data.pin_memory=false",
        "data.persistent_workers=false",
        "data.prefetch_factor=null",
        "model.channels_last=false",
        f"data.root={tiny_data}",
        "data.synthetic=null",
        *TINY_TRAIN,
        "trainer.max_epochs=1",
        f"paths.log_dir={runs}",
        timeout=400,
    )
    run_dirs = list((runs / "train" / "runs").iterdir())
    assert len(run_dirs) == 1, (run_dirs, proc.stderr[-2000:])
    run = run_dirs[0]
    assert (run / "checkpoints/best.ckpt").is_file() and (run / "checkpoints/last.ckpt").is_file()
    assert "trained" in json.loads((run / "metrics.json").read_text())["methods"]
    assert not list(tmp_path.glob("**/train_ddp_process_*"))
