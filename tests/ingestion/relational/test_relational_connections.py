"""Credentials come from Airflow connections (`AIRFLOW_CONN_*`), never from the catalog."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ingestion.catalog import CatalogError
from ingestion.connections import SourceConnectionError, get_connection, parse_connection
from tests.ingestion.relational.conftest import penduduk_yaml


def test_uri_form_is_percent_decoded(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SIAK", "postgresql://app%40siak:p%40ss%2Fw0rd%3A@db.paser.go.id:6432/siak%20prod"
                                            "?sslmode=require&application_name=satudata")
    conn = get_connection("siak")
    assert (conn.conn_type, conn.host, conn.port) == ("postgres", "db.paser.go.id", 6432)
    assert (conn.login, conn.password, conn.schema) == ("app@siak", "p@ss/w0rd:", "siak prod")
    assert conn.extra == {"sslmode": "require", "application_name": "satudata"}


def test_json_form(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SIMPEG", '{"conn_type": "mysql", "host": "10.0.0.5", "port": "3307", '
                                              '"login": "baca", "password": "r@hasia", "schema": "simpeg", '
                                              '"extra": "{\\"charset\\": \\"utf8mb4\\"}"}')
    conn = get_connection("simpeg")
    assert (conn.conn_type, conn.host, conn.port, conn.login, conn.password, conn.schema) == (
        "mysql", "10.0.0.5", 3307, "baca", "r@hasia", "simpeg")
    assert conn.extra == {"charset": "utf8mb4"}


def test_repr_and_mask_hide_the_password():
    conn = parse_connection("siak", "postgres://baca:Sup3r%2FRahasia@127.0.0.1:5432/test")
    assert "Sup3r" not in repr(conn) and "Sup3r" not in str(conn) and "***" in repr(conn)
    assert conn.mask("failed for baca:Sup3r/Rahasia and Sup3r%2FRahasia") == "failed for baca:*** and ***"


def test_missing_connection_names_the_id_and_the_variable(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_DINKES_SIMPUS", raising=False)
    with pytest.raises(SourceConnectionError, match=r"connection 'dinkes_simpus' is not defined: set the environment "
                                                    r"variable AIRFLOW_CONN_DINKES_SIMPUS"):
        get_connection("dinkes_simpus")


def test_reading_a_connection_does_not_import_airflow():
    code = ("import os, sys; os.environ['AIRFLOW_CONN_X'] = 'postgres://u@h/d'; "
            "from ingestion.connections import get_connection; get_connection('x'); "
            "import ingestion.kinds.postgres; print('airflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_a_password_in_the_catalog_is_rejected(catalog_entry):
    text = penduduk_yaml("postgres", "siak", table="penduduk").replace(
        "      connection: siak\n", "      connection: siak\n      password: rahasia\n")
    with pytest.raises(CatalogError, match=r"dataset 'penduduk': key 'source.password': Extra inputs are not permitted"):
        catalog_entry(text)
