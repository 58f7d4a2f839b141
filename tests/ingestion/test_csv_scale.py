"""A quick scale check (not a timed assertion): 1M CSV rows through extract_load next to a DuckDB COPY.

The real benchmark is `benchmarks/` (`make bench`); this only shows that the core streams a large
delivery correctly and logs the ratio measured in the same run.
"""

from __future__ import annotations

import logging
import time

import duckdb
import pyarrow.parquet as pq

from ingestion.extract import extract_load
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
