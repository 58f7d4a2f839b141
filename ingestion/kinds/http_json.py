"""`http_json`: records from a REST API returning JSON, page by page.

Pages are fetched in `pending_sources`; every `pages_per_batch` pages become one `Pending`, whose
`cursor_after` is the resume state below. The core commits a batch before asking for the next one,
so after a crash the next run starts at the first page not committed, and loads each record once.

Resume state (`cursor_after`, a JSON object kept in the manifest):

    {"resume": {"page": 7} | {"offset": 600} | {"cursor": "<token>"} | {"url": "<Link next>"} | null,
     "since": "<the incremental value this run sends>" | null,
     "high_water": "<max(cursor column) loaded so far>" | null,
     "records": <records delivered by this run so far>, "pages": <pages read by this run so far>,
     "batches": <batches delivered by this run so far>}

`resume` null means the run finished: the next run starts at the first page again, sending
`incremental_param=<high_water>` when the catalog declares one. A run that resumes and finds
nothing more has finished too, and a fresh run starts at once; so does a run the ledger knows ended
(`LedgerView.run_ended`: its last batch was full and the page after it empty).

The batches of one run are parts 1..n of one run in the ledger (`Pending.run_part`, `run_last`;
`ingestion.ledger`, "Runs"), so a snapshot (no `cursor`) of many pages is read whole. A snapshot run
of one batch is skipped when it has the same records as the latest complete run (only that one: a
list changing back, A, B, then A, is loaded again); a dataset with a `cursor` skips any batch already
committed.

Stop conditions: an empty page (any style); a short page (styles page and offset, see below); no next
token (cursor: missing, null or ""), no `rel="next"` Link (link).

A short page (fewer records than `page_size`) ends the run, except the first page a run requests: a
server that caps the page size without a word (Spring's 2000, DRF's `max_page_size`) answers every page
short, so after a short first page the next one is requested too. Empty (or a 404, or the first page
again: a server that does not page), the list is complete; otherwise the first page's size is the
server's, a warning says so, and paging goes on until a page shorter than that (offset: each page
starts after the records received). The probe costs one request only when the first page is short:
a list of one page. Runs of full pages request nothing more than before.

Pagination loops are errors naming the page and the repeated value:
- cursor: a token already returned by an earlier page of the run;
- link: a next URL already requested in the run;
- any style: a non-empty page whose records are identical (same sha256) to the previous page's
  under a different page position, i.e. the server answers page 4 with page 3's content.
A page that is requested again (a retry after a 503 or a timeout, or a resumed run re-reading its
resume page) is not a loop: only the final answer for each position is compared.

Every value is delivered as text: strings as they are (half a character, a lone surrogate escape, as
U+FFFD: see `ingestion.http_client`), numbers as the exact JSON text
(6401012009 and 12.50 stay that, never a float), booleans as "true"/"false", objects and arrays as
compact JSON text, null as NULL. `_source_row` is the record's 1-based index in the run, and the
delivery's label names the pages and records of the batch, so a message reads
"http_json simpeg: pegawai, pages 3-4 (records 11-20), record 17".
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from itertools import chain
from urllib.parse import urljoin

import pyarrow as pa

from ingestion.catalog import DatasetEntry, HttpJsonSource
from ingestion.errors import IngestionError
from ingestion.http_client import HttpClient, HttpError, JsonResponse, client_for_connection, json_text
from ingestion.kinds import Delivery, LedgerView, Pending
from ingestion.zones import Zones

log = logging.getLogger(__name__)


class PaginationError(IngestionError):
    """A page cannot be read as records, or the server's pagination loops."""


# --- Pages --------------------------------------------------------------------------------------

@dataclass
class Page:
    number: int  # 1-based page of the run (style page: the page number sent)
    position: dict  # where it was requested: {"page": n} | {"offset": n} | {"cursor": t} | {"url": u} | {}
    records: list[dict]
    next: dict | None  # the next page's position; None when this was the last page
    sha256: str  # of the records, for loop detection

    def where(self) -> str:
        return f"page {self.number}"


@dataclass
class RunState:
    """Where a run stands: the resume state of the module docstring."""

    resume: dict | None = None
    since: str | None = None
    high_water: str | None = None
    records: int = 0
    pages: int = 0
    batches: int = 0

    @classmethod
    def from_cursor(cls, cursor: object) -> RunState:
        if not isinstance(cursor, dict):
            # None (first run) or a value from another kind/version: take it as a high-water mark only.
            return cls(high_water=None if cursor is None else str(cursor))
        keys = ("resume", "since", "high_water", "records", "pages", "batches")
        return cls(**{k: cursor.get(k, getattr(cls(), k)) for k in keys})

    def as_cursor(self) -> dict:
        return {"resume": self.resume, "since": self.since, "high_water": self.high_water,
                "records": self.records, "pages": self.pages, "batches": self.batches}


@dataclass
class Pager:
    """Requests the pages of one run in order, detecting pagination loops."""

    client: HttpClient
    source: HttpJsonSource
    since: str | None
    seen_tokens: dict[str, int] = field(default_factory=dict)  # cursor token -> page that returned it
    seen_urls: dict[str, int] = field(default_factory=dict)  # Link URL -> page requested with it
    previous: Page | None = None
    # Styles page and offset: the records per page the server is seen to send when it caps `page_size`
    # (None: not seen, `page_size` is taken at its word), and the page requested to find out.
    effective_size: int | None = None
    probe: dict | None = None

    def pages(self, start: dict, first_number: int) -> Iterator[Page]:
        """Pages from `start` on (a position, {} for the first page) until a stop condition."""
        position: dict | None = start
        number = first_number
        while position is not None:
            try:
                page = self._fetch(position, number)
            except HttpError as exc:
                # A page past the end may be a 404 (Django REST Framework's "Invalid page"): only the probe's is.
                if exc.status == 404 and position is self.probe:
                    log.info("%s: page %d is past the end (HTTP 404): end of the list", exc.url, number)
                    return
                raise
            if not page.records:
                log.info("%s: %s is empty: end of the list", self.client.masked_url(self._url(position)), page.where())
                return
            if position is self.probe and self.previous is not None:
                if page.sha256 == self.previous.sha256:
                    # The server does not page at all (or ignores the page parameter): its one answer is the list.
                    log.info("%s: %s repeats the short first page: the server does not page; end of the list",
                             self.client.masked_url(self._url(position)), page.where())
                    return
                self.effective_size = len(self.previous.records)
                log.warning(
                    "%s: the server sends %d records per page, not the %d asked for (page_size): paging on at %d; "
                    "set page_size to %d to save a request per run",
                    self.client.masked_url(self.client.url_for(self.source.path)), self.effective_size,
                    self.source.pagination.page_size, self.effective_size, self.effective_size,
                )
                page.next = self._next_position(page, None)
            self._check_loop(page)
            yield page
            self.previous = page
            position = page.next
            number += 1

    def first_position(self) -> dict:
        style = self.source.pagination.style
        if style == "page":
            return {"page": self.source.pagination.first_page}
        if style == "offset":
            return {"offset": 0}
        return {}

    def _params(self, position: dict) -> dict[str, str]:
        pagination = self.source.pagination
        params = dict(self.source.params)
        if self.since is not None and self.source.incremental_param:
            params[self.source.incremental_param] = self.since
        if pagination.style in ("page", "offset", "cursor") and pagination.size_param:
            params[pagination.size_param] = str(pagination.page_size)
        if "page" in position:
            params[pagination.page_param] = str(position["page"])
        if "offset" in position:
            params[pagination.offset_param] = str(position["offset"])
        if position.get("cursor") is not None:
            params[pagination.cursor_param] = str(position["cursor"])
        return params

    def _url(self, position: dict) -> str:
        if "url" in position:
            return position["url"]
        return self.client.url_for(self.source.path, self._params(position))

    def _fetch(self, position: dict, number: int) -> Page:
        url = self._url(position)
        if self.source.pagination.style == "link":
            if url in self.seen_urls:
                raise PaginationError(
                    f"{self._label(number)}: pagination loop: the Link rel=\"next\" URL "
                    f"{self.client.masked_url(url)} was already requested for page {self.seen_urls[url]}"
                )
            self.seen_urls[url] = number
        response = self.client.get_json(url)
        records = records_at(response.data, self.source.records_path, self._label(number), self.client)
        page = Page(number, position, records, None, _records_sha256(records))
        page.next = self._next_position(page, response)
        return page

    def _next_position(self, page: Page, response: JsonResponse | None) -> dict | None:
        pagination = self.source.pagination
        if pagination.style in ("page", "offset"):
            following = ({"page": page.position["page"] + 1} if pagination.style == "page"
                         else {"offset": page.position["offset"] + len(page.records)})
            if len(page.records) >= (self.effective_size or pagination.page_size):
                return following
            if self.effective_size is None and self.previous is None:
                # A short first page is either the whole list or a server capping page_size below what was
                # asked (Spring's 2000, DRF's max_page_size): one more request tells them apart. Only the
                # first page of a pager probes, so a run of full pages pays nothing more.
                self.probe = following
                return following
            return None
        assert response is not None  # only the page and offset styles are re-asked without one
        if pagination.style == "cursor":
            token = value_at(response.data, pagination.cursor_path)
            if token is None or token == "" or isinstance(token, (dict, list)):
                return None
            token = str(token)
            if token in self.seen_tokens:
                raise PaginationError(
                    f"{self._label(page.number)}: pagination loop: next cursor '{self.client.mask(token)}' at "
                    f"'{pagination.cursor_path}' was already returned by page {self.seen_tokens[token]}"
                )
            self.seen_tokens[token] = page.number
            return {"cursor": token}
        if pagination.style == "link":
            link = response.headers.get("Link")
            target = next_link(link, response.url) if link else None
            return {"url": target} if target else None
        return None

    def _check_loop(self, page: Page) -> None:
        previous = self.previous
        if previous is not None and previous.sha256 == page.sha256 and previous.position != page.position:
            raise PaginationError(
                f"{self._label(page.number)}: pagination loop: {_describe_position(page.position)} returned the same "
                f"{len(page.records)} records as page {previous.number} ({_describe_position(previous.position)}), "
                f"sha256 {page.sha256[:12]}; the server repeats a page"
            )

    def _label(self, number: int) -> str:
        return f"{self.client.masked_url(self.client.url_for(self.source.path))}: page {number}"


def _describe_position(position: dict) -> str:
    if not position:
        return "the first request"
    key, value = next(iter(position.items()))
    return f"{key} {value!r}" if key != "url" else "the Link URL"


def _records_sha256(records: list[dict]) -> str:
    return hashlib.sha256(json_text(records).encode("utf-8")).hexdigest()


def value_at(data: object, path: str) -> object:
    """The value at a dotted path ("meta.next_cursor"; "" is `data` itself); None when absent."""
    for part in [p for p in path.split(".") if p]:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def records_at(data: object, path: str, where: str, client: HttpClient) -> list[dict]:
    """The list of record objects at `records_path`; an error naming the page otherwise."""
    records = value_at(data, path)
    if records is None:
        keys = ", ".join(sorted(data)) if isinstance(data, dict) else type(data).__name__
        raise PaginationError(f"{where}: no records at records_path '{path}' (the response has: {keys})")
    if not isinstance(records, list):
        raise PaginationError(f"{where}: records_path '{path}' holds a {type(records).__name__}, not a list of records")
    for index, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            shown = client.mask(json_text(record))[:80]
            raise PaginationError(f"{where}, record {index}: not a JSON object: {shown}")
    return records


def next_link(header: str, base_url: str) -> str | None:
    """The rel="next" target of an RFC 8288 Link header, resolved against the answering URL."""
    for link in _split_links(header):
        target, _, params = link.partition(">")
        target = target.strip().lstrip("<").strip()
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "rel" and "next" in value.strip().strip('"').lower().split():
                return urljoin(base_url, target)
    return None


def _split_links(header: str) -> list[str]:
    """Split a Link header on the commas between links (not those inside <...> or quotes)."""
    links, current, in_url, in_quote = [], "", False, False
    for char in header:
        if char == "<" and not in_quote:
            in_url = True
        elif char == ">" and not in_quote:
            in_url = False
        elif char == '"' and not in_url:
            in_quote = not in_quote
        if char == "," and not in_url and not in_quote:
            links.append(current)
            current = ""
        else:
            current += char
    links.append(current)
    return [link for link in links if link.strip()]


# --- Records as text ------------------------------------------------------------------------------

def as_text(value: object) -> str | None:
    """A JSON value as delivered text (see the module docstring)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):  # JsonNumber included: its exact text
        return str(value)
    return json_text(value)


def text_array(values: list) -> pa.Array:
    """JSON values as an Arrow string column, each as `as_text` delivers it. Strings, numbers (their text) and
    nulls go to Arrow in one call; only a column holding a boolean, an object or an array is converted value
    by value (Arrow refuses those as strings rather than guess)."""
    try:
        return pa.array(values, pa.string())
    except pa.ArrowTypeError:
        return pa.array([as_text(value) for value in values], pa.string())


def _cursor_values(records: list[dict], column: str, aliases: list[str]) -> list[object]:
    """Each record's value of the cursor column (under any of its spellings; None when it has none)."""
    wanted = {_fold(name) for name in [column, *aliases]}
    spellings = {key for key in set().union(*records) if _fold(key) in wanted}
    if len(spellings) <= 1:
        key = next(iter(spellings), None)
        return [record.get(key) for record in records] if key is not None else []
    # Records that spell the column two ways: each record's first spelling counts.
    return [next((record[key] for key in record if key in spellings), None) for record in records]


def _fold(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).casefold()


_NUMBER_RE = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


def higher(a: object, b: object) -> object:
    """The larger of two cursor values: numerically when both are numbers (JSON numbers, or the saved
    high-water mark written as one), else as text (ISO 8601 timestamps in one format sort as text)."""
    if a is None:
        return b
    if b is None:
        return a
    if _NUMBER_RE.fullmatch(str(a)) and _NUMBER_RE.fullmatch(str(b)):
        return a if Decimal(str(a)) >= Decimal(str(b)) else b
    return a if str(a) >= str(b) else b


# --- Batches --------------------------------------------------------------------------------------

@dataclass
class PageBatch:
    pages: list[Page] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(len(page.records) for page in self.pages)


def _source(entry: DatasetEntry) -> HttpJsonSource:
    source = entry.spec.source
    if not isinstance(source, HttpJsonSource):
        raise IngestionError(f"{entry.id}: source kind '{source.kind}' is not http_json")
    return source


def pending_sources(entry: DatasetEntry, zones: Zones, ledger: LedgerView) -> Iterator[Pending]:  # noqa: ARG001 (zones: interface)
    """Batches of `pages_per_batch` pages from the resume point (or the first page) on, in order."""
    source = _source(entry)
    if source.incremental_param and not entry.spec.cursor:
        raise IngestionError(
            f"{entry.path.name}: dataset '{entry.name}': 'incremental_param' needs 'cursor' (the column whose "
            "max becomes the next run's value)"
        )
    state = RunState.from_cursor(ledger.cursor_before)
    client = client_for_connection(
        source.connection, auth=source.auth, api_key_header=source.api_key_header,
        timeout_seconds=source.timeout_seconds, max_retries=source.max_retries,
        backoff_cap_seconds=source.backoff_cap_seconds,
    )
    with client:
        if state.resume is not None and ledger.run_ended:
            log.info("%s: the last run ended after its batch ending at page %d; a new run starts", entry.id, state.pages)
        elif state.resume is not None:
            log.info("%s: resuming an unfinished run at %s (page %d of the run)", entry.id, state.resume, state.pages + 1)
            delivered = yield from _run(entry, client, ledger, state)
            if delivered:
                return
            log.info("%s: the resumed run had nothing more; it is finished, starting a new run", entry.id)
        fresh = RunState(since=state.high_water if source.incremental_param else None, high_water=state.high_water)
        yield from _run(entry, client, ledger, fresh)


def _run(entry: DatasetEntry, client: HttpClient, ledger: LedgerView, state: RunState) -> Generator[Pending, None, int]:
    """Yield the batches of one run starting at `state`; returns how many records it delivered."""
    source = _source(entry)
    pager = Pager(client, source, state.since)
    start = state.resume if state.resume is not None else pager.first_position()
    delivered = 0
    batch = PageBatch()
    for page in pager.pages(start, state.pages + 1):
        batch.pages.append(page)
        # A batch ends with its last page, unless that is a short first page: the page after it (`Pager.probe`)
        # says whether the run ends there, and a batch committed before would resume at a probe.
        if (len(batch.pages) >= source.pages_per_batch and page.next is not pager.probe) or page.next is None:
            state = _advance(entry, state, batch)
            delivered += batch.records
            # A full batch may still end the run (the next page is empty): extract_load then closes the run.
            yield from _pending(entry, client, ledger, batch, state, last=page.next is None)
            batch = PageBatch()
    if batch.pages:  # the pages after the last full batch, ended by an empty page
        state = _advance(entry, state, batch, finished=True)
        delivered += batch.records
        yield from _pending(entry, client, ledger, batch, state, last=True)
    return delivered


def _advance(entry: DatasetEntry, state: RunState, batch: PageBatch, *, finished: bool = False) -> RunState:
    high_water: object = state.high_water
    cursor = entry.spec.cursor
    if cursor:
        column = entry.spec.contract.columns[cursor]
        for page in batch.pages:
            for value in _cursor_values(page.records, cursor, column.aliases):
                if _may_raise_high_water(value, column.type):
                    high_water = higher(high_water, value)
    return RunState(
        resume=None if finished else batch.pages[-1].next,
        since=state.since,
        high_water=None if high_water is None else str(high_water),
        records=state.records + batch.records,
        pages=state.pages + len(batch.pages),
        batches=state.batches + 1,
    )


def _may_raise_high_water(value: object, column_type: str) -> bool:
    """Whether a cursor value counts for the high-water mark: not null, an object, an array or a boolean,
    and in a date, timestamp or number column, text beginning with a digit (after a sign). 'null' or 'N/A'
    would sort above every date as text ('n' > '2'): it would be sent as `incremental_param` on every later
    run and never be overtaken. The contract quarantines such a row anyway (a date must begin with a digit)."""
    if value is None or isinstance(value, (dict, list, bool)):
        return False
    if column_type == "text":
        return True
    text = str(value).strip().lstrip("+-")
    return bool(text) and text[0] in "0123456789"


def _pending(
    entry: DatasetEntry, client: HttpClient, ledger: LedgerView, batch: PageBatch, state: RunState, *, last: bool,
) -> Iterator[Pending]:
    source = _source(entry)
    first_row = state.records - batch.records + 1
    url = client.masked_url(client.url_for(source.path))
    digest = hashlib.sha256()
    digest.update(f"{url}\n{batch.pages[0].position}\n".encode())
    for page in batch.pages:
        digest.update(page.sha256.encode())
    sha256 = digest.hexdigest()
    pages = f"{batch.pages[0].number}-{batch.pages[-1].number}"
    label = f"http_json {source.connection}: {source.path}, pages {pages} (records {first_row}-{state.records})"
    if entry.spec.cursor is not None:
        known = ledger.is_known(sha256)
    else:
        # A snapshot is compared with the latest one only: a list that changes back (A, B, then A) is new
        # again. A run of several batches is always loaded: its first batch cannot tell the run unchanged.
        known = state.batches == 1 and last and ledger.is_current_snapshot(sha256)
    if known:
        log.info("%s: pages %s: the same records were already loaded (sha256 %s); skipped", entry.id, pages, sha256[:8])
        return
    info = {
        "kind": "http_json",
        "label": label,
        "url": url,
        "since": state.since,
        "pages": pages,
        "first_position": {k: client.masked_url(v) if k == "url" else v for k, v in batch.pages[0].position.items()},
        "records": batch.records,
        "sha256": sha256,
    }
    yield Pending(info, read=partial(read_batch, batch, label, first_row), cursor_after=state.as_cursor(),
                  run_part=state.batches, run_last=last)


def read_batch(batch: PageBatch, label: str, first_row: int) -> Delivery:
    """The batch's records as an all-text Arrow table with `_source_row` (the record's index in the run)."""
    records = [record for page in batch.pages for record in page.records]
    names = list(dict.fromkeys(chain.from_iterable(records)))  # every key, in order of first appearance
    rows = range(first_row, first_row + len(records))
    table = pa.table({**{name: text_array([record.get(name) for record in records]) for name in names},
                      "_source_row": pa.array(rows, pa.int64())})
    return arrow_delivery(table, label, names, position="record")


def arrow_delivery(table: pa.Table, label: str, names: list[str], *, position: str) -> Delivery:
    """A Delivery whose relation registers `table` on the core's connection (all columns VARCHAR)."""
    view = f"delivery_{uuid.uuid4().hex[:12]}"

    def relation(con) -> str:
        con.register(view, table)
        return f'"{view}"'

    return Delivery(
        label=label, sheet=None, position=position, header_row=None,
        columns={name: "VARCHAR" for name in names}, relation=relation,
    )
