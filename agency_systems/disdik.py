"""Disdikbud Paser's school list as the agency drops it: an Excel workbook with title rows.

Built from the real Kemdikbud 2019 list (`data/paser_sekolah_kemdikbud_2019.csv`, 323 schools).
The workbook looks like what an agency clerk exports: two title rows, a blank row, a header in the
agency's own spellings, NPSN and codes as text cells, and a second sheet with notes. Output is
byte-for-byte reproducible for the same rows, so "the same workbook twice" really is the same file.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path

import xlsxwriter

DATA_DIR = Path(__file__).resolve().parent / "data"
SEKOLAH_CSV = DATA_DIR / "paser_sekolah_kemdikbud_2019.csv"
SHEET_NAME = "Daftar Sekolah"

# Key in a row dict -> header as Disdik spells it, in sheet order.
SEKOLAH_HEADERS: dict[str, str] = {
    "npsn": "NPSN",
    "nama_sekolah": "Nama Sekolah",
    "bentuk": "Bentuk Pendidikan",
    "status": "Status",
    "kode_kec_kemdikbud": "Kode Kecamatan",
    "kecamatan": "Kecamatan",
    "alamat_jalan": "Alamat",
    "lintang": "Lintang",
    "bujur": "Bujur",
    "tahun_data": "Tahun Data",
}


def load_sekolah_reference() -> list[dict[str, str]]:
    """The real school list (323 rows), every value as text exactly as in the CSV."""
    with SEKOLAH_CSV.open(encoding="utf-8", newline="") as handle:
        return [dict(row) for row in csv.DictReader(handle)]


def write_sekolah_workbook(
    path: Path,
    rows: list[dict] | None = None,
    *,
    tahun: int = 2019,
    title_rows: int = 2,
    headers: Mapping[str, str] | None = None,
    sheet_name: str = SHEET_NAME,
) -> Path:
    """Write the workbook Disdik drops and return its path.

    `rows` defaults to the real list. A row value that is a `str` becomes a text cell, an int or
    float a number cell (how a clerk's retyped NPSN arrives), None or a missing key an empty cell;
    `tahun_data` defaults to `tahun`. `headers` (key -> header text) replaces the header row, to
    build deliveries with a column missing or added. The file appears atomically (written under a
    hidden temporary name, then renamed), as a careful agency export would.
    """
    path = Path(path)
    rows = load_sekolah_reference() if rows is None else rows
    headers = dict(SEKOLAH_HEADERS if headers is None else headers)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")

    workbook = xlsxwriter.Workbook(str(tmp))
    # A fixed creation date keeps the bytes reproducible.
    workbook.set_properties({"title": "Daftar Satuan Pendidikan", "author": "Disdikbud Kabupaten Paser",
                             "created": dt.datetime(tahun, 12, 31, 0, 0, 0)})
    bold = workbook.add_format({"bold": True})
    header_format = workbook.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1})
    sheet = workbook.add_worksheet(sheet_name)

    titles = [
        "DAFTAR SATUAN PENDIDIKAN KABUPATEN PASER",
        f"Keadaan data: {tahun} (sumber: Dapodik)",
    ]
    row_index = 0
    if title_rows > 0:
        for line in (titles + [f"Catatan {n}" for n in range(3, title_rows + 1)])[:title_rows]:
            sheet.write_string(row_index, 0, line, bold)
            row_index += 1
        row_index += 1  # a blank row between the titles and the header

    for col_index, header in enumerate(headers.values()):
        sheet.write_string(row_index, col_index, header, header_format)
    row_index += 1

    for row in rows:
        for col_index, key in enumerate(headers):
            value = row.get(key, tahun if key == "tahun_data" else None)
            _write_cell(sheet, row_index, col_index, value)
        row_index += 1

    notes = workbook.add_worksheet("Keterangan")
    notes.write_string(0, 0, "Sumber: Data Pokok Pendidikan (Dapodik), Kemendikbud", bold)
    notes.write_string(1, 0, "Status: N = negeri, S = swasta")
    notes.write_string(2, 0, "Kode Kecamatan: kode wilayah Kemdikbud (bukan kode Kemendagri)")
    workbook.close()
    os.replace(tmp, path)
    return path


def _write_cell(sheet, row: int, col: int, value: object) -> None:
    if value is None or value == "":
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, (int, float)):
        sheet.write_number(row, col, value)
    else:
        sheet.write_string(row, col, str(value))
