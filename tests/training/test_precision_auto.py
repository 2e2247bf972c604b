"""trainer.precision=auto: bf16-mixed on a CPU with bf16 instructions only."""

import pytest

from visionseg.core import cpu
from visionseg.training import precision


def test_bf16_instructions_are_read_from_the_flags():
    assert cpu.has_fast_bf16(frozenset({"avx2", "avx512_bf16"}))
    assert cpu.has_fast_bf16(frozenset({"amx_tile", "amx_bf16"}))
    assert not cpu.has_fast_bf16(frozenset({"avx2", "avx512f", "avx512_vnni"}))


@pytest.mark.parametrize(("fast", "accelerator", "expected"), [
    (True, "cpu", "bf16-mixed"),
    (False, "cpu", "32-true"),
    (True, "gpu", "32-true"),  # a GPU run names its precision (trainer=gpu)
])
def test_auto_follows_the_cpu(monkeypatch, fast, accelerator, expected):
    monkeypatch.setattr(precision, "has_fast_bf16", lambda: fast)
    assert precision.trainer_precision("auto", accelerator) == expected


def test_a_named_precision_is_kept(monkeypatch):
    monkeypatch.setattr(precision, "has_fast_bf16", lambda: True)
    assert precision.trainer_precision("32-true", "cpu") == "32-true"
    assert precision.trainer_precision("bf16-mixed", "cpu") == "bf16-mixed"

