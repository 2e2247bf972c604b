"""The segmentation report: a self-contained HTML page (plots embedded as base64 PNG) and a
Markdown twin with the same tables.

Sections: data and windows, K selection (table and plots, with the rule's reason), segment
profiles (names, actions, size vs revenue, distinguishing-feature heatmap), separation
(silhouette plot, 2-D PCA map, Kruskal-Wallis with effect sizes), stability, external
validation, cohorts and order values, drift against a previous model.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.metrics import silhouette_samples  # noqa: E402

from visionseg.tabular.algorithms.base import NOISE  # noqa: E402
from visionseg.tabular.pipeline import FitResult  # noqa: E402

PROFILE_COLUMNS = ("segment", "name", "size", "share", "revenue", "revenue_share",
                   "mean_membership", "stability_jaccard", "validation_retention",
                   "validation_revenue_per_customer", "distinguishing", "action")
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1150px;
color:#222;line-height:1.45}
h1{border-bottom:2px solid #444}h2{margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85em;margin:.8em 0}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f0f0f0}td.text,th.text{text-align:left}
img{max-width:100%;display:block;margin:.6em 0}.note{color:#555;font-size:.9em}
"""


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _colours(n: int) -> list:
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(n)]


def _segment_label(result: FitResult, seg: int) -> str:
    names = {s: n for s, (n, _) in result.model.names.items()}
    return f"{seg}: {names.get(seg, 'noise' if seg == NOISE else seg)}"


def k_selection_figure(result: FitResult) -> str:
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
    return _png(fig)


def silhouette_figure(result: FitResult) -> str | None:
    X, labels = result.matrix_sample, result.labels_sample
    keep = labels != NOISE
    segs = np.unique(labels[keep])
    if len(segs) < 2 or keep.sum() <= len(segs):
        return None
    values = silhouette_samples(X[keep], labels[keep])
    fig, ax = plt.subplots(figsize=(6, 4))
    y = 0
    for seg, colour in zip(segs, _colours(len(segs)), strict=True):
        part = np.sort(values[labels[keep] == seg])
        ax.fill_betweenx(np.arange(y, y + len(part)), 0, part, color=colour, alpha=0.8)
        ax.text(-0.05, y + len(part) / 2, str(seg), fontsize=8, ha="right", va="center")
        y += len(part) + 10
    ax.axvline(values.mean(), color="#d62728", linestyle="--", label=f"mean {values.mean():.3f}")
    ax.set_xlabel("silhouette value")
    ax.set_yticks([])
    ax.legend(fontsize=8)
    ax.set_title(f"silhouette per customer ({keep.sum()} sampled)", fontsize=9)
    return _png(fig)


def pca_figure(result: FitResult) -> str | None:
    X, labels = result.matrix_sample, result.labels_sample
    if X.shape[1] < 2 or len(X) < 3:
        return None
    pca = PCA(n_components=2, random_state=0).fit(X)
    points = pca.transform(X)
    segs = np.unique(labels)
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    for seg, colour in zip(segs, _colours(len(segs)), strict=True):
        mask = labels == seg
        ax.scatter(points[mask, 0], points[mask, 1], s=6, alpha=0.6,
                   color="#999" if seg == NOISE else colour, label=_segment_label(result, seg))
    ratio = pca.explained_variance_ratio_
    ax.set_xlabel(f"PC1 ({ratio[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 ({ratio[1]:.0%} of variance)")
    ax.legend(fontsize=7, markerscale=2, loc="best")
    ax.set_title(f"2-D PCA map of {len(X)} sampled customers", fontsize=9)
    return _png(fig)


def profile_figures(result: FitResult) -> list[str]:
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
    figures.append(_png(fig))
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
        figures.append(_png(fig))
    return figures


def dendrogram_figure(result: FitResult) -> str | None:
    tree = getattr(result.model.segmenter, "linkage_", None)
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
    ax.set_title(f"dendrogram ({result.model.segmenter.name} linkage, last 30 merges)",
                 fontsize=9)
    return _png(fig)


def retention_figure(result: FitResult) -> str | None:
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
    for seg, colour in zip(curves.index, _colours(len(curves)), strict=True):
        axes[1].plot(range(len(months)), curves.loc[seg, months].to_numpy(dtype=float), "o-",
                     markersize=3, color=colour, label=_segment_label(result, int(seg)))
    axes[1].set_xticks(range(len(months)), months, fontsize=6)
    axes[1].set_ylim(0, 1.05)
    axes[1].set_title("mean retention by months since first purchase, per segment", fontsize=9)
    axes[1].legend(fontsize=7)
    return _png(fig)


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


def order_value_figure(result: FitResult) -> str | None:
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
    threshold = float((result.config.get("cohorts") or {}).get("high_value_amount", 100))
    ax.axhline(threshold, color="#d62728", linestyle="--", label=f"{threshold:g}")
    ax.set_ylabel("order value")
    ax.legend(fontsize=8)
    return _png(fig)


def _fmt(value) -> str:
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return ""
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def html_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th class='{_cls(frame[c])}'>{html.escape(str(c))}</th>"
                   for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = "".join(f"<td class='{_cls(frame[c])}'>{html.escape(_fmt(row[c]))}</td>"
                        for c in frame.columns)
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _cls(column: pd.Series) -> str:
    return "" if pd.api.types.is_numeric_dtype(column) else "text"


def markdown_table(frame: pd.DataFrame) -> str:
    def cell(value) -> str:
        return _fmt(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(str(c) for c in frame.columns) + " |",
             "|" + "|".join("---" for _ in frame.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def _sections(result: FitResult, images: bool = True
              ) -> list[tuple[str, list[str], list[pd.DataFrame], list[str]]]:
    """(title, paragraphs, tables, images) per section, shared by HTML and Markdown; plots
    are drawn only when ``images`` is true."""

    def draw(*makers) -> list[str]:
        if not images:
            return []
        drawn = []
        for maker in makers:
            out = maker(result)
            drawn += out if isinstance(out, list) else [out] if out else []
        return drawn

    meta = result.model.metadata
    dq = result.quality
    sections = []
    paragraphs = [f"Input {dq.source}: {dq.rows_read} rows read, {dq.rows_used} used, "
                  f"{len(result.features)} customers segmented."]
    if result.windows is not None:
        paragraphs.append(f"Reference date {meta['reference_date']}; {result.windows.describe()}.")
    paragraphs += [f"- {note}" for note in dq.notes]
    paragraphs.append(
        f"Features clustered: {', '.join(result.model.numeric + result.model.categorical)}; "
        f"skew-corrected: {', '.join(meta['skewed_columns']) or 'none'}.")
    sections.append(("Data", paragraphs, [], []))

    table = result.k_selection.table.copy()
    sections.append(("Choosing K", [
        f"Algorithm: {meta['algorithm']}. {result.k_selection.reason}",
        "Rule (k=auto): the elbow of explained variance and the gap statistic each nominate a "
        "K; a K qualifies only if every segment holds the minimum share of customers; among "
        "the qualifying nominees the best mean rank over silhouette, Davies-Bouldin, "
        "Calinski-Harabasz (and BIC for mixtures) wins. Silhouette alone is not used because "
        "it favours K=2.",
    ], [table], draw(k_selection_figure)))

    cols = [c for c in PROFILE_COLUMNS if c in result.profiles]
    feature_cols = [c for c in result.profiles.columns if c.endswith(("_median", "_top"))]
    sections.append(("Segments", [
        f"Confidence per customer: {meta['membership']}.",
    ], [result.profiles[cols], result.profiles[["segment", "name", *feature_cols]]],
        draw(profile_figures, dendrogram_figure)))

    sep = result.separation
    separation_text = (f"Silhouette {sep['silhouette']:.3f}, Davies-Bouldin "
                       f"{sep['davies_bouldin']:.3f}, Calinski-Harabasz "
                       f"{sep['calinski_harabasz']:.1f} (all customers, silhouette on a sample).")
    sections.append(("Separation", [
        separation_text,
        "Kruskal-Wallis test per feature across segments; effect size eta^2_H (0.01 small, "
        "0.06 medium, 0.14 large). With many customers every p-value is tiny; read the effect "
        "size.",
    ], [result.kruskal], draw(silhouette_figure, pca_figure)))

    if result.stability is not None:
        stab = result.stability
        jac = stab.jaccard.rename("mean Jaccard").reset_index()
        sections.append(("Stability", [
            stab.summary() + ". Per-segment Jaccard: below 0.6 the segment does not reproduce, "
            "above 0.75 it is stable.",
        ], [jac], []))

    if "validation_retention" in result.profiles:
        sections.append(("External validation", [
            "Retention and revenue of each segment in the validation window, which was not "
            "used for fitting: good segments differ here too.",
        ], [result.profiles[["segment", "name", "size", "validation_retention",
                             "validation_revenue_per_customer"]]], []))

    if result.retention is not None:
        overall = result.retention[result.retention["segment"] == "all"].drop(columns="segment")
        curves = segment_retention(result.retention).reset_index()
        curves.insert(1, "name", [_segment_label(result, int(s)).split(": ", 1)[1]
                                  for s in curves["segment"]])
        sections.append(("Cohorts and order values", [
            "Retention: share of each first-purchase cohort (month) buying in month m after it; "
            "months after the end of the data are left empty. Per segment: the same averaged "
            "over its cohorts. Order values per segment, with the share of orders above the "
            "configured amount.",
        ], [overall, curves, result.order_values], draw(retention_figure, order_value_figure)))

    if result.drift_features is not None:
        value, shares = result.drift_segments
        sections.append(("Drift against the previous model", [
            f"Segment ids matched to the previous model (Hungarian matching on shared "
            f"customers): {result.relabel_map}. Segment-share PSI {value:.3f}. PSI < 0.1 "
            "stable, 0.1-0.25 moderate, > 0.25 significant shift.",
        ], [result.drift_features, shares], []))
    return sections


def render_html(result: FitResult) -> str:
    title = html.escape(str((result.config.get("report") or {}).get("title",
                                                                      "Customer segmentation")))
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
             f"<style>{CSS}</style></head><body><h1>{title}</h1>",
             f"<p class='note'>visionseg.tabular, created {result.model.metadata['created']}"
             "</p>"]
    for name, paragraphs, tables, images in _sections(result):
        parts.append(f"<h2>{html.escape(name)}</h2>")
        bullets = [p[2:] for p in paragraphs if p.startswith("- ")]
        for paragraph in paragraphs:
            if not paragraph.startswith("- "):
                parts.append(f"<p>{html.escape(paragraph)}</p>")
        if bullets:
            parts.append("<ul>" + "".join(f"<li>{html.escape(b)}</li>" for b in bullets)
                         + "</ul>")
        parts += [html_table(t) for t in tables]
        parts += [f"<img alt='{html.escape(name)}' src='data:image/png;base64,{img}'>"
                  for img in images]
    parts.append("</body></html>")
    return "\n".join(parts)


def render_markdown(result: FitResult) -> str:
    title = (result.config.get("report") or {}).get("title", "Customer segmentation")
    blocks = [f"# {title}",
              f"Created {result.model.metadata['created']}; plots are in report.html."]
    for name, paragraphs, tables, _ in _sections(result, images=False):
        blocks.append(f"## {name}")
        bullets: list[str] = []
        for paragraph in paragraphs:
            if paragraph.startswith("- "):
                bullets.append(paragraph)
                continue
            if bullets:
                blocks.append("\n".join(bullets))
                bullets = []
            blocks.append(paragraph)
        if bullets:
            blocks.append("\n".join(bullets))
        blocks += [markdown_table(table) for table in tables]
    return "\n\n".join(blocks) + "\n"


def summary_lines(result: FitResult) -> Sequence[str]:
    """A few lines for the console."""
    lines = []
    for row in result.profiles.itertuples(index=False):
        lines.append(f"  segment {row.segment}: {row.name} ({row.size} customers, "
                     f"{row.share:.1%})")
    return lines
