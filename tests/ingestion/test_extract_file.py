"""extract_load on the Disdik workbook: golden good and bad deliveries built from the real list."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter
import xlwt

from agency_systems.disdik import SEKOLAH_HEADERS
from ingestion.catalog import Column, DatasetEntry
from ingestion.errors import RejectedFile
from ingestion.extract import QUARANTINE_LOG_LINES, extract_load
from ingestion.ledger import batch_dir, committed_batches, dataset_dir, rejections
from ingestion.zones import Zones
from tests.ingestion.drops import age, with_changes

WHERE = "drop/disdik/sekolah_2019.xlsx, sheet 'Daftar Sekolah'"


def _tables(zones: Zones, entry: DatasetEntry, manifest: dict) -> tuple[pa.Table, pa.Table]:
    folder = batch_dir(zones, entry, manifest["batch_id"])
    return pq.read_table(folder / "data.parquet"), pq.read_table(folder / "quarantine.parquet")


def _assert_counts_add_up(manifest: dict) -> None:
    assert manifest["rows_in"] == manifest["rows_loaded"] + manifest["rows_quarantined"] + manifest["rows_deduplicated"]
    assert manifest["files"]["data.parquet"]["rows"] == manifest["rows_loaded"]
    assert manifest["files"]["quarantine.parquet"]["rows"] == manifest["rows_quarantined"]


def test_real_workbook_loads_every_school(zones, sekolah, drop_workbook, sekolah_rows) -> None:
    drop_workbook()
    [manifest] = extract_load(sekolah, zones)
    counts = (manifest["rows_in"], manifest["rows_loaded"], manifest["rows_quarantined"], manifest["rows_deduplicated"])
    assert counts == (323, 323, 0, 0)
    _assert_counts_add_up(manifest)
    assert manifest["dataset"] == "disdik__sekolah"
    assert manifest["source"]["path"] == "drop/disdik/sekolah_2019.xlsx"
    assert manifest["source"]["sheet"] == "Daftar Sekolah"
    assert manifest["batch_id"].endswith("-" + manifest["source"]["sha256"][:8])
    assert manifest["columns"]["npsn"] == "text" and manifest["columns"]["tahun_data"] == "integer"
    assert manifest["header_row"] == 4

    data, quarantine = _tables(zones, sekolah, manifest)
    assert data.schema.field("npsn").type == pa.string()
    assert data.schema.field("kode_kecamatan_kemdikbud").type == pa.string()
    assert data.schema.field("tahun_data").type == pa.int64()
    assert data.schema.field("_loaded_at").type == pa.timestamp("us", tz="UTC")
    assert data.schema.field("_source_row").type == pa.int64()
    assert data.column("npsn").to_pylist() == [row["npsn"] for row in sekolah_rows]
    assert data.column("lintang").to_pylist() == [row["lintang"] or None for row in sekolah_rows]
    assert set(data.column("tahun_data").to_pylist()) == {2019}
    # Title rows 1-2, blank row 3, header row 4: the first school is sheet row 5.
    assert data.column("_source_row").to_pylist() == list(range(5, 5 + 323))
    assert set(data.column("_batch_id").to_pylist()) == {manifest["batch_id"]}
    assert quarantine.num_rows == 0
    assert "_reason" in quarantine.column_names and quarantine.schema.field("npsn").type == pa.string()
    on_disk = json.loads((batch_dir(zones, sekolah, manifest["batch_id"]) / "manifest.json").read_text())
    assert on_disk == manifest


def test_bad_rows_are_quarantined_with_reasons(zones, sekolah, drop_workbook, sekolah_rows) -> None:
    sekolah_rows[0]["kode_kec_kemdikbud"] = "169999"  # sheet row 5: unknown kecamatan
    sekolah_rows[1]["npsn"] = "3040458A"  # row 6: not numeric
    sekolah_rows[2]["status"] = "Negeri"  # row 7: not an accepted value
    sekolah_rows[3]["nama_sekolah"] = "   "  # row 8: empty where nullable: false
    sekolah_rows[4]["tahun_data"] = "2019/2020"  # row 9: not an integer
    drop_workbook(rows=sekolah_rows)
    [manifest] = extract_load(sekolah, zones)
    assert (manifest["rows_in"], manifest["rows_loaded"], manifest["rows_quarantined"]) == (323, 318, 5)
    _assert_counts_add_up(manifest)

    data, quarantine = _tables(zones, sekolah, manifest)
    numbers = quarantine.column("_source_row").to_pylist()
    reasons = dict(zip(numbers, quarantine.column("_reason").to_pylist(), strict=True))
    columns = dict(zip(numbers, quarantine.column("_column").to_pylist(), strict=True))
    assert reasons[5] == (
        f"{WHERE}, row 5, column 'kode_kecamatan_kemdikbud' (Kode Kecamatan): "
        "'169999' is not in the code list kecamatan_kemdikbud"
    )
    assert reasons[6] == f"{WHERE}, row 6, column 'npsn' (NPSN): '3040458A' does not match the pattern [0-9]{{8}}"
    assert reasons[7].startswith(f"{WHERE}, row 7, column 'status_sekolah' (Status): 'Negeri' is not one of N, S")
    assert reasons[8].startswith(f"{WHERE}, row 8, column 'nama_sekolah' (Nama Sekolah): empty")
    assert reasons[9] == f"{WHERE}, row 9, column 'tahun_data' (Tahun Data): '2019/2020' is not a whole number"
    assert columns == {5: "kode_kecamatan_kemdikbud", 6: "npsn", 7: "status_sekolah", 8: "nama_sekolah", 9: "tahun_data"}
    # The quarantine keeps what was delivered, as text.
    assert quarantine.column("npsn").to_pylist()[1] == "3040458A"
    assert quarantine.column("tahun_data").to_pylist()[4] == "2019/2020"
    assert set(quarantine.column("_source_sheet").to_pylist()) == {"Daftar Sekolah"}
    assert "3040458A" not in data.column("npsn").to_pylist()
    assert data.column("_source_row").to_pylist()[0] == 10


def test_npsn_typed_as_number_becomes_exact_text(zones, sekolah, drop_workbook, sekolah_rows) -> None:
    sekolah_rows[0]["npsn"] = int(sekolah_rows[0]["npsn"])  # 30404588 as a number cell
    sekolah_rows[1]["npsn"] = float(sekolah_rows[1]["npsn"])  # 30404589.0
    drop_workbook(rows=sekolah_rows)
    [manifest] = extract_load(sekolah, zones)
    assert manifest["rows_loaded"] == 323
    data, _ = _tables(zones, sekolah, manifest)
    assert data.column("npsn").to_pylist()[:2] == ["30404588", "30404589"]


def test_ids_that_lost_digits_are_quarantined_never_repaired(zones, sekolah, drop_workbook, sekolah_rows) -> None:
    sekolah_rows[0]["npsn"] = "3.04046E+07"  # text in scientific notation (a CSV round trip through Excel)
    sekolah_rows[1]["npsn"] = 30404589000000001  # a number cell with 17 digits
    sekolah_rows[2]["npsn"] = "3040515500000001"  # 16 digits typed as text: wrong pattern, but no precision loss
    drop_workbook(rows=sekolah_rows)
    [manifest] = extract_load(sekolah, zones)
    assert (manifest["rows_loaded"], manifest["rows_quarantined"]) == (320, 3)
    _, quarantine = _tables(zones, sekolah, manifest)
    reasons = quarantine.column("_reason").to_pylist()
    assert "row 5, column 'npsn' (NPSN): '3.04046E+07' is in scientific notation" in reasons[0]
    assert "precision loss" in reasons[0]
    assert "row 6, column 'npsn' (NPSN):" in reasons[1] and "number cell with 17 digits" in reasons[1]
    assert "precision loss" in reasons[1]
    assert "row 7, column 'npsn' (NPSN): '3040515500000001' does not match the pattern" in reasons[2]


def _drop_sheet(zones: Zones, write: Callable[[xlsxwriter.worksheet.Worksheet], None]) -> None:
    """drop/disdik/sekolah_2019.xlsx with one sheet 'Daftar Sekolah' written by `write`, settled."""
    path = zones.drop("disdik") / "sekolah_2019.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path))
    write(workbook.add_worksheet("Daftar Sekolah"))
    workbook.close()
    age(path)


def test_rows_keep_their_number_below_a_formula_without_a_stored_value(zones, sekolah, sekolah_rows) -> None:
    # A title formula whose result was not stored (`<v></v>`, as openpyxl writes every formula) is no cell to
    # fastexcel, which starts below it: the rows must still be counted from sheet row 1.
    rows = sekolah_rows[:3]
    rows[1]["npsn"] = 30404589000000001  # a number cell with 17 digits, sheet row 4

    def write(sheet: xlsxwriter.worksheet.Worksheet) -> None:
        sheet.write_formula(0, 0, '="DAFTAR SATUAN PENDIDIKAN "&2019', None, "")
        sheet.write_row(1, 0, list(SEKOLAH_HEADERS.values()))
        for number, row in enumerate(rows, start=2):
            sheet.write_row(number, 0, [row.get(key, 2019) for key in SEKOLAH_HEADERS])

    _drop_sheet(zones, write)
    [manifest] = extract_load(sekolah, zones)
    assert manifest["header_row"] == 2
    data, quarantine = _tables(zones, sekolah, manifest)
    assert data.column("_source_row").to_pylist() == [3, 5]
    [reason] = quarantine.column("_reason").to_pylist()
    assert f"{WHERE}, row 4, column 'npsn' (NPSN): '30404589000000000' is a number cell with 17 digits" in reason


def test_error_cells_are_quarantined_not_read_as_empty(zones, sekolah, sekolah_rows) -> None:
    # A VLOOKUP that found nothing caches #N/A; fastexcel reads an error cell as empty, and an empty
    # lintang (nullable) or tahun_data (not) would load or be quarantined as "empty" without a word of the error.
    rows = sekolah_rows[:3]

    def write(sheet: xlsxwriter.worksheet.Worksheet) -> None:
        sheet.write_row(0, 0, list(SEKOLAH_HEADERS.values()))
        for number, row in enumerate(rows, start=1):
            sheet.write_row(number, 0, [row.get(key, 2019) for key in SEKOLAH_HEADERS])
        keys = list(SEKOLAH_HEADERS)
        sheet.write_formula(1, keys.index("lintang"), "=VLOOKUP(A2,Koordinat!A:C,2,FALSE)", None, "#N/A")
        sheet.write_formula(3, keys.index("tahun_data"), "=2019/0", None, "#DIV/0!")

    _drop_sheet(zones, write)
    [manifest] = extract_load(sekolah, zones)
    assert (manifest["rows_loaded"], manifest["rows_quarantined"]) == (1, 2)
    _, quarantine = _tables(zones, sekolah, manifest)
    assert quarantine.column("_reason").to_pylist() == [
        f"{WHERE}, row 2, column 'lintang' (Lintang): '#N/A' is an error cell (a formula that failed); "
        "correct it or empty the cell",
        f"{WHERE}, row 4, column 'tahun_data' (Tahun Data): '#DIV/0!' is an error cell (a formula that failed); "
        "correct it or empty the cell",
    ]


def test_duplicate_npsn_identical_is_deduplicated_conflicting_is_quarantined(zones, sekolah, drop_workbook, sekolah_rows) -> None:
    rows = sekolah_rows[:5] + [dict(sekolah_rows[0]), dict(sekolah_rows[1], nama_sekolah="SD NEGERI 002 LAIN")]
    drop_workbook(rows=rows)
    [manifest] = extract_load(sekolah, zones)
    counts = (manifest["rows_in"], manifest["rows_loaded"], manifest["rows_quarantined"], manifest["rows_deduplicated"])
    assert counts == (7, 5, 1, 1)
    _assert_counts_add_up(manifest)
    data, quarantine = _tables(zones, sekolah, manifest)
    assert data.column("nama_sekolah").to_pylist()[1] == "SD NEGERI 002 BATU SOPANG"  # the first one is kept
    [reason] = quarantine.column("_reason").to_pylist()
    assert reason == f"{WHERE}, row 11, column 'npsn' (NPSN): duplicate npsn '30404589', first seen at row 6 with other values"


def test_missing_required_column_refuses_the_file(zones, sekolah, drop_workbook, sekolah_rows) -> None:
    headers = {key: text for key, text in SEKOLAH_HEADERS.items() if key != "npsn"}
    drop_workbook(rows=sekolah_rows, headers=headers)
    with pytest.raises(RejectedFile) as refused:
        extract_load(sekolah, zones)
    message = str(refused.value)
    assert message.startswith(f"{WHERE}, row 4: required column 'npsn' (NPSN) is missing; found: Nama Sekolah, ")
    assert committed_batches(zones, sekolah) == []
    [record] = rejections(zones, sekolah)
    assert record["message"] == message and record["source"]["path"] == "drop/disdik/sekolah_2019.xlsx"
    # Refused content is known: the next run is a no-op, not a second error.
    assert extract_load(sekolah, zones) == []


def test_new_column_refused_when_contract_says_fail(zones, sekolah, drop_workbook, sekolah_rows) -> None:
    for row in sekolah_rows:
        row["akreditasi"] = "A"
    drop_workbook(rows=sekolah_rows, headers={**SEKOLAH_HEADERS, "akreditasi": "Akreditasi"})
    with pytest.raises(RejectedFile, match=r"row 4: 'Akreditasi' \(column K\) is not in the contract of disdik__sekolah"):
        extract_load(sekolah, zones)
    assert committed_batches(zones, sekolah) == []


def test_new_column_carried_along_when_contract_evolves(zones, sekolah, drop_workbook, sekolah_rows) -> None:
    for row in sekolah_rows:
        row["akreditasi"] = "A"
    drop_workbook(rows=sekolah_rows, headers={**SEKOLAH_HEADERS, "akreditasi": "Akreditasi Sekolah"})
    evolving = with_changes(sekolah, contract={"on_new_column": "evolve"})
    [manifest] = extract_load(evolving, zones)
    assert manifest["rows_loaded"] == 323
    assert manifest["columns"]["akreditasi_sekolah"] == "text"
    data, _ = _tables(zones, evolving, manifest)
    assert set(data.column("akreditasi_sekolah").to_pylist()) == {"A"}


def test_same_workbook_twice_is_a_no_op(zones, sekolah, drop_workbook) -> None:
    drop_workbook()
    drop_workbook("sekolah_2019 (1).xlsx")  # the same file dropped twice before the first run
    assert len(extract_load(sekolah, zones)) == 1
    assert extract_load(sekolah, zones) == []
    drop_workbook("sekolah_2019_salinan.xlsx")  # the same bytes under another name
    assert extract_load(sekolah, zones) == []
    assert len(committed_batches(zones, sekolah)) == 1


def test_changed_workbook_gives_exactly_one_new_batch(zones, sekolah, drop_workbook, sekolah_rows) -> None:
    drop_workbook()
    [first] = extract_load(sekolah, zones)
    drop_workbook(rows=sekolah_rows[:-1])  # one school closed: the agency overwrites its file
    [second] = extract_load(sekolah, zones)
    assert second["rows_loaded"] == 322
    assert second["batch_id"] > first["batch_id"]
    assert [m["batch_id"] for m in committed_batches(zones, sekolah)] == [first["batch_id"], second["batch_id"]]
    assert extract_load(sekolah, zones) == []


def test_several_new_files_land_oldest_first(zones, sekolah, drop_workbook, sekolah_rows) -> None:
    drop_workbook("sekolah_2019.xlsx")
    drop_workbook("sekolah_2020.xlsx", tahun=2020)
    manifests = extract_load(sekolah, zones)
    assert [m["source"]["path"] for m in manifests] == ["drop/disdik/sekolah_2019.xlsx", "drop/disdik/sekolah_2020.xlsx"]
    data, _ = _tables(zones, sekolah, manifests[-1])
    assert set(data.column("tahun_data").to_pylist()) == {2020}


def test_refused_file_does_not_stop_the_others(zones, sekolah, drop_workbook, sekolah_rows) -> None:
    headers = {key: text for key, text in SEKOLAH_HEADERS.items() if key != "kode_kec_kemdikbud"}
    drop_workbook("sekolah_a.xlsx", rows=sekolah_rows, headers=headers)
    drop_workbook("sekolah_b.xlsx")
    with pytest.raises(RejectedFile) as refused:
        extract_load(sekolah, zones)
    assert "sekolah_a.xlsx" in str(refused.value) and "'kode_kecamatan_kemdikbud' (Kode Kecamatan)" in str(refused.value)
    [manifest] = refused.value.batches
    assert manifest["source"]["path"] == "drop/disdik/sekolah_b.xlsx"
    assert committed_batches(zones, sekolah) == [manifest]


@pytest.mark.parametrize("title_rows, header_row", [(0, 1), (2, 4), (5, 7)])
def test_header_found_below_any_number_of_title_rows(zones, sekolah, drop_workbook, sekolah_rows, title_rows, header_row) -> None:
    drop_workbook(rows=sekolah_rows[:3], title_rows=title_rows)
    [manifest] = extract_load(sekolah, zones)
    assert manifest["header_row"] == header_row
    data, _ = _tables(zones, sekolah, manifest)
    assert data.column("_source_row").to_pylist() == [header_row + 1, header_row + 2, header_row + 3]


def test_declared_header_row(zones, sekolah, drop_workbook, sekolah_rows) -> None:
    drop_workbook(rows=sekolah_rows[:3])
    [manifest] = extract_load(with_changes(sekolah, source={"header_row": 4}), zones)
    assert manifest["rows_loaded"] == 3
    drop_workbook(rows=sekolah_rows[:4])
    with pytest.raises(RejectedFile, match=r"sheet 'Daftar Sekolah', row 3: the declared header_row is empty"):
        extract_load(with_changes(sekolah, source={"header_row": 3}), zones)


def test_missing_sheet_names_the_sheets_found(zones, sekolah, drop_workbook) -> None:
    drop_workbook(sheet_name="Sheet1")
    with pytest.raises(RejectedFile) as refused:
        extract_load(sekolah, zones)
    assert str(refused.value) == "drop/disdik/sekolah_2019.xlsx: no sheet 'Daftar Sekolah' (sheets found: 'Sheet1', 'Keterangan')"


def test_not_a_workbook_is_refused(zones, sekolah) -> None:
    path = zones.drop("disdik") / "sekolah_rusak.xlsx"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"NPSN,Nama Sekolah\n30404588,SD\n")
    age(path)
    with pytest.raises(RejectedFile, match=r"^drop/disdik/sekolah_rusak.xlsx: cannot read the file as an xlsx workbook"):
        extract_load(sekolah, zones)


def test_one_info_line_per_batch_and_capped_warnings(zones, sekolah, drop_workbook, sekolah_rows, caplog) -> None:
    for row in sekolah_rows[:25]:
        row["status"] = "X"
    drop_workbook(rows=sekolah_rows)
    with caplog.at_level(logging.INFO, logger="ingestion"):
        extract_load(sekolah, zones)
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO and r.name == "ingestion.extract"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "ingestion.extract"]
    assert len(infos) == 1
    assert "drop/disdik/sekolah_2019.xlsx: 323 rows in, 298 loaded, 25 quarantined" in infos[0]
    assert len(warnings) == QUARANTINE_LOG_LINES + 1
    assert "row 5, column 'status_sekolah'" in warnings[0]
    assert "... and 5 more quarantined rows" in warnings[-1]


def test_raw_folder_holds_only_committed_batches(zones, sekolah, drop_workbook) -> None:
    drop_workbook()
    [manifest] = extract_load(sekolah, zones)
    folder = dataset_dir(zones, sekolah)
    names = sorted(p.name for p in folder.iterdir())
    assert names == [".lock", f"batch={manifest['batch_id']}"]
    assert sorted(p.name for p in (folder / names[1]).iterdir()) == ["data.parquet", "manifest.json", "quarantine.parquet"]


def test_workbook_without_rows_is_refused(zones, sekolah, drop_workbook) -> None:
    drop_workbook(rows=[])
    with pytest.raises(RejectedFile, match=rf"^{WHERE}, row 4: no data rows below the header$"):
        extract_load(sekolah, zones)


def test_drop_folder_missing_means_nothing_new(zones, sekolah) -> None:
    assert extract_load(sekolah, zones) == []
    assert not Path(zones.drop("disdik")).exists()


def _with_dates(sekolah: DatasetEntry) -> DatasetEntry:
    """The school list with an optional date, timestamp and text column, for Excel's date and time cells."""
    more = {
        "tanggal_sk": Column(type="date", description="Tanggal SK pendirian", required=False, aliases=["Tanggal SK"]),
        "diperbarui": Column(type="timestamp", description="Waktu pembaruan data", required=False, aliases=["Diperbarui"]),
        "jam_buka": Column(type="text", description="Jam buka sekolah", required=False, aliases=["Jam Buka"]),
    }
    return with_changes(sekolah, contract={"columns": {**sekolah.spec.contract.columns, **more}})


def _drop_dated_rows(zones: Zones, rows: list[dict], cells: list[list[tuple]], date_1904: bool = False) -> None:
    """The schools with 'Tanggal SK', 'Diperbarui' and 'Jam Buka' cells: (serial or text, number format) each."""
    path = zones.drop("disdik") / "sekolah_2019.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"date_1904": date_1904})
    sheet = workbook.add_worksheet("Daftar Sekolah")
    formats: dict[str, xlsxwriter.format.Format] = {}
    sheet.write_row(0, 0, [*SEKOLAH_HEADERS.values(), "Tanggal SK", "Diperbarui", "Jam Buka"])
    for number, (row, dated) in enumerate(zip(rows, cells, strict=True), start=1):
        sheet.write_row(number, 0, [row.get(key, 2019) for key in SEKOLAH_HEADERS])
        for offset, (value, number_format) in enumerate(dated):
            column = len(SEKOLAH_HEADERS) + offset
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(number, column, value)
            else:
                cell_format = formats.setdefault(number_format, workbook.add_format({"num_format": number_format}))
                sheet.write_number(number, column, value, cell_format)
    workbook.close()
    age(path)


HALF_PAST_EIGHT = (8 * 60 + 30) / 1440  # 08:30 as Excel stores it: a day's fraction, no day


def test_a_time_without_a_date_is_no_date_and_reads_as_its_time_in_text(zones, sekolah, sekolah_rows) -> None:
    # fastexcel reads a time-only cell (serial < 1, time format) as the timestamp '1899-12-31 08:30:00'.
    entry = _with_dates(sekolah)
    _drop_dated_rows(zones, sekolah_rows[:5], [
        [(43661, "yyyy-mm-dd"), (43661 + HALF_PAST_EIGHT, "yyyy-mm-dd hh:mm"), (7.5 / 24, "hh:mm")],  # row 2: good
        [(HALF_PAST_EIGHT, "hh:mm"), (43661, "yyyy-mm-dd"), (None, "")],  # row 3: a time in a date column
        [(43661, "yyyy-mm-dd"), ((13 * 3600 + 45 * 60 + 10) / 86400, "hh:mm:ss"), (None, "")],  # row 4: in a timestamp column
        [(None, ""), (None, ""), ((7 * 3600 + 30) / 86400, "hh:mm:ss")],  # row 5: seconds kept in text
        [(None, ""), (None, ""), ("1899-12-31 08:30:00", "")],  # row 6: text typed as such stays as typed
    ])
    [manifest] = extract_load(entry, zones)
    assert (manifest["rows_loaded"], manifest["rows_quarantined"]) == (3, 2)
    data, quarantine = _tables(zones, entry, manifest)
    assert data.column("_source_row").to_pylist() == [2, 5, 6]
    assert data.column("jam_buka").to_pylist() == ["07:30", "07:00:30", "1899-12-31 08:30:00"]
    assert str(data.column("tanggal_sk")[0]) == "2019-07-15"
    assert quarantine.column("_reason").to_pylist() == [
        f"{WHERE}, row 3, column 'tanggal_sk' (Tanggal SK): a time without a date: 08:30 "
        "(the cell holds only a time of day; type the date)",
        f"{WHERE}, row 4, column 'diperbarui' (Diperbarui): a time without a date: 13:45:10 "
        "(the cell holds only a time of day; type the date)",
    ]


def test_dates_before_march_1900_read_as_excel_shows_them_and_29_february_1900_is_quarantined(
    zones, sekolah, sekolah_rows,
) -> None:
    # Excel counts a 29 February 1900 (serial 60) that never was; fastexcel reads it as 28 February.
    entry = _with_dates(sekolah)
    _drop_dated_rows(zones, sekolah_rows[:5], [
        [(1, "yyyy-mm-dd"), (None, ""), (60, "yyyy-mm-dd")],  # row 2: 1900-01-01; the text shows 29 February
        [(59, "dd/mm/yyyy"), (None, ""), (None, "")],  # row 3: 1900-02-28
        [(60, "yyyy-mm-dd"), (None, ""), (None, "")],  # row 4: a day that does not exist
        [(61, "yyyy-mm-dd"), (None, ""), (None, "")],  # row 5: 1900-03-01
        [(None, ""), (60.5, "yyyy-mm-dd hh:mm"), (None, "")],  # row 6: the same day at noon
    ])
    [manifest] = extract_load(entry, zones)
    assert (manifest["rows_loaded"], manifest["rows_quarantined"]) == (3, 2)
    data, quarantine = _tables(zones, entry, manifest)
    assert data.column("_source_row").to_pylist() == [2, 3, 5]
    assert [str(day) for day in data.column("tanggal_sk").to_pylist()] == ["1900-01-01", "1900-02-28", "1900-03-01"]
    assert data.column("jam_buka").to_pylist()[0] == "1900-02-29 00:00:00"
    assert quarantine.column("_reason").to_pylist() == [
        f"{WHERE}, row 4, column 'tanggal_sk' (Tanggal SK): '1900-02-29' is a day that never was "
        "(Excel's 1900 leap-year error); type the date again",
        f"{WHERE}, row 6, column 'diperbarui' (Diperbarui): '1900-02-29 12:00:00' is a day that never was "
        "(Excel's 1900 leap-year error); type the date again",
    ]


def test_a_time_without_a_date_in_a_workbook_counting_from_1904(zones, sekolah, sekolah_rows) -> None:
    # Excel for Mac's old default: serial 0 is 1904-01-01, and fastexcel reads 08:30 as '1904-01-01 08:30:00'.
    entry = _with_dates(sekolah)
    _drop_dated_rows(zones, sekolah_rows[:2], [
        [(1, "yyyy-mm-dd"), (None, ""), (HALF_PAST_EIGHT, "hh:mm")],  # row 2: 1904-01-02, and a time in text
        [(HALF_PAST_EIGHT, "hh:mm"), (None, ""), (None, "")],  # row 3: a time in a date column
    ], date_1904=True)
    [manifest] = extract_load(entry, zones)
    data, quarantine = _tables(zones, entry, manifest)
    assert [str(day) for day in data.column("tanggal_sk").to_pylist()] == ["1904-01-02"]
    assert data.column("jam_buka").to_pylist() == ["08:30"]
    assert quarantine.column("_reason").to_pylist() == [
        f"{WHERE}, row 3, column 'tanggal_sk' (Tanggal SK): a time without a date: 08:30 "
        "(the cell holds only a time of day; type the date)",
    ]


def test_times_and_29_february_1900_in_an_xls_workbook(zones, sekolah, sekolah_rows) -> None:
    # The old binary format: fastexcel reads its date cells as it reads an xlsx workbook's.
    entry = with_changes(_with_dates(sekolah), source={"format": "xls", "pattern": "sekolah*.xls"})
    cells = [
        [(59, "yyyy-mm-dd"), (None, ""), (HALF_PAST_EIGHT, "hh:mm")],  # row 2: 1900-02-28, and a time in text
        [(HALF_PAST_EIGHT, "hh:mm"), (None, ""), (None, "")],  # row 3: a time in a date column
        [(60, "yyyy-mm-dd"), (None, ""), ("1899-12-31 08:30:00", "")],  # row 4: a day that never was
    ]
    workbook = xlwt.Workbook()
    sheet = workbook.add_sheet("Daftar Sekolah")
    for column, header in enumerate([*SEKOLAH_HEADERS.values(), "Tanggal SK", "Diperbarui", "Jam Buka"]):
        sheet.write(0, column, header)
    for number, (row, dated) in enumerate(zip(sekolah_rows[:3], cells, strict=True), start=1):
        for column, key in enumerate(SEKOLAH_HEADERS):
            sheet.write(number, column, row.get(key, 2019))
        for offset, (value, number_format) in enumerate(dated):
            if value is not None:
                sheet.write(number, len(SEKOLAH_HEADERS) + offset, value, xlwt.easyxf(num_format_str=number_format or "General"))
    path = zones.drop("disdik") / "sekolah_2019.xls"
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(str(path))
    age(path)
    [manifest] = extract_load(entry, zones)
    data, quarantine = _tables(zones, entry, manifest)
    where = "drop/disdik/sekolah_2019.xls, sheet 'Daftar Sekolah'"
    assert [str(day) for day in data.column("tanggal_sk").to_pylist()] == ["1900-02-28"]
    assert data.column("jam_buka").to_pylist() == ["08:30"]
    assert quarantine.column("_reason").to_pylist() == [
        f"{where}, row 3, column 'tanggal_sk' (Tanggal SK): a time without a date: 08:30 "
        "(the cell holds only a time of day; type the date)",
        f"{where}, row 4, column 'tanggal_sk' (Tanggal SK): '1900-02-29' is a day that never was "
        "(Excel's 1900 leap-year error); type the date again",
    ]
    assert quarantine.column("jam_buka").to_pylist() == [None, "1899-12-31 08:30:00"]
