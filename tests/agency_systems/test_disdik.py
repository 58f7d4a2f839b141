"""The demo Disdik workbooks: the real school list and generated enrolment, laid out like the agency's exports."""

from __future__ import annotations

import csv
from pathlib import Path

import fastexcel
import pyarrow.parquet as pq

from agency_systems import disdik
from agency_systems.disdik import (
    DEMO_TAHUN_AJARAN,
    PESERTA_DIDIK_SHEET,
    SEKOLAH_CSV,
    SEKOLAH_HEADERS,
    SHEET_NAME,
    UNLISTED_SCHOOL,
    generate_peserta_didik,
    load_sekolah_reference,
    write_peserta_didik_workbook,
    write_sekolah_workbook,
)
from ingestion import workbooks
from ingestion.catalog import Catalog
from ingestion.extract import extract_load
from ingestion.kinds.file import WorkbookParts
from ingestion.ledger import batch_dir
from ingestion.zones import Zones


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
    rows = {2, 3, 4}
    assert _number_cells(parts, SHEET_NAME, npsn) & rows == {3}
    assert _number_cells(parts, SHEET_NAME, kode) & rows == set()
    assert _number_cells(parts, SHEET_NAME, tahun) & rows == {2, 3, 4}


def _number_cells(parts: WorkbookParts, sheet: str, column: int) -> set[int]:
    """The 1-based rows whose cell in `column` (0-based) holds a number, not text."""
    return {row for row, at, cell in parts.cells(sheet) if at == column and cell.get("t", "n") == "n"
            and any(workbooks.local_name(child.tag) == "v" for child in cell)}


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


# --- Enrolment (peserta didik) ------------------------------------------------------------------

def test_enrolment_is_plausible_per_level_and_adds_up() -> None:
    listed = {row["npsn"]: row["bentuk"] for row in load_sekolah_reference()}
    bounds = {"SD": (100, 300), "SMP": (200, 500), "SMA": (300, 900), "SMK": (300, 900), "SLB": (20, 60)}
    for tahun_ajaran in DEMO_TAHUN_AJARAN:
        rows = generate_peserta_didik(tahun_ajaran)
        assert all(isinstance(row["npsn"], str) and len(row["npsn"]) == 8 for row in rows)
        assert all(row["laki_laki"] + row["perempuan"] == row["jumlah"] for row in rows)
        for row in rows:
            low, high = bounds[row["bentuk"]]
            # A school's size moves at most 8 % from year to year around its drawn size.
            assert low * 0.92 - 1 <= row["jumlah"] <= high * 1.08 + 1, row
        # Every listed school is there, once per year (apart from the duplicated row).
        assert {row["npsn"] for row in rows} >= set(listed)
    first, second = (generate_peserta_didik(year) for year in DEMO_TAHUN_AJARAN)
    assert len(first) == 323 and len({row["npsn"] for row in first}) == 323, "2018/2019 is clean"
    # 2019/2020: the unlisted new school, and one row typed twice (identical).
    assert len(second) == 325 and len({row["npsn"] for row in second}) == 324
    unlisted = [row for row in second if row["npsn"] not in listed]
    assert [row["npsn"] for row in unlisted] == [UNLISTED_SCHOOL["npsn"]]
    repeated = [row for row in second if sum(other["npsn"] == row["npsn"] for other in second) == 2]
    assert len(repeated) == 2 and repeated[0] == repeated[1]
    # Sizes belong to the school: the same school differs little between the two years.
    by_npsn = {row["npsn"]: row["jumlah"] for row in first}
    changes = [abs(row["jumlah"] - by_npsn[row["npsn"]]) / by_npsn[row["npsn"]] for row in second if row["npsn"] in by_npsn]
    assert max(changes) <= 0.2
    assert generate_peserta_didik("2019/2020", seed=1) != second


def test_enrolment_workbook_has_a_merged_two_row_header(tmp_path: Path) -> None:
    path = write_peserta_didik_workbook(tmp_path / "peserta_didik_2019_2020.xlsx", tahun_ajaran="2019/2020")
    cells = [list(row.values()) for row in _sheet(path, PESERTA_DIDIK_SHEET)]
    assert cells[0][0].startswith("REKAPITULASI PESERTA DIDIK")
    assert "2019/2020" in cells[1][0]
    merged = workbooks.merged_ranges(path, PESERTA_DIDIK_SHEET)
    # NPSN .. Tahun Ajaran merged down rows 4-5; "Jumlah Peserta Didik" across the three count columns.
    assert (4, 1, 5, 1) in merged and (4, 5, 5, 5) in merged and (4, 6, 4, 8) in merged
    assert workbooks.compose_header([[*row] for row in cells], merged, 4, 2) == [
        "NPSN", "Nama Sekolah", "Bentuk Pendidikan", "Status", "Tahun Ajaran",
        "Jumlah Peserta Didik L", "Jumlah Peserta Didik P", "Jumlah Peserta Didik Jumlah",
    ]
    assert len(cells) == 5 + 325
    parts = WorkbookParts(path.read_bytes())
    assert 6 not in _number_cells(parts, PESERTA_DIDIK_SHEET, 0), "NPSN is text"
    assert 6 in _number_cells(parts, PESERTA_DIDIK_SHEET, 5) and 6 in _number_cells(parts, PESERTA_DIDIK_SHEET, 7)
    same = write_peserta_didik_workbook(tmp_path / "again.xlsx", tahun_ajaran="2019/2020")
    assert same.read_bytes() == path.read_bytes()


def test_write_demo_then_extract_load_lands_both_workbooks(zones: Zones, catalog: Catalog) -> None:
    assert disdik.write_demo(zones, scale=0.01) == {}
    drop = zones.drop("disdik")
    assert sorted(p.name for p in drop.iterdir()) == [
        "peserta_didik_2018_2019.xlsx", "peserta_didik_2019_2020.xlsx", "sekolah_2019.xlsx"]
    mtimes = {p.name: p.stat().st_mtime_ns for p in drop.iterdir()}
    entry = catalog.dataset("disdik__peserta_didik")

    manifests = extract_load(entry, zones)

    assert [m["source"]["path"] for m in manifests] == [
        "drop/disdik/peserta_didik_2018_2019.xlsx", "drop/disdik/peserta_didik_2019_2020.xlsx"]
    assert [(m["rows_in"], m["rows_loaded"], m["rows_quarantined"], m["rows_deduplicated"]) for m in manifests] == [
        (323, 323, 0, 0), (325, 324, 0, 1)]
    assert manifests[0]["columns"]["npsn"] == "text" and manifests[0]["columns"]["jumlah_laki_laki"] == "integer"
    data = pq.read_table(batch_dir(zones, entry, manifests[1]["batch_id"]) / "data.parquet").to_pylist()
    expected = {row["npsn"]: row for row in generate_peserta_didik("2019/2020")}
    assert {row["npsn"] for row in data} == set(expected)
    for row in data:
        source = expected[row["npsn"]]
        assert (row["jumlah_laki_laki"], row["jumlah_perempuan"], row["jumlah_peserta_didik"]) == (
            source["laki_laki"], source["perempuan"], source["jumlah"])
        assert row["tahun_ajaran"] == "2019/2020" and row["_source_row"] >= 6
    # The same seed again: nothing rewritten, nothing new to land.
    disdik.write_demo(zones, scale=0.01)
    assert {p.name: p.stat().st_mtime_ns for p in drop.iterdir()} == mtimes
    assert extract_load(entry, zones) == []
