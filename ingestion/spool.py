"""A stream of Arrow record batches drained to a local file as fast as it arrives, and read back as often as needed.

connectorx's `arrow_stream` has no back-pressure: its producer thread pushes batches into an unbounded
channel, so a reader slower than the database (DuckDB checking the contract and writing Parquet) lets
it buffer most of the table in memory. `ArrowSpool` takes the batches off that channel at once, on a
thread of its own, and appends them to an Arrow IPC stream file; `reader()` hands DuckDB a stream that
reads the file behind the writer, batch by batch, waiting for the next one when it is ahead. Memory
stays at a few batches whatever the table size (the file is on disk, read and written through the page
cache, never mapped), and a second pass over the same rows is another `reader()`: no second query.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa


class SpoolError(RuntimeError):
    """The stream being spooled failed: the message is the source's error."""


class ArrowSpool:
    """`batches` spooled to `path` (an Arrow IPC stream file) by a background thread from `start()`; see the
    module docstring."""

    def __init__(self, batches: pa.RecordBatchReader, path: Path, label: str) -> None:
        self.schema = batches.schema
        self.path = path
        self.label = label  # names the stream in errors
        self._written = 0  # batches in the file so far
        self._finished = False
        self._error: str | None = None
        self._closed = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._drain, args=(batches,), name=f"spool {path.name}", daemon=True)

    def start(self) -> ArrowSpool:
        """Start draining. connectorx holds the GIL while it waits for its next batch, so whatever else
        this thread has to do in Python is best done before."""
        self._thread.start()
        return self

    def _drain(self, batches: pa.RecordBatchReader) -> None:
        try:
            with pa.OSFile(str(self.path), "wb") as sink, pa.ipc.new_stream(sink, self.schema) as writer:
                for batch in batches:
                    if self._closed:
                        break
                    writer.write_batch(batch)  # OSFile is unbuffered: a reader sees the batch from here on
                    with self._changed:
                        self._written += 1
                        self._changed.notify_all()
        except BaseException as exc:  # noqa: BLE001 - a connectorx panic is a BaseException; the reader reports it
            with self._changed:
                self._error = f"{type(exc).__name__}: {exc}"
        finally:
            with self._changed:
                self._finished = True
                self._changed.notify_all()

    def reader(self) -> pa.RecordBatchReader:
        """Every batch from the first, as the drain thread writes them (raises `SpoolError` where the stream failed)."""
        return pa.RecordBatchReader.from_batches(self.schema, self._batches())

    def _batches(self) -> Iterator[pa.RecordBatch]:
        if not self._wait_for_batch(0):  # no batch: the file may not even have its schema yet
            return
        with pa.OSFile(str(self.path), "rb") as source:
            pa.ipc.read_message(source)  # the schema, written with the first batch
            for index in itertools.count():
                if not self._wait_for_batch(index):
                    return
                yield pa.ipc.read_record_batch(pa.ipc.read_message(source), self.schema)

    def _wait_for_batch(self, index: int) -> bool:
        """Wait until batch `index` (0-based) is in the file: False when the stream ended before it."""
        with self._changed:
            while self._written <= index and not self._finished:
                self._changed.wait()
            if self._written > index:
                return True
            self._raise_if_failed()
            return False

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise SpoolError(f"{self.label}: reading failed after {self._written} batch(es): {self._error}")

    def close(self) -> None:
        """Stop draining (at the next batch) and remove the file."""
        self._closed = True
        self.path.unlink(missing_ok=True)
