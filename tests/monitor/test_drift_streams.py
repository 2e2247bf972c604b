"""The rolling monitor on seeded image streams: a brightness shift half-way raises the
drift alert within one window of the shift; streams like the training images do not."""

from __future__ import annotations

import pytest

from tests.monitor.streams import line_images
from visionseg.core.errors import ConfigError
from visionseg.monitor.reference import ExpectedNgRate, LineReference, build_reference
from visionseg.monitor.settings import MonitorSettings
from visionseg.monitor.window import UNAVAILABLE, WARMING_UP, RollingMonitor

WINDOW = 200
STREAM = 400


@pytest.fixture(scope="module")
def reference() -> LineReference:
    return LineReference(build_reference(line_images(0, 600)), ExpectedNgRate(0.1, 300, "test"))


def _drift_alerts(reference, images, ng=lambda i: i % 10 == 0):
    monitor = RollingMonitor(reference, MonitorSettings(window=WINDOW))
    return [i for i, image in enumerate(images)
            if any(a.startswith("drift:") for a in monitor.update(
                monitor.features(image), ng(i)).alerts)]


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_a_brightness_shift_raises_the_alert_within_the_window_after_it(reference, seed):
    half = STREAM // 2
    alerts = _drift_alerts(reference, line_images(seed, STREAM + half, half, shift=25.0))
    assert alerts, "no drift alert after the shift"
    assert half <= alerts[0] < half + WINDOW


def test_streams_like_the_training_images_raise_no_alert(reference):
    false_alarms = sum(bool(_drift_alerts(reference, line_images(100 + s, STREAM)))
                       for s in range(8))
    assert false_alarms <= 1, f"{false_alarms} of 8 in-distribution streams raised an alert"


def test_ng_rate_above_expectation_raises_an_ng_alert_not_a_drift_one(reference):
    monitor = RollingMonitor(reference, MonitorSettings(window=WINDOW))
    messages = []
    for i, image in enumerate(line_images(5, 300)):
        messages += monitor.update(monitor.features(image), ng=i % 3 == 0).alerts
    assert any(m.startswith("NG rate high") for m in messages)
    assert not any(m.startswith("drift:") for m in messages)


def test_without_a_reference_both_are_unavailable_and_nothing_is_computed():
    monitor = RollingMonitor(LineReference(), MonitorSettings(window=50))
    images = line_images(6, 60)
    for image in images:
        status = monitor.update(monitor.features(image), True)
    assert monitor.features(images[0]) is None
    assert (status.drift, status.ng, status.psi, status.alerts) == (UNAVAILABLE, UNAVAILABLE,
                                                                    {}, [])


def test_restore_refills_the_window_without_alerts(reference):
    images = line_images(7, WINDOW, 0, shift=40.0)
    fresh = RollingMonitor(reference, MonitorSettings(window=WINDOW))
    assert fresh.status.drift == WARMING_UP
    fresh.restore((fresh.features(im), False) for im in images)
    assert fresh.status.drift == "act" and fresh.status.alerts == []
    assert fresh.status.images == WINDOW


@pytest.mark.parametrize("bad", [{"window": 10}, {"every": 0}, {"watch": 0.3, "act": 0.2},
                                 {"ng_alpha": 0.7}, {"windows": 100}])
def test_settings_are_range_checked(bad):
    with pytest.raises(ConfigError, match="monitor"):
        MonitorSettings.from_dict(bad)
