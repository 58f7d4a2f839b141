"""The quality gate: suite files, GX validation in an ephemeral context, the offline HTML report."""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path

import pytest
from synthetic_build import kecamatan_kemendagri, mart_rows, mart_table

from ingestion.catalog import Catalog
from publication import quality
from publication.errors import SuiteError
from publication.quality import (
    EXPECTATIONS_DIR,
    load_suite,
    reference_values,
    render_quality_report,
    suite_path_for,
    validate_parquet,
    validate_table,
)

SUITE = suite_path_for("disdik__jumlah_sekolah_per_kecamatan")


def test_every_publication_has_a_valid_suite(catalog: Catalog) -> None:
    assert catalog.publications
    for entry in catalog.publications:
        suite = load_suite(suite_path_for(entry.id))
        assert suite.name == entry.id
        assert suite.expectations


def test_every_suite_file_belongs_to_a_publication(catalog: Catalog) -> None:
    ids = {entry.id for entry in catalog.publications}
    assert {path.stem for path in EXPECTATIONS_DIR.glob("*.yml")} <= ids


def test_kecamatan_codes_come_from_the_reference_seed() -> None:
    assert list(reference_values("kecamatan_kemendagri")) == [kode for kode, _ in kecamatan_kemendagri()]
    assert "Muara Samu" in reference_values("kecamatan_kemendagri.nama_kecamatan")
    suite = load_suite(SUITE)
    in_set = [e for e in suite.expectations if e.written.get("value_set_from") == "reference:kecamatan_kemendagri"]
    assert in_set and in_set[0].kwargs["value_set"][0] == "64.01.01"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yml"
    path.write_text(text)
    return path


def test_unknown_expectation_names_file_and_entry(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "x__y",
        "suite: x__y\nexpectations:\n"
        "  - expect_column_values_to_not_be_null: {column: a}\n"
        "  - expect_column_to_be_lovely: {column: a}\n",
    )
    with pytest.raises(
        SuiteError, match=r"x__y\.yml: expectations\[2\] 'expect_column_to_be_lovely': unknown expectation"
    ):
        load_suite(path)


def test_bad_arguments_and_names_are_refused(tmp_path: Path) -> None:
    bad_kwarg = _write(
        tmp_path, "a", "suite: a\nexpectations:\n  - expect_column_values_to_be_in_set: {column: a, value_sett: [1]}\n"
    )
    with pytest.raises(SuiteError, match=r"a\.yml: expectations\[1\].*value_sett"):
        load_suite(bad_kwarg)
    wrong_name = _write(
        tmp_path, "b", "suite: c\nexpectations:\n  - expect_column_values_to_not_be_null: {column: a}\n"
    )
    with pytest.raises(SuiteError, match="named for 'b'"):
        load_suite(wrong_name)
    bad_ref = _write(
        tmp_path,
        "d",
        "suite: d\nexpectations:\n"
        "  - expect_column_values_to_be_in_set: {column: a, value_set_from: 'reference:nowhere'}\n",
    )
    with pytest.raises(SuiteError, match="unknown reference list 'nowhere'"):
        load_suite(bad_ref)
    bad_check = _write(
        tmp_path,
        "e",
        "suite: e\nexpectations:\n  - expect_table_row_count_to_be_between: {min_value: 1}\n"
        "release_checks:\n  - row_count_vs_yesterday: {}\n",
    )
    with pytest.raises(SuiteError, match=r"release_checks\[1\]: unknown release check 'row_count_vs_yesterday'"):
        load_suite(bad_check)
    with pytest.raises(SuiteError, match="no expectation suite"):
        load_suite(tmp_path / "missing.yml")


def test_a_good_mart_passes() -> None:
    report = validate_table(mart_table(), SUITE, previous_rows=90)
    assert report.success, [o.describe() for o in report.failures()]
    assert report.rows == 100
    assert report.statistics["unsuccessful_expectations"] == 0
    assert report.statistics["evaluated_expectations"] == len(load_suite(SUITE).expectations) + 1
    own = [o for o in report.results if o.checked_by == "satudata"]
    assert own[0].expectation_type == "row_count_vs_previous" and own[0].observed["previous_rows"] == 90


def test_a_pandas_frame_is_accepted() -> None:
    assert validate_table(mart_table().to_pandas(), SUITE).success


def test_bad_rows_fail_with_what_was_observed() -> None:
    rows = mart_rows()
    rows[0]["kode_kecamatan"] = "64.01.99"
    rows[5]["jenjang"] = None
    rows[7]["jumlah_sekolah"] = 0
    report = validate_table(mart_table(rows), SUITE)
    assert not report.success
    failed = {(o.expectation_type, o.kwargs.get("column")): o for o in report.failures()}
    assert failed[("expect_column_values_to_be_in_set", "kode_kecamatan")].unexpected_examples == ["64.01.99"]
    assert failed[("expect_column_values_to_not_be_null", "jenjang")].unexpected_count == 1
    assert failed[("expect_column_values_to_be_between", "jumlah_sekolah")].unexpected_examples == [0]
    as_json = json.loads(report.to_json())
    assert as_json["success"] is False and as_json["suite"] == "disdik__jumlah_sekolah_per_kecamatan"
    assert "64.01.99" in failed[("expect_column_values_to_be_in_set", "kode_kecamatan")].describe()


def test_duplicate_keys_and_missing_columns_fail() -> None:
    rows = mart_rows()
    rows.append(dict(rows[0]))
    table = mart_table(rows).drop_columns(["satuan"])
    failed = {o.expectation_type for o in validate_table(table, SUITE).failures()}
    assert {"expect_compound_columns_to_be_unique", "expect_table_columns_to_match_set"} <= failed


def test_row_count_against_previous_release() -> None:
    report = validate_table(mart_table(), SUITE, previous_rows=1000)
    (failure,) = report.failures()
    assert failure.expectation_type == "row_count_vs_previous"
    assert failure.observed == {"rows": 100, "previous_rows": 1000, "ratio": 0.1}


def test_html_report_is_offline_and_escaped() -> None:
    rows = mart_rows()
    rows[0]["jenjang"] = "<script>alert(1)</script>"
    page = render_quality_report([validate_table(mart_table(), SUITE), validate_table(mart_table(rows), SUITE)])
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"https?://", page)
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "GAGAL" in page and "LULUS" in page


def test_a_parquet_mart_gets_the_same_verdicts_on_duckdb_sql(tmp_path: Path) -> None:
    """The publication suite (in-set from a reference list, regex, compound unique) as SQL on DuckDB."""
    import pyarrow.parquet as pq

    rows = mart_rows()
    rows[0]["kode_kecamatan"] = "64.01.99"
    rows[7]["jumlah_sekolah"] = 0
    rows.append(dict(rows[3]))
    path = tmp_path / "mart.parquet"
    pq.write_table(mart_table(rows), path)
    on_duckdb = validate_parquet(path, SUITE, engine="duckdb", previous_rows=100)
    in_memory = validate_table(mart_table(rows), SUITE, previous_rows=100)
    assert on_duckdb.engine == "duckdb" and in_memory.engine == "pandas"
    assert [(o.expectation_type, o.success, o.unexpected_count) for o in on_duckdb.results] == [
        (o.expectation_type, o.success, o.unexpected_count) for o in in_memory.results
    ]
    failed = {(o.expectation_type, o.kwargs.get("column")) for o in on_duckdb.failures()}
    assert failed == {
        ("expect_column_values_to_be_in_set", "kode_kecamatan"),
        ("expect_column_values_to_be_between", "jumlah_sekolah"),
        ("expect_compound_columns_to_be_unique", None),
    }
    with pytest.raises(ValueError, match="unknown validation engine 'spark'"):
        validate_parquet(path, SUITE, engine="spark")


def test_a_deferred_module_is_imported_when_first_used() -> None:
    names = ("tabnanny", "wsgiref.simple_server")  # stdlib modules nothing here imports
    if any(name in sys.modules for name in names):
        pytest.skip("already imported in this process")
    try:
        quality.defer_modules(names)
        assert type(sys.modules["tabnanny"]).__name__ == "_DeferredModule"
        import tabnanny
        from wsgiref import simple_server

        assert type(sys.modules["wsgiref.simple_server"]).__name__ == "_DeferredModule"
        assert tabnanny.format_witnesses([(1,), (2,)]) == "at tab sizes 1, 2"  # first use imports the real module
        assert type(sys.modules["tabnanny"]).__name__ == "module"
        assert simple_server.WSGIServer is sys.modules["wsgiref.simple_server"].WSGIServer
    finally:
        for name in names:
            sys.modules.pop(name, None)


def test_a_failed_background_import_of_gx_is_raised_where_gx_is_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise ImportError("no module named 'great_expectations.fake'")

    monkeypatch.setattr(quality, "import_gx_now", broken)
    monkeypatch.setattr(quality, "_gx_import", None)
    monkeypatch.delitem(sys.modules, "great_expectations.expectations", raising=False)
    logging.getLogger("great_expectations").setLevel(logging.NOTSET)
    quality.import_gx_in_background()
    # GX's logger is quieted before the thread starts, not by the thread
    assert logging.getLogger("great_expectations").level == logging.WARNING
    with pytest.raises(ImportError, match=r"started in the background\) failed: no module named 'great_expectations.fake'"):
        validate_table(mart_table(mart_rows()), SUITE)
    with pytest.raises(ImportError, match="^no module named"):  # the next attempt imports in the foreground
        validate_table(mart_table(mart_rows()), SUITE)
