"""Every kind of bad input gets its own clear message (and, through the CLI, no output)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from visionseg.tabular.cleaning import ColumnMap, clean_transactions
from visionseg.tabular.cli import main as fit_main
from visionseg.tabular.config import load_config
from visionseg.tabular.errors import TabularInputError
from visionseg.tabular.fit import fit_segmentation
from visionseg.tabular.io import ReaderOptions, read_table
from visionseg.tabular.pandas_engine import load_features

ROWS = [
    ("c1", "2024-01-03", "10.50"),
    ("c1", "2024-02-03", "20"),
    ("c2", "2024-01-15", "$15"),
    ("c2", "2024-03-01", "7"),
    ("c3", "2024-02-10", "12"),
    ("c3", "2024-02-28", "30"),
]


def write_csv(path: Path, rows, header=("customer_id", "date", "amount")) -> Path:
    pd.DataFrame(rows, columns=list(header)).to_csv(path, index=False)
    return path


def fit_config(*overrides: str) -> dict:
    """The real composed fit config (every caller names the input)."""
    return load_config("fit", ["output=unused", *overrides])


def features_for(path: Path, *overrides: str):
    found = load_features(fit_config(f"input={path}", *overrides))
    return found.features, found.quality, found


def counted(counts: dict[str, int], *words: str) -> int:
    """Rows counted under the reason that contains every one of ``words``."""
    return sum(n for reason, n in counts.items() if all(w in reason for w in words))


def test_missing_column_lists_expected_and_found(tmp_path):
    path = write_csv(tmp_path / "t.csv", ROWS, header=("cust", "date", "amount"))
    with pytest.raises(TabularInputError) as err:
        features_for(path)
    text = str(err.value)
    assert str(path) in text
    assert "missing column(s) ['customer_id']" in text
    assert "expected ['customer_id', 'date', 'amount']" in text
    assert "found ['cust', 'date', 'amount']" in text
    features, _, _ = features_for(path, "columns.customer=cust")
    assert len(features) == 3


def test_unparseable_dates_are_counted_or_refused(tmp_path):
    rows = [*ROWS, ("c4", "2024-13-45", "5"), ("c4", "yesterday", "6"), ("c5", "2024-03-02", "4")]
    path = write_csv(tmp_path / "t.csv", rows)
    # 2 of 9 rows: more than the default reader.max_dropped_share, so it is raised here
    features, dq, _ = features_for(path, "columns.date_format=%Y-%m-%d",
                                   "reader.max_dropped_share=0.5")
    assert "c4" not in features.index
    assert counted(dq.dropped, "unparseable dates", "'2024-13-45'") == 2
    with pytest.raises(TabularInputError, match=r"2 of 9 rows have unparseable dates.*strict"):
        features_for(path, "columns.date_format=%Y-%m-%d", "strict=true")


def test_unparseable_amounts_are_counted_or_refused(tmp_path):
    rows = [*ROWS, ("c4", "2024-03-01", "abc"), ("c4", "2024-03-02", "5")]
    path = write_csv(tmp_path / "t.csv", rows)
    features, dq, _ = features_for(path, "reader.max_dropped_share=0.5")
    assert features.loc["c4", "frequency"] == 1
    assert counted(dq.dropped, "unparseable amounts in column 'amount'", "'abc'") == 1
    with pytest.raises(TabularInputError, match="unparseable amounts"):
        features_for(path, "strict=true")


def test_currency_symbols_and_decimal_commas_are_read(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("customer_id;date;amount\nc1;2024-01-03;€ 10,50\nc2;2024-01-04;3,25\n")
    for sep in ("reader.sep=semicolon", "reader.sep=';'"):
        features, _, _ = features_for(path, sep, "reader.decimal=','")
        assert features.loc["c1", "monetary"] == 10.5
        assert features.loc["c2", "monetary"] == 3.25


def test_negative_amounts_follow_the_returns_policy(tmp_path):
    path = write_csv(tmp_path / "t.csv", [*ROWS, ("c1", "2024-02-04", "-5.5")])
    net, dq, _ = features_for(path, "returns=net")
    assert net.loc["c1", "monetary"] == pytest.approx(25.0)
    assert counted(dq.adjusted, "negative amounts netted") == 1
    dropped, dq, _ = features_for(path, "returns=drop")
    assert dropped.loc["c1", "monetary"] == pytest.approx(30.5)
    assert counted(dq.dropped, "returns=drop") == 1
    with pytest.raises(TabularInputError, match="1 rows have negative amounts"):
        features_for(path, "returns=error")


def test_duplicate_rows_are_dropped_counted_or_refused(tmp_path):
    path = write_csv(tmp_path / "t.csv", [*ROWS, ROWS[0], ROWS[0]])
    features, dq, _ = features_for(path)
    assert features.loc["c1", "frequency"] == 2
    assert dq.dropped == {"duplicate rows (duplicates=drop)": 2}
    kept, _, _ = features_for(path, "duplicates=keep")
    assert kept.loc["c1", "frequency"] == 4
    with pytest.raises(TabularInputError, match="2 duplicate rows"):
        features_for(path, "duplicates=error")


@pytest.mark.parametrize("content", ["", "customer_id,date,amount\n"])
def test_empty_table(tmp_path, content):
    path = tmp_path / "t.csv"
    path.write_text(content)
    with pytest.raises(TabularInputError, match="the table is empty"):
        features_for(path)


def test_single_customer(tmp_path):
    path = write_csv(tmp_path / "t.csv", ROWS[:2])
    with pytest.raises(TabularInputError, match="only one customer"):
        features_for(path)


def test_k_larger_than_the_number_of_customers(tmp_path):
    path = write_csv(tmp_path / "t.csv", ROWS)
    with pytest.raises(TabularInputError, match="k=5 segments asked for, but only 3 customers"):
        fit_segmentation(fit_config(f"input={path}", "k=5"))


def test_missing_file_and_unknown_reader_format(tmp_path):
    with pytest.raises(TabularInputError, match="file not found"):
        read_table(tmp_path / "nope.csv", ReaderOptions())
    path = write_csv(tmp_path / "t.csv", ROWS)
    with pytest.raises(TabularInputError, match="reader.format must be"):
        read_table(path, ReaderOptions(format="xlsx"))


def test_whitespace_text_and_parquet_read_the_same(tmp_path):
    frame = pd.DataFrame(ROWS[:2] + ROWS[3:], columns=["customer_id", "date", "amount"])
    frame["date"] = frame["date"].str.replace("-", "")
    text = tmp_path / "orders.txt"
    text.write_text("customer_id date amount\n" + "\n".join(
        f"  {c}   {d}  {a}" for c, d, a in frame.itertuples(index=False)) + "\n")
    parquet = tmp_path / "orders.parquet"
    frame.to_parquet(parquet)
    columns = ColumnMap(date_format="%Y%m%d")
    a, _ = clean_transactions(read_table(text, ReaderOptions(sep="whitespace")), columns, "t")
    b, _ = clean_transactions(read_table(parquet, ReaderOptions()), columns, "p")
    pd.testing.assert_frame_equal(a, b)
    assert a["date"].min() == pd.Timestamp("2024-01-03")


def test_customer_table_problems(tmp_path):
    path = tmp_path / "customers.csv"
    pd.DataFrame({"id": ["a", "b", "b"], "x": [1, 2, 3]}).to_csv(path, index=False)
    base = ("input_kind=customers", "columns.customer=id")
    with pytest.raises(TabularInputError, match="needs columns.numeric"):
        features_for(path, *base)
    with pytest.raises(TabularInputError, match="share a customer id"):
        features_for(path, *base, "columns.numeric=[x]")


def test_cli_prints_one_line_and_writes_nothing(tmp_path, capsys):
    path = write_csv(tmp_path / "t.csv", ROWS)
    out = tmp_path / "out"
    code = fit_main([f"input={path}", f"output={out}", "columns.amount=value"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and "Traceback" not in err
    assert "missing column(s) ['value']" in err
    assert not out.exists()
    code = fit_main([f"input={path}", f"output={out}", "k=7"])
    assert code == 2 and "k=7 segments asked for" in capsys.readouterr().err
    assert not out.exists()
    code = fit_main([f"input={path}", f"output={out}", "nonsense=1"])
    assert code == 2 and "bad configuration" in capsys.readouterr().err
    assert not out.exists()
