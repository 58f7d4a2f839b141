"""A quick scale check (not a timed assertion): 1M CSV rows through extract_load next to a DuckDB COPY;
and the edge cases of the shortcuts the checked pass takes to be fast (guarded trims, blank-row test, guarded parses).

The real benchmark is `benchmarks/` (`make bench`); this only shows that the core streams a large
delivery correctly and logs the ratio measured in the same run.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import time

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.contract import (
    LOCAL_TZ,
    WHITESPACE,
    WITA_FIXED_SINCE,
    compile_checks,
    convert,
    ident,
    local_to_utc,
    map_columns,
    strip,
)
from ingestion.contract import has_text as contract_has_text
from ingestion.extract import extract_load
from ingestion.kinds.file import WorkbookParts, read_csv
from ingestion.landing import QUARANTINE_FILE, quarantine_schema
from ingestion.ledger import batch_dir
from tests.ingestion.drops import age, with_changes

log = logging.getLogger(__name__)
ROWS = 1_000_000


def test_million_row_csv_lands_whole(zones, sekolah, tmp_path) -> None:
    entry = with_changes(sekolah, source={"format": "csv", "pattern": "sekolah*.csv", "sheet": None, "max_bytes": 1 << 30})
    path = zones.drop("disdik") / "sekolah_besar.csv"
    path.parent.mkdir(parents=True)
    duckdb.sql(f"""
        COPY (SELECT lpad((10000000 + i)::VARCHAR, 8, '0') AS "NPSN", 'SD NEGERI ' || i AS "Nama Sekolah",
                     'SD' AS "Bentuk", CASE WHEN i % 2 = 0 THEN 'N' ELSE 'S' END AS "Status",
                     '1601' || lpad((i % 10 + 1)::VARCHAR, 2, '0') AS "Kode Kec",
                     'Batu Sopang' AS "Kecamatan", 'Jl. Poros ' || i AS "Alamat",
                     '-1.7' || i AS "Lintang", '116.1' || i AS "Bujur",
                     CASE WHEN i = 77 THEN '2019/2020' ELSE '2019' END AS "Tahun"
              FROM range({ROWS}) AS t(i)) TO '{path}' (HEADER, DELIMITER ';')
    """)
    age(path)
    started = time.monotonic()
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{path}')) TO '{tmp_path / 'copy.parquet'}' (FORMAT parquet)")
    copy_seconds = time.monotonic() - started

    started = time.monotonic()
    [manifest] = extract_load(entry, zones)
    ours = time.monotonic() - started
    log.warning("1M-row CSV -> Parquet: extract_load %.2f s, DuckDB COPY %.2f s, ratio %.2fx of COPY speed; timings %s",
                ours, copy_seconds, copy_seconds / ours, manifest["timings"])
    assert (manifest["rows_in"], manifest["rows_loaded"], manifest["rows_quarantined"]) == (ROWS, ROWS - 1, 1)
    data_path = batch_dir(zones, entry, manifest["batch_id"]) / "data.parquet"
    data = pq.ParquetFile(data_path)
    assert data.metadata.num_rows == ROWS - 1
    # Every row keeps its line number: NPSN 1000000i sits on line i + 2 (line 1 is the header).
    mismatched = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{data_path}') WHERE npsn::BIGINT - 10000000 + 2 != _source_row"
    ).fetchone()[0]
    assert mismatched == 0


# --- The shortcuts the checked pass takes to be fast must not change what it accepts ------------

SPACED = ["", " ", "\t", "\u00a0", "\r\n", " \t\u00a0 ", "a", " a", "a ", "\u00a0a\u00a0", "\ta b\n", "x\u00a0y",
          "\u00a0\u00a0x", None]


def test_strip_and_has_text_agree_with_python_strip() -> None:
    con = duckdb.connect()
    for value in SPACED:
        stripped, has_text = con.execute(
            f"SELECT {strip('v')}, {contract_has_text('v')} FROM (SELECT ?::VARCHAR AS v)", [value]
        ).fetchone()
        expected = None if value is None else value.strip(WHITESPACE)
        assert stripped == expected, repr(value)
        assert bool(has_text) == bool(expected), repr(value)


@pytest.mark.parametrize(("value", "column_type", "decimal_comma", "expected"), [
    ("12.0", "integer", False, 12),
    (" 12 ", "integer", False, 12),
    ("+7", "integer", False, 7),
    ("1.234", "integer", True, 1234),
    ("0.123456789", "decimal", False, decimal.Decimal("0.123456789")),
    ("1234567890.5", "decimal", False, decimal.Decimal("1234567890.5")),
    ("1.234,56", "decimal", True, decimal.Decimal("1234.56")),
    ("2024-03-05 00:00:00", "date", False, dt.date(2024, 3, 5)),
    ("2024-03-05T00:00:00.000", "date", False, dt.date(2024, 3, 5)),
    ("05/03/2024", "date", False, dt.date(2024, 3, 5)),
    ("\u00a0YA ", "boolean", False, True),
])
def test_accepted_values_convert(value, column_type, decimal_comma, expected) -> None:
    assert convert(value, column_type, decimal_comma) == expected


@pytest.mark.parametrize(("value", "column_type", "decimal_comma", "reason"), [
    ("1e3", "integer", False, "is not a whole number"),
    ("12.5", "integer", False, "is not a whole number"),
    ("0x10", "integer", False, "is not a whole number"),
    ("1.234,56", "decimal", False, "is not a decimal number"),
    ("0.1234567891", "decimal", False, "more than 9 decimal places"),
    ("1,0000000001", "decimal", True, "more than 9 decimal places"),
    ("T00:00:00", "date", False, "is not a date"),
    ("2024-03-05 10:00:00", "date", False, "is not a date"),
    ("mungkin", "boolean", False, "is not a boolean"),
])
def test_refused_values_say_why(value, column_type, decimal_comma, reason) -> None:
    with pytest.raises(ValueError, match=reason):
        convert(value, column_type, decimal_comma)


def test_wita_arithmetic_agrees_with_the_time_zone_database() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # Every 7 minutes around the last change of Makassar's offset, then every 3 hours 17 minutes to 2100.
    differing = con.execute(f"""
        SELECT count(*), count(*) FILTER (WHERE ts >= TIMESTAMP '{WITA_FIXED_SINCE}') FROM (
            SELECT ts FROM range(TIMESTAMP '1944-01-01', TIMESTAMP '1947-01-01', INTERVAL 7 MINUTE) AS r(ts)
            UNION ALL SELECT ts FROM range(TIMESTAMP '1900-01-01', TIMESTAMP '2100-01-01', INTERVAL 197 MINUTE) AS r(ts))
        WHERE {local_to_utc('ts')} IS DISTINCT FROM timezone('{LOCAL_TZ}', ts)
    """).fetchone()
    assert differing == (0, 0)
    # The shortcut is only taken where it is exact: just before WITA_FIXED_SINCE the offset was +9.
    before = "TIMESTAMP '1945-09-22 12:00:00'"
    shifted = con.execute(f"SELECT {local_to_utc(before)}").fetchone()[0]
    assert shifted == dt.datetime(1945, 9, 22, 3, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("value", "expected"), [
    ("2024-03-05 10:00:00", dt.datetime(2024, 3, 5, 2, 0, tzinfo=dt.UTC)),  # no offset: WITA
    ("2024-03-05T10:00:00Z", dt.datetime(2024, 3, 5, 10, 0, tzinfo=dt.UTC)),
    ("2024-03-05 10:00:00+07:00", dt.datetime(2024, 3, 5, 3, 0, tzinfo=dt.UTC)),
    ("2024-03-05 10:00:00-0230", dt.datetime(2024, 3, 5, 12, 30, tzinfo=dt.UTC)),
    ("2024-03-05 10:00:00-03", dt.datetime(2024, 3, 5, 13, 0, tzinfo=dt.UTC)),
    ("1940-06-01 08:00:00", dt.datetime(1940, 6, 1, 0, 0, tzinfo=dt.UTC)),  # before WITA_FIXED_SINCE: +08 then too
])
def test_timestamps_with_and_without_offset(value, expected) -> None:
    assert convert(value, "timestamp") == expected


def test_a_clean_delivery_writes_an_empty_quarantine_and_a_late_bad_row_is_still_caught(zones, sekolah) -> None:
    """The first try streams good rows straight to data.parquet; a bad row (here the last) makes it start over."""
    entry = with_changes(sekolah, source={"format": "csv", "pattern": "sekolah*.csv", "sheet": None})
    header = "NPSN;Nama Sekolah;Bentuk;Status;Kode Kec;Kecamatan;Alamat;Lintang;Bujur;Tahun"
    good = [f"{10000001 + i};SD NEGERI {i};SD;N;160101;Batu Sopang;Jl. Poros {i};-1.7;116.1;2019" for i in range(3000)]
    clean = zones.drop("disdik") / "sekolah_bersih.csv"
    clean.parent.mkdir(parents=True)
    clean.write_text("\n".join([header, *good]) + "\n", encoding="utf-8")
    age(clean)
    [manifest] = extract_load(entry, zones)
    folder = batch_dir(zones, entry, manifest["batch_id"])
    assert (manifest["rows_in"], manifest["rows_loaded"], manifest["rows_quarantined"]) == (3000, 3000, 0)
    assert pq.read_table(folder / "data.parquet").column("_source_row").to_pylist() == list(range(2, 3002))
    empty = pq.read_table(folder / QUARANTINE_FILE)
    assert empty.num_rows == 0
    assert empty.schema.names == quarantine_schema(list(manifest["columns"])).names

    late = zones.drop("disdik") / "sekolah_akhir.csv"
    bad = "10009999;SD NEGERI X;SD;N;160101;Batu Sopang;Jl. Poros X;-1.7;116.1;dua ribu"
    late.write_text("\n".join([header, *good, bad]) + "\n", encoding="utf-8")
    age(late)
    [manifest] = extract_load(entry, zones)
    folder = batch_dir(zones, entry, manifest["batch_id"])
    assert (manifest["rows_in"], manifest["rows_loaded"], manifest["rows_quarantined"]) == (3001, 3000, 1)
    assert pq.read_table(folder / "data.parquet").column("_source_row").to_pylist() == list(range(2, 3002))
    [row] = pq.read_table(folder / QUARANTINE_FILE).to_pylist()
    assert row["_source_row"] == 3002 and row["tahun_data"] == "dua ribu" and row["_column"] == "tahun_data"


def test_padded_and_blank_lines_through_the_checked_pass(zones, sekolah) -> None:
    entry = with_changes(sekolah, source={"format": "csv", "pattern": "sekolah*.csv", "sheet": None})
    path = zones.drop("disdik") / "sekolah_spasi.csv"
    path.parent.mkdir(parents=True)
    lines = [
        "NPSN;Nama Sekolah;Bentuk;Status;Kode Kec;Kecamatan;Alamat;Lintang;Bujur;Tahun",
        "10000001;SD NEGERI 1;SD;N;160101;Batu Sopang;Jl. Poros 1;-1.7;116.1;2019",
        " ;\t; ;\u00a0;;;;;;",  # only whitespace: skipped, not counted
        "\u00a010000002\u00a0;\tSD NEGERI 2 ;SD; S\u00a0;160102;;;;;2019.0",
        "10000003;SD NEGERI 3;SD;N;160103;;;;; 2019/2020 ",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    age(path)
    [manifest] = extract_load(entry, zones)
    assert (manifest["rows_in"], manifest["rows_loaded"], manifest["rows_quarantined"]) == (3, 2, 1)
    folder = batch_dir(zones, entry, manifest["batch_id"])
    data = pq.read_table(folder / "data.parquet")
    assert data.column("npsn").to_pylist() == ["10000001", "10000002"]
    assert data.column("nama_sekolah").to_pylist() == ["SD NEGERI 1", "SD NEGERI 2"]
    assert data.column("status_sekolah").to_pylist() == ["N", "S"]
    assert data.column("nama_kecamatan").to_pylist() == ["Batu Sopang", None]
    assert data.column("tahun_data").to_pylist() == [2019, 2019]
    assert data.column("_source_row").to_pylist() == [2, 4]
    assert data.schema.field("_loaded_at").type == pa.timestamp("us", tz="UTC")
    assert data.schema.names[-4:] == ["_batch_id", "_loaded_at", "_source_file", "_source_row"]
    quarantine = pq.read_table(folder / "quarantine.parquet")
    [row] = quarantine.to_pylist()
    assert row["tahun_data"] == "2019/2020" and row["_source_row"] == 5 and row["_column"] == "tahun_data"
    assert row["_reason"].startswith("drop/disdik/sekolah_spasi.csv, line 5, column 'tahun_data' (Tahun): '2019/2020'")
    assert all(quarantine.schema.field(name).type == pa.string() for name in manifest["columns"])


def test_the_first_pass_calls_bad_exactly_the_rows_the_checked_query_quarantines(sekolah, tmp_path) -> None:
    """`first_pass_sql` composes no messages; it must still flag the same rows, and give good rows the same values."""
    entry = with_changes(sekolah, source={"format": "csv", "pattern": "sekolah*.csv", "sheet": None})
    path = tmp_path / "sekolah_campur.csv"
    lines = [
        "NPSN;Nama Sekolah;Bentuk;Status;Kode Kec;Kecamatan;Alamat;Lintang;Bujur;Tahun",
        "10000001;SD NEGERI 1;SD;N;160101;Batu Sopang;Jl. Poros 1;-1.7;116.1;2019",
        "\u00a010000002 ;\tSD NEGERI 2;SMP;S;160102;;;;;2019.0",
        "1E7;SD NEGERI 3;SD;N;160101;;;;;2019",  # scientific notation in an id
        "10000004; ;SD;N;160101;;;;;2019",  # nullable: false
        "10000005;SD NEGERI 5;TK;X;999999;;;;;2019/2020",  # accepted values, code list, integer
        " ;;;\t;;;;;;",  # blank: skipped
        "1000000;SD NEGERI 7;SLB;S;160103;;;;;2020",  # pattern
        "10000008;SD NEGERI 8;SMA;N;160110;;;;;-2021",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    delivery = read_csv(path, "drop/disdik/sekolah_campur.csv", entry, None, None)
    with duckdb.connect() as con:
        relation = delivery.relation(con)
        query = compile_checks(entry, delivery, map_columns(entry, delivery), relation)
        names = ", ".join(ident(name) for name in query.column_types)
        checked = con.execute(f"SELECT _source_row, _reasons IS NOT NULL, {names} FROM ({query.sql}) ORDER BY 1").fetchall()
        first = con.execute(f"SELECT _source_row, _bad, {names} FROM ({query.first_pass_sql}) ORDER BY 1").fetchall()
    assert [row[:2] for row in first] == [row[:2] for row in checked]
    assert [number for number, bad, *_ in first if bad] == [4, 5, 6, 8]
    assert [row for row in first if not row[1]] == [row for row in checked if not row[1]]


def test_long_number_scan_agrees_with_the_xml_parser(tmp_path) -> None:
    xlsxwriter = pytest.importorskip("xlsxwriter")
    path = tmp_path / "angka.xlsx"
    with xlsxwriter.Workbook(path) as book:
        sheet = book.add_worksheet("Data")
        sheet.write_row(0, 0, ["NIK", "Jumlah", "Catatan", "Nilai"])
        for i in range(1, 301):
            nik = 6401000000000000 + i
            if i % 7 == 0:
                sheet.write_number(i, 0, nik)  # a number cell: Excel keeps 15 digits of it
            else:
                sheet.write_string(i, 0, str(nik))
            sheet.write_number(i, 1, i)
            if i % 5:
                sheet.write_string(i, 2, f"baris {i}")
            sheet.write_number(i, 3, 10.0 ** (i % 25) + 0.5)  # from 1.5 to 1e24: written with an exponent from 1e16
    parts = WorkbookParts(path.read_bytes())
    scanned = parts.scan_cells("Data").long_numbers
    assert scanned == parts._parsed_cells("Data").long_numbers
    assert scanned[0] == {i + 1 for i in range(1, 301) if i % 7 == 0}
    # 15 digits before the point (from 1e14 + 0.5) is looked at: a value just below 1e15 may read as 1e15.
    assert scanned[3] == {i + 1 for i in range(1, 301) if i % 25 >= 14}
    assert set(scanned) == {0, 3}, "short numbers and text are not long numbers"


def _workbook_with_sheet_xml(sheet_data: str) -> bytes:
    """A minimal xlsx package whose only sheet holds `sheet_data` (the `<sheetData>` content), written by hand."""
    import io
    import zipfile

    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("_rels/.rels", f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                         f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        package.writestr("xl/workbook.xml", f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
                         f'<sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>')
        package.writestr("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="http://schemas.openxmlformats.org/package/'
                         f'2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/s.xml"/>'
                         f'</Relationships>')
        package.writestr("xl/worksheets/s.xml",
                         f'<x:worksheet xmlns:x="{main}"><x:sheetData>{sheet_data}</x:sheetData></x:worksheet>')
    return buffer.getvalue()


def test_long_number_scan_reads_every_way_a_writer_spells_a_cell() -> None:
    # Column B of each row, in the shapes the XML allows: the scan must agree with the parser on every one.
    cells = {
        2: '<x:c r="B2"><x:v>6401000000000002</x:v></x:c>',  # number, no type
        3: '<x:c r="B3" t="n" s="1"><x:v>6401000000000003</x:v></x:c>',  # number, explicit type
        4: "<x:c r='B4' s='2'><x:v>6401000000000004</x:v></x:c>",  # number, single quotes
        5: '<x:c t="s" r="B5"><x:v>1234567890123456</x:v></x:c>',  # shared string, type before the reference
        6: '<x:c r="B6" t="inlineStr"><x:is><x:t>nav>6401000000000006</x:t></x:is></x:c>',  # inline text
        7: '<x:c r="B7" s="3"/>',  # styled, empty
        8: '<x:c\n  r="B8"\n  s="4"\n><x:v>6401000000000008</x:v></x:c>',  # attributes on their own lines
        9: '<x:c r="B9" t="str"><x:f>A9</x:f><x:v>6401000000000009</x:v></x:c>',  # formula with a text result
        10: '<x:c r="B10" s="1" t="n"/>',  # typed number, empty
        11: '<x:c r="B11"><x:f>A11*1</x:f><x:v>6.4010000000000112E+15</x:v></x:c>',  # formula, number result
        12: '<x:c r="B12"><x:v>999999999999999.99</x:v></x:c>',  # read as the float 1e15: 16 digits
        13: '<x:c r="B13"><x:v>64010000000013</x:v></x:c>',  # 14 digits: nothing lost
        14: '<x:c r="B14"><x:v>-1.5E-20</x:v></x:c>',  # an exponent: looked at (the flag needs 16 digits too)
        15: '<x:c r="B15" t="e"><x:f>1/0</x:f><x:v>#DIV/0!</x:v></x:c>',  # an error cell
        16: '<x:c r="B16" t="str"><x:f>"#N/A"</x:f><x:v>#N/A</x:v></x:c>',  # a formula's text, not an error
    }
    rows = "".join(f'<x:row r="{row}"><x:c r="A{row}" t="inlineStr"><x:is><x:t>a</x:t></x:is></x:c>{cell}'
                   f'<x:c r="BA{row}"><x:v>1234567890123456</x:v></x:c></x:row>' for row, cell in cells.items())
    parts = WorkbookParts(_workbook_with_sheet_xml(rows))
    scanned = parts.scan_cells("Data")
    assert scanned == parts._parsed_cells("Data")
    assert scanned.long_numbers[1] == {2, 3, 4, 8, 11, 12, 14}
    assert scanned.errors == {1: {15: "#DIV/0!"}}
    assert scanned.long_numbers[52] == set(cells), "column BA is not column B"

    # Cells without their reference (allowed, written by no common writer): the sheet is parsed instead.
    unreferenced = "".join(f'<x:row r="{row}"><x:c><x:v>1</x:v></x:c><x:c><x:v>640100000000000{row}</x:v></x:c></x:row>'
                           for row in range(2, 5))
    assert WorkbookParts(_workbook_with_sheet_xml(unreferenced)).scan_cells("Data").long_numbers == {1: {2, 3, 4}}
