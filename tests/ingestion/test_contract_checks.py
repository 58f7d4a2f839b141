"""Contract pieces: header matching, type conversion, reference lists, sheet origin."""

from __future__ import annotations

import datetime as dt
import typing
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import xlsxwriter
from hypothesis import given
from hypothesis import strategies as st

from ingestion import catalog as catalog_module
from ingestion.contract import (
    column_letter,
    convert,
    evolved_name,
    find_header_row,
    header_key,
    header_spellings,
)
from ingestion.kinds.file import WorkbookParts, read_workbook
from ingestion.reference import REFERENCE_LISTS, load_reference
from ingestion.workbooks import column_number


def test_header_matching_ignores_case_spaces_and_underscores(sekolah) -> None:
    spellings = header_spellings(sekolah.spec.contract)
    assert spellings[header_key("  nama   SEKOLAH ")] == "nama_sekolah"
    assert spellings[header_key("Kode_Kec")] == "kode_kecamatan_kemdikbud"
    assert spellings[header_key("npsn")] == "npsn"
    assert header_key("Jumlah Siswa") not in spellings


def test_header_row_is_the_row_naming_most_columns(sekolah) -> None:
    grid = [
        ["DAFTAR SEKOLAH", None, None],
        ["Kecamatan", None, None],  # one match only: a title line, not the header
        [None, None, None],
        ["NPSN", "Nama Sekolah", "Status"],
        ["30404588", "SD", "N"],
    ]
    assert find_header_row(grid, sekolah.spec.contract) == 3
    assert find_header_row([["a", "b"], ["c", None]], sekolah.spec.contract) is None


@pytest.mark.parametrize(
    "value, kind, expected",
    [
        ("2019", "integer", 2019),
        ("2019.0", "integer", 2019),
        ("-7", "integer", -7),
        ("1.5", "decimal", Decimal("1.500000000")),
        ("-0.123456789", "decimal", Decimal("-0.123456789")),
        ("2024-03-01", "date", dt.date(2024, 3, 1)),
        ("2024-03-01 00:00:00", "date", dt.date(2024, 3, 1)),
        ("01/03/2024", "date", dt.date(2024, 3, 1)),
        ("2024-03-01T08:00:00", "timestamp", dt.datetime(2024, 3, 1, 0, 0, tzinfo=dt.UTC)),  # WITA = UTC+8
        ("2024-03-01T08:00:00+00:00", "timestamp", dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)),
        # DuckDB's TIMESTAMP cast drops a final 'UTC': read as WITA, it would move 8 hours.
        ("2024-03-01 08:00:00 UTC", "timestamp", dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)),
        ("Ya", "boolean", True),
        ("false", "boolean", False),
        ("0012", "text", "0012"),
    ],
)
def test_conversions(value, kind, expected) -> None:
    assert convert(value, kind) == expected


@pytest.mark.parametrize(
    "value, kind, message",
    [
        ("2019.5", "integer", "is not a whole number"),
        ("99999999999999999999", "integer", "too large"),
        ("1,5", "decimal", "use '.'"),
        ("0.0000000001", "decimal", "more than 9 decimal places"),
        ("1e5", "decimal", "is not a decimal number"),
        ("31/02/2024", "date", "is not a date"),
        ("kemarin", "timestamp", "is not an ISO 8601 timestamp"),
        # DuckDB reads these words as times (`try_strptime('epoch', '%Y-%m-%d')` is 1900-01-01): not a date here.
        ("epoch", "date", "is not a date"),
        ("Infinity", "date", "is not a date"),
        ("-infinity", "date", "is not a date"),
        ("epoch", "timestamp", "is not an ISO 8601 timestamp"),
        ("infinity", "timestamp", "is not an ISO 8601 timestamp"),
        ("2020-01-02 (BC)", "date", "is not a date"),
        # strptime's %Y takes any digits: '02-01-20' would be 20 January of the year 2. Year 0000 is no year.
        ("02-01-20", "date", "is not a date"),
        ("0000-01-01", "date", "is not a date"),
        ("20-01-01 08:00:00", "timestamp", "is not an ISO 8601 timestamp"),
        ("0000-01-01 08:00:00", "timestamp", "is not an ISO 8601 timestamp"),
        ("t", "boolean", "is not a boolean"),
    ],
)
def test_conversion_failures_say_why(value, kind, message) -> None:
    with pytest.raises(ValueError, match=message):
        convert(value, kind)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=9, min_value=-(10**20), max_value=10**20))
def test_decimals_are_exact(number: Decimal) -> None:
    assert convert(format(number, "f"), "decimal") == number


@given(st.integers(min_value=0, max_value=20_000))
def test_column_letters_round_trip(index: int) -> None:
    assert column_number(column_letter(index)) == index + 1  # letters are 0-based here, numbers 1-based


def test_evolved_names() -> None:
    assert evolved_name("Jumlah Siswa (orang)", "K") == "jumlah_siswa_orang"
    assert evolved_name(None, "K") == "column_k"
    assert evolved_name("2019", "B") == "column_2019"


def test_every_catalog_reference_list_is_loadable() -> None:
    assert set(REFERENCE_LISTS) == set(typing.get_args(catalog_module.ReferenceList))
    for name in REFERENCE_LISTS:
        assert all(code == code.strip() and code for code in load_reference(name))
    assert load_reference("kecamatan_kemdikbud") == {f"1601{n:02d}" for n in range(1, 11)}
    assert "64.01.10" in load_reference("kecamatan_kemendagri")
    assert len(load_reference("desa_kemendagri")) == 144


def test_school_kecamatan_codes_are_all_in_the_reference(sekolah_rows) -> None:
    assert {row["kode_kec_kemdikbud"] for row in sekolah_rows} <= load_reference("kecamatan_kemdikbud")


def test_unknown_reference_list() -> None:
    with pytest.raises(KeyError, match="unknown reference list 'kecamatan_kemenag'"):
        load_reference("kecamatan_kemenag")


def test_row_numbers_count_from_the_top_of_the_sheet(tmp_path: Path, sekolah) -> None:
    """fastexcel starts at the first cell with a value; formatted blanks above it do not count."""
    path = tmp_path / "sekolah.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Daftar Sekolah")
    sheet.write_blank(0, 0, None, book.add_format({"bold": True}))  # formatted, empty: row 1
    headers = ["NPSN", "Nama Sekolah", "Bentuk Pendidikan", "Status", "Kode Kecamatan", "Tahun Data"]
    sheet.write_row(2, 1, headers)  # header in row 3, starting at column B
    sheet.write_row(3, 1, ["30404588", "SD NEGERI 008 BATU SOPANG", "SD", "N", "160101"])
    sheet.write_number(3, 6, 2019)
    sheet.write_row(5, 1, ["30404589", "SD NEGERI 002 BATU SOPANG", "SD", "N", "160101"])  # after a blank row 5
    sheet.write_number(5, 6, 2019)
    book.close()
    content = path.read_bytes()
    assert WorkbookParts(content).first_row("Daftar Sekolah") == 3
    delivery = read_workbook(content, "drop/disdik/sekolah.xlsx", sekolah)
    assert delivery.header_row == 3
    assert [delivery.places[name] for name in ("NPSN", "Nama Sekolah")] == ["column B", "column C"]
    try:
        with duckdb.connect() as con:
            rows = con.execute(f"SELECT _source_row, NPSN FROM {delivery.relation(con)}").fetchall()
    finally:
        delivery.close()
    assert rows == [(4, "30404588"), (5, None), (6, "30404589")]
