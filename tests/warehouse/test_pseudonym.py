"""Keyed pseudonyms: DuckDB's SQL macro equals Python's hmac, the key stays out of dbt's files."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import duckdb
import pytest

from warehouse import pseudonym as pz


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> pz.PseudonymKey:
    monkeypatch.setenv(pz.KEY_ENV, "a-test-key-that-is-long-enough")
    monkeypatch.setenv(pz.KEY_ID_ENV, "test-2026")
    return pz.load_key()


@pytest.mark.parametrize("secret", ["short-key-123456", "k" * 64, "a much longer key " * 8])
def test_sql_macro_equals_python_hmac(monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    monkeypatch.setenv(pz.KEY_ENV, secret)
    key = pz.load_key()
    con = duckdb.connect()
    for statement in pz.macro_statements(key):
        con.execute(statement)
    values = ["6401010101900001", "6401014508850002", "Ã©-non-ascii", ""]
    got = [row[0] for row in con.execute(
        "select satudata_pseudonym(v) from unnest(?) as t(v)", [values]).fetchall()]
    want = [hmac.new(secret.encode(), v.encode(), hashlib.sha256).hexdigest() for v in values]
    assert got == want
    assert got == [pz.pseudonym(v, key) for v in values]
    assert con.execute("select satudata_pseudonym(null)").fetchone()[0] is None


def test_key_id_from_environment_and_not_the_key(key: pz.PseudonymKey) -> None:
    assert key.key_id == "test-2026"
    assert "a-test-key" not in repr(key)


def test_a_plain_hash_is_not_the_pseudonym(key: pz.PseudonymKey) -> None:
    nik = "6401010101900001"
    assert pz.pseudonym(nik, key) != hashlib.sha256(nik.encode()).hexdigest()


def test_embedded_default_key_is_created_once_private_and_stable(zones, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pz.KEY_ENV, raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_SATUDATA_PSEUDONYM", raising=False)
    first = pz.load_key()
    path = Path(first.origin)
    assert path.is_file() and path.is_relative_to(zones.root)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert pz.load_key() == first
    assert first.key_id.startswith("k-") and first.key_id not in first.secret.decode()


def test_key_from_airflow_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pz.KEY_ENV, raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_SATUDATA_PSEUDONYM", "generic://kunci-2026:s3cret-value-long@")
    key = pz.load_key()
    assert key.secret == b"s3cret-value-long" and key.key_id == "kunci-2026"
    assert os.environ["AIRFLOW_CONN_SATUDATA_PSEUDONYM"]
