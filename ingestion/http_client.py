"""One small HTTP client for the REST-like kinds (`http_json`, `ckan`): JSON over GET, with retries.

Decided here once:
- Every request has a timeout (connect, read, write and pool: `timeout_seconds` each).
- Retried, with capped exponential backoff and full jitter (a random wait in
  [0, min(cap, base * 2**attempt)]): 429, any 5xx, connection errors and timeouts, and a 200 whose
  body is not JSON (an HTML error page, truncated or invalid JSON; at most `BAD_BODY_RETRIES` times).
  A `Retry-After` header (seconds or an HTTP-date) is honoured instead of the jittered wait, capped
  by `backoff_cap_seconds`.
- Not retried: any other 4xx (401, 403, 404, ...): the first answer fails at once with the status
  and the URL; so does a redirect loop or a body that does not decompress.
- Secrets never reach a message or a log line: the connection's token/API key is replaced by
  `***` wherever it appears, and so are the values of query parameters named like a secret
  (`token`, `api_key`, `key`, ...).
- Numbers in JSON keep their exact text (`JsonNumber`, a `str`): an id like 3201234567890123 never
  passes through a float.
- Half a character (a lone UTF-16 surrogate escape such as `"\\ud83d"`, sent by a server that cut text
  in the middle of an emoji) becomes U+FFFD, the replacement character: no UTF-8 text can hold it.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx

from ingestion.errors import IngestionError

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 0.5
BAD_BODY_RETRIES = 2  # a 200 with HTML or broken JSON is retried this many times, then fails
BODY_PREVIEW_BYTES = 120
ERROR_BODY_BYTES = 4096
SECRET_PARAMS = frozenset({"token", "access_token", "api_key", "apikey", "key", "password", "secret"})
MASK = "***"
USER_AGENT = "satudata-paser-ingestion"


@dataclass
class Timing:
    """How the client waits and tells time; tests replace `TIMING`'s members to skip real backoffs."""

    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    jitter: Callable[[], float] = random.random


TIMING = Timing()


_SECRET_PARAM_RE = re.compile(r"(?i)([?&](?:" + "|".join(sorted(SECRET_PARAMS)) + r")=)[^&#\s\"']*")
_KNOWN_SECRETS: set[str] = set()  # tokens of the clients made in this process, masked in httpx's own log lines


def mask_text(text: str) -> str:
    """Mask secret-named query parameter values and every known token in free text."""
    text = _SECRET_PARAM_RE.sub(lambda m: m.group(1) + MASK, text)
    for secret in sorted(_KNOWN_SECRETS, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


class _MaskingFilter(logging.Filter):
    """httpx logs every request URL at INFO: mask it before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


for _name in ("httpx",):  # httpcore logs no URLs
    logging.getLogger(_name).addFilter(_MaskingFilter())


class HttpError(IngestionError):
    """A request failed for good: the message names the status (or the failure) and the masked URL."""

    def __init__(self, message: str, *, status: int | None = None, url: str = "", body: bytes = b"") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.url = url
        self.body = body  # the answer's first bytes (masked), for callers that read error bodies (CKAN)


class JsonNumber(str):
    """A JSON number as the exact text the server sent ("6401012009", "12.50")."""

    __slots__ = ()


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # a surrogate escape (or an escaped backslash before "ud83d": only a walk)
_SURROGATE_ESCAPE_BYTES = re.compile(_SURROGATE_ESCAPE.pattern.encode())
_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_json(data: bytes | str) -> object:
    """Parse JSON keeping every number as its text (`JsonNumber`); raises ValueError when invalid."""
    parsed = json.loads(data, parse_float=JsonNumber, parse_int=JsonNumber)
    escape = _SURROGATE_ESCAPE.search(data) if isinstance(data, str) else _SURROGATE_ESCAPE_BYTES.search(data)
    return _without_lone_surrogates(parsed) if escape else parsed


def _without_lone_surrogates(value: object) -> object:
    """`value` with each lone surrogate replaced by U+FFFD: json.loads keeps one from an escape like
    "\\ud83d" (it joins only a high and a low one into a character), and encoding it to UTF-8, for a
    hash, Arrow or a log line, raises UnicodeEncodeError. Only bodies holding such an escape come here."""
    if isinstance(value, str):
        if isinstance(value, JsonNumber) or not _SURROGATE.search(value):
            return value
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    return value


def json_text(value: object) -> str:
    """Serialize a parsed value back to compact JSON, numbers exactly as they came."""
    if isinstance(value, str):
        # encode_basestring is what json.dumps(text, ensure_ascii=False) returns, without its per-call setup
        return str(value) if isinstance(value, JsonNumber) else encode_basestring(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{encode_basestring(str(k))}:{json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(json_text(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class JsonResponse:
    url: str  # the URL that answered (after redirects), unmasked: use `masked_url` for messages
    status: int
    headers: httpx.Headers
    data: object  # parsed JSON, numbers as JsonNumber
    body: bytes


class HttpClient:
    """GET JSON from one base URL with timeouts, retries and masked messages.

    `sleep`, `clock` (epoch seconds, for Retry-After dates) and `jitter` (a random number in [0, 1))
    are injectable so tests need not wait for real backoffs.
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
        timeout_seconds: float = 30.0,
        max_retries: int = 5,
        backoff_cap_seconds: float = 60.0,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        jitter: Callable[[], float] | None = None,
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.max_retries = max_retries
        self.backoff_cap_seconds = backoff_cap_seconds
        # Read the module defaults at call time, so a test can swap them for a whole kind run.
        self.sleep = sleep or TIMING.sleep
        self.clock = clock or TIMING.clock
        self.jitter = jitter or TIMING.jitter
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        _KNOWN_SECRETS.update(self._secrets)
        self._http = httpx.Client(
            headers=dict(headers or {}), timeout=httpx.Timeout(timeout_seconds), follow_redirects=True,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def url_for(self, path_or_url: str, params: Mapping[str, str] | None = None) -> str:
        """An absolute URL: `path_or_url` below the base URL (or as is when absolute), with `params` added."""
        url = urljoin(self.base_url, path_or_url.lstrip("/")) if "://" not in path_or_url else path_or_url
        if not params:
            return url
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True) + [(k, str(v)) for k, v in params.items()]
        return urlunsplit(parts._replace(query=urlencode(query)))

    def mask(self, text: str) -> str:
        """`text` with the connection's secrets and secret-named query parameter values replaced by ***."""
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    def masked_url(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.query:
            query = [
                (k, MASK if k.lower() in SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
            ]
            url = urlunsplit(parts._replace(query=urlencode(query, safe="*")))
        if parts.password:
            url = url.replace(f":{parts.password}@", f":{MASK}@")
        return self.mask(url)

    def get_json(self, path_or_url: str, params: Mapping[str, str] | None = None) -> JsonResponse:
        """GET and parse JSON, retrying transient failures (see the module docstring)."""
        url = self.url_for(path_or_url, params)
        shown = self.masked_url(url)
        bad_bodies = 0
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                response = self._http.get(url)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {self.mask(str(exc)) or 'no answer'}"
            except httpx.RequestError as exc:  # TooManyRedirects, DecodingError: asking again gets the same answer
                raise HttpError(f"GET {shown}: {type(exc).__name__}: {self.mask(str(exc)).rstrip('.')}, not retried",
                                url=shown) from None
            else:
                status = response.status_code
                if status == 429 or status >= 500:
                    problem = f"HTTP {status} {response.reason_phrase}"
                    retry_after = self._retry_after(response.headers.get("Retry-After"))
                elif status >= 400:
                    hint = " (check the connection's token or API key)" if status in (401, 403) else ""
                    body = self.mask(response.content[:ERROR_BODY_BYTES].decode("utf-8", "replace")).encode()
                    raise HttpError(
                        f"GET {shown}: HTTP {status} {response.reason_phrase}, not retried{hint}",
                        status=status, url=shown, body=body,
                    )
                elif status != 200:
                    raise HttpError(f"GET {shown}: HTTP {status} {response.reason_phrase}, expected 200 with JSON",
                                    status=status, url=shown)
                else:
                    body = response.content
                    try:
                        data = self._parse_body(response, body)
                    except ValueError as exc:
                        problem = f"HTTP 200 but {exc}; first bytes: {self.mask(repr(body[:BODY_PREVIEW_BYTES]))}"
                        bad_bodies += 1
                        if bad_bodies > BAD_BODY_RETRIES:
                            raise HttpError(f"GET {shown}: {problem}", status=status, url=shown) from None
                    else:
                        return JsonResponse(str(response.url), status, response.headers, data, body)
            if attempt >= self.max_retries:
                raise HttpError(f"GET {shown}: {problem}; gave up after {attempt + 1} attempts", url=shown)
            wait = self._wait_seconds(attempt, retry_after)
            log.warning("GET %s: %s; retry %d of %d in %.2f s", shown, problem, attempt + 1, self.max_retries, wait)
            self.sleep(wait)
            attempt += 1

    @staticmethod
    def _parse_body(response: httpx.Response, body: bytes) -> object:
        content_type = response.headers.get("Content-Type", "").lower()
        if "html" in content_type or body.lstrip()[:1] == b"<":
            raise ValueError(f"the body is HTML ({content_type or 'no Content-Type'}), not JSON")
        try:
            return parse_json(body)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise ValueError(f"the body is not valid JSON ({exc})") from None

    def _wait_seconds(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(self.backoff_cap_seconds, retry_after)
        return self.jitter() * min(self.backoff_cap_seconds, BACKOFF_BASE_SECONDS * 2**attempt)

    def _retry_after(self, value: str | None) -> float | None:
        """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date; None when absent or unreadable."""
        if not value:
            return None
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            log.warning("Retry-After %r is neither seconds nor an HTTP-date; using backoff", value)
            return None
        return max(0.0, when.timestamp() - self.clock())


# --- From an Airflow connection -----------------------------------------------------------------

def connection_base_url(conn_id: str, conn) -> str:
    """`<http|https>://host[:port][/schema]`: the schema field is the path prefix (e.g. `api/v1`)."""
    host = (conn.host or "").strip()
    if not host:
        raise IngestionError(f"connection '{conn_id}' has no host (set AIRFLOW_CONN_{conn_id.upper()})")
    if "://" in host:  # a host given with its scheme, as Airflow's HttpHook also accepts
        base = host.rstrip("/")
    else:
        scheme = conn.conn_type if conn.conn_type in ("http", "https") else "https"
        base = f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")
    if conn.schema:
        base += "/" + conn.schema.strip("/")
    return base


def connection_secret(conn) -> str | None:
    """The token or API key of a connection: its password, else extra["token"] or extra["api_key"]."""
    extra = conn.extra or {}
    return conn.password or extra.get("token") or extra.get("api_key") or None


def client_for_connection(
    conn_id: str,
    *,
    auth: str = "none",
    api_key_header: str = "X-API-Key",
    timeout_seconds: float = 30.0,
    max_retries: int = 5,
    backoff_cap_seconds: float = 60.0,
) -> HttpClient:
    """An HttpClient for the Airflow connection `conn_id` (`AIRFLOW_CONN_<ID>`).

    `auth`: "none"; "bearer" (Authorization: Bearer <token>); "api_key" (<api_key_header>: <key>);
    "authorization" (Authorization: <key>, as CKAN expects its API token).
    """
    from ingestion.connections import get_connection  # noqa: PLC0415  (kept light at import time)

    conn = get_connection(conn_id)
    secret = connection_secret(conn)
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if auth != "none":
        if not secret:
            raise IngestionError(
                f"connection '{conn_id}': auth '{auth}' needs a token or API key "
                "(the connection's password, or extra token/api_key)"
            )
        if auth == "bearer":
            headers["Authorization"] = f"Bearer {secret}"
        elif auth == "api_key":
            headers[api_key_header] = secret
        elif auth == "authorization":
            headers["Authorization"] = secret
        else:
            raise IngestionError(f"connection '{conn_id}': unknown auth '{auth}'")
    return HttpClient(
        connection_base_url(conn_id, conn),
        headers=headers,
        secrets=[s for s in (secret, conn.password) if s],
        timeout_seconds=timeout_seconds,
        max_retries=max_retries,
        backoff_cap_seconds=backoff_cap_seconds,
    )
