"""Region conformance: conform_wilayah() maps codes in every scheme and names in every spelling, or says it cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from warehouse.build import run_dbt

# (code as written, name as written, kecamatan as written) -> (kode_desa, metode) expected
CASES = [
    (("64.01.02.2004", None, None), ("64.01.02.2004", "kode_kemendagri")),
    (("6401012009", None, None), ("64.01.01.2009", "kode_kemendagri")),  # Kemendagri without dots (= KPU id)
    (("6401022001", None, None), ("64.01.02.2004", "kode_bps")),  # BPS 2024 bridging code of Keladen
    # Kemendagri 64.01.02.2004 without dots is also the BPS code of another desa: ambiguous, left unmapped.
    (("6401022004", None, None), (None, None)),
    ((None, "Desa Samurangau", None), ("64.01.01.2009", "nama")),
    ((None, "SAMURANGGAU", "Batu Sopang"), ("64.01.01.2009", "nama")),  # BPS bridging spelling, scoped
    (("Busui", None, None), ("64.01.01.2010", "nama")),  # a name typed into the code column
    ((None, "Keladen", "6401022"), ("64.01.02.2004", "nama")),  # kecamatan given as a BPS code
    ((None, "tunes keladen", None), ("64.01.02.2004", "nama")),  # BPS MFD 2018 name
    (("9999999999", None, None), (None, None)),
    (("64.01.02.2999", None, None), (None, None)),  # dotted but not a Kemendagri desa: not tried as BPS
]


def _literal(value: str | None) -> str:
    return "null" if value is None else "'" + value.replace("'", "''") + "'"


@pytest.fixture(scope="module")
def alias_database(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("conformance")
    database = work / "warehouse.duckdb"
    result = run_dbt(["build", "--select", "+int_wilayah_alias", "paser_kecamatan_kemendagri", "paser_desa_kelurahan_kemendagri"],
                     database=database, work_dir=work, dbt_vars={})
    assert result.success, result.exception
    return database, work


def test_conform_wilayah_maps_every_scheme_and_spelling(alias_database: tuple[Path, Path]) -> None:
    database, work = alias_database
    rows = " union all ".join(
        f"select {i} as n, {_literal(c)} as kode, {_literal(n)} as nama, {_literal(k)} as kec"
        for i, ((c, n, k), _) in enumerate(CASES)
    )
    inline = (f"with src as ({rows}) "
              "{{ conform_wilayah('src', code_column='kode', name_column='nama', kecamatan_name_column='kec') }}")
    result = run_dbt(["show", "--inline", inline, "--limit", "100", "--output", "json"],
                     database=database, work_dir=work, dbt_vars={})
    assert result.success, result.exception
    table = result.result.results[0].agate_table
    got = {row["n"]: row for row in table}
    assert len(got) == len(CASES)  # no row dropped or duplicated
    for i, (given, (kode_desa, metode)) in enumerate(CASES):
        row = got[i]
        assert (row["kode_desa"], row["metode_pemetaan"]) == (kode_desa, metode), given
        assert row["is_wilayah_unmapped"] == (kode_desa is None), given
        if kode_desa:
            assert row["kode_kecamatan"] == kode_desa[:8]


def test_conform_wilayah_at_kecamatan_level(alias_database: tuple[Path, Path]) -> None:
    database, work = alias_database
    given = ["64.01.10", "6401011", "160109", "Kec. Muara Samu", "MUARASAMU", "Pasir Belengkong", "Grogot", "Antah Berantah"]
    rows = " union all ".join(f"select {i} as n, {_literal(v)} as kec" for i, v in enumerate(given))
    inline = f"with src as ({rows}) {{{{ conform_wilayah('src', kecamatan_name_column='kec', level='kecamatan') }}}}"
    result = run_dbt(["show", "--inline", inline, "--limit", "100", "--output", "json"],
                     database=database, work_dir=work, dbt_vars={})
    assert result.success, result.exception
    got = {row["n"]: row["kode_kecamatan"] for row in result.result.results[0].agate_table}
    # BPS 6401011 and Kemdikbud 160109 are Muara Samu (Kemendagri 64.01.10), not by position.
    assert [got[i] for i in range(len(given))] == ["64.01.10"] * 5 + ["64.01.03", "64.01.04", None]
