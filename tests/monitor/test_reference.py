"""The line reference: built from images, stored in a checkpoint, found again by path."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.monitor.streams import line_images
from visionseg.core.model_card import ModelCard
from visionseg.io.images import write_png
from visionseg.models.checkpoint import card_of, read_checkpoint, save_checkpoint
from visionseg.monitor.reference import (
    MAX_BINS,
    DriftReference,
    DriftReferenceError,
    LineReference,
    build_reference,
)
from visionseg.monitor.stats import BASIC_FEATURES, basic_statistics
from visionseg.monitor.stored import expected_ng_rate, store_line_reference


def test_statistics_follow_brightness_contrast_and_blur():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    stats = dict(zip(BASIC_FEATURES, basic_statistics(image), strict=True))
    assert stats["brightness_r"] == pytest.approx(image[..., 0].mean())
    assert stats["contrast_b"] == pytest.approx(image[..., 2].std(), rel=1e-6)
    blurred = np.ascontiguousarray(np.repeat(np.repeat(image[::4, ::4], 4, 0), 4, 1))
    assert basic_statistics(blurred)[6] < stats["sharpness"] / 2


def test_reference_round_trips_through_plain_containers():
    reference = build_reference(line_images(0, 400))
    assert reference.names[: len(BASIC_FEATURES)] == list(BASIC_FEATURES)
    assert len(reference.names) == len(BASIC_FEATURES) + 4
    assert all(len(f.edges) == MAX_BINS - 1 for f in reference.features)
    plain = json.loads(json.dumps(reference.to_dict()))
    again = DriftReference.from_dict(plain)
    for a, b in zip(reference.features, again.features, strict=True):
        np.testing.assert_allclose(a.edges, b.edges)
    np.testing.assert_allclose(reference.embedding.components, again.embedding.components)


def test_small_training_sets_get_fewer_bins_and_too_small_ones_none():
    assert len(build_reference(line_images(1, 100)).features[0].edges) == 1
    with pytest.raises(DriftReferenceError, match="at least 20 images"):
        build_reference(line_images(1, 10))
    with pytest.raises(DriftReferenceError, match="version"):
        DriftReference.from_dict({"version": 99})


def test_expected_ng_rate_comes_from_the_evaluation_counts():
    rate = expected_ng_rate({"image_level": {"tp": 3, "fp": 1, "fn": 2, "tn": 14},
                             "split": "test"})
    assert (rate.rate, rate.images, rate.split) == (0.2, 20, "test")
    assert expected_ng_rate({}) is None


def test_stored_in_a_checkpoint_and_found_in_its_card(tmp_path):
    ckpt = save_checkpoint(tmp_path / "best.ckpt", ModelCard("x.Y", ["a", "b"]), {})
    paths = []
    for i, image in enumerate(line_images(2, 60)):
        paths.append(tmp_path / "train" / f"{i}.png")
        write_png(paths[-1], image)
    summary = {"image_level": {"tp": 5, "fp": 0, "fn": 0, "tn": 15}, "split": "test"}
    store_line_reference([ckpt], paths, summary, tmp_path)
    card = card_of(read_checkpoint(ckpt), ckpt)
    assert card.classes == ["a", "b"] and card.drift_reference["images"] == 60
    found = LineReference.from_card(card)
    assert found.ng.rate == 0.25 and found.drift.images == 60
    assert (tmp_path / "line_reference.json").is_file()


def test_older_checkpoints_and_baselines_have_none(tmp_path):
    old = tmp_path / "old.ckpt"
    torch.save({"state_dict": {}, "visionseg": {"module": "x.Y", "classes": ["a"]}}, old)
    assert LineReference.from_card(card_of(read_checkpoint(old), old)) == LineReference()
    assert LineReference.from_card(None) == LineReference()


