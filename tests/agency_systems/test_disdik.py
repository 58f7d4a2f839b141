"""The demo Disdik workbook: built from the real school list, laid out like the agency's export."""

from __future__ import annotations

import csv
from pathlib import Path

import fastexcel

from agency_systems.disdik import (
    SEKOLAH_CSV,
    SEKOLAH_HEADERS,
    SHEET_NAME,
    load_sekolah_reference,
    write_sekolah_workbook,
)
from ingestion.kinds.file import WorkbookParts


def _sheet(path: Path, name: str = SHEET_NAME) -> list[dict]:
    return fastexcel.read_excel(path).load_sheet(name, header_row=None, dtypes="string").to_arrow().to_pylist()


def test_reference_is_the_real_list_as_text() -> None:
    rows = load_sekolah_reference()
    assert len(rows) == 323
    assert len({row["npsn"] for row in rows}) == 323
    assert all(len(row["npsn"]) == 8 and row["npsn"].isdigit() for row in rows)
    assert {row["bentuk"] for row in rows} == {"SD", "SMP", "SMA", "SMK", "SLB"}
    # Raw coordinate strings stay as written (".0000000" means "not recorded").
    with SEKOLAH_CSV.open(encoding="utf-8") as handle:
        assert [row["lintang"] for row in csv.DictReader(handle)] == [row["lintang"] for row in rows]


def test_workbook_layout(tmp_path: Path) -> None:
    path = write_sekolah_workbook(tmp_path / "sekolah_2019.xlsx")
    assert fastexcel.read_excel(path).sheet_names == [SHEET_NAME, "Keterangan"]
    cells = [list(row.values()) for row in _sheet(path)]
    assert cells[0][0] == "DAFTAR SATUAN PENDIDIKAN KABUPATEN PASER"
    assert cells[1][0] == "Keadaan data: 2019 (sumber: Dapodik)"
    assert all(value is None for value in cells[2])
    assert cells[3] == list(SEKOLAH_HEADERS.values())
    assert len(cells) == 4 + 323
    first = load_sekolah_reference()[0]
    assert cells[4][:5] == [first["npsn"], first["nama_sekolah"], first["bentuk"], first["status"], first["kode_kec_kemdikbud"]]
    assert cells[4][-1] == "2019"
    assert WorkbookParts(path.read_bytes()).first_row(SHEET_NAME) == 1


def test_ids_are_text_cells_and_numbers_are_number_cells(tmp_path: Path) -> None:
    rows = load_sekolah_reference()[:3]
    rows[1]["npsn"] = int(rows[1]["npsn"])  # a clerk retyped it as a number
    path = write_sekolah_workbook(tmp_path / "sekolah.xlsx", rows, title_rows=0)
    parts = WorkbookParts(path.read_bytes())
    npsn, kode, tahun = 0, 4, 9  # column indices
    cells = {(row, col) for row in (2, 3, 4) for col in (npsn, kode, tahun)}
    assert parts.number_cells(SHEET_NAME, cells) == {(3, npsn), (2, tahun), (3, tahun), (4, tahun)}


def test_title_rows_and_headers_are_configurable(tmp_path: Path) -> None:
    headers = {key: text for key, text in SEKOLAH_HEADERS.items() if key != "npsn"}
    path = write_sekolah_workbook(tmp_path / "x.xlsx", load_sekolah_reference()[:2], title_rows=0, headers=headers, tahun=2021)
    cells = [list(row.values()) for row in _sheet(path)]
    assert cells[0] == list(headers.values())
    assert cells[1][-1] == "2021"
    assert len(cells) == 3


def test_same_rows_give_the_same_bytes(tmp_path: Path) -> None:
    first = write_sekolah_workbook(tmp_path / "a.xlsx").read_bytes()
    second = write_sekolah_workbook(tmp_path / "b.xlsx").read_bytes()
    assert first == second
    assert write_sekolah_workbook(tmp_path / "c.xlsx", tahun=2020).read_bytes() != first


def test_written_atomically_no_temp_left(tmp_path: Path) -> None:
    write_sekolah_workbook(tmp_path / "drop" / "sekolah.xlsx")
    assert [p.name for p in (tmp_path / "drop").iterdir()] == ["sekolah.xlsx"]
