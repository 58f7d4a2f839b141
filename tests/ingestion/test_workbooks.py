"""Workbook structure: hidden sheets, merged two-row headers, formulas and their cached values."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import fastexcel
import pytest
import xlsxwriter
import xlwt
from hypothesis import given
from hypothesis import strategies as st

from ingestion.errors import RejectedFile
from ingestion.workbooks import (
    SheetInfo,
    compose_header,
    first_visible_sheet,
    formula_cells_without_value,
    merged_ranges,
    sheets,
)


def read_rows(path: Path, sheet: str) -> list[list[str | None]]:
    """Every cell as text, as the file kind reads a sheet (row 1 holds a value in these workbooks)."""
    table = fastexcel.read_excel(path).load_sheet(sheet, header_row=None, dtypes="string").to_arrow()
    return [list(row.values()) for row in table.to_pylist()]


# --- Sheets and visibility ---------------------------------------------------------------------


def write_with_hidden_sheets(path: Path) -> Path:
    workbook = xlsxwriter.Workbook(str(path))
    catatan = workbook.add_worksheet("Catatan")
    catatan.write(0, 0, "lembar kerja petugas")
    lookup = workbook.add_worksheet("Kode")
    lookup.write(0, 0, "kode_kec")
    data = workbook.add_worksheet("Sekolah")
    data.write_row(0, 0, ["npsn", "nama"])
    data.activate()  # Excel will not hide the active sheet
    catatan.hide()
    lookup.very_hidden()
    workbook.close()
    return path


def test_hidden_and_very_hidden_sheets_before_the_data_sheet(tmp_path: Path) -> None:
    path = write_with_hidden_sheets(tmp_path / "sekolah.xlsx")
    assert sheets(path) == [SheetInfo("Catatan", False), SheetInfo("Kode", False), SheetInfo("Sekolah", True)]
    assert first_visible_sheet(path) == "Sekolah"
    # What a reader does without looking: sheet 0 is the hidden clerk's notes.
    assert fastexcel.read_excel(path).sheet_names[0] == "Catatan"


def test_xls_sheet_visibility_comes_from_fastexcel(tmp_path: Path) -> None:
    workbook = xlwt.Workbook()
    hidden = workbook.add_sheet("Catatan")
    hidden.write(0, 0, "lembar kerja petugas")
    hidden.visibility = 1  # hidden
    workbook.add_sheet("Sekolah").write(0, 0, "npsn")
    path = tmp_path / "sekolah.xls"
    workbook.save(str(path))
    assert sheets(path) == [SheetInfo("Catatan", False), SheetInfo("Sekolah", True)]
    assert first_visible_sheet(path) == "Sekolah"
    assert formula_cells_without_value(path, "Sekolah") == []
    with pytest.raises(RejectedFile, match=r"sekolah\.xls: sheet 'Sekolah': merged header cells cannot be read from an \.xls"):
        merged_ranges(path, "Sekolah")


def test_not_a_workbook_and_unknown_sheet_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "sekolah.xlsx"
    text.write_text("npsn,nama\n")
    with pytest.raises(RejectedFile, match=r"sekolah\.xlsx: neither an xlsx \(zip\) nor an xls"):
        sheets(text)
    path = write_with_hidden_sheets(tmp_path / "buku.xlsx")
    with pytest.raises(RejectedFile, match=r"no sheet 'Data' \(sheets found: 'Catatan', 'Kode', 'Sekolah'\)"):
        merged_ranges(path, "Data")


# --- Merged two-row headers --------------------------------------------------------------------


def write_two_row_header(path: Path) -> Path:
    """Title rows, then a header over rows 3-4 as Dapodik exports it, then data."""
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Rekap")
    sheet.write(0, 0, "REKAP SISWA PER SEKOLAH KABUPATEN PASER")
    sheet.write(1, 0, "Tahun ajaran 2024/2025")
    sheet.merge_range("A3:A4", "NPSN")
    sheet.merge_range("B3:B4", "Nama  Sekolah")
    sheet.merge_range("C3:D3", "Jumlah Siswa")
    sheet.write_row(3, 2, ["L", "P"])
    sheet.write(2, 4, "Keterangan")  # a one-row header cell, not merged, with nothing below
    sheet.write_row(4, 0, ["30404588", "SD NEGERI 001 TANAH GROGOT", 120, 131, None])
    workbook.close()
    return path


def test_merged_ranges_from_the_sheet_xml(tmp_path: Path) -> None:
    path = write_two_row_header(tmp_path / "rekap.xlsx")
    assert merged_ranges(path, "Rekap") == [(3, 1, 4, 1), (3, 2, 4, 2), (3, 3, 3, 4)]


def test_two_row_merged_header_reads_as_one_header_per_column(tmp_path: Path) -> None:
    path = write_two_row_header(tmp_path / "rekap.xlsx")
    rows = read_rows(path, "Rekap")
    header = compose_header(rows, merged_ranges(path, "Rekap"), header_row=3, header_rows=2)
    assert header == ["NPSN", "Nama Sekolah", "Jumlah Siswa L", "Jumlah Siswa P", "Keterangan"]
    # Without the merged ranges, "P" would lose its group.
    assert compose_header(rows, [], header_row=3, header_rows=2)[3] == "P"


def test_compose_header_edge_cases() -> None:
    rows: list[list[str | None]] = [
        ["Judul", None, None],
        ["Wilayah", None, "Wilayah"],
        ["Kode\nKec", "Nama", "Wilayah"],
    ]
    merged = [(2, 1, 2, 2)]  # "Wilayah" over A2:B2
    assert compose_header(rows, merged, header_row=2, header_rows=2) == ["Wilayah Kode Kec", "Wilayah Nama", "Wilayah"]
    # A merged cell reaching down from a title row into the header band still fills it.
    assert compose_header(rows, [(1, 1, 2, 3)], header_row=2, header_rows=1) == ["Judul", "Judul", "Judul"]
    # Rows past the end of the sheet read as empty; columns without text give None.
    assert compose_header([["a", None]], [], header_row=1, header_rows=3) == ["a", None]
    with pytest.raises(ValueError, match="at least 1"):
        compose_header(rows, [], header_row=0, header_rows=1)


@given(st.lists(st.one_of(st.none(), st.text(alphabet="ab \n", max_size=6)), max_size=8))
def test_a_one_row_header_without_merges_is_the_row_itself(row: list[str | None]) -> None:
    expected = [" ".join(value.split()) or None if value is not None else None for value in row]
    assert compose_header([row], [], header_row=1, header_rows=1) == expected


# --- Formulas ----------------------------------------------------------------------------------


def write_formulas(path: Path, *, cached: bool) -> Path:
    """Two data rows with a total formula; `cached=False` strips the cached values afterwards."""
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Siswa")
    sheet.write_row(0, 0, ["l", "p", "jumlah", "catatan"])
    for row, (laki, perempuan) in enumerate([(120, 131), (45, 40)], start=1):
        sheet.write_row(row, 0, [laki, perempuan])
        sheet.write_formula(row, 2, f"=A{row + 1}+B{row + 1}", None, laki + perempuan)
    workbook.close()
    if not cached:
        # As openpyxl writes formulas: `<f>..</f><v/>` (C2); some generators omit `<v>` (C3).
        rewrite_sheet_xml(
            path,
            lambda xml: re.sub(
                r'(<c r="C3"[^>]*><f>[^<]*</f>)<v>[^<]*</v>',
                r"\1",
                re.sub(r'(<c r="C2"[^>]*><f>[^<]*</f>)<v>[^<]*</v>', r"\1<v/>", xml),
            ),
        )
    return path


def rewrite_sheet_xml(path: Path, change: Callable[[str], str]) -> None:
    source = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = change(data.decode()).encode()
            target.writestr(info, data)


def test_formulas_read_as_their_cached_values(tmp_path: Path) -> None:
    path = write_formulas(tmp_path / "siswa.xlsx", cached=True)
    rows = read_rows(path, "Siswa")
    assert [row[2] for row in rows[1:]] == ["251", "85"]
    assert formula_cells_without_value(path, "Siswa") == []


def test_formulas_without_cached_values_read_empty_and_are_listed(tmp_path: Path) -> None:
    path = write_formulas(tmp_path / "siswa.xlsx", cached=False)
    rows = read_rows(path, "Siswa")
    assert [row[2] for row in rows[1:]] == [None, None]  # what the contract would see: empty
    assert [row[0] for row in rows[1:]] == ["120", "45"]
    assert formula_cells_without_value(path, "Siswa") == ["C2", "C3"]


def test_a_cached_empty_string_is_a_value_only_when_typed_as_text(tmp_path: Path) -> None:
    path = tmp_path / "catatan.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Siswa")
    sheet.write(0, 0, 600)
    sheet.write_formula(0, 1, '=IF(A1>500,"","kecil")', None, "")
    sheet.write_formula(0, 2, '=IF(A1>500,"","kecil")', None, "")
    workbook.close()
    # xlsxwriter writes a cached "" as an untyped empty <v>, the same bytes as openpyxl's "no value";
    # Excel types it (t="str"), which is the only form we can trust as a real empty result.
    rewrite_sheet_xml(path, lambda xml: xml.replace('<c r="C1">', '<c r="C1" t="str">'))
    assert formula_cells_without_value(path, "Siswa") == ["B1"]
