"""Keyed pseudonyms for NIK and KK: HMAC-SHA256 with the platform's secret key, computed inside DuckDB.

Why keyed: a NIK has a known structure (region, birth date, serial), so the whole regency's valid
NIKs number a few hundred million at most; a plain or salted hash of one is reversed by hashing
them all, in minutes. An HMAC needs the key, which never leaves the platform: not the catalog,
not dbt's artifacts, not the warehouse file.

The key comes from (first found):
  1. the environment variable SATUDATA_PSEUDONYM_KEY (with SATUDATA_PSEUDONYM_KEY_ID naming it),
  2. the Airflow connection `satudata_pseudonym` (its password is the key, its login the key id),
  3. when neither is set (what the embedded default relies on): a random key generated once at
     <data dir>/state/secrets/pseudonym.key (mode 0600), so pseudonyms stay stable across runs on one
     machine. It lives beside the data it protects: a deployment should set 1 or 2.
The key id (not secret) is stored next to every pseudonym, so a re-keying is visible in the data.

dbt-duckdb loads this module as a plugin (profiles.yml, `plugins:`): every connection and cursor gets
two SQL macros, `satudata_pseudonym(text)` (64 hex chars) and `satudata_pseudonym_key_id()`. HMAC is
built from DuckDB's own sha256 over blobs, so it runs vectorised:

    HMAC(K, m) = sha256((K' xor opad) || sha256((K' xor ipad) || m))      (RFC 2104, K' = K padded to 64 bytes)

`pseudonym()` below is the same function in Python (the tests check both agree with `hmac`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

KEY_ENV = "SATUDATA_PSEUDONYM_KEY"
KEY_ID_ENV = "SATUDATA_PSEUDONYM_KEY_ID"
CONNECTION_ID = "satudata_pseudonym"
BLOCK_SIZE = 64  # SHA-256 block size in bytes


class PseudonymKeyError(RuntimeError):
    """No usable pseudonym key."""


@dataclass(frozen=True)
class PseudonymKey:
    secret: bytes
    key_id: str
    origin: str  # where it came from (for logs; never the key itself)

    def __repr__(self) -> str:
        return f"PseudonymKey(key_id={self.key_id!r}, origin={self.origin!r})"


def _fingerprint(secret: bytes) -> str:
    # A key id derived from the key must not help guess it: an HMAC of a constant, truncated.
    return "k-" + hmac.new(secret, b"satudata key id", hashlib.sha256).hexdigest()[:12]


def _embedded_key_path() -> Path:
    from ingestion.zones import Zones

    return Zones.from_env().state / "secrets" / "pseudonym.key"


def load_key() -> PseudonymKey:
    """The platform key: environment, then Airflow connection, then the key file under the data dir."""
    value = os.environ.get(KEY_ENV)
    if value:
        secret = value.encode("utf-8")
        return PseudonymKey(secret, os.environ.get(KEY_ID_ENV) or _fingerprint(secret), f"${KEY_ENV}")
    from ingestion.connections import SourceConnectionError, get_connection

    try:
        conn = get_connection(CONNECTION_ID)
    except SourceConnectionError:
        conn = None
    if conn is not None and conn.password:
        secret = conn.password.encode("utf-8")
        return PseudonymKey(secret, conn.login or _fingerprint(secret), f"connection {CONNECTION_ID}")
    path = _embedded_key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
            handle.flush()
            os.fsync(handle.fileno())
    secret = path.read_text(encoding="utf-8").strip().encode("utf-8")
    if len(secret) < 16:
        raise PseudonymKeyError(f"{path}: the pseudonym key is too short (at least 16 characters)")
    return PseudonymKey(secret, _fingerprint(secret), str(path))


def pseudonym(value: str, key: PseudonymKey) -> str:
    """HMAC-SHA256 of the UTF-8 value, as 64 lowercase hex characters."""
    return hmac.new(key.secret, value.encode("utf-8"), hashlib.sha256).hexdigest()


def _pads(secret: bytes) -> tuple[str, str]:
    block = hashlib.sha256(secret).digest() if len(secret) > BLOCK_SIZE else secret
    block = block.ljust(BLOCK_SIZE, b"\0")
    inner = bytes(b ^ 0x36 for b in block)
    outer = bytes(b ^ 0x5C for b in block)
    return inner.hex(), outer.hex()


def macro_statements(key: PseudonymKey) -> list[str]:
    """The SQL that defines the two macros on one DuckDB connection (temporary: never stored in the file)."""
    inner, outer = _pads(key.secret)
    return [
        "create or replace temp macro satudata_pseudonym(value) as "
        f"case when value is null then null else sha256(unhex('{outer}') || "
        f"unhex(sha256(unhex('{inner}') || encode(cast(value as varchar))))) end",
        f"create or replace temp macro satudata_pseudonym_key_id() as '{key.key_id}'",
    ]


class Plugin(BasePlugin):
    """dbt-duckdb plugin: defines the pseudonym macros on every connection and cursor dbt opens."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self._statements = macro_statements(load_key())

    def configure_connection(self, conn: Any) -> None:
        for statement in self._statements:
            conn.execute(statement)

    def configure_cursor(self, cursor: Any) -> None:
        for statement in self._statements:
            cursor.execute(statement)
