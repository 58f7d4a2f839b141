"""The agency boundary: raw suites run by GX as SQL on DuckDB, verdicts in the ledger, failed batches not built.

GX on DuckDB is a compatibility shim over GX internals (publication/gx_duckdb.py), so the first test
holds it to GX's own pandas engine on a table with one violation of each kind.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.catalog import Catalog
from ingestion.ledger import buildable_batches, validation_path, validation_record
from ingestion.zones import Zones
from orchestration.airflow_env import DAGS_FOLDER
from orchestration.chain import produced_assets
from publication.quality import load_suite, validate_parquet
from publication.raw_quality import (
    RawSuiteFailed,
    raw_suite_path,
    validate_batch,
    validate_new_batches,
)
from tests.warehouse.raw_batches import sekolah_rows, write_batch
from warehouse.build import build_inputs, build_warehouse

SEKOLAH = "disdik__sekolah"

# One violation of each kind, and a check of each kind that passes.
SUITE = """
suite: bayar
expectations:
  - expect_table_row_count_to_be_between: {min_value: 10, max_value: 100}
  - expect_table_columns_to_match_set: {column_set: [id_bayar, kode_desa, jumlah, nilai, tanggal, kategori]}
  - expect_column_values_to_not_be_null: {column: kode_desa}
  - expect_column_values_to_not_be_null: {column: id_bayar}
  - expect_column_values_to_be_in_set: {column: kategori, value_set: [pasar, parkir, sampah]}
  - expect_column_values_to_be_between: {column: jumlah, min_value: 0, max_value: 100}
  - expect_column_values_to_be_between: {column: nilai, min_value: 0, max_value: 1000000}
  - expect_column_values_to_match_regex: {column: kode_desa, regex: '^64\\.01\\.[0-9]{2}\\.[12][0-9]{3}$'}
  - expect_column_values_to_match_regex: {column: id_bayar, regex: '^TRX[0-9]{6}$'}
  - expect_column_values_to_not_match_regex: {column: kategori, regex: '[A-Z]'}
  - expect_column_values_to_be_unique: {column: id_bayar}
  - expect_compound_columns_to_be_unique: {column_list: [id_bayar, tanggal]}
  - expect_column_value_lengths_to_be_between: {column: id_bayar, min_value: 9, max_value: 9}
  - expect_column_distinct_values_to_contain_set: {column: kategori, value_set: [pasar, parkir]}
  - expect_column_unique_value_count_to_be_between: {column: kategori, min_value: 2, max_value: 5}
release_checks:
  - row_count_vs_previous: {min_ratio: 0.5}
"""


def _payments(tmp_path: Path) -> Path:
    """40 payments with ids as text, region codes, ints, decimals, dates, categories; then one violation of each kind."""
    rows = [
        {
            "id_bayar": f"TRX{i:06d}",
            "kode_desa": f"64.01.{i % 10 + 1:02d}.{2001 + i % 7}",
            "jumlah": i % 50,
            "nilai": Decimal(f"{i * 1250}.50"),
            "tanggal": dt.date(2026, 1, 1) + dt.timedelta(days=i),
            "kategori": ("pasar", "parkir", "sampah")[i % 3],
        }
        for i in range(40)
    ]
    rows[3]["kode_desa"] = None  # null
    rows[5]["kategori"] = "Retribusi"  # out of set, and an upper-case letter
    rows[7]["jumlah"] = 250  # out of range
    rows[9]["kode_desa"] = "6401012001"  # the BPS spelling: regex mismatch
    rows[11]["id_bayar"] = rows[12]["id_bayar"]  # duplicate id (different dates: the compound key holds)
    schema = pa.schema(
        [("id_bayar", pa.string()), ("kode_desa", pa.string()), ("jumlah", pa.int64()),
         ("nilai", pa.decimal128(14, 2)), ("tanggal", pa.date32()), ("kategori", pa.string())]
    )
    path = tmp_path / "bayar.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def test_duckdb_sql_and_pandas_give_the_same_verdicts(tmp_path: Path) -> None:
    data = _payments(tmp_path)
    suite = tmp_path / "bayar.yml"
    suite.write_text(SUITE)
    on_duckdb = validate_parquet(data, suite, engine="duckdb", previous_rows=100)
    on_pandas = validate_parquet(data, suite, engine="pandas", previous_rows=100)
    assert (on_duckdb.engine, on_pandas.engine) == ("duckdb", "pandas")
    assert on_duckdb.rows == on_pandas.rows == 40

    def verdicts(report):  # noqa: ANN001, ANN202
        return [(o.expectation_type, json.dumps(o.kwargs, sort_keys=True), o.success, o.unexpected_count, o.exception)
                for o in report.results]

    assert verdicts(on_duckdb) == verdicts(on_pandas)
    failed = {(o.expectation_type, o.kwargs.get("column")): o for o in on_duckdb.failures()}
    assert set(failed) == {
        ("expect_column_values_to_not_be_null", "kode_desa"),
        ("expect_column_values_to_be_in_set", "kategori"),
        ("expect_column_values_to_be_between", "jumlah"),
        ("expect_column_values_to_match_regex", "kode_desa"),
        ("expect_column_values_to_not_match_regex", "kategori"),
        ("expect_column_values_to_be_unique", "id_bayar"),
        ("row_count_vs_previous", None),
    }
    assert failed[("expect_column_values_to_match_regex", "kode_desa")].unexpected_examples == ["6401012001"]
    assert failed[("expect_column_values_to_be_in_set", "kategori")].unexpected_examples == ["Retribusi"]
    assert failed[("expect_column_values_to_be_between", "jumlah")].unexpected_examples == [250]
    assert failed[("expect_column_values_to_be_unique", "id_bayar")].unexpected_count == 2
    assert not any(o.exception for o in on_duckdb.results), [o.describe() for o in on_duckdb.results]


def test_gx_on_duckdb_regex_is_a_search_like_pandas(tmp_path: Path) -> None:
    """DuckDB's `~` is a full match; the shim uses regexp_matches, so an unanchored pattern means 'contains'."""
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"kode": ["xx64.01yy", "64.01", "6401"]}), path)
    suite = tmp_path / "t.yml"
    suite.write_text("suite: t\nexpectations:\n  - expect_column_values_to_match_regex: {column: kode, regex: '64\\.01'}\n")
    for engine in ("duckdb", "pandas"):
        (outcome,) = validate_parquet(path, suite, engine=engine).results
        assert (outcome.unexpected_count, outcome.unexpected_examples) == (1, ["6401"]), engine


def test_the_sekolah_raw_suite_is_valid(catalog: Catalog) -> None:
    suite = load_suite(raw_suite_path(catalog.dataset(SEKOLAH)))
    assert len(suite.expectations) >= 5
    assert [check.name for check in suite.release_checks] == ["row_count_vs_previous"]


def test_a_real_school_list_passes_and_is_recorded(zones: Zones, catalog: Catalog) -> None:
    entry = catalog.dataset(SEKOLAH)
    batch_id = write_batch(zones, sekolah_rows())
    (verdict,) = validate_new_batches(zones, entry, [batch_id])
    assert verdict.success and verdict.suite == SEKOLAH, verdict.describe()
    record = validation_record(zones, entry, batch_id)
    assert record is not None and record["success"] is True and record["engine"] == "duckdb"
    assert record["rows"] == 323 and record["suite_file"] == "expectations/raw/disdik__sekolah.yml"
    assert record["statistics"]["unsuccessful_expectations"] == 0
    # Validated batches are not taken up again.
    assert validate_new_batches(zones, entry) == []


def _broken_delivery() -> list[dict]:
    """Half the list (a cut sheet) with latitude and longitude swapped (shifted columns)."""
    rows = sekolah_rows(tahun_data=2020)[:150]
    for row in rows:
        row["lintang"], row["bujur"] = row["bujur"], row["lintang"]
    return rows


def test_a_broken_delivery_fails_names_its_checks_and_is_not_built(zones: Zones, catalog: Catalog) -> None:
    entry = catalog.dataset(SEKOLAH)
    good = write_batch(zones, sekolah_rows(), at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    bad = write_batch(zones, _broken_delivery(), at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    with pytest.raises(RawSuiteFailed) as raised:
        validate_new_batches(zones, entry, [bad])
    message = str(raised.value)
    assert f"{SEKOLAH} batch {bad}: raw suite {SEKOLAH} failed" in message
    assert "expect_table_row_count_to_be_between" in message
    assert "expect_column_values_to_match_regex(lintang)" in message and "expect_column_values_to_match_regex(bujur)" in message
    assert "row_count_vs_previous" in message  # 150 against the 323 of the good batch before it
    assert good not in message  # the good batch was validated too (it had no record) and passed
    assert validation_record(zones, entry, good)["success"] is True  # type: ignore[index]
    record = json.loads(validation_path(zones, entry, bad).read_text())
    assert record["success"] is False and record["batch_id"] == bad
    assert any("lintang" in line for line in record["failures"])

    assert [m["batch_id"] for m in buildable_batches(zones, entry)] == [good]
    assert build_inputs(zones, catalog) == {SEKOLAH: [good]}


def test_a_dataset_without_raw_suite_passes_with_a_warning(
    zones: Zones, catalog: Catalog, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    entry = catalog.dataset(SEKOLAH)
    batch_id = write_batch(zones, sekolah_rows()[:3])
    manifest = json.loads((zones.raw("disdik", "sekolah") / f"batch={batch_id}" / "manifest.json").read_text())
    verdict = validate_batch(zones, entry, manifest, expectations_dir=tmp_path / "none")
    assert verdict.success and verdict.suite is None
    assert "has no raw suite" in caplog.text
    assert validation_record(zones, entry, batch_id)["suite"] is None  # type: ignore[index]


def test_a_build_reads_only_batches_that_passed(zones: Zones, catalog: Catalog) -> None:
    """The failed batch is the newest, so staging (latest batch) would show it if dbt could see it."""
    entry = catalog.dataset(SEKOLAH)
    good = write_batch(zones, sekolah_rows(), at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    bad = write_batch(zones, _broken_delivery(), at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    with pytest.raises(RawSuiteFailed):
        validate_new_batches(zones, entry)
    build = build_warehouse(zones, catalog)
    assert build is not None and build["inputs"][SEKOLAH] == [good]
    build_dir = zones.warehouse / "builds" / build["build_id"]
    assert sorted(p.name for p in (build_dir / "raw" / "disdik" / "sekolah").iterdir()) == [f"batch={good}"]
    with duckdb.connect(str(build_dir / "warehouse.duckdb"), read_only=True) as con:
        (schema,) = con.execute(
            "select schema_name from duckdb_views() where view_name = 'stg_disdik__sekolah'"
        ).fetchone()
        seen = con.execute(f"select distinct _batch_id, tahun_data from {schema}.stg_disdik__sekolah").fetchall()
    assert seen == [(good, 2019)]
    assert bad not in json.dumps(build)


def test_a_snapshot_run_of_several_batches_is_judged_whole(zones: Zones, catalog: Catalog) -> None:
    """The school list in three batches of one run: each alone is too short for the suite (250 to 1000 rows),
    together they are the list; a later run cut in half fails as a run and keeps the whole run out."""
    entry = catalog.dataset(SEKOLAH)
    schools = sekolah_rows()
    first = write_batch(zones, schools[:120], at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), run=(None, 1, False))
    parts = [first, write_batch(zones, schools[120:240], run=(first, 2, False)),
             write_batch(zones, schools[240:], run=(first, 3, True))]
    verdicts = validate_new_batches(zones, entry, parts)
    assert all(verdict.success for verdict in verdicts)
    record = validation_record(zones, entry, parts[-1])
    assert record is not None and record["rows"] == 323  # the final batch's verdict is over the whole run
    assert "judged with the run" in validation_record(zones, entry, first)["note"]  # type: ignore[index]

    cut = write_batch(zones, schools[:100], at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC), run=(None, 1, False))
    cut_parts = [cut, write_batch(zones, schools[100:160], run=(cut, 2, True))]
    with pytest.raises(RawSuiteFailed, match="row_count_vs_previous"):  # 160 rows against the run of 323
        validate_new_batches(zones, entry, cut_parts)
    assert [m["batch_id"] for m in buildable_batches(zones, entry)] == parts


def test_the_ingest_dag_validates_before_it_emits_the_raw_asset(catalog: Catalog) -> None:
    spec = importlib.util.spec_from_file_location("satudata_dags_raw_quality", DAGS_FOLDER / "satudata.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag = getattr(module, catalog.dataset(SEKOLAH).ingest_dag_id)
    assert [task.task_id for task in dag.topological_sort()] == ["extract_load", "validate_raw"]
    extract, validate = dag.get_task("extract_load"), dag.get_task("validate_raw")
    assert validate.upstream_task_ids == {"extract_load"}
    assert produced_assets(dag) == {catalog.dataset(SEKOLAH).raw_asset}
    assert not extract.outlets and [outlet.name for outlet in validate.outlets] == [catalog.dataset(SEKOLAH).raw_asset]
