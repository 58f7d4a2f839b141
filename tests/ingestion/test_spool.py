"""`ingestion.spool`: a stream drained to a file whether or not anyone reads, read back whole as often as needed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from ingestion.spool import ArrowSpool, SpoolError

SCHEMA = pa.schema([("kode", pa.string()), ("nilai", pa.int64())])


def _batch(start: int, rows: int = 3) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [pa.array([f"{n:04d}" for n in range(start, start + rows)]), pa.array(list(range(start, start + rows)))],
        schema=SCHEMA,
    )


def _stream(batches: Iterator[pa.RecordBatch]) -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_batches(SCHEMA, batches)


def _rows(reader: pa.RecordBatchReader) -> list[dict]:
    return reader.read_all().to_pylist()


def _wait_drained(spool: ArrowSpool) -> None:
    spool._thread.join(timeout=10)
    assert not spool._thread.is_alive()


def test_the_stream_is_drained_to_the_file_while_nobody_reads(tmp_path: Path) -> None:
    """The producer is never held back by a slow reader: every batch leaves its memory for the file."""
    produced: list[int] = []

    def batches() -> Iterator[pa.RecordBatch]:
        for start in range(0, 30, 3):
            produced.append(start)
            yield _batch(start)

    spool = ArrowSpool(_stream(batches()), tmp_path / "s.arrows", "mysql simpeg: t").start()
    _wait_drained(spool)

    assert produced == list(range(0, 30, 3))
    on_disk = pa.ipc.open_stream(pa.OSFile(str(tmp_path / "s.arrows"), "rb")).read_all()
    assert on_disk.num_rows == 30 and on_disk.column("kode")[0].as_py() == "0000"
    spool.close()


def test_each_reader_gets_every_row_in_order_even_while_the_stream_is_still_arriving(tmp_path: Path) -> None:
    release = threading.Event()

    def batches() -> Iterator[pa.RecordBatch]:
        yield _batch(0)
        release.wait(timeout=10)  # the reader below starts before the rest arrives
        yield _batch(3)
        yield _batch(6)

    spool = ArrowSpool(_stream(batches()), tmp_path / "s.arrows", "mysql simpeg: t").start()
    first = spool.reader()
    release.set()
    rows = _rows(first)
    again = _rows(spool.reader())  # a second pass: the same rows, no second query

    assert [row["nilai"] for row in rows] == list(range(9))
    assert rows[0] == {"kode": "0000", "nilai": 0}
    assert again == rows
    spool.close()


def test_a_failing_stream_is_reported_after_the_rows_it_delivered(tmp_path: Path) -> None:
    def batches() -> Iterator[pa.RecordBatch]:
        yield _batch(0)
        raise RuntimeError("Lost connection to server during query")

    spool = ArrowSpool(_stream(batches()), tmp_path / "s.arrows", "mysql simpeg: penduduk").start()
    reader = spool.reader()

    assert reader.read_next_batch().num_rows == 3
    with pytest.raises(SpoolError, match=r"mysql simpeg: penduduk: reading failed after 1 batch\(es\): .*Lost connection"):
        reader.read_next_batch()
    spool.close()


def test_an_empty_stream_reads_as_no_rows_with_its_schema(tmp_path: Path) -> None:
    spool = ArrowSpool(_stream(iter(())), tmp_path / "s.arrows", "mysql simpeg: t").start()
    table = spool.reader().read_all()
    assert table.num_rows == 0 and table.schema == SCHEMA
    spool.close()


def test_close_removes_the_file(tmp_path: Path) -> None:
    spool = ArrowSpool(_stream(iter([_batch(0)])), tmp_path / "s.arrows", "mysql simpeg: t").start()
    _wait_drained(spool)
    assert (tmp_path / "s.arrows").is_file()
    spool.close()
    assert not (tmp_path / "s.arrows").exists()
