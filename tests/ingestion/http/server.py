"""A local JSON API on 127.0.0.1 that misbehaves on purpose, one fault at a time.

    with JsonApi() as api:
        api.route("/pegawai", paged_records(records))          # how a healthy server answers
        api.fail_next("/pegawai", Reply(503), Reply(503))       # the next two requests get these first
        api.url                                                 # http://127.0.0.1:<port>

Faults a `Reply` can carry: any status and headers (Retry-After), an HTML body, a `delay` before
answering (a hang that trips the client's read timeout), `truncate_to` (the body is cut short and
the connection closed, though Content-Length promises more), or a body that is simply broken JSON.
Every request is recorded (`api.requests`) so tests assert what was asked, in which order.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit


@dataclass
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    url: str  # path?query as requested


@dataclass
class Reply:
    status: int = 200
    body: object = b""  # bytes/str as is; anything else is sent as JSON
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a hang)
    truncate_to: int | None = None  # send only this many body bytes, then close the connection

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("Content-Type", "application/json")
        if isinstance(self.body, str):
            return self.body.encode(), self.headers.get("Content-Type", "application/json")
        return json.dumps(self.body).encode(), "application/json"


Responder = Callable[[Request], Reply]


class JsonApi:
    """The server: routes (path -> responder), one-shot faults per path, and the request log."""

    def __init__(self, max_requests: int = 500) -> None:
        self.max_requests = max_requests
        self.routes: dict[str, Responder] = {}
        self.faults: dict[str, deque[Reply]] = defaultdict(deque)
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="json-api", daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def route(self, path: str, responder: Responder) -> None:
        self.routes[path] = responder

    def fail_next(self, path: str, *replies: Reply) -> None:
        """Serve these replies to the next requests for `path`, before the route answers again."""
        with self._lock:
            self.faults[path].extend(replies)

    def requests_to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def answer(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            if len(self.requests) > self.max_requests:
                # A client without loop detection would page forever: end it with an error it cannot retry.
                return Reply(410, {"error": f"more than {self.max_requests} requests: runaway pagination"})
            fault = self.faults[request.path].popleft() if self.faults[request.path] else None
        if fault is not None:
            return fault
        responder = self.routes.get(request.path)
        if responder is None:
            return Reply(404, {"error": f"no route {request.path}"})
        return responder(request)

    def __enter__(self) -> JsonApi:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler_for(api: JsonApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            parts = urlsplit(self.path)
            request = Request(parts.path, dict(parse_qsl(parts.query)), dict(self.headers.items()), self.path)
            reply = api.answer(request)
            if reply.delay:
                time.sleep(reply.delay)
            body, content_type = reply.encoded()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers.items():
                    if name != "Content-Type":
                        self.send_header(name, value)
                if reply.truncate_to is not None:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body if reply.truncate_to is None else body[: reply.truncate_to])
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to answer

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the stdlib's signature)
            return None

    return Handler


# --- Healthy answers --------------------------------------------------------------------------------

def paged_records(records: list[dict], *, style: str, page_size_param: str = "limit", records_key: str = "data",
                  cursor_path: tuple[str, ...] = ("next_cursor",), default_size: int = 10,
                  max_size: int | None = None) -> Responder:
    """A responder paginating `records` in one style: none, page, offset, cursor or link. `max_size` caps the
    page size asked for without a word, as Spring (2000) and DRF's `max_page_size` do."""

    def respond(request: Request) -> Reply:
        size = int(request.query.get(page_size_param, default_size))
        size = min(size, max_size) if max_size else size
        if style == "none":
            return Reply(body={records_key: records} if records_key else records)
        if style == "page":
            start = (int(request.query.get("page", 1)) - 1) * size
        elif style == "offset":
            start = int(request.query.get("offset", 0))
        else:  # cursor and link: the token is the start index, written "c<start>"
            start = int(request.query.get("cursor", "c0")[1:])
        chunk = records[start:start + size]
        has_more = start + size < len(records)
        body: dict = {records_key: chunk}
        headers: dict[str, str] = {}
        if style == "cursor":
            nested = body
            for key in cursor_path[:-1]:
                nested = nested.setdefault(key, {})
            nested[cursor_path[-1]] = f"c{start + size}" if has_more else None
        if style == "link" and has_more:
            query = {k: v for k, v in request.query.items() if k != "cursor"}
            query["cursor"] = f"c{start + size}"
            headers["Link"] = f'<{request.path}?{urlencode(query)}>; rel="next", <{request.path}>; rel="first"'
        return Reply(body=body, headers=headers)

    return respond
