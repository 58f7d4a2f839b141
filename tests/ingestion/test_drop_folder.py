"""Which files in a drop folder are read: patterns, symlinks, size limit, files still being written."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ingestion.errors import RejectedFile
from ingestion.extract import extract_load
from ingestion.kinds import file as file_kind
from ingestion.ledger import batch_dir, committed_batches, rejections
from ingestion.zones import Zones
from tests.ingestion.drops import age, with_changes


def drop_csv(zones: Zones, lines: list[str], *, newline: str = "\n", encoding: str = "utf-8") -> Path:
    """Drop Disdik's school list as disdik/sekolah_2019.csv, settled: `lines` joined and ended by `newline`."""
    path = zones.drop("disdik") / "sekolah_2019.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return age(path)


def test_only_matching_regular_files_inside_the_folder(zones, sekolah, drop_workbook, tmp_path, caplog) -> None:
    outside = drop_workbook("sekolah_luar.xlsx")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    moved = outside.rename(elsewhere / "sekolah_luar.xlsx")
    (zones.drop("disdik") / "sekolah_link.xlsx").symlink_to(moved)  # a link pointing out of the drop folder
    drop_workbook("~$sekolah_2019.xlsx")  # an Office lock file
    drop_workbook("daftar_guru.xlsx")  # does not match sekolah*.xlsx
    assert extract_load(sekolah, zones) == []
    assert "is a symbolic link" in caplog.text
    assert rejections(zones, sekolah) == []


def test_file_over_max_bytes_is_refused(zones, sekolah, drop_workbook) -> None:
    drop_workbook()
    small = with_changes(sekolah, source={"max_bytes": 1000})
    with pytest.raises(RejectedFile, match=r"^drop/disdik/sekolah_2019.xlsx: \d+ bytes is more than max_bytes \(1000\)"):
        extract_load(small, zones)
    assert len(rejections(zones, small)) == 1
    assert extract_load(small, zones) == []


def test_file_still_being_written_is_left_for_the_next_run(zones, sekolah, drop_workbook, monkeypatch) -> None:
    path = drop_workbook()
    path.touch()  # just modified: the reader waits, and meanwhile the agency writes more
    real_sleep = time.sleep

    def agency_keeps_writing(seconds: float) -> None:
        with path.open("ab") as handle:
            handle.write(b"\0" * 10)
        real_sleep(0)

    monkeypatch.setattr(file_kind.time, "sleep", agency_keeps_writing)
    assert extract_load(sekolah, zones) == []
    assert committed_batches(zones, sekolah) == [] and rejections(zones, sekolah) == []


def test_fresh_file_is_waited_for_then_read(zones, sekolah, drop_workbook, monkeypatch) -> None:
    monkeypatch.setattr(file_kind, "SETTLE_SECONDS", 0.3)
    path = drop_workbook()
    path.touch()
    started = time.monotonic()
    [manifest] = extract_load(sekolah, zones)
    assert time.monotonic() - started >= 0.25
    assert manifest["rows_loaded"] == 323


def test_csv_delivery_with_bom_and_semicolons(zones, sekolah, sekolah_rows) -> None:
    csv_entry = with_changes(sekolah, source={"format": "csv", "pattern": "sekolah*.csv", "sheet": None})
    lines = ["NPSN;Nama Sekolah;Bentuk;Status;Kode Kec;Kecamatan;Alamat Jalan;Lintang;Bujur;Tahun"]
    for row in sekolah_rows[:4]:
        lines.append(";".join([row["npsn"], row["nama_sekolah"], row["bentuk"], row["status"], row["kode_kec_kemdikbud"],
                               row["kecamatan"], row["alamat_jalan"], row["lintang"], row["bujur"], "2019"]))
    lines[2] = lines[2].replace(sekolah_rows[1]["npsn"], "3.04E+07", 1)
    drop_csv(zones, lines, encoding="utf-8-sig")
    [manifest] = extract_load(csv_entry, zones)
    assert (manifest["rows_in"], manifest["rows_loaded"], manifest["rows_quarantined"], manifest["header_row"]) == (4, 3, 1, 1)
    assert manifest["source"]["sheet"] is None


def test_csv_not_utf8_is_refused(zones, sekolah) -> None:
    csv_entry = with_changes(sekolah, source={"format": "csv", "pattern": "sekolah*.csv", "sheet": None})
    path = zones.drop("disdik") / "sekolah.csv"
    path.parent.mkdir(parents=True)
    header = "NPSN,Nama Sekolah,Bentuk,Status,Kode Kec,Kecamatan,Alamat,Lintang,Bujur,Tahun\n"
    path.write_bytes((header + "30404588,SD Bina Â,SD,N,160101,Batu Sopang,Jl,,,2019\n").encode("latin-1"))
    age(path)
    with pytest.raises(RejectedFile, match=r"^drop/disdik/sekolah.csv: not UTF-8 text"):
        extract_load(csv_entry, zones)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_csv_in_utf16_is_refused_saying_so(zones, sekolah, encoding) -> None:
    csv_entry = with_changes(sekolah, source={"format": "csv", "pattern": "sekolah*.csv", "sheet": None})
    path = zones.drop("disdik") / "sekolah.csv"
    path.parent.mkdir(parents=True)
    text = "NPSN\tNama Sekolah\tBentuk\tStatus\tKode Kec\tKecamatan\tAlamat\tLintang\tBujur\tTahun\n"
    path.write_bytes(("\ufeff" + text).encode(encoding))  # Excel's "Unicode Text": a byte order mark first
    age(path)
    with pytest.raises(RejectedFile, match=r'^drop/disdik/sekolah.csv: UTF-16 text .* save the file as "CSV UTF-8"'):
        extract_load(csv_entry, zones)


def test_csv_windows_1252_with_indonesian_names(zones, sekolah, sekolah_rows) -> None:
    csv_entry = with_changes(sekolah, source={"format": "csv", "pattern": "sekolah*.csv", "sheet": None,
                                              "encoding": "windows-1252"})
    header = "NPSN;Nama Sekolah;Bentuk;Status;Kode Kec;Kecamatan;Alamat;Lintang;Bujur;Tahun"
    lines = ["Daftar Sekolah Kabupaten Paser", "", header]
    names = ["SD Négeri 001 Tanah Grogot", "SD Nur’ul Iman"]
    for row, name in zip(sekolah_rows[:2], names, strict=True):
        lines.append(";".join([row["npsn"], name, row["bentuk"], row["status"], row["kode_kec_kemdikbud"], row["kecamatan"],
                               row["alamat_jalan"], row["lintang"], row["bujur"], "2019"]))
    drop_csv(zones, lines, newline="\r\n", encoding="cp1252")
    [manifest] = extract_load(csv_entry, zones)
    assert (manifest["rows_in"], manifest["rows_loaded"], manifest["header_row"]) == (2, 2, 3)
    data = pq.read_table(batch_dir(zones, csv_entry, manifest["batch_id"]) / "data.parquet")
    assert data.column("nama_sekolah").to_pylist() == names
    assert data.column("_source_row").to_pylist() == [4, 5]
    assert not list(Path(tempfile.gettempdir()).glob("satudata-*.csv"))  # the transcoded copy is removed


def test_csv_with_mixed_line_ends_is_refused_saying_what_to_do(zones, sekolah) -> None:
    csv_entry = with_changes(sekolah, source={"format": "csv", "pattern": "sekolah*.csv", "sheet": None})
    path = zones.drop("disdik") / "sekolah.csv"
    path.parent.mkdir(parents=True)
    header = "NPSN,Nama Sekolah,Bentuk,Status,Kode Kec,Kecamatan,Alamat,Lintang,Bujur,Tahun\r\n"  # CRLF, then LF
    path.write_text(header + "30404588,SD,SD,N,160101,Batu Sopang,Jl,,,2019\n30404589,SD,SD,N,160101,Batu Sopang,Jl,,,2019\n",
                    encoding="utf-8", newline="")
    age(path)
    with pytest.raises(RejectedFile, match=r"^drop/disdik/sekolah.csv: cannot read the file as CSV: .*CRLF and LF mixed.*"
                                           r"save it again as CSV UTF-8$"):
        extract_load(csv_entry, zones)
    assert committed_batches(zones, csv_entry) == []


def test_csv_ragged_line_refuses_the_file_naming_the_line(zones, sekolah) -> None:
    csv_entry = with_changes(sekolah, source={"format": "csv", "pattern": "sekolah*.csv", "sheet": None})
    path = zones.drop("disdik") / "sekolah.csv"
    path.parent.mkdir(parents=True)
    header = "NPSN,Nama Sekolah,Bentuk,Status,Kode Kec,Kecamatan,Alamat,Lintang,Bujur,Tahun\n"
    path.write_text(header + "30404588,SD,SD,N,160101,Batu Sopang,Jl,,,2019\n30404589,SD\n", encoding="utf-8")
    age(path)
    with pytest.raises(RejectedFile, match=r"^drop/disdik/sekolah.csv: cannot read the delivery \(CSV Error on Line: 3"):
        extract_load(csv_entry, zones)
    assert committed_batches(zones, csv_entry) == []


PENGADUAN_HEADER = ("No. Tiket;Tanggal Laporan;Kategori;Kecamatan;Desa/Kelurahan;Judul Laporan;Isi Laporan;Nama Pelapor;"
                    "NIK Pelapor;Status;Terakhir Diperbarui")


def _complaint(number: int, nik: str = "6401234567890001", isi: str = "Jalan berlubang") -> str:
    return (f"LAPOR-2025-{number:06d};01/02/2025;Infrastruktur;Tanah Grogot;;Jalan rusak;{isi};Budi;{nik};Diterima;"
            "01/02/2025 10:00:00")


def _drop_complaints(zones, lines: list[str], prefix: bytes = b"") -> None:
    path = zones.drop("diskominfo") / "pengaduan_20250630.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(prefix + ("\r\n".join(lines) + "\r\n").encode("cp1252"))
    age(path)


def test_nik_in_scientific_notation_with_a_decimal_comma_is_quarantined(zones, catalog) -> None:
    """Excel set to Indonesian writes a NIK it turned into a number as '6,40123E+15': the digits are lost all the same."""
    pengaduan = catalog.dataset("diskominfo__pengaduan")  # a NIK column with no pattern to catch it otherwise
    _drop_complaints(zones, [PENGADUAN_HEADER, _complaint(1, nik="6,40123E+15"), _complaint(2), _complaint(3, nik="6,4E15")])
    [manifest] = extract_load(pengaduan, zones)
    assert (manifest["rows_in"], manifest["rows_loaded"], manifest["rows_quarantined"]) == (3, 1, 2)
    quarantine = pq.read_table(batch_dir(zones, pengaduan, manifest["batch_id"]) / "quarantine.parquet").to_pylist()
    assert [(row["_source_row"], row["_column"]) for row in quarantine] == [(2, "nik_pelapor"), (4, "nik_pelapor")]
    assert "'6,40123E+15' is in scientific notation" in quarantine[0]["_reason"]


def test_csv_utf8_with_a_byte_order_mark_is_read_as_utf8_where_windows_1252_is_declared(zones, catalog) -> None:
    """Excel's "CSV UTF-8" starts with a byte order mark; read as windows-1252 every 'é' would load as 'Ã©'."""
    pengaduan = catalog.dataset("diskominfo__pengaduan")  # declares windows-1252
    path = zones.drop("diskominfo") / "pengaduan_20250630.csv"
    path.parent.mkdir(parents=True)
    lines = ["Daftar Pengaduan SP4N-LAPOR! Kabupaten Paser", PENGADUAN_HEADER, _complaint(1).replace("Budi", "Andi Résa")]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8-sig"))
    age(path)
    [manifest] = extract_load(pengaduan, zones)
    assert (manifest["rows_loaded"], manifest["header_row"]) == (1, 2)
    data = pq.read_table(batch_dir(zones, pengaduan, manifest["batch_id"]) / "data.parquet")
    assert data.column("nama_pelapor").to_pylist() == ["Andi Résa"]


def test_zip_member_named_with_backslashes_matches_a_member_pattern_with_slashes(zones, sekolah) -> None:
    """Some Windows zip tools write 'data\\sekolah.csv'; it is extracted as data/sekolah.csv and must be chosen as such."""
    import zipfile

    entry = with_changes(sekolah, source={"format": "csv", "pattern": "kiriman*.zip", "sheet": None, "archive": "zip",
                                          "member_pattern": "data/*.csv"})
    header = "NPSN;Nama Sekolah;Bentuk;Status;Kode Kec;Kecamatan;Alamat;Lintang;Bujur;Tahun"
    path = zones.drop("disdik") / "kiriman_2024.zip"
    path.parent.mkdir(parents=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data\\sekolah.csv", f"{header}\n30404588;SD NEGERI 1;SD;N;160101;Batu Sopang;Jl;;;2024\n")
        archive.writestr("lampiran\\catatan.csv", "bukan data\n")
    age(path)
    [manifest] = extract_load(entry, zones)
    assert manifest["source"]["member"] == "data/sekolah.csv"
    assert manifest["rows_loaded"] == 1


def test_csv_from_excel_with_a_header_cell_over_two_lines(zones, sekolah) -> None:
    """Excel on Windows ends lines with CRLF but writes a line break typed in a cell (Alt+Enter) as a lone LF.

    DuckDB took the file's line break from the first one it met, the one inside the quoted header, and read no rows.
    """
    entry = with_changes(sekolah, source={"format": "csv", "pattern": "sekolah*.csv", "sheet": None})
    lines = ['NPSN;"Nama\nSekolah";Bentuk;Status;Kode Kec;Kecamatan;Alamat;Lintang;Bujur;Tahun',
             "30404588;SD NEGERI 1;SD;N;160101;Batu Sopang;Jl. Poros;;;2019",
             '30404589;SD NEGERI 2;SD;S;160101;Batu Sopang;"Jl. Poros\nRT 03";;;2019']
    drop_csv(zones, lines, newline="\r\n", encoding="utf-8-sig")
    [manifest] = extract_load(entry, zones)
    assert (manifest["rows_in"], manifest["rows_loaded"], manifest["header_row"]) == (2, 2, 1)
    data = pq.read_table(batch_dir(zones, entry, manifest["batch_id"]) / "data.parquet")
    assert data.column("alamat").to_pylist() == ["Jl. Poros", "Jl. Poros\nRT 03"]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_line_numbers_count_the_line_breaks_inside_quoted_values(zones, sekolah, newline) -> None:
    """A record whose quoted value spans lines (a complaint text typed over several lines) moves every later
    record down: the line a quarantine reason names is the line an editor shows."""
    entry = with_changes(sekolah, source={"format": "csv", "pattern": "sekolah*.csv", "sheet": None})
    lines = ['"Daftar Sekolah', 'Tahun 2019"',  # a title over two lines
             "NPSN;Nama Sekolah;Bentuk;Status;Kode Kec;Kecamatan;Alamat;Lintang;Bujur;Tahun",
             '30404588;SD NEGERI 1;SD;N;160101;Batu Sopang;"Jl. Poros', "RT 01", 'Gang 2";;;2019',
             "30404589;SD NEGERI 2;SD;S;160101;Batu Sopang;Jl. Poros;;;2019",
             "3040459X;SD NEGERI 3;SD;N;160101;Batu Sopang;Jl. Poros;;;2019"]
    drop_csv(zones, lines, newline=newline)
    [manifest] = extract_load(entry, zones)
    assert (manifest["rows_loaded"], manifest["rows_quarantined"], manifest["header_row"]) == (2, 1, 3)
    folder = batch_dir(zones, entry, manifest["batch_id"])
    assert pq.read_table(folder / "data.parquet").column("_source_row").to_pylist() == [4, 7]
    [bad] = pq.read_table(folder / "quarantine.parquet").to_pylist()
    assert bad["_source_row"] == 8 and "line 8, column 'npsn'" in bad["_reason"]
