"""Faults of issue 22, customer side: each bad input gives one ``error:`` line naming the
file or setting and what is wrong, exit code 2, and no output; valid but unusual input
(mixed date formats, a single customer) just works."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import joblib
import pandas as pd
import pytest

from visionseg.tabular.campaign import main as campaign_main
from visionseg.tabular.cleaning import ColumnMap, clean_transactions
from visionseg.tabular.cli import main as fit_main
from visionseg.tabular.io import ReaderOptions
from visionseg.tabular.score import main as score_main
from visionseg.tabular.synthetic import planted_transactions

FAST = ["stability.rounds=0", "k_selection.gap_references=0", "report.sample=200",
        "k_selection.k_max=4", "k_selection.stability_rounds=0", "algorithm=kmeans"]
CUSTOMERS = 150


def _one_error(err: str) -> str:
    """The single ``error:`` line of a failed run (and no traceback)."""
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("faults")


@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    return planted_transactions(CUSTOMERS, seed=7)[0]


@pytest.fixture(scope="module")
def mixed_dates_csv(root, transactions) -> Path:
    """Every other row dated dd/mm/yyyy (days above 12 included), the rest ISO."""
    tx = transactions.copy()
    iso = tx["date"].dt.strftime("%Y-%m-%d")
    european = tx["date"].dt.strftime("%d/%m/%Y")
    tx["date"] = iso.where(tx.index % 2 == 0, european)
    path = root / "mixed_dates.csv"
    tx.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def fitted(root, mixed_dates_csv) -> tuple[Path, int, str]:
    """One fit on the mixed-date file: (output folder, exit code, console)."""
    out = root / "fit"
    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer):
        rc = fit_main([f"input={mixed_dates_csv}", f"output={out}", "k=3", *FAST])
    return out, rc, buffer.getvalue()


# 1. mixed date formats


def test_mixed_iso_and_day_month_dates_are_all_read(fitted, transactions):
    out, rc, err = fitted
    assert rc == 0, err
    assignments = pd.read_csv(out / "assignments.csv")
    assert len(assignments) == CUSTOMERS
    half = len(transactions) // 2
    assert f"{half} as ISO8601" in err and f"{len(transactions) - half} as %d/%m/%Y" in err, err
    assert "0 dropped" in err, err


def test_more_unparseable_rows_than_allowed_are_refused(root, transactions, capsys):
    tx = transactions.astype({"date": "str"})
    tx.loc[tx.index[:200], "date"] = "someday"  # 10 % of the rows
    path = root / "bad_dates.csv"
    tx.to_csv(path, index=False)
    out = root / "refused"
    rc = fit_main([f"input={path}", f"output={out}", *FAST])
    line = _one_error(capsys.readouterr().err)
    assert rc == 2
    assert str(path) in line and "reader.max_dropped_share=0.05" in line, line
    assert "200 of 2000 rows" in line, line
    assert not out.exists()


def test_raising_the_share_allows_the_drop(transactions):
    tx = transactions.astype({"date": "str"})
    tx.loc[tx.index[:200], "date"] = "someday"
    with pytest.raises(Exception, match="max_dropped_share"):
        clean_transactions(tx, ColumnMap(), "t.csv")
    kept, dq = clean_transactions(tx, ColumnMap(), "t.csv",
                                  reader=ReaderOptions(max_dropped_share=0.2))
    assert len(kept) == 1800 and sum(dq.dropped.values()) == 200


@pytest.mark.parametrize("value", ["1.5", "-0.1"])
def test_max_dropped_share_is_range_checked(root, value, capsys):
    rc = fit_main(["input=x.csv", f"output={root / 'never'}", f"reader.max_dropped_share={value}"])
    assert rc == 2
    assert f"reader.max_dropped_share={value} is out of range" in _one_error(
        capsys.readouterr().err)


# 2. a saved model with a field missing


@pytest.mark.parametrize(("part", "field"), [("model", "drift"),
                                             ("model.preprocessor", "transformer")])
def test_model_with_a_missing_field_names_it_and_says_refit(root, fitted, mixed_dates_csv,
                                                            part, field, capsys):
    out, rc, err = fitted
    assert rc == 0, err
    payload = joblib.load(out / "model.joblib")
    owner = payload["model"]
    if part == "model.preprocessor":
        owner = owner.preprocessor
    del owner.__dict__[field]
    edited = root / f"edited_{field}.joblib"
    joblib.dump(payload, edited)
    output = root / f"edited_{field}_scores.csv"
    rc = score_main([f"model={edited}", f"input={mixed_dates_csv}", f"output={output}"])
    line = _one_error(capsys.readouterr().err)
    assert rc == 2
    assert f"field {field!r}" in line and "missing" in line and "refit" in line, line
    assert str(edited) in line, line
    assert not output.exists() and not output.with_name(output.stem + ".drift.json").exists()


# 3. one customer


@pytest.fixture(scope="module")
def one_customer_csv(root, transactions) -> Path:
    tx = transactions[transactions["customer_id"] == transactions["customer_id"].iloc[0]]
    path = root / "one_customer.csv"
    tx.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("command", ["score", "campaign"])
def test_one_customer_is_scored(command, root, fitted, one_customer_csv, capsys):
    out, rc, err = fitted
    assert rc == 0, err
    output = root / f"one_{command}.csv"
    main = score_main if command == "score" else campaign_main
    rc = main([f"model={out / 'model.joblib'}", f"input={one_customer_csv}",
               f"output={output}"])
    assert rc == 0, capsys.readouterr().err
    assert len(pd.read_csv(output)) == 1


# 4. latin-1 bytes in a UTF-8 file


def test_latin1_bytes_name_the_line_and_the_setting(root, capsys):
    path = root / "latin1.csv"
    rows = ["customer_id,date,amount"] + [f"c{i},2024-01-0{1 + i % 9},10.5" for i in range(40)]
    rows[30] = "M\u00fcller,2024-01-05,12.0"
    path.write_bytes(("\n".join(rows) + "\n").encode("latin-1"))
    out = root / "latin1_out"
    rc = fit_main([f"input={path}", f"output={out}", *FAST])
    line = _one_error(capsys.readouterr().err)
    assert rc == 2
    assert str(path) in line and "line 31" in line and "reader.encoding=latin-1" in line, line
    assert not out.exists()


# 5. settings not range-checked


@pytest.mark.parametrize(("override", "fragment"), [
    ("k=2.5", "k=2.5 must be auto or a whole number"),
    ("k=1", "k=1 is out of range"),
    ("preprocess.winsorize=[0.99,0.01]", "preprocess.winsorize=[0.99, 0.01] is out of range"),
    ("preprocess.winsorize=[0.5,0.5]", "preprocess.winsorize=[0.5, 0.5] is out of range"),
])
def test_bad_settings_are_refused_by_name(root, override, fragment, capsys):
    out = root / "never_written"
    rc = fit_main(["input=x.csv", f"output={out}", override])
    assert rc == 2
    assert fragment in _one_error(capsys.readouterr().err)
    assert not out.exists()
