"""`ckan`: a DataStore resource on a CKAN portal, through the Action API (`/api/3/action/...`).

1. `package_show?id=<package>` finds the resource by id or name (an error lists the resources the
   package has). This is the cheap check: the resource's identity is the portal URL + package +
   resource id + its `last_modified` (else `metadata_modified`); when the latest committed batch
   finished that same identity, nothing is paged and there is no new batch.
2. `datastore_search?resource_id=<id>&limit=<page_size>&offset=<n>&sort=_id` pages until `total` is
   reached (or an empty page). `sort=_id` (the DataStore's row number) is what makes the pages line up:
   without it CKAN runs LIMIT/OFFSET with no ORDER BY, and PostgreSQL may answer each page in another
   order, so rows are lost or loaded twice (CKAN's own dump pages the same way). Every `ROWS_PER_BATCH`
   rows are one `Pending` whose `cursor_after` says where the next page starts, so a crash resumes at
   the first uncommitted page of the same resource version:

       {"identity": "<portal>|<package>|<resource id>|<modified>", "offset": <next offset> | null,
        "part": <batches of this resource version so far>}

   (`offset` null: the whole resource version is loaded). The batches of one resource version are one
   run (`ingestion.ledger`, "Runs"): the warehouse reads them together, once all are committed.

Records are delivered as text in the order of the DataStore field list: "text" fields stay text
(kode "0101" keeps its leading zero), numbers keep their JSON text. CKAN's own `_id` and
`_full_text` columns are dropped. `{"success": false, "error": {...}}` (with any HTTP status) is an
error naming the action, the portal and CKAN's message.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from functools import partial

import pyarrow as pa

from ingestion.catalog import CkanSource, DatasetEntry
from ingestion.errors import IngestionError
from ingestion.http_client import HttpClient, HttpError, client_for_connection, parse_json
from ingestion.kinds import Delivery, LedgerView, Pending
from ingestion.kinds.http_json import arrow_delivery, text_array
from ingestion.zones import Zones

log = logging.getLogger(__name__)

ROWS_PER_BATCH = 100_000
CKAN_COLUMNS = ("_id", "_full_text")  # added by the DataStore, not the agency's data


class CkanError(IngestionError):
    """The portal answered with `success: false`, or not in CKAN's shape."""


def action(client: HttpClient, name: str, params: dict[str, str]) -> dict:
    """Call a CKAN action; returns its `result`. CKAN errors (also those sent with 4xx) name the action."""
    shown = client.masked_url(client.url_for(f"api/3/action/{name}", params))
    try:
        data = client.get_json(f"api/3/action/{name}", params).data
    except HttpError as exc:
        error = _ckan_error(exc.body)
        if error is None:
            raise
        raise CkanError(f"CKAN {name} at {shown}: HTTP {exc.status}: {error}") from None
    if not isinstance(data, dict) or "success" not in data:
        raise CkanError(f"CKAN {name} at {shown}: not a CKAN Action API answer (no 'success' key)")
    if data["success"] is not True:
        raise CkanError(f"CKAN {name} at {shown}: {_describe_error(data.get('error'))}")
    result = data.get("result")
    if not isinstance(result, dict):
        raise CkanError(f"CKAN {name} at {shown}: 'result' is a {type(result).__name__}, not an object")
    return result


def _ckan_error(body: bytes) -> str | None:
    try:
        data = parse_json(body)
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("success") is False:
        return _describe_error(data.get("error"))
    return None


def _describe_error(error: object) -> str:
    if not isinstance(error, dict):
        return f"success is false ({error!r})"
    kind = error.get("__type", "Error")
    details = {k: v for k, v in error.items() if k not in ("__type", "message")}
    message = str(error.get("message", "")).strip()
    extra = "; ".join(f"{k}: {v}" for k, v in details.items())
    return f"{kind}: " + "; ".join(part for part in (message, extra) if part)


def find_resource(package: dict, wanted: str, where: str) -> dict:
    """The resource whose id or name is `wanted` (names compared case-insensitively)."""
    resources = [r for r in package.get("resources") or [] if isinstance(r, dict)]
    for resource in resources:
        if resource.get("id") == wanted:
            return resource
    named = [r for r in resources if str(r.get("name") or "").strip().casefold() == wanted.strip().casefold()]
    if len(named) == 1:
        return named[0]
    listing = ", ".join(f"'{r.get('name')}' (id {r.get('id')})" for r in resources) or "none"
    if len(named) > 1:
        raise CkanError(f"{where}: {len(named)} resources are named '{wanted}'; give its id instead (resources: {listing})")
    raise CkanError(f"{where}: no resource with id or name '{wanted}' (resources: {listing})")


def _source(entry: DatasetEntry) -> CkanSource:
    source = entry.spec.source
    if not isinstance(source, CkanSource):
        raise IngestionError(f"{entry.id}: source kind '{source.kind}' is not ckan")
    return source


def pending_sources(entry: DatasetEntry, zones: Zones, ledger: LedgerView) -> Iterator[Pending]:  # noqa: ARG001 (zones: interface)
    """At most one resource version, in batches of `ROWS_PER_BATCH` rows; nothing when it is unchanged."""
    source = _source(entry)
    client = client_for_connection(source.connection, auth="authorization")
    with client:
        portal = client.masked_url(client.base_url).rstrip("/")
        where = f"CKAN {portal} package '{source.package}'"
        package = action(client, "package_show", {"id": source.package})
        resource = find_resource(package, source.resource, where)
        if not resource.get("datastore_active", True):
            raise CkanError(
                f"{where}: resource '{resource.get('name')}' (id {resource.get('id')}) has no DataStore table "
                "(datastore_active is false), so it cannot be read record by record"
            )
        modified = resource.get("last_modified") or resource.get("metadata_modified") or package.get("metadata_modified")
        identity = f"{portal}|{package.get('name', source.package)}|{resource['id']}|{modified}"
        before = ledger.cursor_before if isinstance(ledger.cursor_before, dict) else {}
        offset, part = 0, 0
        if before.get("identity") == identity:
            if before.get("offset") is None or ledger.run_ended:
                log.info("%s: resource %s unchanged since the last batch (modified %s); nothing new",
                         entry.id, resource["id"], modified)
                return
            offset, part = int(before["offset"]), int(before.get("part") or 0)
            log.info("%s: resuming resource %s at offset %d", entry.id, resource["id"], offset)
        label = f"ckan {source.connection}: {package.get('name', source.package)}/{resource.get('name') or resource['id']}"
        yield from _batches(entry, client, ledger, resource["id"], identity, offset, part, label)


def _batches(
    entry: DatasetEntry, client: HttpClient, ledger: LedgerView, resource_id: str, identity: str, offset: int, part: int,
    label: str,
) -> Iterator[Pending]:
    source = _source(entry)
    fields: list[str] | None = None
    rows: list[dict] = []
    batch_start = offset
    done = False
    while not done:
        result = action(client, "datastore_search", {
            "resource_id": resource_id, "limit": str(source.page_size), "offset": str(offset), "sort": "_id",
        })
        records = result.get("records")
        if not isinstance(records, list):
            raise CkanError(f"{label}: datastore_search at offset {offset}: 'records' is missing or not a list")
        if fields is None:
            fields = [str(f["id"]) for f in result.get("fields") or [] if isinstance(f, dict) and f.get("id") not in CKAN_COLUMNS]
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                raise CkanError(f"{label}: datastore_search record {offset + index + 1} is not an object")
        rows.extend(records)
        offset += len(records)
        total = _total(result)
        done = not records or (total is not None and offset >= total)
        if rows and (done or len(rows) >= ROWS_PER_BATCH):
            part += 1
            pending = _pending(entry, ledger, fields or [], rows, batch_start, identity, None if done else offset, label,
                               part)
            if pending is not None:
                yield pending
            rows, batch_start = [], offset


def _total(result: dict) -> int | None:
    total = result.get("total")
    if total is None or result.get("total_was_estimated"):
        return None
    try:
        return int(str(total))
    except ValueError:
        return None


def _pending(
    entry: DatasetEntry, ledger: LedgerView, fields: list[str], rows: list[dict], first_offset: int, identity: str,
    next_offset: int | None, label: str, part: int,
) -> Pending | None:
    sha256 = hashlib.sha256(f"{identity}|{first_offset}".encode()).hexdigest()
    if ledger.is_known(sha256):
        log.info("%s: rows from offset %d of %s already loaded; skipped", entry.id, first_offset, identity)
        return None
    portal, package, resource_id, modified = identity.split("|", 3)
    info = {
        "kind": "ckan", "label": label, "portal": portal, "package": package, "resource_id": resource_id, "modified": modified,
        "offset": first_offset, "records": len(rows), "sha256": sha256,
    }
    cursor_after = {"identity": identity, "offset": next_offset, "part": part}
    return Pending(info, read=partial(read_rows, fields, rows, first_offset, label), cursor_after=cursor_after,
                   run_part=part, run_last=next_offset is None)


def read_rows(fields: list[str], rows: list[dict], first_offset: int, label: str) -> Delivery:
    """The records as text columns in DataStore field order (keys outside the field list follow)."""
    names = list(fields)
    for row in rows:
        for key in row:
            if key not in names and key not in CKAN_COLUMNS:
                names.append(key)
    columns = {name: text_array([row.get(name) for row in rows]) for name in names}
    columns["_source_row"] = pa.array(range(first_offset + 1, first_offset + len(rows) + 1), pa.int64())
    return arrow_delivery(pa.table(columns), label, names, position="record")
