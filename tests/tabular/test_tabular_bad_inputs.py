"""The whole bad-input matrix of the tabular commands, good cases included: every bad input
gives one ``error:`` line naming the problem, exit code 2, and no output."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from visionseg.tabular.cli import main as fit_main
from visionseg.tabular.score import main as score_main

FAST = ["stability.rounds=0", "k_selection.gap_references=0", "report.sample=200",
        "k_selection.k_max=4", "k_selection.stability_rounds=0"]


def _planted(root: Path, planted) -> Path:
    path = root / "planted.csv"
    planted[0].to_csv(path, index=False)
    return path


def _late(root: Path, planted) -> Path:
    tx = planted[0].copy()
    late = tx.head(4).assign(date=pd.Timestamp("2031-05-01"))
    path = root / "late.csv"
    pd.concat([tx, late]).to_csv(path, index=False)
    return path


def _identical(root: Path, planted) -> Path:
    rows = [(f"c{i}", d, 20.0) for i in range(30) for d in ("2024-01-05", "2024-03-05")]
    path = root / "identical.csv"
    pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).to_csv(path, index=False)
    return path


def _two_kinds(root: Path, planted) -> Path:
    rows = [(f"a{i}", "2024-01-05", 20.0) for i in range(5)]
    rows += [(f"b{i}", "2024-06-05", 90.0) for i in range(5)]
    path = root / "two_kinds.csv"
    pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).to_csv(path, index=False)
    return path


def _text_amounts(root: Path, planted) -> Path:
    path = root / "text_amounts.csv"
    planted[0].assign(amount="ten dollars").to_csv(path, index=False)
    return path


def _customers(root: Path, planted, spend: Callable[[int], object] = float) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"customer_id": [f"k{i}" for i in range(60)],
                          "spend": [spend(v) for v in rng.gamma(2, 50, 60).round(2)],
                          "visits": rng.poisson(5, 60)})
    path = root / ("customers.csv" if spend is float else "customers_text.csv")
    frame.to_csv(path, index=False)
    return path


def _returns_only(root: Path, planted) -> Path:
    tx = planted[0].copy()
    returners = tx["customer_id"].isin(tx["customer_id"].unique()[:25])
    tx.loc[returners, "amount"] = -tx.loc[returners, "amount"]
    path = root / "returns_only.csv"
    tx.to_csv(path, index=False)
    return path


def _empty(root: Path, planted) -> Path:
    path = root / "empty.csv"
    path.write_text("customer_id,date,amount\n")
    return path


FIT_CASES = {
    # name: (make input, extra overrides, expected exit code, fragment of the message)
    "good": (_planted, [], 0, None),
    "late rows excluded": (_late, [], 0, None),
    "late rows strict": (_late, ["strict=true"], 2, "rows dated after"),
    "returns-only customers": (_returns_only, ["k_selection.k_max=8"], 0, None),
    "missing column": (_planted, ["columns.amount=price"], 2, "missing column(s) ['price']"),
    "identical customers": (_identical, [], 2, "all 30 customers have identical features"),
    "k above distinct customers": (_two_kinds, ["k=3"], 2, "only 2 customers differ"),
    "text amounts": (_text_amounts, [], 2, "column 'amount' holds text"),
    "text in numeric customer column": (
        lambda r, p: _customers(r, p, spend=lambda v: "lots"),
        ["input_kind=customers", "columns.numeric=[spend,visits]"], 2,
        "column 'spend' holds text"),
    "share out of range": (_planted, ["k_selection.min_segment_share=2"], 2,
                           "k_selection.min_segment_share=2 is out of range"),
    "k_max below k_min": (_planted, ["k_selection.k_min=5", "k_selection.k_max=3"], 2,
                          "k_max must be at least"),
    "unknown setting": (_planted, ["colour=red"], 2, "bad configuration"),
    "missing naming file": (_planted, ["naming.rules=/nonexistent/rules.yaml"], 2,
                            "file not found"),
    "empty table": (_empty, [], 2, "empty"),
}


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("matrix")


def _fit(case: str, root: Path, planted) -> tuple[Path, int]:
    """Fit the matrix case once per module (the later tests read its outputs too)."""
    make, overrides, _, _ = FIT_CASES[case]
    out = root / f"out_{case.replace(' ', '_')}"
    rc = fit_main([f"input={make(root, planted)}", f"output={out}", *FAST, *overrides])
    return out, rc


def _fitted(case: str, root: Path, planted) -> Path:
    """The outputs of a case that must fit, fitting it when this test runs alone."""
    out = root / f"out_{case.replace(' ', '_')}"
    if not (out / "report.md").is_file():
        assert _fit(case, root, planted)[1] == 0
    return out


@pytest.mark.parametrize("case", FIT_CASES)
def test_fit_matrix(case, root, planted, capsys):
    _, _, code, fragment = FIT_CASES[case]
    out, rc = _fit(case, root, planted)
    err = capsys.readouterr().err
    assert rc == code, err
    if code == 0:
        assert (out / "model.joblib").is_file() and (out / "report.md").is_file()
        report = (out / "report.md").read_text()
        assert ("Rows dropped or adjusted" in report) == (case != "good")
        return
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and fragment in errors[0], err
    assert "Traceback" not in err and not out.exists()


def test_late_rows_are_counted_and_do_not_move_the_reference_date(root, planted):
    late_out, good_out = _fitted("late rows excluded", root, planted), _fitted("good", root,
                                                                                planted)
    report = (late_out / "report.md").read_text()
    assert "4 rows dated after" in report and "2031-05-01" in report
    assert "Reference date 2025-01-01" in report
    good = pd.read_csv(good_out / "assignments.csv")
    late = pd.read_csv(late_out / "assignments.csv")
    assert (good["name"].value_counts().sort_index() ==
            late["name"].value_counts().sort_index()).all()


def test_returns_only_customers_are_named_for_what_they_are(root, planted):
    out = _fitted("returns-only customers", root, planted)
    profiles = pd.read_csv(out / "profiles.csv")
    negative = profiles[profiles["monetary_median"] <= 0]
    assert len(negative) >= 1 and (negative["name"].str.startswith("net returners")).all()
    report = (out / "report.md").read_text()
    assert "negative amounts netted against revenue" in report


def _model(root: Path) -> Path:
    return root / "out_good" / "model.joblib"


SCORE_CASES = {
    "good": (lambda r: _model(r), "planted.csv", 0, None),
    "unknown format": (lambda r: _dump(r, {"format": 99, "model": None}), "planted.csv", 2,
                       "incompatible model: refit"),
    "another layout": (lambda r: _old_layout(r), "planted.csv", 2,
                       "incompatible model: refit"),
    "previous format": (lambda r: _dump(r, {"format": 2, "model": None}), "planted.csv", 2,
                        "incompatible model: refit (model format 2"),
    "previous drift class": (lambda r: _old_layout(r, "drift", "DriftReference"), "planted.csv",
                             2, "incompatible model: refit"),
    "not a model": (lambda r: _dump(r, [1, 2, 3]), "planted.csv", 2, "not a visionseg"),
    "text amounts": (lambda r: _model(r), "text_amounts.csv", 2, "column 'amount' holds text"),
}


def _dump(root: Path, payload) -> Path:
    path = root / "odd.joblib"
    joblib.dump(payload, path)
    return path


def _old_layout(root: Path, module: str = "algorithms.partitional",
                name: str = "KMeansSegmenter") -> Path:
    """A pickle of a class of an earlier layout: the first one's clusterers were called
    ...Segmenter; format 2's drift reference was ``drift.DriftReference``."""
    path = root / f"old_{name}.joblib"
    path.write_bytes(b"\x80\x04c" + f"visionseg.tabular.{module}\n{name}\n)".encode() + b"\x81.")
    return path


@pytest.mark.parametrize("case", SCORE_CASES)
def test_score_matrix(case, root, planted, capsys):
    test_fit_matrix("good", root, planted, capsys) if not _model(root).exists() else None
    _text_amounts(root, planted)
    model, table, code, fragment = SCORE_CASES[case]
    output = root / f"scores_{case.replace(' ', '_')}.csv"
    rc = score_main([f"model={model(root)}", f"input={root / table}", f"output={output}"])
    err = capsys.readouterr().err
    assert rc == code, err
    if code == 0:
        assert output.is_file() and output.with_name(output.stem + ".drift.json").is_file()
        return
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and fragment in errors[0], err
    assert not output.exists()
