"""Helpers for the REST-like kind tests: a connection token, fake timing that can kill a run,
dataset entries, and a ledger that commits each Pending the way the ingestion core does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from ingestion.catalog import Agency, Dataset, DatasetEntry
from ingestion.kinds import Pending

TOKEN = "tkn-PaSeR-2024-rahasia"
METADATA = {
    "judul": "Data Pegawai", "definisi": "Daftar pegawai", "konsep": "Pegawai negeri", "satuan": "orang",
    "ukuran": "jumlah", "produsen_data": "BKPSDM Kabupaten Paser", "walidata": "Diskominfo Paser",
    "frekuensi": "bulanan", "akses": "terbatas", "tingkat_penyajian": "kabupaten", "lisensi": "CC-BY-4.0",
}


class Crash(BaseException):
    """Kills a run in the middle, as a worker dying would (not an Exception: nothing may catch it)."""


class FakeTiming:
    """Replaces the client's sleep/clock/jitter: records waits, never waits, and can crash the run."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.crash_on_sleep = False
        self.now = 1_750_000_000.0

    def sleep(self, seconds: float) -> None:
        if self.crash_on_sleep:
            raise Crash(f"killed while backing off {seconds:.2f} s")
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


PEGAWAI_COLUMNS = {
    "nip": {"type": "text", "description": "Nomor induk pegawai", "nullable": False},
    "nik": {"type": "text", "description": "Nomor induk kependudukan", "personal": "nik"},
    "nama": {"type": "text", "description": "Nama pegawai", "personal": "name"},
    "kode_desa": {"type": "text", "description": "Kode desa Kemendagri"},
    "aktif": {"type": "boolean", "description": "Masih aktif"},
    "alamat": {"type": "text", "description": "Alamat (JSON)", "required": False},
    "updated_at": {"type": "timestamp", "description": "Waktu perubahan terakhir"},
}


def make_entry(tmp_path: Path, source: dict, *, cursor: str | None = None, name: str = "pegawai",
               columns: dict | None = None, primary_key: tuple[str, ...] = ("nip",)) -> DatasetEntry:
    spec = Dataset.model_validate({
        "title": "Data pegawai", "owner": "Bidang Data BKPSDM", "source": source, "primary_key": list(primary_key),
        "cursor": cursor, "trigger": {"by": "schedule", "schedule": "@daily"},
        "contract": {"columns": columns or PEGAWAI_COLUMNS, "on_new_column": "evolve"}, "metadata": METADATA,
    })
    agency = Agency(code="bkpsdm", name="Badan Kepegawaian Kabupaten Paser", abbreviation="BKPSDM")
    return DatasetEntry(agency, name, spec, tmp_path / "bkpsdm.yml")


class CommittingLedger:
    """Does what the ingestion core does with a kind's Pendings, minus the contract and Parquet:
    reads each one, materializes its relation in DuckDB, and commits it (sha256, cursor_after)
    before asking the generator for the next. `committed` holds each batch's rows."""

    def __init__(self) -> None:
        self.batches: list[dict] = []

    def is_known(self, sha256: str) -> bool:
        return any(batch["source"]["sha256"] == sha256 for batch in self.batches)

    def is_current_snapshot(self, sha256: str) -> bool:
        """The latest batch is a run of its own with this content (the real ledger: the latest complete run)."""
        latest = self.latest
        return latest is not None and latest["run"] == (1, True) and latest["source"]["sha256"] == sha256

    @property
    def run_ended(self) -> bool:
        """The latest batch said it ends its run (the real ledger also knows runs extract_load closed)."""
        return self.latest is None or self.latest["run"][1]

    @property
    def cursor_before(self) -> object:
        return self.batches[-1]["cursor_after"] if self.batches else None

    @property
    def latest(self) -> dict | None:
        return self.batches[-1] if self.batches else None

    def run(self, kind_pending_sources: Callable, entry: DatasetEntry) -> list[dict]:
        """One extract run; returns the batches it committed."""
        new = []
        for pending in kind_pending_sources(entry, None, self):
            assert isinstance(pending, Pending)
            delivery = pending.read()
            con = duckdb.connect()
            try:
                relation = delivery.relation(con)
                cursor = con.execute(f"select * from {relation} order by _source_row")
                names = [d[0] for d in cursor.description]
                rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
                types = dict(con.execute(f"select column_name, column_type from (describe select * from {relation})").fetchall())
            finally:
                con.close()
                delivery.close()
            batch = {"source": pending.source, "cursor_after": pending.cursor_after, "rows": rows,
                     "run": (pending.run_part, pending.run_last),
                     "columns": delivery.columns, "types": types, "position": delivery.position, "label": delivery.label}
            self.batches.append(batch)
            new.append(batch)
        return new

    def rows(self) -> list[dict]:
        return [row for batch in self.batches for row in batch["rows"]]
