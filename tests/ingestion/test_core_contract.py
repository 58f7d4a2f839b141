"""The DuckDB ingestion core through a fake kind: typed sources, type changes, removed columns,
Indonesian decimals, incremental cursors with deduplication and crash safety, and the counts."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from types import SimpleNamespace

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion import extract, landing
from ingestion.catalog import Dataset, DatasetEntry
from ingestion.contract import convert
from ingestion.errors import RejectedFile
from ingestion.extract import extract_load
from ingestion.kinds import Delivery, LedgerView, Pending
from ingestion.ledger import batch_dir, committed_batches, dataset_dir, ledger_view


def _entry(sekolah: DatasetEntry, columns: dict, *, cursor: str | None = None, on_new_column: str = "fail") -> DatasetEntry:
    spec = Dataset.model_validate({
        "title": "Pajak daerah (uji)",
        "owner": "Bapenda Paser (uji)",
        "source": {"kind": "sqlite", "connection": "pajak_uji", "table": "pajak"},
        "primary_key": ["nop"],
        "cursor": cursor,
        "trigger": {"by": "schedule", "schedule": "@daily"},
        "contract": {"on_new_column": on_new_column, "columns": columns},
        "metadata": sekolah.spec.metadata.model_dump(),
    })
    return DatasetEntry(sekolah.agency, "pajak_uji", spec, sekolah.path)


COLUMNS = {
    "nop": {"type": "text", "description": "Nomor objek pajak", "nullable": False, "pattern": "[0-9]{4}"},
    "jumlah": {"type": "decimal", "description": "Jumlah pajak"},
    "versi": {"type": "integer", "description": "Versi baris (kursor)", "nullable": False},
}


class FakeKind:
    """A FAKE connector kind (test double): a Python list is the agency's table, read `>= cursor`."""

    def __init__(self, columns: dict[str, str], rows: list[tuple], *, typed: bool = True, decimal_comma: bool = False,
                 cursor: str | None = None) -> None:
        self.columns, self.rows, self.typed, self.decimal_comma, self.cursor = columns, rows, typed, decimal_comma, cursor
        self.reads: list[object] = []

    def pending_sources(self, entry, zones, ledger: LedgerView):
        self.reads.append(ledger.cursor_before)
        position = list(self.columns).index(self.cursor) if self.cursor else None
        rows = [r for r in self.rows if position is None or ledger.cursor_before is None or r[position] >= ledger.cursor_before]
        yield Pending({"kind": "sqlite", "label": "fake pajak"}, read=lambda: self._delivery(rows))

    def _delivery(self, rows: list[tuple]) -> Delivery:
        names = list(self.columns)
        table = duckdb.sql(
            "SELECT * FROM (VALUES " + ", ".join(
                "(" + ", ".join("NULL" if v is None else f"CAST('{v}' AS {t})"
                          for v, t in zip(r, self.columns.values(), strict=True)) + ")"
                for r in rows) + ") AS t(" + ", ".join(f'"{n}"' for n in names) + ")"
        ).to_arrow_table() if rows else pa.table({n: pa.array([], pa.string()) for n in names})

        def relation(con) -> str:
            con.register("fake_pajak", table)
            return "(SELECT *, NULL::BIGINT AS _source_row FROM fake_pajak)"

        return Delivery(label="fake pajak", sheet=None, position="record", header_row=None, columns=dict(self.columns),
                        relation=relation, typed=self.typed, decimal_comma=self.decimal_comma)


@pytest.fixture
def use_kind(monkeypatch):
    def use(kind: FakeKind) -> FakeKind:
        monkeypatch.setattr(extract, "kind_module", lambda name: SimpleNamespace(pending_sources=kind.pending_sources))
        return kind

    return use


def _data(zones, entry, manifest) -> pa.Table:
    return pq.read_table(batch_dir(zones, entry, manifest["batch_id"]) / "data.parquet")


def _counts_add_up(manifest: dict) -> None:
    assert manifest["rows_in"] == manifest["rows_loaded"] + manifest["rows_quarantined"] + manifest["rows_deduplicated"]


TYPED = {"nop": "VARCHAR", "jumlah": "DECIMAL(14,2)", "versi": "BIGINT"}


def test_incremental_reads_from_the_cursor_dedupes_and_advances_only_on_commit(zones, sekolah, use_kind, monkeypatch) -> None:
    entry = _entry(sekolah, COLUMNS, cursor="versi")
    kind = use_kind(FakeKind(TYPED, [("0001", "10.50", 1), ("0002", "20.00", 2), ("0003", "30.25", 2)], cursor="versi"))

    [first] = extract_load(entry, zones)
    assert (first["rows_in"], first["rows_loaded"], first["cursor_before"], first["cursor_after"]) == (3, 3, None, 2)
    assert _data(zones, entry, first).column("jumlah").to_pylist() == [Decimal("10.5"), Decimal("20"), Decimal("30.25")]

    assert extract_load(entry, zones) == []  # rows 0002 and 0003 read again (>= 2): nothing new, no batch
    assert kind.reads[-1] == 2

    kind.rows += [("0004", "1.00", 3), ("0001", "11.00", 3)]
    [second] = extract_load(entry, zones)
    _counts_add_up(second)
    assert (second["rows_in"], second["rows_loaded"], second["rows_deduplicated"]) == (4, 2, 2)
    assert (second["cursor_before"], second["cursor_after"]) == (2, 3)
    assert sorted(_data(zones, entry, second).column("nop").to_pylist()) == ["0001", "0004"]

    kind.rows.append(("0005", "5.00", 4))
    real_rename = os.rename
    monkeypatch.setattr(landing.os, "rename", lambda src, dst: (_ for _ in ()).throw(OSError("power cut")))
    with pytest.raises(OSError, match="power cut"):
        extract_load(entry, zones)
    assert ledger_view(zones, entry).cursor_before == 3  # the cursor lives in the committed manifest only
    assert len(committed_batches(zones, entry)) == 2
    monkeypatch.setattr(landing.os, "rename", real_rename)
    [third] = extract_load(entry, zones)
    _counts_add_up(third)
    assert (third["rows_in"], third["rows_loaded"], third["rows_deduplicated"], third["cursor_after"]) == (3, 1, 2, 4)
    assert _data(zones, entry, third).column("nop").to_pylist() == ["0005"]
    assert extract_load(entry, zones) == []


def test_snapshot_duplicates_with_keys_instead_of_row_numbers(zones, sekolah, use_kind) -> None:
    entry = _entry(sekolah, COLUMNS)
    use_kind(FakeKind(TYPED, [("0001", "1.00", 1), ("0001", "1.00", 1), ("0001", "2.00", 1), ("12", "3.00", 1)]))
    [manifest] = extract_load(entry, zones)
    _counts_add_up(manifest)
    assert (manifest["rows_loaded"], manifest["rows_quarantined"], manifest["rows_deduplicated"]) == (1, 2, 1)
    quarantine = pq.read_table(batch_dir(zones, entry, manifest["batch_id"]) / "quarantine.parquet").to_pylist()
    reasons = sorted(row["_reason"] for row in quarantine)
    assert reasons[0] == "fake pajak, key nop '0001', column 'nop' (nop): duplicate nop '0001' with other values than the first"
    assert reasons[1] == "fake pajak, key nop '12', column 'nop' (nop): '12' does not match the pattern [0-9]{4}"
    # As text: as delivered for a row failing a check; a conflicting duplicate shows its checked (typed) value.
    assert sorted(Decimal(row["jumlah"]) for row in quarantine) == [Decimal(2), Decimal(3)]
    assert "3.00" in {row["jumlah"] for row in quarantine}


@pytest.mark.parametrize("contract_type, source_type", [("text", "INTEGER"), ("decimal", "VARCHAR"), ("date", "TIMESTAMP")])
def test_type_change_at_the_source_is_refused_naming_the_column(zones, sekolah, use_kind, contract_type, source_type) -> None:
    columns = {**COLUMNS, "jumlah": {**COLUMNS["jumlah"], "type": contract_type}}
    entry = _entry(sekolah, columns)
    value = {"INTEGER": "5", "VARCHAR": "5.00", "TIMESTAMP": "2024-01-01 00:00:00"}[source_type]
    use_kind(FakeKind({**TYPED, "jumlah": source_type}, [("0001", value, 1)]))
    with pytest.raises(RejectedFile, match=rf"^fake pajak: type change in column 'jumlah' \(jumlah: {source_type} at the source, "
                                           rf"{contract_type} in the contract\)"):
        extract_load(entry, zones)
    assert committed_batches(zones, entry) == []
    assert not [p for p in dataset_dir(zones, entry).iterdir() if p.name.startswith("_tmp-")]


def test_removed_optional_column_is_refused_naming_it(zones, sekolah, use_kind) -> None:
    columns = {**COLUMNS, "catatan": {"type": "text", "description": "Catatan petugas", "required": False}}
    entry = _entry(sekolah, columns)
    use_kind(FakeKind({**TYPED, "catatan": "VARCHAR"}, [("0001", "1.00", 1, "lunas")]))
    [manifest] = extract_load(entry, zones)
    assert manifest["contract_columns"] == ["nop", "jumlah", "versi", "catatan"]
    use_kind(FakeKind(TYPED, [("0001", "1.00", 2)]))
    with pytest.raises(RejectedFile, match=r"column 'catatan' was delivered in batch .* and is missing now \(removed or renamed"):
        extract_load(entry, zones)
    assert len(committed_batches(zones, entry)) == 1


def test_new_column_evolves_as_text_or_fails(zones, sekolah, use_kind) -> None:
    use_kind(FakeKind({**TYPED, "Kode Wilayah": "INTEGER"}, [("0001", "1.00", 1, "6401")]))
    refused = r"'Kode Wilayah' is not in the contract of disdik__pajak_uji and on_new_column is 'fail'"
    with pytest.raises(RejectedFile, match=refused):
        extract_load(_entry(sekolah, COLUMNS), zones)
    evolving = _entry(sekolah, COLUMNS, on_new_column="evolve")
    [manifest] = extract_load(evolving, zones)
    assert manifest["columns"]["kode_wilayah"] == "text"
    assert _data(zones, evolving, manifest).column("kode_wilayah").to_pylist() == ["6401"]


def test_indonesian_decimals_from_text(zones, sekolah, use_kind) -> None:
    entry = _entry(sekolah, COLUMNS)
    text = {"nop": "VARCHAR", "jumlah": "VARCHAR", "versi": "VARCHAR"}
    rows = [("0001", "1.234,56", "1"), ("0002", "12,5", "2"), ("0003", "1,234.56", "3"), ("0004", "7", "1.000")]
    use_kind(FakeKind(text, rows, typed=False, decimal_comma=True))
    [manifest] = extract_load(entry, zones)
    _counts_add_up(manifest)
    data = _data(zones, entry, manifest)
    assert dict(zip(data.column("nop").to_pylist(), data.column("jumlah").to_pylist(), strict=True)) == {
        "0001": Decimal("1234.56"), "0002": Decimal("12.5"), "0004": Decimal("7")}
    assert data.column("versi").to_pylist() == [1, 2, 1000]  # "1.000" is one thousand, written the Indonesian way
    [bad] = pq.read_table(batch_dir(zones, entry, manifest["batch_id"]) / "quarantine.parquet").to_pylist()
    assert bad["_reason"] == ("fake pajak, key nop '0003', column 'jumlah' (jumlah): "
                              "'1,234.56' is not a decimal number (written like 1.234,56)")


@pytest.mark.parametrize("value, expected",
                         [("1.234,56", Decimal("1234.56")), ("-0,5", Decimal("-0.5")), ("1234", Decimal(1234))])
def test_decimal_comma_conversion(value, expected) -> None:
    assert convert(value, "decimal", decimal_comma=True) == expected


def test_empty_incremental_read_commits_nothing_but_empty_snapshot_is_refused(zones, sekolah, use_kind) -> None:
    use_kind(FakeKind(TYPED, []))
    assert extract_load(_entry(sekolah, COLUMNS, cursor="versi"), zones) == []
    with pytest.raises(RejectedFile, match=r"^fake pajak: no rows$"):
        extract_load(_entry(sekolah, COLUMNS), zones)


def test_timestamp_cursor_is_kept_in_wita(zones, sekolah, use_kind) -> None:
    columns = {**COLUMNS, "diubah": {"type": "timestamp", "description": "Waktu perubahan (kursor)"}}
    entry = _entry(sekolah, columns, cursor="diubah")
    use_kind(FakeKind({**TYPED, "diubah": "TIMESTAMP"}, [("0001", "1.00", 1, "2026-01-02 08:30:00")]))
    [manifest] = extract_load(entry, zones)
    assert manifest["cursor_after"] == "2026-01-02T08:30:00+08:00"
    stored = _data(zones, entry, manifest).column("diubah").to_pylist()[0]
    assert stored == dt.datetime(2026, 1, 2, 0, 30, tzinfo=dt.UTC)
