"""The segmentation report as the package's generic report document.

Sections: summary, data, segments and their names, choosing K, separation, stability,
external validation, cohorts and order values, refresh against a previous model. Rendered
by :func:`visionseg.report.html.render_html` (one self-contained page) and
:func:`visionseg.report.markdown.render_markdown` (figures as PNG files beside it).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from visionseg.report.document import Figure, Section
from visionseg.report.html import render_html
from visionseg.report.markdown import render_markdown
from visionseg.tabular.plots import frame_table
from visionseg.tabular.report_figures import (
    dendrogram_figure,
    k_selection_figure,
    order_value_figure,
    pca_figure,
    profile_figures,
    retention_figure,
    segment_retention,
    silhouette_figure,
)
from visionseg.tabular.results import FitResult

PROFILE_COLUMNS = ("segment", "name", "size", "share", "revenue", "revenue_share",
                   "mean_membership", "stability_jaccard", "validation_retention",
                   "validation_revenue_per_customer", "distinguishing")
NAMING_COLUMNS = ("segment", "name", "naming_rule", "recency_days_median", "recency_cycles",
                  "frequency_median", "monetary_median", "r_score", "f_score", "m_score")
FIGURE_DIR = "figures"


def _figures(*made: Figure | list[Figure] | None) -> list[Figure]:
    out: list[Figure] = []
    for item in made:
        out += item if isinstance(item, list) else [item] if item is not None else []
    return out


def summary_section(result: FitResult) -> Section:
    meta = result.model.metadata
    paragraphs = [f"{len(result.features):,} customers in {meta['k']} segments "
                  f"({meta['algorithm']}). Each line: who they are, and what to do."]
    for row in result.profiles.itertuples(index=False):
        revenue = (f", {row.revenue_share:.0%} of revenue"
                   if hasattr(row, "revenue_share") else "")
        paragraphs.append(f"Segment {row.segment}, {row.name}: {row.size:,} customers "
                          f"({row.share:.0%}){revenue}. Action: {row.action}.")
    if result.refresh is not None:
        paragraphs.append(result.refresh.summary() + ".")
    return Section("Summary", paragraphs)


def data_section(result: FitResult) -> Section:
    dq, meta = result.quality, result.model.metadata
    paragraphs = [f"Input {dq.source}: {dq.rows_read:,} rows read, "
                  f"{sum(dq.dropped.values()):,} dropped, {dq.rows_used:,} used; "
                  f"{len(result.features):,} customers segmented."]
    if result.windows is not None:
        paragraphs.append(f"Reference date {meta['reference_date']}; "
                          f"{result.windows.describe()}.")
    paragraphs += dq.notes
    paragraphs.append(
        f"Features clustered: {', '.join(result.model.numeric + result.model.categorical)}; "
        f"skew-corrected: {', '.join(meta['skewed_columns']) or 'none'}.")
    items = []
    if dq.row_counts():
        counts = pd.DataFrame(dq.row_counts(), columns=["what", "reason", "rows"])
        items.append(frame_table("row_counts", "Rows dropped or adjusted", counts))
    return Section("Data", paragraphs, items)


def segments_section(result: FitResult, images: bool) -> Section:
    profiles = result.profiles
    cols = [c for c in PROFILE_COLUMNS if c in profiles]
    naming = [c for c in NAMING_COLUMNS if c in profiles]
    features = [c for c in profiles.columns if c.endswith(("_median", "_top"))]
    meta = result.model.metadata
    items = [
        frame_table("profiles", "Segment profiles", profiles[cols]),
        frame_table("names", "Why each segment has its name", profiles[naming],
                    note=f"Rules from {meta['naming_rules']}: the first rule whose every "
                         "condition holds for the segment's medians names it. Recency in "
                         "purchase cycles (the median days between orders of repeat "
                         "customers); R, F, M: quintile scores 1-5 against all customers."),
        frame_table("actions", "Suggested actions", profiles[["segment", "name", "action"]]),
        frame_table("features", "Feature medians per segment",
                    profiles[["segment", "name", *features]]),
    ]
    if images:
        items += _figures(profile_figures(result), dendrogram_figure(result))
    return Section("Segments", [f"Confidence per customer: {meta['membership']}."], items)


def k_section(result: FitResult, images: bool) -> Section:
    meta = result.model.metadata
    paragraphs = [
        f"Algorithm: {meta['algorithm']}. {result.k_selection.reason}",
        "Rule (k=auto): the elbow of explained variance and the gap statistic each nominate a "
        "K; a K qualifies only if every segment holds the minimum share of customers; among "
        "the qualifying nominees the best mean rank over silhouette, Davies-Bouldin, "
        "Calinski-Harabasz (and BIC for mixtures) wins. Silhouette alone is not used because "
        "it favours K=2.",
    ]
    items = [frame_table("k_selection", "Criteria per K", result.k_selection.table,
                         note="stability_ari: mean bootstrap ARI of the candidates the rule "
                              "tried (a K below k_selection.min_stability cannot win)")]
    if images:
        items += _figures(k_selection_figure(result))
    if result.comparison is not None:
        paragraphs.insert(0, f"Algorithm chosen by comparison: {result.comparison.reason}")
        items.insert(0, frame_table(
            "algorithms", "Algorithms compared on the same customers", result.comparison.table,
            note="silhouette in each algorithm's own distance (Gower for mixed-data "
                 "algorithms); small_share: customers in segments under the minimum share or "
                 "in noise; ranked on silhouette, stability and small_share."))
    return Section("Choosing K", paragraphs, items)


def separation_section(result: FitResult, images: bool) -> Section:
    sep = result.separation
    paragraphs = [
        f"Silhouette {sep['silhouette']:.3f}, Davies-Bouldin {sep['davies_bouldin']:.3f}, "
        f"Calinski-Harabasz {sep['calinski_harabasz']:.1f} (all customers, silhouette on a "
        "sample).",
        "Kruskal-Wallis test per feature across segments; effect size eta^2_H (0.01 small, "
        "0.06 medium, 0.14 large). With many customers every p-value is tiny; read the effect "
        "size.",
    ]
    items = [frame_table("kruskal", "Kruskal-Wallis per feature", result.kruskal)]
    if images:
        items += _figures(silhouette_figure(result), pca_figure(result))
    return Section("Separation", paragraphs, items)


def later_sections(result: FitResult, images: bool) -> list[Section]:
    """Stability, external validation, cohorts and refresh, where the fit has them."""
    sections = []
    if result.stability is not None:
        jac = result.stability.jaccard.rename("mean Jaccard").reset_index()
        sections.append(Section("Stability", [
            result.stability.summary() + ". " + result.stability.interpretation(),
            "Per-segment Jaccard: below 0.6 the segment does not reproduce, above 0.75 it is "
            "stable."], [frame_table("stability", "Bootstrap Jaccard per segment", jac)]))
    if "validation_retention" in result.profiles:
        sections.append(validation_section(result))
    if result.retention is not None:
        overall = result.retention[result.retention["segment"] == "all"].drop(columns="segment")
        curves = segment_retention(result.retention).reset_index()
        items = [frame_table("cohorts", "Retention by first-purchase month", overall),
                 frame_table("segment_retention", "Retention per segment", curves),
                 frame_table("order_values", "Order values per segment", result.order_values)]
        if images:
            items += _figures(retention_figure(result), order_value_figure(result))
        sections.append(Section("Cohorts and order values", [
            "Retention: share of each first-purchase cohort (month) buying in month m after "
            "it; months after the end of the data are left empty. Per segment: the same "
            "averaged over its cohorts."], items))
    if result.refresh is not None:
        sections.append(refresh_section(result))
    return sections


def validation_section(result: FitResult) -> Section:
    """The validation window's KPIs per segment, with tests instead of means alone."""
    items = [frame_table("validation", "Validation window per segment", result.profiles[
        ["segment", "name", "size", "validation_retention", "validation_revenue_per_customer"]])]
    items += [frame_table(f"pairs_{test.kpi}", f"{test.kpi}: pairwise Mann-Whitney tests "
                          "(Holm-corrected)", test.pairs) for test in result.kpi_tests]
    return Section("External validation", [
        "Retention and revenue of each segment in the validation window, which was not used "
        "for fitting: good segments differ here too.",
        *(test.sentence() for test in result.kpi_tests),
        "eta^2_H: 0.01 small, 0.06 medium, 0.14 large; rank-biserial r: the share of customer "
        "pairs where segment a is higher minus the share where it is lower."], items)


def refresh_section(result: FitResult) -> Section:
    refresh = result.refresh
    return Section("Refresh against the previous model", [
        f"Segment ids matched to the previous model by Hungarian matching on the Jaccard "
        f"overlap of the customers both assign: new id -> kept id {refresh.mapping}.",
        refresh.summary() + ". Customers changed: the previous model on today's customers "
        "against its training shares. Model changed: the new model against the previous one, "
        "both on today's customers. PSI < 0.1 stable, 0.1-0.25 moderate, > 0.25 significant.",
    ], [frame_table("refresh_shares", "Segment shares: training, old model today, new model "
                    "today", refresh.shares),
        frame_table("refresh_features", "Feature drift since the previous training",
                    refresh.feature_drift)])


def sections(result: FitResult, images: bool = True) -> list[Section]:
    """Every section of the report; plots only when ``images``."""
    return [summary_section(result), data_section(result), segments_section(result, images),
            k_section(result, images), separation_section(result, images),
            *later_sections(result, images)]


def report_figures(doc: list[Section]) -> list[Figure]:
    return [item for section in doc for item in section.items if isinstance(item, Figure)]


def render(result: FitResult) -> tuple[str, str, list[Figure]]:
    """HTML page, Markdown text and the figures the Markdown links to (``figures/KEY.png``)."""
    title = str(result.config["report"]["title"])
    doc = sections(result)
    created = f"visionseg.tabular, created {result.model.metadata['created']}"
    doc[0].paragraphs.insert(0, created)
    return (render_html(title, doc), render_markdown(title, doc, FIGURE_DIR),
            report_figures(doc))


def summary_lines(result: FitResult) -> Sequence[str]:
    """A few lines for the console."""
    return [f"  segment {row.segment}: {row.name} ({row.size} customers, {row.share:.1%})"
            for row in result.profiles.itertuples(index=False)]
