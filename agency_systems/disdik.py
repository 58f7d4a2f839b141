"""Disdikbud Paser's drops: the school list and the enrolment recap, Excel workbooks with title rows.

School list (`sekolah_2019.xlsx`): the real Kemdikbud 2019 list (`data/paser_sekolah_kemdikbud_2019.csv`,
323 schools), laid out as an agency clerk exports it: two title rows, a blank row, a header in the
agency's own spellings, NPSN and codes as text cells, and a second sheet with notes.

Enrolment (`peserta_didik_<yyyy>_<yyyy>.xlsx`, one per school year, 2018/2019 and 2019/2020 around the
list's year): pupils per school by sex, generated for the real schools with sizes by level (SD 100-300,
SMP 200-500, SMA/SMK 300-900, SLB 20-60; a school keeps its size +-8 % between years; SMK lean male,
SMA female). A Dapodik recap layout: title rows, then a two-row header where "Jumlah Peserta Didik" is
merged across L / P / Jumlah and the other headers are merged down both rows. Messiness, on purpose,
in 2019/2020: a school opened after the list (NPSN not in the school list, so its pupils cannot be
placed in a kecamatan: reported as unmapped) and one school's row pasted twice (identical).

Output is byte-for-byte reproducible for the same rows and seed, so "the same workbook twice" really
is the same file.
"""
from __future__ import annotations

import csv
import datetime as dt
import os
import random
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

import xlsxwriter

from ingestion.zones import Zones

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


# --- Enrolment (peserta didik) --------------------------------------------------------------------

PESERTA_DIDIK_SHEET = "Peserta Didik"
# The school years of the demo: the school list is Kemdikbud's 2019 list, so enrolment is generated
# for the two school years around it (2019/2020 is the year the list describes).
DEMO_TAHUN_AJARAN = ("2018/2019", "2019/2020")
DEMO_SEKOLAH_FILE = "sekolah_2019.xlsx"

# Pupils per school by level (uniform range), and the share of boys: SMK classes lean male, SMA female.
_ENROLMENT_RANGE = {"SD": (100, 300), "SMP": (200, 500), "SMA": (300, 900), "SMK": (300, 900), "SLB": (20, 60)}
_SHARE_BOYS = {"SD": 0.515, "SMP": 0.51, "SMA": 0.45, "SMK": 0.60, "SLB": 0.58}

# A school that opened after the 2019 list: its NPSN is not in the school list, so its pupils cannot
# be placed in a kecamatan (the unmapped row the warehouse reports).
UNLISTED_SCHOOL = {"npsn": "70045871", "nama_sekolah": "SD NEGERI 041 LONG IKIS", "bentuk": "SD", "status": "N"}

# Single-row header cells (merged over both header rows) and the merged group over L / P / Jumlah.
PESERTA_DIDIK_HEADERS: dict[str, str] = {
    "npsn": "NPSN",
    "nama_sekolah": "Nama Sekolah",
    "bentuk": "Bentuk Pendidikan",
    "status": "Status",
    "tahun_ajaran": "Tahun Ajaran",
}
PESERTA_DIDIK_GROUP = "Jumlah Peserta Didik"
PESERTA_DIDIK_GROUP_COLUMNS: dict[str, str] = {"laki_laki": "L", "perempuan": "P", "jumlah": "Jumlah"}


def generate_peserta_didik(tahun_ajaran: str, *, seed: int = 20261128) -> list[dict]:
    """Enrolment rows for one school year: one per school (NPSN as text), L and P counts and their sum.

    Sizes are drawn per school (the same school keeps its size from year to year, +-8 %), so two
    years of the same seed agree with each other. Messiness, on purpose: from 2019/2020 on, a school
    not in the school list (`UNLISTED_SCHOOL`), and one school's row typed twice (identical).
    """
    first_year = _first_year(tahun_ajaran)
    rows = []
    schools = load_sekolah_reference()
    if first_year >= 2019:
        schools = [*schools, dict(UNLISTED_SCHOOL, kode_kec_kemdikbud="160106")]
    for school in schools:
        # A school's base size depends on the seed and its NPSN only; the year moves it a little.
        base = random.Random(f"{seed}:{school['npsn']}")
        low, high = _ENROLMENT_RANGE[school["bentuk"]]
        size = base.randint(low, high)
        share = min(max(base.gauss(_SHARE_BOYS[school["bentuk"]], 0.04), 0.3), 0.7)
        yearly = random.Random(f"{seed}:{school['npsn']}:{first_year}")
        total = max(low // 2, round(size * yearly.uniform(0.92, 1.08)))
        boys = round(total * share)
        rows.append({
            "npsn": school["npsn"],
            "nama_sekolah": school["nama_sekolah"],
            "bentuk": school["bentuk"],
            "status": school["status"],
            "tahun_ajaran": tahun_ajaran,
            "laki_laki": boys,
            "perempuan": total - boys,
            "jumlah": total,
        })
    rows.sort(key=lambda row: (row["bentuk"] != "SD", row["npsn"]))
    if first_year >= 2019:
        # The clerk pasted one school twice; the platform counts it once (rows_deduplicated).
        duplicated = rows[41]
        rows.insert(42, dict(duplicated))
    return rows


def _first_year(tahun_ajaran: str) -> int:
    first, _, second = tahun_ajaran.partition("/")
    if not (first.isdigit() and second.isdigit() and int(second) == int(first) + 1):
        raise ValueError(f"tahun ajaran '{tahun_ajaran}' is not of the form 2019/2020")
    return int(first)


def write_peserta_didik_workbook(path: Path, rows: list[dict] | None = None, *, tahun_ajaran: str = "2019/2020",
                                 seed: int = 20261128) -> Path:
    """Write Disdik's enrolment workbook for one school year and return its path.

    Layout as the Dapodik recap a clerk exports: two title rows, a blank row, then a header over two
    rows: NPSN, Nama Sekolah, Bentuk Pendidikan, Status and Tahun Ajaran each merged down both rows,
    and "Jumlah Peserta Didik" merged across the three columns L, P and Jumlah. NPSN is a text cell,
    counts are number cells. `rows` defaults to `generate_peserta_didik(tahun_ajaran, seed=seed)`.
    Byte-for-byte reproducible; written under a hidden temporary name, then renamed.
    """
    path = Path(path)
    rows = generate_peserta_didik(tahun_ajaran, seed=seed) if rows is None else rows
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")

    workbook = xlsxwriter.Workbook(str(tmp))
    workbook.set_properties({"title": "Rekapitulasi Peserta Didik", "author": "Disdikbud Kabupaten Paser",
                             "created": dt.datetime(_first_year(tahun_ajaran) + 1, 1, 31, 0, 0, 0)})
    bold = workbook.add_format({"bold": True})
    header_format = workbook.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1,
                                         "align": "center", "valign": "vcenter"})
    sheet = workbook.add_worksheet(PESERTA_DIDIK_SHEET)
    sheet.write_string(0, 0, "REKAPITULASI PESERTA DIDIK PER SATUAN PENDIDIKAN KABUPATEN PASER", bold)
    sheet.write_string(1, 0, f"Tahun Ajaran {tahun_ajaran}, semester ganjil (sumber: Dapodik)", bold)

    top, bottom = 3, 4  # the two header rows (0-based): sheet rows 4 and 5
    for col_index, header in enumerate(PESERTA_DIDIK_HEADERS.values()):
        sheet.merge_range(top, col_index, bottom, col_index, header, header_format)
    first_group = len(PESERTA_DIDIK_HEADERS)
    last_group = first_group + len(PESERTA_DIDIK_GROUP_COLUMNS) - 1
    sheet.merge_range(top, first_group, top, last_group, PESERTA_DIDIK_GROUP, header_format)
    for offset, header in enumerate(PESERTA_DIDIK_GROUP_COLUMNS.values()):
        sheet.write_string(bottom, first_group + offset, header, header_format)

    keys = [*PESERTA_DIDIK_HEADERS, *PESERTA_DIDIK_GROUP_COLUMNS]
    for row_index, row in enumerate(rows, start=bottom + 1):
        for col_index, key in enumerate(keys):
            _write_cell(sheet, row_index, col_index, row.get(key))

    notes = workbook.add_worksheet("Keterangan")
    notes.write_string(0, 0, "Sumber: Data Pokok Pendidikan (Dapodik), Kemendikbud", bold)
    notes.write_string(1, 0, "L = laki-laki, P = perempuan; Jumlah = L + P")
    workbook.close()
    os.replace(tmp, path)
    return path


def peserta_didik_file_name(tahun_ajaran: str) -> str:
    """`peserta_didik_2019_2020.xlsx`: one workbook per school year."""
    return f"peserta_didik_{tahun_ajaran.replace('/', '_')}.xlsx"


def write_demo(zones: Zones, *, scale: float = 1.0, seed: int = 20261128) -> dict[str, str]:
    """Write Disdik's drops for the embedded demo: the school list and one enrolment workbook per year.

    The school list is real, so `scale` changes nothing here. A workbook whose bytes would not change
    is not rewritten (its mtime stays), so a second run adds no delivery. Files only: no connection,
    so the returned environment is empty.
    """
    folder = zones.drop("disdik")
    _write_if_changed(folder / DEMO_SEKOLAH_FILE, write_sekolah_workbook)
    for tahun_ajaran in DEMO_TAHUN_AJARAN:
        _write_if_changed(folder / peserta_didik_file_name(tahun_ajaran),
                          partial(write_peserta_didik_workbook, tahun_ajaran=tahun_ajaran, seed=seed))
    return {}


def _write_if_changed(path: Path, write: Callable[[Path], Path]) -> None:
    """Write through `write(path)` under a scratch name; keep the existing file when the bytes are equal."""
    scratch = path.with_name(f".{path.stem}.new{path.suffix}")
    write(scratch)
    if path.exists() and path.read_bytes() == scratch.read_bytes():
        scratch.unlink()
        return
    os.replace(scratch, path)
