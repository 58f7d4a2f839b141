"""Credentials for agency systems: Airflow connections, never the catalog.

`get_connection(conn_id)` reads `AIRFLOW_CONN_<CONN_ID>` from the environment itself (the URI form
`postgres://user:pass@host:5432/db?sslmode=require` or the JSON form Airflow also accepts), so the
CLI and the tests need no Airflow import (it costs seconds). Only inside a running Airflow process
(where `airflow` is already imported) does a missing variable fall back to Airflow's own lookup
(secrets backends, the metadata database).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from ingestion.errors import IngestionError

log = logging.getLogger(__name__)

MASK = "***"
# Airflow spells some schemes differently from the conn_type it stores.
_SCHEME_ALIASES = {"postgresql": "postgres", "mariadb": "mysql", "sqlite3": "sqlite"}


class SourceConnectionError(IngestionError):
    """A connection is missing, malformed, or the system behind it refused us."""


@dataclass(frozen=True)
class ConnectionInfo:
    """One Airflow connection, as the kinds need it. `repr` never shows the password."""

    conn_id: str
    conn_type: str
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None  # the database name for postgres/mysql
    extra: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        shown = MASK if self.password else None
        return (f"ConnectionInfo(conn_id={self.conn_id!r}, conn_type={self.conn_type!r}, host={self.host!r}, "
                f"port={self.port!r}, login={self.login!r}, password={shown!r}, schema={self.schema!r}, "
                f"extra={sorted(self.extra)!r})")

    __str__ = __repr__

    def mask(self, text: str) -> str:
        """`text` with the password (and its URL-encoded spelling) replaced by ***."""
        if self.password:
            for secret in {self.password, _quote(self.password)}:
                text = text.replace(secret, MASK)
        return text


def env_var(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def get_connection(conn_id: str) -> ConnectionInfo:
    """The connection `conn_id`: from `AIRFLOW_CONN_<CONN_ID>`, else (inside Airflow) from Airflow."""
    value = os.environ.get(env_var(conn_id))
    if value is not None and value.strip():
        return parse_connection(conn_id, value.strip())
    found = _from_airflow(conn_id) if "airflow" in sys.modules else None
    if found is not None:
        return found
    raise SourceConnectionError(
        f"connection '{conn_id}' is not defined: set the environment variable {env_var(conn_id)} "
        f"(e.g. postgres://user:password@host:5432/database) or add the connection in Airflow"
    )


def parse_connection(conn_id: str, value: str) -> ConnectionInfo:
    """Parse the value of `AIRFLOW_CONN_<ID>`: a JSON object or a URI."""
    if value.startswith("{"):
        return _from_json(conn_id, value)
    return _from_uri(conn_id, value)


def _from_uri(conn_id: str, uri: str) -> ConnectionInfo:
    parts = urlsplit(uri)
    if not parts.scheme:
        raise SourceConnectionError(f"connection '{conn_id}' ({env_var(conn_id)}): not a URI nor a JSON object")
    try:
        port = parts.port
    except ValueError as exc:
        raise SourceConnectionError(f"connection '{conn_id}' ({env_var(conn_id)}): bad port: {exc}") from None
    extra: dict = {}
    for key, val in parse_qsl(parts.query, keep_blank_values=True):
        if key == "__extra__":  # Airflow's way to carry a JSON extra in a URI
            extra.update(json.loads(val))
        else:
            extra[key] = val
    conn_type = parts.scheme.replace("-", "_")
    path = unquote(parts.path)
    return ConnectionInfo(
        conn_id=conn_id,
        conn_type=_SCHEME_ALIASES.get(conn_type, conn_type),
        host=unquote(parts.hostname) if parts.hostname else None,
        port=port,
        login=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        schema=(path[1:] if path.startswith("/") else path) or None,
        extra=extra,
    )


def _from_json(conn_id: str, text: str) -> ConnectionInfo:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceConnectionError(f"connection '{conn_id}' ({env_var(conn_id)}): invalid JSON: {exc.msg}") from None
    extra = data.get("extra") or {}
    if isinstance(extra, str):
        extra = json.loads(extra) if extra.strip() else {}
    conn_type = str(data.get("conn_type", "")).replace("-", "_")
    return ConnectionInfo(
        conn_id=conn_id,
        conn_type=_SCHEME_ALIASES.get(conn_type, conn_type),
        host=data.get("host"),
        port=int(data["port"]) if data.get("port") not in (None, "") else None,
        login=data.get("login"),
        password=data.get("password"),
        schema=data.get("schema"),
        extra=extra,
    )


def _from_airflow(conn_id: str) -> ConnectionInfo | None:
    """Airflow's own lookup (secrets backends, metadata DB); None when it does not know the id."""
    try:
        from airflow.sdk import Connection

        conn = Connection.get(conn_id)
    except Exception as exc:  # noqa: BLE001 - Airflow raises various types for "not found"
        log.debug("Airflow has no connection %s: %s", conn_id, exc)
        return None
    extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else {}
    return ConnectionInfo(
        conn_id=conn_id, conn_type=conn.conn_type, host=conn.host, port=conn.port, login=conn.login,
        password=conn.password, schema=conn.schema, extra=dict(extra or {}),
    )


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")
