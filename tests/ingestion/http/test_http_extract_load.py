"""REST endpoints and CKAN resources end to end through `extract_load`: catalog YAML -> raw Parquet batches.

The "Done when" of issue 3 for REST: a new endpoint is a dataset with a catalog entry only.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ingestion.catalog import load_catalog
from ingestion.extract import extract_load
from ingestion.kinds import ckan
from ingestion.ledger import batch_dir, buildable_batches, committed_batches
from ingestion.zones import Zones
from tests.ingestion.http.server import JsonApi, Reply, Request, paged_records
from tests.ingestion.http.support import TOKEN, Crash
from tests.ingestion.http.test_ckan_kind import API_KEY, Portal, desa

CATALOG = """
agency:
  code: bkpsdm
  name: Badan Kepegawaian dan Pengembangan SDM Kabupaten Paser
  abbreviation: BKPSDM

datasets:
  pegawai:
    title: Daftar pegawai ASN
    owner: Bidang Data dan Informasi BKPSDM
    source:
      kind: http_json
      connection: simpeg
      path: pegawai
      auth: bearer
      records_path: result.items
      pagination: {{style: page, page_size: 5}}
      pages_per_batch: {pages_per_batch}
{extra_source}
    primary_key: [nip]
{cursor}
    trigger: {{by: schedule, schedule: "@daily"}}
    contract:
      columns:
        nip: {{type: text, description: Nomor induk pegawai, nullable: false, pattern: "[0-9]{{18}}"}}
        nik: {{type: text, description: Nomor induk kependudukan, personal: nik}}
        nama: {{type: text, description: Nama pegawai, personal: name}}
        kode_desa: {{type: text, description: Kode desa tempat tinggal}}
        aktif: {{type: boolean, description: Masih aktif bekerja}}
        gaji_pokok: {{type: decimal, description: Gaji pokok dalam rupiah}}
        updated_at: {{type: timestamp, description: Waktu perubahan terakhir}}
    metadata:
      judul: Daftar Pegawai ASN Kabupaten Paser
      definisi: Pegawai aparatur sipil negara di lingkungan Pemerintah Kabupaten Paser
      konsep: Aparatur sipil negara
      satuan: orang
      ukuran: jumlah
      produsen_data: BKPSDM Kabupaten Paser
      walidata: Dinas Komunikasi dan Informatika Kabupaten Paser
      frekuensi: harian
      akses: tertutup
      tingkat_penyajian: unit
      lisensi: tertutup

  desa:
    title: Daftar desa dari portal data Kaltim
    owner: Bidang Data dan Informasi BKPSDM
    source: {{kind: ckan, connection: kaltim_portal, package: data-desa-paser, resource: Daftar Desa 2024, page_size: 10}}
    primary_key: [kode_desa]
    trigger: {{by: schedule, schedule: "@weekly"}}
    contract:
      columns:
        kode_desa: {{type: text, description: Kode desa Kemendagri, nullable: false}}
        kode_kecamatan: {{type: text, description: Kode kecamatan dengan nol di depan, pattern: "[0-9]{{4}}"}}
        nama_desa: {{type: text, description: Nama desa}}
        luas_km2: {{type: decimal, description: Luas wilayah dalam km persegi}}
        jumlah_penduduk: {{type: integer, description: Jumlah penduduk}}
    metadata:
      judul: Daftar Desa
      definisi: Desa di Kabupaten Paser
      konsep: Desa
      satuan: desa
      ukuran: jumlah
      produsen_data: BKPSDM Kabupaten Paser
      walidata: Dinas Komunikasi dan Informatika Kabupaten Paser
      frekuensi: tahunan
      akses: terbuka
      tingkat_penyajian: desa
      lisensi: CC-BY-4.0
"""


def pegawai(count: int, start: int = 1) -> list[dict]:
    return [
        {"nip": f"1987010120100110{n:02d}", "nik": 6401010101900000 + n, "nama": f"Pegawai {n}",
         "kode_desa": "6401012009", "aktif": n % 2 == 0, "gaji_pokok": 3_000_000 + n,
         "updated_at": f"2024-05-{n:02d}T08:00:00+08:00"}
        for n in range(start, start + count)
    ]


def write_catalog(folder: Path, *, pages_per_batch: int = 50, incremental: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = CATALOG.format(
        pages_per_batch=pages_per_batch,
        extra_source="      incremental_param: updated_since" if incremental else "",
        cursor="    cursor: updated_at" if incremental else "",
    )
    (folder / "bkpsdm.yml").write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


@pytest.fixture
def connections(api: JsonApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SIMPEG", f"http://:{TOKEN}@127.0.0.1:{api.port}/api/v1")
    monkeypatch.setenv("AIRFLOW_CONN_KALTIM_PORTAL", json.dumps(
        {"conn_type": "http", "host": "127.0.0.1", "port": api.port, "password": API_KEY}))


def data_rows(zones: Zones, entry, manifest: dict) -> list[dict]:
    return pq.read_table(batch_dir(zones, entry, manifest["batch_id"]) / "data.parquet").to_pylist()


def test_a_new_rest_endpoint_needs_only_a_catalog_entry(api, connections, timing, zones, tmp_path):
    records = pegawai(12)
    records[3]["nip"] = "12345"  # breaks the pattern: quarantined, the rest loads
    api.route("/api/v1/pegawai", _nested("result", "items", paged_records(records, style="page", default_size=5)))
    entry = load_catalog(write_catalog(tmp_path / "catalog")).dataset("bkpsdm__pegawai")

    (manifest,) = extract_load(entry, zones)

    assert manifest["source"]["kind"] == "http_json" and manifest["source"]["pages"] == "1-3"
    assert manifest["rows_in"] == 12 and manifest["rows_loaded"] == 11 and manifest["rows_quarantined"] == 1
    assert manifest["rows_in"] == manifest["rows_loaded"] + manifest["rows_quarantined"] + manifest["rows_deduplicated"]
    rows = data_rows(zones, entry, manifest)
    assert rows[0]["nik"] == "6401010101900001" and rows[0]["kode_desa"] == "6401012009"
    assert rows[1]["aktif"] is True and str(rows[1]["gaji_pokok"]) == "3000002.000000000"
    assert rows[0]["updated_at"] == dt.datetime(2024, 5, 1, 0, 0, tzinfo=dt.UTC)
    quarantine = pq.read_table(batch_dir(zones, entry, manifest["batch_id"]) / "quarantine.parquet").to_pylist()
    assert quarantine[0]["nip"] == "12345" and quarantine[0]["_source_row"] == 4
    assert "pages 1-3 (records 1-12), record 4" in quarantine[0]["_reason"]
    assert TOKEN not in json.dumps(manifest)

    assert extract_load(entry, zones) == []  # the same list again: nothing new


def test_crash_then_extract_load_resumes_at_the_committed_page(api, connections, timing, zones, tmp_path):
    records = pegawai(23)
    healthy = _nested("result", "items", paged_records(records, style="page", default_size=5))
    down = {"on": True}
    api.route("/api/v1/pegawai", lambda request: Reply(503) if down["on"] and request.query["page"] == "4"
              else healthy(request))
    entry = load_catalog(write_catalog(tmp_path / "catalog", pages_per_batch=1)).dataset("bkpsdm__pegawai")

    timing.crash_on_sleep = True
    with pytest.raises(Crash):
        extract_load(entry, zones)
    committed = committed_batches(zones, entry)
    assert len(committed) == 3 and committed[-1]["cursor_after"]["resume"] == {"page": 4}

    down["on"], timing.crash_on_sleep = False, False
    mark = len(api.requests)
    new = extract_load(entry, zones)
    assert api.requests[mark].query["page"] == "4"
    assert [m["source"]["pages"] for m in new] == ["4-4", "5-5"]
    loaded = [row["nip"] for m in committed_batches(zones, entry) for row in data_rows(zones, entry, m)]
    assert loaded == [r["nip"] for r in records]  # every record once, in order


def test_incremental_endpoint_through_the_core(api, connections, timing, zones, tmp_path):
    store = pegawai(7)

    def since(request: Request) -> Reply:
        after = request.query.get("updated_since")
        chosen = [r for r in store if after is None or r["updated_at"] >= after]
        page = int(request.query["page"])
        return Reply(body={"result": {"items": chosen[(page - 1) * 5: page * 5]}})

    api.route("/api/v1/pegawai", since)
    entry = load_catalog(write_catalog(tmp_path / "catalog", incremental=True)).dataset("bkpsdm__pegawai")
    (first,) = extract_load(entry, zones)
    assert first["rows_loaded"] == 7 and first["cursor_after"]["high_water"] == "2024-05-07T08:00:00+08:00"

    store.extend(pegawai(2, start=8))
    (second,) = extract_load(entry, zones)
    assert api.requests[-1].query["updated_since"] == "2024-05-07T08:00:00+08:00"
    assert second["rows_in"] == 3 and second["rows_loaded"] == 2 and second["rows_deduplicated"] == 1
    assert second["cursor_before"]["high_water"] == "2024-05-07T08:00:00+08:00"
    assert second["cursor_after"]["high_water"] == "2024-05-09T08:00:00+08:00"


def test_ckan_resource_through_the_core_keeps_leading_zeros(api, connections, timing, zones, tmp_path):
    Portal(api, desa(25))
    entry = load_catalog(write_catalog(tmp_path / "catalog")).dataset("bkpsdm__desa")
    (manifest,) = extract_load(entry, zones)
    assert manifest["rows_loaded"] == 25 and manifest["source"]["kind"] == "ckan"
    rows = data_rows(zones, entry, manifest)
    assert [row["kode_kecamatan"] for row in rows[:3]] == ["0002", "0003", "0001"]
    assert str(rows[0]["luas_km2"]) == "11.750000000" and rows[0]["jumlah_penduduk"] == 1001
    assert extract_load(entry, zones) == []  # resource unchanged: no new batch


def _route_list(api: JsonApi, records: list[dict]) -> None:
    api.route("/api/v1/pegawai", _nested("result", "items", paged_records(records, style="page", default_size=5)))


def _built_nips(zones: Zones, entry) -> list[str]:
    """What a warehouse build reads of a snapshot: the buildable batches of the latest run (staging's rule)."""
    batches = buildable_batches(zones, entry)
    latest_run = max(m["batch_id"].split(".")[0] for m in batches)
    return [row["nip"] for m in batches if m["batch_id"].split(".")[0] == latest_run for row in data_rows(zones, entry, m)]


def test_a_snapshot_of_several_batches_is_one_run_built_whole(api, connections, timing, zones, tmp_path):
    """12 records, 5 a page, a batch a page: three batches of one run, built together, never only the last."""
    records = pegawai(12)
    _route_list(api, records)
    entry = load_catalog(write_catalog(tmp_path / "catalog", pages_per_batch=1)).dataset("bkpsdm__pegawai")

    first, second, third = extract_load(entry, zones)

    assert [m["run"] for m in (first, second, third)] == [
        {"id": first["batch_id"], "part": 1, "last": False}, {"id": first["batch_id"], "part": 2, "last": False},
        {"id": first["batch_id"], "part": 3, "last": True}]
    assert [second["batch_id"], third["batch_id"]] == [f"{first['batch_id']}.0002", f"{first['batch_id']}.0003"]
    assert _built_nips(zones, entry) == [r["nip"] for r in records]

    _route_list(api, pegawai(7))  # the next snapshot, smaller: it replaces the whole earlier run
    extract_load(entry, zones)
    assert _built_nips(zones, entry) == [r["nip"] for r in pegawai(7)]


def test_a_run_ending_on_a_full_batch_is_closed_when_the_empty_page_comes(api, connections, timing, zones, tmp_path):
    records = pegawai(10)  # pages of 5, 5, then an empty one: the second batch could not know it was the last
    _route_list(api, records)
    entry = load_catalog(write_catalog(tmp_path / "catalog", pages_per_batch=1)).dataset("bkpsdm__pegawai")
    batches = extract_load(entry, zones)
    assert [m["run"]["last"] for m in batches] == [False, False]
    assert _built_nips(zones, entry) == [r["nip"] for r in records]


def test_a_snapshot_run_cut_short_is_not_built_until_its_resume_completes_it(api, connections, timing, zones, tmp_path):
    entry = load_catalog(write_catalog(tmp_path / "catalog", pages_per_batch=1)).dataset("bkpsdm__pegawai")
    _route_list(api, pegawai(3))
    extract_load(entry, zones)  # a complete run of one batch: the list of 3

    records = pegawai(23)
    healthy = _nested("result", "items", paged_records(records, style="page", default_size=5))
    down = {"on": True}
    api.route("/api/v1/pegawai", lambda request: Reply(503) if down["on"] and request.query["page"] == "4"
              else healthy(request))
    timing.crash_on_sleep = True
    with pytest.raises(Crash):
        extract_load(entry, zones)
    assert len(committed_batches(zones, entry)) == 4
    assert _built_nips(zones, entry) == [r["nip"] for r in pegawai(3)]  # not pages 1-3 of the new list

    down["on"], timing.crash_on_sleep = False, False
    extract_load(entry, zones)
    assert _built_nips(zones, entry) == [r["nip"] for r in records]


def test_a_snapshot_changing_back_is_loaded_again(api, connections, timing, zones, tmp_path):
    """A, then B, then A again: the warehouse must show A, so the third delivery is a new batch."""
    entry = load_catalog(write_catalog(tmp_path / "catalog")).dataset("bkpsdm__pegawai")
    list_a, list_b = pegawai(6), pegawai(6)[1:]
    for records in (list_a, list_b):
        _route_list(api, records)
        assert len(extract_load(entry, zones)) == 1
    _route_list(api, list_a)
    assert len(extract_load(entry, zones)) == 1
    assert _built_nips(zones, entry) == [r["nip"] for r in list_a]
    assert extract_load(entry, zones) == []  # unchanged since the latest: still nothing new


def test_ckan_resource_over_one_batch_is_one_run(api, connections, timing, zones, tmp_path, monkeypatch):
    monkeypatch.setattr(ckan, "ROWS_PER_BATCH", 10)
    Portal(api, desa(25))
    entry = load_catalog(write_catalog(tmp_path / "catalog")).dataset("bkpsdm__desa")
    batches = extract_load(entry, zones)
    assert [(m["run"]["part"], m["run"]["last"]) for m in batches] == [(1, False), (2, False), (3, True)]
    assert len({m["batch_id"].split(".")[0] for m in batches}) == 1
    assert sum(len(data_rows(zones, entry, m)) for m in buildable_batches(zones, entry)) == 25


def _nested(outer: str, inner: str, responder):
    """Wrap a responder's {"data": [...]} as {outer: {inner: [...]}} (records_path outer.inner)."""

    def respond(request: Request) -> Reply:
        reply = responder(request)
        reply.body = {outer: {inner: reply.body["data"]}}
        return reply

    return respond
