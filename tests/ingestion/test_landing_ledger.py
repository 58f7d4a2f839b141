"""Batches commit atomically; the ledger sees only committed batches; crash leftovers are cleaned."""

from __future__ import annotations

import json
import os

import pytest

from ingestion import landing
from ingestion.extract import extract_load
from ingestion.ledger import (
    committed_batches,
    dataset_dir,
    is_known_source,
    latest_batch,
    record_rejection,
    rejections,
)


def test_crash_leftovers_are_ignored_by_the_ledger_and_cleaned(zones, sekolah, drop_workbook) -> None:
    folder = dataset_dir(zones, sekolah)
    leftover = folder / "_tmp-20260101T000000000000Z-deadbeef"
    leftover.mkdir(parents=True)
    (leftover / "data.parquet").write_bytes(b"half a file")
    (leftover / "manifest.json").write_text(json.dumps({"batch_id": "x", "source": {"sha256": "deadbeef"}}))
    stale_rejection = folder / "_rejected" / "_tmp-abc.json.123"
    stale_rejection.parent.mkdir()
    stale_rejection.write_text("{")

    assert committed_batches(zones, sekolah) == []
    assert latest_batch(zones, sekolah) is None
    assert not is_known_source(zones, sekolah, "deadbeef")

    drop_workbook()
    [manifest] = extract_load(sekolah, zones)
    assert not leftover.exists() and not stale_rejection.exists()
    assert latest_batch(zones, sekolah) == manifest


def test_crash_before_the_rename_leaves_no_batch_and_the_next_run_lands_it(zones, sekolah, drop_workbook, monkeypatch) -> None:
    drop_workbook()

    def crash(src, dst):
        raise OSError("power cut")

    monkeypatch.setattr(landing.os, "rename", crash)
    with pytest.raises(OSError, match="power cut"):
        extract_load(sekolah, zones)
    folder = dataset_dir(zones, sekolah)
    assert [p.name for p in folder.iterdir() if p.name.startswith("batch=")] == []
    [tmp] = [p for p in folder.iterdir() if p.name.startswith("_tmp-")]
    assert (tmp / "manifest.json").is_file()  # fully written, just not committed
    assert committed_batches(zones, sekolah) == []

    monkeypatch.undo()
    [manifest] = extract_load(sekolah, zones)
    assert manifest["rows_loaded"] == 323
    assert not tmp.exists()


def test_the_rename_is_the_commit(zones, sekolah, drop_workbook, monkeypatch) -> None:
    """At the moment of the rename every file is complete and the final name does not exist yet."""
    seen = []
    real_rename = os.rename

    def checking_rename(src, dst):
        seen.append((sorted(p.name for p in src.iterdir()), dst.exists(), json.loads((src / "manifest.json").read_text())))
        real_rename(src, dst)

    monkeypatch.setattr(landing.os, "rename", checking_rename)
    drop_workbook()
    [manifest] = extract_load(sekolah, zones)
    [(names, final_existed, written)] = seen
    assert names == ["data.parquet", "manifest.json", "quarantine.parquet"]
    assert not final_existed
    assert written == manifest


def test_committed_batches_sorted_and_every_batch_has_a_manifest(zones, sekolah, drop_workbook, sekolah_rows) -> None:
    for tahun in (2019, 2020, 2021):
        drop_workbook(f"sekolah_{tahun}.xlsx", tahun=tahun)
    extract_load(sekolah, zones)
    batches = committed_batches(zones, sekolah)
    assert [b["batch_id"] for b in batches] == sorted(b["batch_id"] for b in batches)
    assert latest_batch(zones, sekolah)["source"]["path"] == "drop/disdik/sekolah_2021.xlsx"
    for child in dataset_dir(zones, sekolah).glob("batch=*"):
        assert (child / "manifest.json").is_file()
    for batch in batches:
        assert is_known_source(zones, sekolah, batch["source"]["sha256"])


def test_batch_without_manifest_is_not_in_the_ledger(zones, sekolah, caplog) -> None:
    (dataset_dir(zones, sekolah) / "batch=20260101T000000000000Z-00000000").mkdir(parents=True)
    assert committed_batches(zones, sekolah) == []
    assert "no manifest.json" in caplog.text


def test_record_rejection_is_atomic_and_makes_the_source_known(zones, sekolah) -> None:
    source = {"kind": "file", "path": "drop/disdik/sekolah_x.xlsx", "sheet": "Daftar Sekolah",
              "sha256": "ab" * 32, "bytes": 10, "mtime": 1.0}
    path = record_rejection(zones, sekolah, source, "drop/disdik/sekolah_x.xlsx: bad")
    assert path.name == f"{'ab' * 32}.json"
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    [record] = rejections(zones, sekolah)
    assert record["dataset"] == "disdik__sekolah" and record["message"].endswith(": bad") and record["source"] == source
    assert is_known_source(zones, sekolah, "ab" * 32)
    assert not is_known_source(zones, sekolah, "cd" * 32)


def test_batch_id_sorts_by_time_and_names_the_source() -> None:
    import datetime as dt

    early = landing.new_batch_id("0123456789abcdef", dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC))
    late = landing.new_batch_id("fedcba9876543210", dt.datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=dt.UTC))
    assert early == "20260102T030405000006Z-01234567"
    assert early < late
