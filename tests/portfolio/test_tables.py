"""Application tables (Parquet, CSV) for `creditbook register` and `creditbook simulate`: the same
applications give the same register rows and the same simulation as their workbooks and JSON."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from cli_run import ROOT, run_creditbook

from creditbook.cli import main
from creditbook.data import default_policy, default_prices, example_applications
from creditbook.portfolio.register import REGISTER_COLUMNS
from creditbook.portfolio.simulate import read_portfolio
from creditbook.portfolio.tables import _converter, _leaf_types, _pattern
from creditbook.workbook.flatten import flatten, path_steps

AS_OF = "2026-12-20"
FIGURES = list(REGISTER_COLUMNS[: REGISTER_COLUMNS.index("verify_status")])  # the decision's columns


def example_rows() -> list[dict[str, Any]]:
    """The example applications as their JSON files hold them (numbers as Decimal and int)."""
    return [
        {path: value for path, value in flatten(raw) if value != "[]"}
        for _, raw in example_applications()
    ]


def write_parquet(rows: list[dict[str, Any]], path: Path) -> Path:
    names = sorted({name for row in rows for name in row})
    columns = {}
    for name in names:
        values = [row.get(name) for row in rows]
        if any(isinstance(value, Decimal) for value in values):  # one decimal column
            values = [None if value is None else Decimal(value) for value in values]
        columns[name] = pa.array(values)
    pq.write_table(pa.table(columns), path)
    return path


def write_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    names = sorted({name for row in rows for name in row})
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        writer.writerows(["" if row.get(n) is None else row[n] for n in names] for row in rows)
    return path


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The examples as evaluated workbooks, as JSON files, and as a Parquet and a CSV table
    (with one row that is not a valid application, on line 9)."""
    root = tmp_path_factory.mktemp("tables")
    assert main(["demo", "--out", str(root / "workbooks"), "--jobs", "2"]) == 0
    json_dir = root / "json"
    json_dir.mkdir()
    for name, raw in example_applications():
        (json_dir / name).write_text(json.dumps(raw, default=str), "utf-8")
    rows = example_rows()
    broken = dict(rows[0]) | {"profile.payment_terms_days": 20, "profile.customer_name": "Bad"}
    return {
        "workbooks": root / "workbooks",
        "json": json_dir,
        "parquet": write_parquet([*rows, broken], root / "book.parquet"),
        "csv": write_csv([*rows, broken], root / "book.csv"),
    }


def register_of(*sources: Path, out: Path) -> pd.DataFrame:
    result = run_creditbook("register", *sources, "-o", out, "--as-of", AS_OF, "--no-verify")
    assert result.returncode == 0, result.stderr
    return pd.read_csv(out, dtype={"credit_code": str})


def cell_value(path: str, value: Any) -> Any:
    """One cell of the column `path` as the application JSON would hold it."""
    return _converter(_leaf_types().get(_pattern(path_steps(path)), frozenset()))(value)


def test_register_from_parquet_and_csv_repeats_the_workbooks_figures(
    book: dict[str, Path], tmp_path: Path
) -> None:
    from_workbooks = register_of(book["workbooks"], out=tmp_path / "w.csv")
    for kind in ("parquet", "csv"):
        from_table = register_of(book[kind], out=tmp_path / f"{kind}.csv")
        assert len(from_table) == 7  # the broken row is skipped
        by_name = from_table.sort_values("customer").reset_index(drop=True)
        expected = from_workbooks.sort_values("customer").reset_index(drop=True)
        pd.testing.assert_frame_equal(by_name[FIGURES], expected[FIGURES])
        assert set(from_table["verify_status"]) == {"table_row"}
        assert from_table["file"].iloc[0] == f"{book[kind]}:2"
    both = register_of(book["workbooks"], book["parquet"], out=tmp_path / "both.csv")
    assert len(both) == 14


def test_a_row_that_is_no_valid_application_is_named_by_file_and_line(
    book: dict[str, Path],
) -> None:
    result = run_creditbook(
        "register", book["csv"], "-o", book["csv"].with_name("r.csv"), "--as-of", AS_OF
    )
    assert result.returncode == 0
    skipped = f"skipped {book['csv']}:9:"
    assert skipped in result.stderr and "payment_terms_days: 20 is not allowed" in result.stderr


def test_simulate_from_parquet_and_csv_gives_the_folders_result(
    book: dict[str, Path], tmp_path: Path
) -> None:
    data = yaml.safe_load((ROOT / "creditbook" / "data" / "policy.yaml").read_text("utf-8"))
    data["tiers"][0]["when"] = {"score": {"gte": 95}}
    draft = tmp_path / "draft.yaml"
    draft.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    payloads = {}
    for kind in ("json", "parquet", "csv"):
        result = run_creditbook("simulate", "--policy", draft, book[kind], "--json")
        assert result.returncode == 0, result.stderr
        payloads[kind] = json.loads(result.stdout)
    rows = {
        kind: [{k: v for k, v in r.items() if k != "file"} for r in p["rows"]]
        for kind, p in payloads.items()
    }
    assert rows["parquet"] == rows["json"] == rows["csv"]
    assert payloads["parquet"]["summary"]["tier_changed"] == 2
    assert payloads["parquet"]["summary"]["skipped_files"] == 1


def test_cells_keep_their_exact_values(tmp_path: Path) -> None:
    assert cell_value("profile.payment_terms_days", "15") == 15  # a CSV cell for an integer
    assert cell_value("profile.credit_code", "123100004250061179") == "123100004250061179"
    assert cell_value("profile.requested_limit", "99999.99") == "99999.99"  # Decimal parses it
    assert cell_value("profile.requested_limit", 0.1) == Decimal("0.1")  # a float column
    assert cell_value("consumption[3].input_mtok_month", Decimal("250.5")) == Decimal("250.5")
    assert cell_value("profile.relationship_months", Decimal("30")) == 30
    assert cell_value("profile.sales_owner", "  ") is None
    app = read_portfolio([write_csv(example_rows(), tmp_path / "book.csv")], default_policy())
    assert app.apps[0][0].profile.payment_terms_days == 15
    assert app.apps[0][1] == default_prices()


def test_lines_keep_their_order_past_ten_and_bad_column_names_are_refused(
    tmp_path: Path,
) -> None:
    row = example_rows()[0]
    line = {k.split("].", 1)[1]: v for k, v in row.items() if k.startswith("consumption[0]")}
    lines = {f"consumption[{i}].{k}": v for i in range(12) for k, v in line.items()}
    models = ["gpt-5.4-mini" if i % 2 else line["model"] for i in range(12)]
    lines |= {f"consumption[{i}].model": model for i, model in enumerate(models)}
    wide = {k: v for k, v in row.items() if not k.startswith("consumption")} | lines
    portfolio = read_portfolio([write_parquet([wide], tmp_path / "wide.parquet")], default_policy())
    assert [line.model for line in portfolio.apps[0][0].consumption] == models
    refusals = {
        "profile..customer_name": "is not the path of an application field",
        "profile[0]": "mixes a list and a field",
        "buffers": "overlaps column 'buffers'",
    }
    for bad, why in refusals.items():
        table = write_csv([row | {bad: "x"}], tmp_path / "bad.csv")
        result = run_creditbook("simulate", "--policy", ROOT / "creditbook/data/policy.yaml", table)
        assert result.returncode == 2
        assert f"{table}:1: " in result.stderr and why in result.stderr
