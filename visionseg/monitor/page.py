"""The HTML page of a results log: status, drift and NG-rate trends, alerts, latency;
built on the report package's document and renderer."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from visionseg.monitor.settings import PSI_ACT, PSI_WATCH  # noqa: E402
from visionseg.monitor.summary import LogSummary, summary_text  # noqa: E402
from visionseg.report.document import Figure, Section, Table  # noqa: E402
from visionseg.report.html import render_html  # noqa: E402
from visionseg.report.plots import png_bytes  # noqa: E402


def drift_chart(s: LogSummary) -> bytes:
    """The worst statistic's PSI per image, with the watch and act bands."""
    fig, ax = plt.subplots(figsize=(9, 3.2))
    x = np.arange(1, len(s.worst_psi) + 1)
    ax.plot(x, s.worst_psi, color="#1f77b4", lw=1.2, label="worst PSI in the window")
    ax.axhline(PSI_WATCH, color="#e6a700", ls="--", lw=1, label=f"watch {PSI_WATCH}")
    ax.axhline(PSI_ACT, color="#d62728", ls="--", lw=1, label=f"act {PSI_ACT}")
    _mark_alerts(ax, s, "drift")
    ax.set_xlabel("image")
    ax.set_ylabel("PSI")
    ax.legend(loc="upper left", fontsize=8)
    return png_bytes(fig)


def ng_chart(s: LogSummary) -> bytes:
    """The window's NG rate per image against the expected rate."""
    fig, ax = plt.subplots(figsize=(9, 3.2))
    x = np.arange(1, len(s.window_ng_rate) + 1)
    ax.plot(x, s.window_ng_rate, color="#2ca02c", lw=1.2, label="NG rate in the window")
    if s.expected_ng_rate is not None:
        ax.axhline(s.expected_ng_rate, color="#555", ls="--", lw=1, label="expected")
    _mark_alerts(ax, s, "NG rate")
    ax.set_xlabel("image")
    ax.set_ylabel("NG rate")
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=8)
    return png_bytes(fig)


def _mark_alerts(ax: Axes, s: LogSummary, prefix: str) -> None:
    for alert in s.alerts:
        if alert.message.startswith(prefix):
            ax.axvline(alert.index, color="#d62728", alpha=0.3, lw=3)


def build_page(s: LogSummary) -> str:
    """A self-contained HTML page of the results log."""
    psi = s.last.get("psi") or {}
    sections = [
        Section("Status", summary_text(s).splitlines()[:5]),
        Section("Drift", [
            "PSI of each image statistic (brightness, contrast per channel, sharpness, "
            "embedding) over the rolling window against the training reference; "
            f"{PSI_WATCH} = watch, {PSI_ACT} = act. Red bands mark alerts."
            if psi else "Drift unavailable: the model carries no drift reference."],
            [Figure("drift", "Worst PSI per image", drift_chart(s))] if psi else []),
        Section("NG rate", [
            "NG share of the rolling window against the model's expected NG rate (binomial "
            "test)." if s.expected_ng_rate is not None
            else "NG-rate test unavailable: the model carries no expected NG rate."],
            [Figure("ng_rate", "NG rate per image", ng_chart(s))]
            if s.expected_ng_rate is not None else []),
    ]
    if psi:
        sections[1].items.append(Table(
            "psi", "PSI per statistic, last window", ["statistic", "PSI"],
            [[k, float(v)] for k, v in sorted(psi.items(), key=lambda kv: -kv[1])]))
    sections.append(Section("Alerts", [] if s.alerts else ["No alerts."], [Table(
        "alerts", "Alerts", ["image #", "time", "file", "alert"],
        [[a.index, a.time, a.file, a.message] for a in s.alerts])] if s.alerts else []))
    sections.append(Section("Latency", [], [Table(
        "latency", "Milliseconds per stage", ["stage", "p50", "p95", "p99"],
        [[k, *v] for k, v in s.latency_ms.items()])]))
    if s.errors:
        sections.append(Section("Unreadable or failed", [], [Table(
            "errors", "Files not inspected", ["file", "reason"], [list(e) for e in s.errors])]))
    return render_html(f"Line monitor: {s.path}", sections)
