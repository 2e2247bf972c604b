"""The figures of the segmentation report (PNG, via matplotlib's Agg backend).

Each function returns a :class:`visionseg.report.document.Figure`, or None when the fit has
nothing to draw (one segment, no hierarchy, no transactions).
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_samples

from visionseg.report.document import Figure
from visionseg.tabular.algorithms.base import NOISE
from visionseg.tabular.naming import NOISE_NAME
from visionseg.tabular.plots import colours, figure
from visionseg.tabular.results import FitResult


def _segment_label(result: FitResult, seg: int) -> str:
    names = {s: n.name for s, n in result.model.names.items()}
    return f"{seg}: {names.get(seg, NOISE_NAME if seg == NOISE else seg)}"


def k_selection_figure(result: FitResult) -> Figure | None:
    table = result.k_selection.table
    panels = [("inertia", "within-segment sum of squares"), ("silhouette", "silhouette (sample)"),
              ("davies_bouldin", "Davies-Bouldin (lower is better)"),
              ("calinski_harabasz", "Calinski-Harabasz"), ("gap", "gap statistic"),
              ("bic", "BIC / AIC (mixtures)")]
    panels = [p for p in panels if p[0] in table and table[p[0]].notna().any()]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.3 * len(panels), 3.0), squeeze=False)
    chosen = result.k_selection.k
    for ax, (col, title) in zip(axes[0], panels, strict=True):
        ax.plot(table["k"], table[col], "o-", color="#1f77b4")
        if col == "gap" and "gap_se" in table:
            ax.errorbar(table["k"], table["gap"], yerr=table["gap_se"], fmt="none", color="#999")
        if col == "bic" and "aic" in table:
            ax.plot(table["k"], table["aic"], "s--", color="#ff7f0e", label="AIC")
            ax.legend(fontsize=7)
        if col == "inertia" and result.k_selection.elbow_k is not None:
            elbow = table[table["k"] == result.k_selection.elbow_k]
            ax.plot(elbow["k"], elbow["inertia"], "*", color="#d62728", markersize=14,
                    label="elbow")
            ax.legend(fontsize=7)
        ax.axvline(chosen, color="#2ca02c", linestyle=":", linewidth=1.5)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("K", fontsize=8)
        ax.tick_params(labelsize=7)
    return figure("k_selection", "criteria per K; green line: the chosen K", fig)


def silhouette_figure(result: FitResult) -> Figure | None:
    X, labels = result.matrix_sample, result.labels_sample
    keep = labels != NOISE
    segs = np.unique(labels[keep])
    if len(segs) < 2 or keep.sum() <= len(segs):
        return None
    values = silhouette_samples(X[keep], labels[keep])
    fig, ax = plt.subplots(figsize=(6, 4))
    y = 0
    for seg, colour in zip(segs, colours(len(segs)), strict=True):
        part = np.sort(values[labels[keep] == seg])
        ax.fill_betweenx(np.arange(y, y + len(part)), 0, part, color=colour, alpha=0.8)
        ax.text(-0.05, y + len(part) / 2, str(seg), fontsize=8, ha="right", va="center")
        y += len(part) + 10
    ax.axvline(values.mean(), color="#d62728", linestyle="--", label=f"mean {values.mean():.3f}")
    ax.set_xlabel("silhouette value")
    ax.set_yticks([])
    ax.legend(fontsize=8)
    ax.set_title(f"silhouette per customer ({keep.sum()} sampled)", fontsize=9)
    return figure("silhouette", "silhouette per customer, by segment", fig)


def pca_figure(result: FitResult) -> Figure | None:
    X, labels = result.matrix_sample, result.labels_sample
    if X.shape[1] < 2 or len(X) < 3:
        return None
    pca = PCA(n_components=2, random_state=0).fit(X)
    points = pca.transform(X)
    segs = np.unique(labels)
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    for seg, colour in zip(segs, colours(len(segs)), strict=True):
        mask = labels == seg
        ax.scatter(points[mask, 0], points[mask, 1], s=6, alpha=0.6,
                   color="#999" if seg == NOISE else colour, label=_segment_label(result, seg))
    ratio = pca.explained_variance_ratio_
    ax.set_xlabel(f"PC1 ({ratio[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 ({ratio[1]:.0%} of variance)")
    ax.legend(fontsize=7, markerscale=2, loc="best")
    ax.set_title(f"2-D PCA map of {len(X)} sampled customers", fontsize=9)
    return figure("pca_map", "2-D PCA map of sampled customers by segment", fig)


def profile_figures(result: FitResult) -> list[Figure]:
    profiles = result.profiles
    figures = []
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    x = np.arange(len(profiles))
    ax.bar(x - 0.2, profiles["share"], width=0.4, label="share of customers")
    if "revenue_share" in profiles:
        ax.bar(x + 0.2, profiles["revenue_share"], width=0.4, label="share of revenue")
    ax.set_xticks(x, [_segment_label(result, int(s)) for s in profiles["segment"]], rotation=20,
                  ha="right", fontsize=7)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(fontsize=8)
    figures.append(figure("size_revenue", "share of customers and of revenue per segment", fig))
    numeric = result.model.numeric
    if numeric:
        scaled = pd.DataFrame(result.matrix_sample[:, : len(numeric)], columns=numeric)
        z = scaled.groupby(result.labels_sample).mean().sub(scaled.mean()).div(
            scaled.std(ddof=0).replace(0, 1))
        fig, ax = plt.subplots(figsize=(1.0 + 0.9 * len(numeric), 0.6 + 0.45 * len(z)))
        limit = max(1.0, float(np.nanmax(np.abs(z.to_numpy()))))
        image = ax.imshow(z.to_numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        ax.set_xticks(range(len(numeric)), numeric, rotation=30, ha="right", fontsize=7)
        ax.set_yticks(range(len(z)), [_segment_label(result, int(s)) for s in z.index],
                      fontsize=7)
        for (i, j), value in np.ndenumerate(z.to_numpy()):
            ax.text(j, i, f"{value:+.1f}", ha="center", va="center", fontsize=6)
        fig.colorbar(image, ax=ax, label="z-score vs all customers")
        figures.append(figure("zscores", "segment means against all customers (z-scores on "
                              "the preprocessed scale)", fig))
    return figures


def dendrogram_figure(result: FitResult) -> Figure | None:
    tree = getattr(result.model.clusterer, "linkage_", None)
    if tree is None:
        return None
    from scipy.cluster.hierarchy import dendrogram

    fig, ax = plt.subplots(figsize=(7, 3.5))
    dendrogram(tree, truncate_mode="lastp", p=30, ax=ax, no_labels=True, color_threshold=None)
    k = result.model.metadata.get("k", 0)
    if k >= 2:
        heights = np.sort(tree[:, 2])
        ax.axhline((heights[-k] + heights[-k + 1]) / 2, color="#d62728", linestyle="--",
                   label=f"cut into {k} segments")
        ax.legend(fontsize=8)
    ax.set_title(f"dendrogram ({result.model.clusterer.name} linkage, last 30 merges)",
                 fontsize=9)
    return figure("dendrogram", "dendrogram of the hierarchical fit", fig)


def retention_figure(result: FitResult) -> Figure | None:
    table = result.retention
    if table is None or table.empty:
        return None
    months = [c for c in table.columns if c.startswith("m")]
    overall = table[table["segment"] == "all"].set_index("cohort")[months]
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.8 + 0.25 * max(len(overall), 8)))
    grid = np.ma.masked_invalid(overall.to_numpy(dtype=float))
    axes[0].imshow(grid, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    axes[0].set_xticks(range(len(months)), months, fontsize=6)
    axes[0].set_yticks(range(len(overall)), overall.index, fontsize=6)
    axes[0].set_title("retention by first-purchase month (all customers)", fontsize=9)
    curves = segment_retention(table)
    for seg, colour in zip(curves.index, colours(len(curves)), strict=True):
        axes[1].plot(range(len(months)), curves.loc[seg, months].to_numpy(dtype=float), "o-",
                     markersize=3, color=colour, label=_segment_label(result, int(seg)))
    axes[1].set_xticks(range(len(months)), months, fontsize=6)
    axes[1].set_ylim(0, 1.05)
    axes[1].set_title("mean retention by months since first purchase, per segment", fontsize=9)
    axes[1].legend(fontsize=7)
    return figure("retention", "cohort retention, overall and per segment", fig)


def segment_retention(table: pd.DataFrame) -> pd.DataFrame:
    """Per segment, retention by months since first purchase, averaged over its cohorts
    (weighted by cohort size, over the cohorts observed that long)."""
    months = [c for c in table.columns if c.startswith("m")]
    per = table[table["segment"] != "all"]
    rows = {}
    for seg, part in per.groupby("segment"):
        weights = part["customers"].to_numpy(dtype=float)
        values = part[months].to_numpy(dtype=float)
        observed = np.sum(weights[:, None] * ~np.isnan(values), axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            rows[seg] = np.where(observed > 0, np.nansum(values * weights[:, None], axis=0)
                                 / observed, np.nan)
    curves = pd.DataFrame.from_dict(rows, orient="index", columns=months)
    curves.index.name = "segment"
    return curves.sort_index()


def order_value_figure(result: FitResult) -> Figure | None:
    sample = result.order_sample
    if sample is None or sample.empty:
        return None
    segs = sorted(s for s in sample["segment"].dropna().unique())
    data = [np.clip(sample.loc[sample["segment"] == s, "amount"].to_numpy(), 0.01, None)
            for s in segs]
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    ax.boxplot(data, showfliers=False)
    ax.set_xticks(range(1, len(segs) + 1), [_segment_label(result, int(s)) for s in segs],
                  rotation=20, ha="right", fontsize=7)
    ax.set_yscale("log")
    threshold = float(result.config["cohorts"]["high_value_amount"])
    ax.axhline(threshold, color="#d62728", linestyle="--", label=f"{threshold:g}")
    ax.set_ylabel("order value")
    ax.legend(fontsize=8)
    return figure("order_values", "order values per segment (log scale)", fig)
