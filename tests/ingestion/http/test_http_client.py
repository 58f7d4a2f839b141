"""The HTTP client against a local server that misbehaves on purpose: one fault per test."""

from __future__ import annotations

import email.utils
import logging
import time

import pytest

from ingestion.http_client import HttpClient, HttpError, JsonNumber, json_text, parse_json
from tests.ingestion.http.server import JsonApi, Reply

TOKEN = "s3cr3t-token-9f8e7d"
OK = Reply(body={"data": [{"id": 1}]})


class FakeTime:
    """Stands in for time.sleep and time.time: records every wait instead of waiting."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def api():
    with JsonApi() as server:
        server.route("/data", lambda request: OK)
        yield server


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def client(api: JsonApi, fake_time: FakeTime, **settings) -> HttpClient:
    options = {"timeout_seconds": 2.0, "max_retries": 5, "backoff_cap_seconds": 60.0,
               "sleep": fake_time.sleep, "clock": fake_time.clock, "jitter": lambda: 1.0}
    options.update(settings)
    return HttpClient(api.url, headers={"Authorization": f"Bearer {TOKEN}"}, secrets=[TOKEN], **options)


def test_429_waits_for_retry_after_seconds(api, fake_time):
    api.fail_next("/data", Reply(429, {"error": "slow down"}, headers={"Retry-After": "7"}))
    response = client(api, fake_time).get_json("/data")
    assert response.data == {"data": [{"id": "1"}]}
    assert fake_time.waits == [7.0]  # the server's wait, not the 0.5 s backoff
    assert len(api.requests_to("/data")) == 2


def test_429_retry_after_as_http_date(api, fake_time):
    when = email.utils.formatdate(fake_time.now + 12, usegmt=True)
    api.fail_next("/data", Reply(429, headers={"Retry-After": when}))
    client(api, fake_time).get_json("/data")
    assert fake_time.waits == [pytest.approx(12.0, abs=1.0)]


def test_retry_after_is_capped_by_backoff_cap(api, fake_time):
    api.fail_next("/data", Reply(503, headers={"Retry-After": "3600"}))
    client(api, fake_time, backoff_cap_seconds=5.0).get_json("/data")
    assert fake_time.waits == [5.0]


def test_real_retry_after_one_second(api):
    """One real wait: the client really sleeps what Retry-After says."""
    api.fail_next("/data", Reply(429, headers={"Retry-After": "1"}))
    started = time.monotonic()
    with HttpClient(api.url, timeout_seconds=2.0) as real:
        assert real.get_json("/data").data == {"data": [{"id": "1"}]}
    assert 0.95 <= time.monotonic() - started < 3.0


def test_503_burst_then_success_backs_off_exponentially_with_cap(api, fake_time):
    api.fail_next("/data", *[Reply(503, "Service Unavailable", headers={"Content-Type": "text/plain"})] * 4)
    response = client(api, fake_time, backoff_cap_seconds=3.0).get_json("/data")
    assert response.status == 200
    # jitter pinned to its maximum: 0.5 * 2**attempt, capped at 3 s
    assert fake_time.waits == [0.5, 1.0, 2.0, 3.0]


def test_full_jitter_draws_below_the_exponential_bound(api, fake_time):
    api.fail_next("/data", Reply(500), Reply(502))
    draws = iter([0.25, 0.5])
    client(api, fake_time, jitter=lambda: next(draws)).get_json("/data")
    assert fake_time.waits == [0.25 * 0.5, 0.5 * 1.0]


def test_503_burst_longer_than_max_retries_fails_naming_url(api, fake_time):
    api.fail_next("/data", *[Reply(503)] * 10)
    with pytest.raises(HttpError, match=r"GET http://127\.0\.0\.1:\d+/data\?page=2: HTTP 503 .*gave up after 4 attempts"):
        client(api, fake_time, max_retries=3).get_json("/data", {"page": "2"})
    assert len(api.requests_to("/data")) == 4


def test_hang_times_out_then_succeeds(api, fake_time):
    api.fail_next("/data", Reply(delay=1.5, body={"data": []}))
    started = time.monotonic()
    response = client(api, fake_time, timeout_seconds=0.3).get_json("/data")
    assert response.data == {"data": [{"id": "1"}]}
    assert len(api.requests_to("/data")) == 2
    assert time.monotonic() - started < 1.4  # the hang was cut by the timeout, not waited out


def test_truncated_body_connection_closed_is_retried(api, fake_time):
    body = b'{"data": [{"id": 1}, {"id": 2}]}'
    api.fail_next("/data", Reply(body=body, truncate_to=12))
    assert client(api, fake_time).get_json("/data").data == {"data": [{"id": "1"}]}
    assert len(fake_time.waits) == 1


def test_truncated_json_is_retried_then_fails_with_first_bytes(api, fake_time):
    api.fail_next("/data", *[Reply(body=b'{"data": [{"id": 1}, {"id"')] * 5)
    expected = r"/data: HTTP 200 but the body is not valid JSON .*first bytes: b'\{\"data\": \[\{\"id\": 1\}"
    with pytest.raises(HttpError, match=expected):
        client(api, fake_time).get_json("/data")
    assert len(api.requests_to("/data")) == 3  # the first answer and two retries


def test_truncated_json_once_then_success(api, fake_time):
    api.fail_next("/data", Reply(body=b'{"data": [{"id": 1'))
    assert client(api, fake_time).get_json("/data").data == {"data": [{"id": "1"}]}


def test_html_error_page_with_status_200(api, fake_time):
    page = b"<!DOCTYPE html><html><body>Maintenance: server sedang perbaikan</body></html>"
    api.fail_next("/data", *[Reply(body=page, headers={"Content-Type": "text/html; charset=utf-8"})] * 3)
    expected = r"/data: HTTP 200 but the body is HTML \(text/html.*first bytes: b'<!DOCTYPE html><html>"
    with pytest.raises(HttpError, match=expected):
        client(api, fake_time).get_json("/data")


def test_html_page_sent_as_json_content_type_is_still_refused(api, fake_time):
    api.fail_next("/data", Reply(body=b"<html>502 Bad Gateway</html>"))
    assert client(api, fake_time).get_json("/data").data == {"data": [{"id": "1"}]}
    assert len(api.requests_to("/data")) == 2


def test_401_is_not_retried_and_the_token_is_masked(api, fake_time, caplog):
    api.fail_next("/data", Reply(401, {"error": f"bad token {TOKEN}"}))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(HttpError) as raised:
        client(api, fake_time).get_json("/data", {"token": TOKEN, "kecamatan": "Tanah Grogot"})
    message = str(raised.value)
    assert raised.value.status == 401
    assert "HTTP 401 Unauthorized, not retried" in message
    assert f"{api.url}/data?token=***&kecamatan=Tanah+Grogot" in message
    assert TOKEN not in message and TOKEN.encode() not in raised.value.body
    assert TOKEN not in caplog.text
    assert len(api.requests_to("/data")) == 1 and fake_time.waits == []
    assert api.requests_to("/data")[0].headers["Authorization"] == f"Bearer {TOKEN}"  # it was sent, only never shown


def test_403_is_not_retried(api, fake_time):
    api.fail_next("/data", Reply(403))
    with pytest.raises(HttpError, match="HTTP 403 Forbidden, not retried"):
        client(api, fake_time).get_json("/data")
    assert len(api.requests_to("/data")) == 1


def test_404_is_not_retried(api, fake_time):
    with pytest.raises(HttpError, match=r"GET http://127\.0\.0\.1:\d+/nowhere: HTTP 404 Not Found, not retried"):
        client(api, fake_time).get_json("/nowhere")
    assert len(api.requests_to("/nowhere")) == 1 and fake_time.waits == []


def test_redirect_loop_fails_at_once_naming_the_url(api, fake_time):
    """A proxy sending http to https and the backend sending it back: httpx's own TooManyRedirects named no URL."""
    api.route("/pegawai", lambda request: Reply(302, b"", headers={"Location": "/pegawai?token=" + TOKEN}))
    with pytest.raises(HttpError) as raised:
        client(api, fake_time).get_json("/pegawai")
    message = str(raised.value)
    assert message.startswith(f"GET {api.url}/pegawai: TooManyRedirects") and message.endswith("not retried")
    assert TOKEN not in message and fake_time.waits == []


def test_connection_refused_is_retried_then_fails(fake_time):
    with JsonApi() as gone:
        url = gone.url
    dead = HttpClient(url, timeout_seconds=0.5, max_retries=2, sleep=fake_time.sleep, jitter=lambda: 1.0)
    with pytest.raises(HttpError, match=r"ConnectError.*gave up after 3 attempts"):
        dead.get_json("/data")
    assert fake_time.waits == [0.5, 1.0]


def test_secret_query_parameters_are_masked():
    masker = HttpClient("https://api.example.go.id/v1", secrets=["abc123"])
    url = masker.url_for("pegawai", {"api_key": "k1", "key": "k2", "Token": "k3", "page": "2"})
    assert masker.masked_url(url) == "https://api.example.go.id/v1/pegawai?api_key=***&key=***&Token=***&page=2"
    assert masker.mask("Bearer abc123 failed") == "Bearer *** failed"


def test_numbers_keep_their_exact_json_text():
    data = parse_json(b'{"nik": 3201234567890123, "big": 12345678901234567890, "luas": 12.50, "e": 1e3,'
                      b' "kode": "0101", "ok": true, "nested": {"x": [1.10, null]}}')
    assert data["nik"] == "3201234567890123" and isinstance(data["nik"], JsonNumber)
    assert data["big"] == "12345678901234567890"
    assert data["luas"] == "12.50" and data["e"] == "1e3"
    assert data["kode"] == "0101" and not isinstance(data["kode"], JsonNumber)
    assert json_text(data["nested"]) == '{"x":[1.10,null]}'
