"""The `http_json` kind against the local misbehaving server: pagination styles, loops, resume, incremental."""

from __future__ import annotations

import json

import pytest

from ingestion.errors import IngestionError
from ingestion.http_client import HttpError, JsonNumber
from ingestion.kinds import http_json
from ingestion.kinds.http_json import PaginationError, higher, next_link
from tests.ingestion.http.server import Reply, Request, paged_records
from tests.ingestion.http.support import PEGAWAI_COLUMNS, TOKEN, Crash, make_entry

PATH = "/api/v1/pegawai"


def pegawai(count: int, start: int = 1) -> list[dict]:
    return [
        {
            "nip": f"1987010120100110{n:02d}",
            "nik": 6401010101900000 + n,  # a JSON number: must arrive as its exact digits
            "nama": f"Pegawai {n}",
            "kode_desa": "6401012009",
            "aktif": n % 2 == 0,
            "alamat": {"desa": "Tanah Grogot", "rt": f"{n:03d}"},
            "updated_at": f"2024-05-{n:02d}T08:00:00Z",
        }
        for n in range(start, start + count)
    ]


def source(**overrides) -> dict:
    base = {"kind": "http_json", "connection": "simpeg", "path": "pegawai", "auth": "bearer"}
    return {**base, **overrides}


def run(ledger, entry) -> list[dict]:
    return ledger.run(http_json.pending_sources, entry)


STYLES = {
    "none": {"style": "none"},
    "page": {"style": "page", "page_size": 5},
    "offset": {"style": "offset", "page_size": 5},
    "cursor": {"style": "cursor", "page_size": 5, "cursor_path": "meta.next"},
    "link": {"style": "link", "size_param": None},
}


@pytest.mark.parametrize("style", list(STYLES))
def test_each_pagination_style_loads_every_record_once(style, api, connection, timing, ledger, tmp_path):
    records = pegawai(23)
    api.route(PATH, paged_records(records, style=style, cursor_path=("meta", "next"), default_size=5))
    entry = make_entry(tmp_path, source(pagination=STYLES[style]))

    batches = run(ledger, entry)

    rows = ledger.rows()
    assert [row["nip"] for row in rows] == [r["nip"] for r in records]
    assert [row["_source_row"] for row in rows] == list(range(1, 24))
    assert rows[6]["nik"] == "6401010101900007"
    assert len(batches) == 1 and batches[0]["cursor_after"]["resume"] is None
    requests = api.requests_to(PATH)
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in requests)
    expected_requests = {"none": 1, "page": 5, "offset": 5, "cursor": 5, "link": 5}[style]
    assert len(requests) == expected_requests  # 23 records in pages of 5: the short 5th page ends it
    if style == "page":
        assert [r.query["page"] for r in requests] == ["1", "2", "3", "4", "5"]
        assert {r.query["limit"] for r in requests} == {"5"}
    if style == "offset":
        assert [r.query["offset"] for r in requests] == ["0", "5", "10", "15", "20"]
    if style == "cursor":
        assert "cursor" not in requests[0].query and [r.query["cursor"] for r in requests[1:]] == ["c5", "c10", "c15", "c20"]


def test_values_arrive_as_text_exactly(api, connection, timing, ledger, tmp_path):
    # raw JSON text, so numbers are exactly what the server wrote
    body = ('{"data": [{"nip": "001", "nik": 3201234567890123, "besar": 12345678901234567890, "luas": 12.50,'
            ' "aktif": true, "alamat": {"rt": "007", "koordinat": [-1.90, 116.2]}, "catatan": null, "kode_desa": "0101"}]}')
    api.route(PATH, lambda request: Reply(body=body))
    run(ledger, make_entry(tmp_path, source()))

    (row,) = ledger.rows()
    assert row["nik"] == "3201234567890123" and row["besar"] == "12345678901234567890" and row["luas"] == "12.50"
    assert row["aktif"] == "true" and row["catatan"] is None and row["kode_desa"] == "0101"
    assert row["alamat"] == '{"rt":"007","koordinat":[-1.90,116.2]}'
    assert set(ledger.batches[0]["types"].values()) <= {"VARCHAR", "BIGINT"}
    assert ledger.batches[0]["types"]["nik"] == "VARCHAR" and ledger.batches[0]["types"]["_source_row"] == "BIGINT"


def test_half_a_character_arrives_as_the_replacement_character(api, connection, timing, ledger, tmp_path):
    # A server that cuts text at a fixed length (JavaScript's substring) can split an emoji and send half of it,
    # a lone surrogate escape: valid JSON, but no UTF-8 can hold it. An escaped whole emoji and an escaped
    # backslash followed by 'ud83d' are ordinary text.
    body = (r'{"data": [{"nip": "001", "nama": "Budi \ud83d", "catatan": "puas \ud83d\ude00", "kode": "\\ud83d",'
            r' "alamat": {"rt": "\udc00 7"}}]}')
    api.route(PATH, lambda request: Reply(body=body))
    run(ledger, make_entry(tmp_path, source()))

    (row,) = ledger.rows()
    assert row["nama"] == "Budi \ufffd" and row["catatan"] == "puas \U0001F600" and row["kode"] == "\\ud83d"
    assert row["alamat"] == '{"rt":"\ufffd 7"}'


def test_a_column_mixing_kinds_of_value_arrives_as_text_value_by_value(api, connection, timing, ledger, tmp_path):
    # one column holding text, exact numbers, a boolean, an object, an array and null across three pages;
    # a key first seen on the last page becomes a column after the others, NULL for the records before it
    pages = [
        '[{"nip": "001", "nilai": "12.50"}, {"nip": "002", "nilai": 12.50}, {"nip": "003", "nilai": 3201234567890123}]',
        '[{"nip": "004", "nilai": false}, {"nip": "005", "nilai": {"rt": "007"}}, {"nip": "006", "nilai": [1.0, "x"]}]',
        '[{"nip": "007", "nilai": null, "keterangan": "baru"}]',
    ]
    api.route(PATH, lambda request: Reply(body='{"data": ' + pages[int(request.query["page"]) - 1] + "}"))
    run(ledger, make_entry(tmp_path, source(pagination={"style": "page", "page_size": 3})))

    rows = ledger.rows()
    assert [row["nilai"] for row in rows] == ["12.50", "12.50", "3201234567890123", "false", '{"rt":"007"}', '[1.0,"x"]', None]
    assert [row["keterangan"] for row in rows] == [None] * 6 + ["baru"]
    assert ledger.batches[0]["columns"] == {"nip": "VARCHAR", "nilai": "VARCHAR", "keterangan": "VARCHAR"}
    assert {ledger.batches[0]["types"][name] for name in ("nip", "nilai", "keterangan")} == {"VARCHAR"}


@pytest.mark.parametrize(("page_size", "high_waters"), [
    (5, ["2024-05-09T08:00:00Z"]),  # one page holding every spelling
    (1, ["2024-05-01T08:00:00Z", "2024-05-09T08:00:00Z", "2024-05-09T08:00:00Z"]),  # a page (and batch) each
])
def test_cursor_under_any_spelling_counts_and_a_records_first_spelling_wins(page_size, high_waters, api, connection,
                                                                            timing, ledger, tmp_path):
    records = [
        {"nip": "001", "tgl_ubah": "2024-05-01T08:00:00Z"},  # the catalog's alias
        {"nip": "002", "Updated At": "2024-05-09T08:00:00Z"},  # the column, spelled another way
        {"nip": "003", "updated_at": "2024-05-03T08:00:00Z", "UPDATED_AT": "2024-05-20T08:00:00Z"},  # two: the first counts
    ]
    api.route(PATH, paged_records(records, style="page", default_size=page_size))
    columns = {**PEGAWAI_COLUMNS, "updated_at": {**PEGAWAI_COLUMNS["updated_at"], "aliases": ["tgl_ubah"]}}
    entry = make_entry(tmp_path, source(pagination={"style": "page", "page_size": page_size}, pages_per_batch=1),
                       cursor="updated_at", columns=columns)
    run(ledger, entry)
    assert [batch["cursor_after"]["high_water"] for batch in ledger.batches] == high_waters


def test_label_names_pages_and_records(api, connection, timing, ledger, tmp_path):
    api.route(PATH, paged_records(pegawai(12), style="page", default_size=5))
    run(ledger, make_entry(tmp_path, source(pagination={"style": "page", "page_size": 5})))
    rows = ledger.rows()
    assert rows[11]["_source_row"] == 12
    assert ledger.batches[0]["position"] == "record"
    assert ledger.batches[0]["label"] == "http_json simpeg: pegawai, pages 1-3 (records 1-12)"


@pytest.mark.parametrize(("records_path", "body"), [
    ("", lambda records: records),
    ("result.items", lambda records: {"result": {"items": records, "count": len(records)}}),
])
def test_records_path(records_path, body, api, connection, timing, ledger, tmp_path):
    records = pegawai(3)
    api.route(PATH, lambda request: Reply(body=body(records)))
    run(ledger, make_entry(tmp_path, source(records_path=records_path)))
    assert [row["nama"] for row in ledger.rows()] == ["Pegawai 1", "Pegawai 2", "Pegawai 3"]


def test_wrong_records_path_names_page_and_what_is_there(api, connection, timing, ledger, tmp_path):
    api.route(PATH, lambda request: Reply(body={"result": [], "meta": {}}))
    expected = r"/api/v1/pegawai: page 1: no records at records_path 'data' \(the response has: meta, result\)"
    with pytest.raises(PaginationError, match=expected):
        run(ledger, make_entry(tmp_path, source()))


def test_record_that_is_not_an_object(api, connection, timing, ledger, tmp_path):
    api.route(PATH, lambda request: Reply(body={"data": [{"nip": "1"}, ["not", "an", "object"]]}))
    with pytest.raises(PaginationError, match=r"page 1, record 2: not a JSON object"):
        run(ledger, make_entry(tmp_path, source()))


def test_api_key_header_auth(api, connection, timing, ledger, tmp_path):
    api.route(PATH, lambda request: Reply(body={"data": pegawai(1)}))
    run(ledger, make_entry(tmp_path, source(auth="api_key", api_key_header="X-Paser-Key")))
    (request,) = api.requests_to(PATH)
    assert request.headers["X-Paser-Key"] == TOKEN and "Authorization" not in request.headers


def test_token_from_connection_extra(api, timing, ledger, tmp_path, monkeypatch):
    conn = {"conn_type": "http", "host": "127.0.0.1", "port": api.port, "schema": "api/v1", "extra": {"api_key": "k-extra"}}
    monkeypatch.setenv("AIRFLOW_CONN_SIMPEG", json.dumps(conn))
    api.route(PATH, lambda request: Reply(body={"data": pegawai(1)}))
    run(ledger, make_entry(tmp_path, source()))
    assert api.requests_to(PATH)[0].headers["Authorization"] == "Bearer k-extra"


def test_401_fails_at_once_with_status_url_and_masked_token(api, connection, timing, ledger, tmp_path, caplog):
    api.route(PATH, lambda request: Reply(401, {"message": f"token {TOKEN} expired"}))
    with pytest.raises(HttpError) as raised:
        run(ledger, make_entry(tmp_path, source(params={"api_key": TOKEN})))
    assert f"GET {api.url}/api/v1/pegawai?api_key=***: HTTP 401 Unauthorized, not retried" in str(raised.value)
    assert TOKEN not in str(raised.value) and TOKEN not in caplog.text
    assert len(api.requests_to(PATH)) == 1 and timing.waits == [] and ledger.batches == []


def test_404_fails_at_once(api, connection, timing, ledger, tmp_path):
    with pytest.raises(HttpError, match=r"/api/v1/pegawai\?limit=5&page=1: HTTP 404 Not Found, not retried"):
        run(ledger, make_entry(tmp_path, source(pagination={"style": "page", "page_size": 5})))
    assert len(api.requests_to(PATH)) == 1


def test_auth_without_a_token_is_a_clear_error(api, timing, ledger, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SIMPEG", f"http://127.0.0.1:{api.port}/api/v1")
    with pytest.raises(IngestionError, match="connection 'simpeg': auth 'bearer' needs a token or API key"):
        run(ledger, make_entry(tmp_path, source()))


# --- Faults in the middle of a paginated run ----------------------------------------------------------

def test_503_burst_and_429_mid_run_are_retried_and_not_a_loop(api, connection, timing, ledger, tmp_path):
    """A retried request that finally serves page 2 is the same page, not a repeat."""
    healthy = paged_records(pegawai(12), style="page", default_size=5)
    served = {"2": [Reply(503), Reply(503), Reply(429, headers={"Retry-After": "4"})]}

    def flaky(request: Request) -> Reply:
        faults = served.get(request.query.get("page"), [])
        return faults.pop(0) if faults else healthy(request)

    api.route(PATH, flaky)
    run(ledger, make_entry(tmp_path, source(pagination={"style": "page", "page_size": 5})))
    assert len(ledger.rows()) == 12
    assert timing.waits == [0.5, 1.0, 4.0]
    assert [r.query["page"] for r in api.requests_to(PATH)] == ["1", "2", "2", "2", "2", "3"]


def test_hang_truncated_json_and_html_page_mid_run_each_retried(api, connection, timing, ledger, tmp_path):
    """Page 2 hangs past the timeout, page 3 comes truncated, page 4 is an HTML error page with 200: all retried."""
    healthy = paged_records(pegawai(23), style="offset", default_size=5)
    faults = {"5": [Reply(delay=1.0, body={"data": []})],
              "10": [Reply(body=b'{"data": [{"nip": "19870101201001101')],
              "15": [Reply(body=b"<html><body>Gateway Timeout</body></html>", headers={"Content-Type": "text/html"})]}

    def faulty(request: Request) -> Reply:
        pending = faults.get(request.query["offset"], [])
        return pending.pop(0) if pending else healthy(request)

    api.route(PATH, faulty)
    run(ledger, make_entry(tmp_path, source(pagination={"style": "offset", "page_size": 5}, timeout_seconds=0.3)))
    assert [row["nip"] for row in ledger.rows()] == [r["nip"] for r in pegawai(23)]
    assert [r.query["offset"] for r in api.requests_to(PATH)] == ["0", "5", "5", "10", "10", "15", "15", "20"]
    assert len(timing.waits) == 3


def test_repeated_cursor_is_a_loop(api, connection, timing, ledger, tmp_path):
    tokens = {None: "A", "A": "B", "B": "A"}  # page 3 hands back page 1's token

    def looping(request: Request) -> Reply:
        cursor = request.query.get("cursor")
        start = {None: 0, "A": 5, "B": 10}[cursor]
        return Reply(body={"data": pegawai(5, start + 1), "next_cursor": tokens[cursor]})

    api.route(PATH, looping)
    entry = make_entry(tmp_path, source(pagination={"style": "cursor", "page_size": 5}))
    expected = r"page 3: pagination loop: next cursor 'A' at 'next_cursor' was already returned by page 1"
    with pytest.raises(PaginationError, match=expected):
        run(ledger, entry)


def test_page_served_twice_under_two_page_numbers_is_a_loop(api, connection, timing, ledger, tmp_path):
    """The server ignores page=3 and answers page 2 again: an error, never records loaded twice."""
    records = pegawai(30)

    def stuck(request: Request) -> Reply:
        page = min(int(request.query["page"]), 2)
        return Reply(body={"data": records[(page - 1) * 5: page * 5]})

    api.route(PATH, stuck)
    entry = make_entry(tmp_path, source(pagination={"style": "page", "page_size": 5}))
    expected = r"page 3: pagination loop: page 3 returned the same 5 records as page 2 \(page 2\)"
    with pytest.raises(PaginationError, match=expected):
        run(ledger, entry)


def test_offset_ignored_by_the_server_is_a_loop(api, connection, timing, ledger, tmp_path):
    api.route(PATH, lambda request: Reply(body={"data": pegawai(5)}))
    with pytest.raises(PaginationError, match=r"page 2: pagination loop: offset 5 returned the same 5 records as page 1"):
        run(ledger, make_entry(tmp_path, source(pagination={"style": "offset", "page_size": 5})))


def test_link_pointing_back_is_a_loop(api, connection, timing, ledger, tmp_path):
    def circular(request: Request) -> Reply:
        page = int(request.query.get("p", 1))
        target = f"{PATH}?p={page + 1 if page < 3 else 2}"
        return Reply(body={"data": pegawai(2, page * 10)}, headers={"Link": f'<{target}>; rel="next"'})

    api.route(PATH, circular)
    expected = r'page 4: pagination loop: the Link rel="next" URL .*\?p=2 was already requested for page 2'
    with pytest.raises(PaginationError, match=expected):
        run(ledger, make_entry(tmp_path, source(pagination={"style": "link"})))


@pytest.mark.parametrize("style", ["page", "offset"])
def test_server_capping_page_size_loses_no_record(style, api, connection, timing, ledger, tmp_path, caplog):
    """page_size 10, the server sends 4 a page without saying so: every record, and a warning naming the size."""
    records = pegawai(23)
    api.route(PATH, paged_records(records, style=style, default_size=10, max_size=4))
    run(ledger, make_entry(tmp_path, source(pagination={"style": style, "page_size": 10})))
    assert [row["nip"] for row in ledger.rows()] == [r["nip"] for r in records]
    assert len(api.requests_to(PATH)) == 6  # 4+4+4+4+4+3: the short sixth page ends the run
    warning = next(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert "/api/v1/pegawai" in warning and "sends 4 records per page, not the 10 asked for" in warning


def test_capped_server_resumes_at_the_committed_page(api, connection, timing, ledger, tmp_path):
    records = pegawai(23)
    healthy = paged_records(records, style="page", default_size=10, max_size=4)
    down = {"on": True}

    def dies_after_page_3(request: Request) -> Reply:
        return Reply(503) if down["on"] and int(request.query["page"]) >= 4 else healthy(request)

    api.route(PATH, dies_after_page_3)
    entry = make_entry(tmp_path, source(pagination={"style": "page", "page_size": 10}, pages_per_batch=1))
    timing.crash_on_sleep = True
    with pytest.raises(Crash):
        run(ledger, entry)
    down["on"], timing.crash_on_sleep = False, False
    run(ledger, entry)
    assert [row["nip"] for row in ledger.rows()] == [r["nip"] for r in records]
    assert ledger.cursor_before["resume"] is None


@pytest.mark.parametrize("style", ["page", "offset"])
def test_short_first_page_costs_one_request_more_and_full_pages_none(style, api, connection, timing, ledger, tmp_path):
    api.route(PATH, paged_records(pegawai(3), style=style, default_size=5))
    run(ledger, make_entry(tmp_path, source(pagination={"style": style, "page_size": 5})))
    assert len(ledger.rows()) == 3 and len(api.requests_to(PATH)) == 2  # the second, empty, tells "all" from "capped"

    api.route(PATH, paged_records(pegawai(13), style=style, default_size=5))
    run(ledger, make_entry(tmp_path, source(pagination={"style": style, "page_size": 5}), name="pegawai_baru"))
    assert len(api.requests_to(PATH)) == 2 + 3  # 5+5+3: the short last page ends the run, as before


def test_page_past_the_end_answered_404_ends_a_short_list(api, connection, timing, ledger, tmp_path):
    """Django REST Framework answers a page past the last with 404 'Invalid page'."""
    healthy = paged_records(pegawai(3), style="page", default_size=5)
    api.route(PATH, lambda request: Reply(404, body={"detail": "Invalid page."}) if request.query["page"] != "1"
              else healthy(request))
    run(ledger, make_entry(tmp_path, source(pagination={"style": "page", "page_size": 5})))
    assert len(ledger.rows()) == 3


def test_server_that_does_not_page_a_short_list_is_no_loop(api, connection, timing, ledger, tmp_path):
    api.route(PATH, lambda request: Reply(body={"data": pegawai(3)}))
    run(ledger, make_entry(tmp_path, source(pagination={"style": "page", "page_size": 5})))
    assert len(ledger.rows()) == 3 and len(api.requests_to(PATH)) == 2


def test_pages_per_batch_commits_in_order_with_resume_points(api, connection, timing, ledger, tmp_path):
    api.route(PATH, paged_records(pegawai(23), style="page", default_size=5))
    entry = make_entry(tmp_path, source(pagination={"style": "page", "page_size": 5}, pages_per_batch=2))
    batches = run(ledger, entry)
    assert [b["source"]["pages"] for b in batches] == ["1-2", "3-4", "5-5"]
    assert [b["cursor_after"]["resume"] for b in batches] == [{"page": 3}, {"page": 5}, None]
    assert [len(b["rows"]) for b in batches] == [10, 10, 3]


def test_crash_mid_run_resumes_at_the_committed_page(api, connection, timing, ledger, tmp_path):
    """Killed while backing off on page 4: the next run starts at page 4 and loads each record once."""
    records = pegawai(23)
    healthy = paged_records(records, style="page", default_size=5)
    server_down = {"on": True}

    def dies_after_page_3(request: Request) -> Reply:
        if server_down["on"] and int(request.query["page"]) >= 4:
            return Reply(503)
        return healthy(request)

    api.route(PATH, dies_after_page_3)
    entry = make_entry(tmp_path, source(pagination={"style": "page", "page_size": 5}, pages_per_batch=1))
    timing.crash_on_sleep = True
    with pytest.raises(Crash):
        run(ledger, entry)
    assert len(ledger.batches) == 3 and ledger.cursor_before["resume"] == {"page": 4}

    server_down["on"] = False
    timing.crash_on_sleep = False
    first_request = len(api.requests)
    run(ledger, entry)

    assert api.requests[first_request].query["page"] == "4"  # not page 1 again
    rows = ledger.rows()
    assert [row["nip"] for row in rows] == [r["nip"] for r in records]  # each record exactly once
    assert [row["_source_row"] for row in rows] == list(range(1, 24))
    assert ledger.cursor_before["resume"] is None


def test_same_snapshot_twice_is_a_no_op(api, connection, timing, ledger, tmp_path):
    api.route(PATH, paged_records(pegawai(12), style="page", default_size=5))
    entry = make_entry(tmp_path, source(pagination={"style": "page", "page_size": 5}))
    assert len(run(ledger, entry)) == 1
    before = len(api.requests)
    assert run(ledger, entry) == []
    assert api.requests[before].query["page"] == "1"  # a finished run starts over at the first page


def test_incremental_sends_the_saved_high_water(api, connection, timing, ledger, tmp_path):
    store = pegawai(7)

    def since_filter(request: Request) -> Reply:
        since = request.query.get("updated_since")
        return Reply(body={"data": [r for r in store if since is None or r["updated_at"] >= since]})

    api.route(PATH, since_filter)
    entry = make_entry(tmp_path, source(incremental_param="updated_since"), cursor="updated_at")

    run(ledger, entry)
    assert "updated_since" not in api.requests_to(PATH)[0].query
    assert ledger.cursor_before["high_water"] == "2024-05-07T08:00:00Z"

    store.extend(pegawai(3, start=8))
    new = run(ledger, entry)
    assert api.requests_to(PATH)[-1].query["updated_since"] == "2024-05-07T08:00:00Z"
    # the boundary record comes again (>=); the core drops it as already committed with that cursor value
    assert [row["nip"] for row in new[0]["rows"]] == [r["nip"] for r in store[6:]]
    assert new[0]["cursor_after"]["high_water"] == "2024-05-10T08:00:00Z"
    assert new[0]["source"]["since"] == "2024-05-07T08:00:00Z"


def test_resumed_run_with_nothing_left_starts_the_next_incremental_run(api, connection, timing, ledger, tmp_path):
    store = pegawai(10)

    def paged_since(request: Request) -> Reply:
        since = request.query.get("updated_since")
        chosen = [r for r in store if since is None or r["updated_at"] >= since]
        page = int(request.query["page"])
        return Reply(body={"data": chosen[(page - 1) * 5: page * 5]})

    api.route(PATH, paged_since)
    entry = make_entry(tmp_path, source(pagination={"style": "page", "page_size": 5}, pages_per_batch=1,
                                        incremental_param="updated_since"), cursor="updated_at")
    run(ledger, entry)  # two full pages; page 3 is empty: the last commit still says "resume at page 3"
    assert ledger.cursor_before["resume"] == {"page": 3}

    before = len(api.requests)
    new = run(ledger, entry)
    queries = [r.query for r in api.requests[before:]]
    assert queries[0] == {"page": "3", "limit": "5"}  # the resume point: still nothing there, so that run is over
    assert queries[1] == {"updated_since": "2024-05-10T08:00:00Z", "page": "1", "limit": "5"}  # the next run
    assert [row["nip"] for row in new[0]["rows"]] == [store[9]["nip"]]  # the boundary record (>=), for the core to drop
    assert new[0]["cursor_after"]["since"] == "2024-05-10T08:00:00Z"


def test_a_cursor_value_that_is_no_timestamp_does_not_become_the_high_water(api, connection, timing, ledger, tmp_path):
    """'null' or 'N/A' in a timestamp cursor sorts above every date as text ('n' > '2'): it would be sent as
    updated_since on every later run, and never be overtaken. The contract quarantines such a row anyway."""
    records = [{**record, "updated_at": value} for record, value in
               zip(pegawai(4), ["2024-05-01T08:00:00Z", "null", "N/A", "2024-05-03T08:00:00Z"], strict=True)]
    api.route(PATH, lambda request: Reply(body={"data": records}))
    run(ledger, make_entry(tmp_path, source(incremental_param="updated_since"), cursor="updated_at"))
    assert ledger.cursor_before["high_water"] == "2024-05-03T08:00:00Z"


def test_numeric_cursor_high_water_across_batches(api, connection, timing, ledger, tmp_path):
    records = [{"id": n, "nama": f"Pegawai {n}"} for n in range(1, 13)]
    api.route(PATH, paged_records(records, style="page", default_size=5))
    columns = {"id": {"type": "integer", "description": "Nomor urut"}, "nama": {"type": "text", "description": "Nama"}}
    entry = make_entry(tmp_path, source(pagination={"style": "page", "page_size": 5}, pages_per_batch=1,
                                        incremental_param="since_id"), cursor="id", columns=columns, primary_key=("id",))
    run(ledger, entry)
    assert [b["cursor_after"]["high_water"] for b in ledger.batches] == ["5", "10", "12"]  # never "9" > "12" as text


def test_incremental_param_without_cursor_is_refused(api, connection, timing, ledger, tmp_path):
    with pytest.raises(IngestionError, match=r"bkpsdm.yml: dataset 'pegawai': 'incremental_param' needs 'cursor'"):
        run(ledger, make_entry(tmp_path, source(incremental_param="updated_since")))


def test_higher_compares_numbers_as_numbers_and_text_as_text():
    assert higher(JsonNumber("9"), JsonNumber("10")) == "10"
    assert higher("9", JsonNumber("10")) == "10"  # the saved mark (text in the manifest) against a new number
    assert higher("99.5", JsonNumber("100")) == "100"
    assert higher("2024-05-09", "2024-05-10") == "2024-05-10"
    assert higher(None, JsonNumber("3")) == "3"


def test_next_link_parsing():
    header = '<https://api.example/x?page=1>; rel="prev", <https://api.example/x?a=1,2&page=3>; rel="next last"'
    assert next_link(header, "https://api.example/x?page=2") == "https://api.example/x?a=1,2&page=3"
    assert next_link('</x?page=3>; rel=next', "https://api.example/v1/x") == "https://api.example/x?page=3"
    assert next_link('<https://api.example/x?page=1>; rel="prev"', "https://api.example/x") is None
