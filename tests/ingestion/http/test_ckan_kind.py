"""The `ckan` kind against a local server replaying CKAN Action API answers."""

from __future__ import annotations

import pytest

from ingestion.http_client import HttpError
from ingestion.kinds import ckan
from ingestion.kinds.ckan import CkanError
from tests.ingestion.http.server import JsonApi, Reply, Request
from tests.ingestion.http.support import Crash, make_entry

API_KEY = "ckan-api-token-xyz"
RESOURCE_ID = "3f1c2a9e-7b7d-4c55-9e0a-64010000a001"
PACKAGE_SHOW = "/api/3/action/package_show"
DATASTORE_SEARCH = "/api/3/action/datastore_search"
FIELDS = [
    {"id": "_id", "type": "int"},
    {"id": "kode_desa", "type": "text"},
    {"id": "kode_kecamatan", "type": "text"},
    {"id": "nama_desa", "type": "text"},
    {"id": "luas_km2", "type": "numeric"},
    {"id": "jumlah_penduduk", "type": "int4"},
]
DESA_COLUMNS = {
    "kode_desa": {"type": "text", "description": "Kode desa Kemendagri", "nullable": False},
    "kode_kecamatan": {"type": "text", "description": "Kode kecamatan (dengan nol di depan)"},
    "nama_desa": {"type": "text", "description": "Nama desa"},
    "luas_km2": {"type": "decimal", "description": "Luas wilayah"},
    "jumlah_penduduk": {"type": "integer", "description": "Jumlah penduduk"},
}


def desa(count: int) -> list[dict]:
    return [
        {"_id": n, "kode_desa": f"64010120{n:02d}", "kode_kecamatan": f"{n % 3 + 1:04d}", "nama_desa": f"Desa {n}",
         "luas_km2": 10 + n + 0.75, "jumlah_penduduk": 1000 + n}
        for n in range(1, count + 1)
    ]


class Portal:
    """A CKAN portal's Action API, as data.kaltimprov.go.id answers it."""

    def __init__(self, api: JsonApi, records: list[dict]) -> None:
        self.records = records
        self.last_modified = "2024-06-01T10:00:00.000000"
        self.total_known = True
        api.route(PACKAGE_SHOW, self.package_show)
        api.route(DATASTORE_SEARCH, self.datastore_search)

    def package_show(self, request: Request) -> Reply:
        if request.query.get("id") not in ("data-desa-paser", "pkg-0001"):
            return Reply(404, {"success": False, "error": {"message": "Not found", "__type": "Not Found Error"}})
        resources = [
            {"id": RESOURCE_ID, "name": "Daftar Desa 2024", "format": "CSV", "datastore_active": True,
             "last_modified": self.last_modified, "metadata_modified": "2024-06-01T10:00:01"},
            {"id": "9a9a9a9a-0000-4000-8000-000000000002", "name": "Peta Wilayah", "format": "PDF",
             "datastore_active": False, "last_modified": None, "metadata_modified": "2024-01-01T00:00:00"},
        ]
        return Reply(body={"help": "...", "success": True, "result": {
            "id": "pkg-0001", "name": "data-desa-paser", "metadata_modified": "2024-06-01T10:00:02", "resources": resources}})

    def datastore_search(self, request: Request) -> Reply:
        if request.query.get("resource_id") != RESOURCE_ID:
            return Reply(404, {"success": False, "error": {"message": "Not found: Resource was not found.",
                                                           "__type": "Not Found Error"}})
        limit, offset = int(request.query.get("limit", 100)), int(request.query.get("offset", 0))
        result = {"resource_id": RESOURCE_ID, "fields": FIELDS, "records": self.records[offset:offset + limit],
                  "limit": limit, "offset": offset, "total": len(self.records),
                  "_links": {"start": f"{DATASTORE_SEARCH}?resource_id={RESOURCE_ID}",
                             "next": f"{DATASTORE_SEARCH}?offset={offset + limit}&resource_id={RESOURCE_ID}"}}
        if not self.total_known:
            result["total_was_estimated"] = True
        return Reply(body={"help": "...", "success": True, "result": result})


@pytest.fixture
def portal_conn(api: JsonApi, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AIRFLOW_CONN_KALTIM_PORTAL", f"http://:{API_KEY}@127.0.0.1:{api.port}")
    return "kaltim_portal"


def ckan_entry(tmp_path, resource: str = "Daftar Desa 2024", package: str = "data-desa-paser", page_size: int = 10):
    source = {"kind": "ckan", "connection": "kaltim_portal", "package": package, "resource": resource,
              "page_size": page_size}
    return make_entry(tmp_path, source, name="desa", columns=DESA_COLUMNS, primary_key=("kode_desa",))


def test_pages_datastore_until_total_and_keeps_text_codes(api, portal_conn, timing, ledger, tmp_path):
    Portal(api, desa(25))
    (batch,) = ledger.run(ckan.pending_sources, ckan_entry(tmp_path))

    rows = batch["rows"]
    assert len(rows) == 25 and [row["_source_row"] for row in rows] == list(range(1, 26))
    assert rows[0]["kode_kecamatan"] == "0002" and rows[2]["kode_kecamatan"] == "0001"  # leading zeros kept
    assert rows[0]["kode_desa"] == "6401012001"
    assert rows[0]["luas_km2"] == "11.75" and rows[0]["jumlah_penduduk"] == "1001"  # numbers: their JSON text
    assert list(batch["columns"]) == ["kode_desa", "kode_kecamatan", "nama_desa", "luas_km2", "jumlah_penduduk"]
    assert set(batch["columns"].values()) == {"VARCHAR"}  # `_id` dropped, everything text
    assert [r.query["offset"] for r in api.requests_to(DATASTORE_SEARCH)] == ["0", "10", "20"]  # total reached: no 4th
    assert api.requests_to(PACKAGE_SHOW)[0].headers["Authorization"] == API_KEY
    assert batch["source"]["resource_id"] == RESOURCE_ID and batch["source"]["modified"] == "2024-06-01T10:00:00.000000"
    assert batch["cursor_after"]["offset"] is None


def test_resource_found_by_id(api, portal_conn, timing, ledger, tmp_path):
    Portal(api, desa(3))
    (batch,) = ledger.run(ckan.pending_sources, ckan_entry(tmp_path, resource=RESOURCE_ID))
    assert len(batch["rows"]) == 3


def test_unknown_resource_lists_the_available_ones(api, portal_conn, timing, ledger, tmp_path):
    Portal(api, desa(3))
    with pytest.raises(CkanError) as raised:
        ledger.run(ckan.pending_sources, ckan_entry(tmp_path, resource="Daftar Desa 2023"))
    message = str(raised.value)
    assert "package 'data-desa-paser': no resource with id or name 'Daftar Desa 2023'" in message
    assert f"'Daftar Desa 2024' (id {RESOURCE_ID})" in message and "'Peta Wilayah'" in message


def test_resource_without_datastore(api, portal_conn, timing, ledger, tmp_path):
    Portal(api, desa(3))
    with pytest.raises(CkanError, match=r"resource 'Peta Wilayah' .* has no DataStore table"):
        ledger.run(ckan.pending_sources, ckan_entry(tmp_path, resource="peta wilayah"))


def test_unknown_package_is_a_ckan_error_not_retried(api, portal_conn, timing, ledger, tmp_path):
    Portal(api, desa(3))
    expected = (r"CKAN package_show at http://127\.0\.0\.1:\d+/api/3/action/package_show\?id=desa-lain: "
                r"HTTP 404: Not Found Error: Not found")
    with pytest.raises(CkanError, match=expected):
        ledger.run(ckan.pending_sources, ckan_entry(tmp_path, package="desa-lain"))
    assert len(api.requests_to(PACKAGE_SHOW)) == 1 and timing.waits == []


def test_success_false_with_status_200(api, portal_conn, timing, ledger, tmp_path):
    api.route(PACKAGE_SHOW, lambda request: Reply(body={"success": False, "error": {
        "__type": "Authorization Error", "message": "Access denied: dataset is private"}}))
    with pytest.raises(CkanError, match=r"package_show at .*: Authorization Error: Access denied: dataset is private"):
        ledger.run(ckan.pending_sources, ckan_entry(tmp_path))


def test_answer_not_in_ckan_shape(api, portal_conn, timing, ledger, tmp_path):
    api.route(PACKAGE_SHOW, lambda request: Reply(body={"data": []}))
    with pytest.raises(CkanError, match=r"not a CKAN Action API answer \(no 'success' key\)"):
        ledger.run(ckan.pending_sources, ckan_entry(tmp_path))


def test_unchanged_resource_gives_no_batch_and_pages_nothing(api, portal_conn, timing, ledger, tmp_path):
    portal = Portal(api, desa(12))
    entry = ckan_entry(tmp_path)
    assert len(ledger.run(ckan.pending_sources, entry)) == 1
    searches = len(api.requests_to(DATASTORE_SEARCH))

    assert ledger.run(ckan.pending_sources, entry) == []
    assert len(api.requests_to(DATASTORE_SEARCH)) == searches  # the package_show check was enough

    portal.last_modified = "2024-07-01T08:00:00.000000"
    portal.records = desa(13)
    (changed,) = ledger.run(ckan.pending_sources, entry)
    assert len(changed["rows"]) == 13 and changed["source"]["modified"] == "2024-07-01T08:00:00.000000"


def test_estimated_total_pages_until_an_empty_page(api, portal_conn, timing, ledger, tmp_path):
    portal = Portal(api, desa(20))
    portal.total_known = False
    (batch,) = ledger.run(ckan.pending_sources, ckan_entry(tmp_path))
    assert len(batch["rows"]) == 20
    assert [r.query["offset"] for r in api.requests_to(DATASTORE_SEARCH)] == ["0", "10", "20"]


def test_pages_in_id_order_so_no_row_is_lost_or_doubled(api, portal_conn, timing, ledger, tmp_path):
    """Without `sort`, datastore_search runs LIMIT/OFFSET with no ORDER BY: PostgreSQL may answer each page
    from a scan starting elsewhere (synchronized sequential scans on a big table), so pages overlap."""
    records = desa(25)
    healthy = Portal(api, records).datastore_search
    scans = {"n": 0}

    def unordered_unless_sorted(request: Request) -> Reply:
        if request.query.get("sort", "").split(" ")[0] == "_id":
            return healthy(request)
        scans["n"] += 1
        start = 7 * scans["n"] % len(records)  # each scan starts somewhere else
        limit, offset = int(request.query["limit"]), int(request.query["offset"])
        rows = (records[start:] + records[:start])[offset:offset + limit]
        return Reply(body={"success": True, "result": {"fields": FIELDS, "records": rows, "total": len(records)}})

    api.route(DATASTORE_SEARCH, unordered_unless_sorted)
    (batch,) = ledger.run(ckan.pending_sources, ckan_entry(tmp_path))
    assert sorted(row["kode_desa"] for row in batch["rows"]) == [r["kode_desa"] for r in records]


def test_crash_resumes_the_same_resource_version_at_its_offset(api, portal_conn, timing, ledger, tmp_path, monkeypatch):
    monkeypatch.setattr(ckan, "ROWS_PER_BATCH", 10)
    Portal(api, desa(25))
    healthy = api.routes[DATASTORE_SEARCH]
    down = {"on": True}
    api.route(DATASTORE_SEARCH, lambda request: Reply(503) if down["on"] and request.query["offset"] == "20"
              else healthy(request))
    timing.crash_on_sleep = True
    entry = ckan_entry(tmp_path)
    with pytest.raises(Crash):
        ledger.run(ckan.pending_sources, entry)
    assert [len(b["rows"]) for b in ledger.batches] == [10, 10] and ledger.cursor_before["offset"] == 20

    down["on"], timing.crash_on_sleep = False, False
    before = len(api.requests_to(DATASTORE_SEARCH))
    ledger.run(ckan.pending_sources, entry)
    assert [r.query["offset"] for r in api.requests_to(DATASTORE_SEARCH)[before:]] == ["20"]
    assert [row["kode_desa"] for row in ledger.rows()] == [r["kode_desa"] for r in desa(25)]


def test_server_error_persisting_is_an_http_error(api, portal_conn, timing, ledger, tmp_path):
    api.route(PACKAGE_SHOW, lambda request: Reply(502, "<html>Bad Gateway</html>", headers={"Content-Type": "text/html"}))
    with pytest.raises(HttpError, match=r"package_show\?id=data-desa-paser: HTTP 502 Bad Gateway; gave up after 6 attempts"):
        ledger.run(ckan.pending_sources, ckan_entry(tmp_path))
