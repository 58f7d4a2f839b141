"""Disdukcapil end to end at a small scale: SIAK (SQLite) -> two incremental loads (the second after births,
deaths and moves) -> dbt build. The population mart must reconcile with the registry recomputed here in
Python, and no open mart may hold a NIK, KK, name or birth date."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from agency_systems import disdukcapil
from ingestion.catalog import Catalog
from ingestion.extract import extract_load
from ingestion.zones import DATA_DIR_ENV, Zones
from warehouse.build import build_warehouse

SCALE = 0.02  # ~6,200 residents
SEED = 11
REFERENCE = dt.date(2026, 6, 30)  # dbt_project.yml var('tanggal_referensi')
DIGITS16_RE = re.compile(r"\d{16}")
HEX64_RE = re.compile(r"[0-9a-f]{64}")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> Iterator[dict]:
    """The demo registry, loaded, changed, loaded again, and built once for the module's tests."""
    root = tmp_path_factory.mktemp("disdukcapil") / "data"
    root.mkdir()
    zones = Zones(root)
    entry = catalog.dataset("disdukcapil__penduduk")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DATA_DIR_ENV, str(root))
        env = disdukcapil.write_demo(zones, scale=SCALE, seed=SEED)
        for key, value in env.items():
            patch.setenv(key, value)
        uri = env[disdukcapil.CONNECTION_ENV]
        assert extract_load(entry, zones)
        first = build_warehouse(zones, catalog)
        assert first is not None and first["mode"] == "full"
        disdukcapil.apply_changes(uri, births=25, deaths=30, moves=40, seed=5, at=dt.datetime(2026, 7, 2, 8, 0))
        assert extract_load(entry, zones)
        # The second build extends the first: only the registry's models, only the changed residents.
        build = build_warehouse(zones, catalog)
        assert build is not None and build["mode"] == "incremental"
        build_dir = (zones.warehouse / "current").resolve()
        yield {"zones": zones, "build": build, "build_dir": build_dir,
               "registry": disdukcapil.read_registry(uri)}


def _age_group(born: dt.date) -> str:
    age = max(REFERENCE.year - born.year - ((REFERENCE.month, REFERENCE.day) < (born.month, born.day)), 0)
    return "75+" if age >= 75 else f"{age // 5 * 5:02d}-{age // 5 * 5 + 4:02d}"


def _query(built: dict, sql: str) -> list[tuple]:
    with duckdb.connect(str(built["build_dir"] / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def _mart(built: dict) -> list[dict]:
    return pq.read_table(built["build_dir"] / "marts" / "jumlah_penduduk_per_desa.parquet").to_pylist()


def test_population_mart_reconciles_with_the_registry(built: dict) -> None:
    latest = disdukcapil.latest_records(built["registry"])
    living = latest.filter(pa.compute.equal(latest.column("status"), "HIDUP")).to_pylist()
    lookup = disdukcapil.stored_code_lookup()
    expected: Counter = Counter()
    unmapped = 0
    for person in living:
        kode_desa = lookup.get(person["kode_desa"])
        if kode_desa is None:
            unmapped += 1
            continue
        sex = "Laki-laki" if person["jenis_kelamin"] == "L" else "Perempuan"
        expected[(kode_desa, sex, _age_group(person["tanggal_lahir"]))] += 1

    rows = _mart(built)
    total = sum(row["jumlah_penduduk"] for row in rows)
    assert unmapped > 0 and total == len(living) - unmapped
    # What the lead's report counts for this dataset, among the living.
    [(hidup, hidup_unmapped)] = _query(built, "select count(*), count(*) filter (where is_wilayah_unmapped) "
                                              "from intermediate.int_penduduk_hidup")
    assert (hidup, hidup_unmapped) == (len(living), unmapped)
    # Every cell, not just the total: the second batch's deaths, moves and births are in.
    got = {(row["kode_desa"], row["jenis_kelamin"], row["kelompok_umur"]): row["jumlah_penduduk"] for row in rows}
    assert got == dict(expected)
    assert {row["tahun"] for row in rows} == {2026} and {row["satuan"] for row in rows} == {"jiwa"}
    assert all(row["kode_desa"].startswith(row["kode_kecamatan"] + ".") for row in rows)


def test_staging_keeps_one_latest_version_per_resident(built: dict) -> None:
    latest = disdukcapil.latest_records(built["registry"])
    statuses = Counter(latest.column("status").to_pylist())
    got = dict(_query(built, "select status, count(*) from staging.stg_disdukcapil__penduduk group by status"))
    assert got == dict(statuses)
    # Both batches were read: the deaths of the second one are the latest version.
    assert _query(built, "select count(distinct _batch_id) from staging.stg_disdukcapil__penduduk") == [(2,)]


def test_no_open_mart_holds_a_nik_kk_name_or_birth_date(built: dict) -> None:
    registry = built["registry"]
    names = set(registry.column("nama_lengkap").to_pylist())
    birth_dates = {born.isoformat() for born in registry.column("tanggal_lahir").to_pylist()}
    marts = sorted((built["build_dir"] / "marts").glob("*.parquet"))
    assert "jumlah_penduduk_per_desa.parquet" in {path.name for path in marts}
    assert "penduduk_pseudonim.parquet" not in {path.name for path in marts}  # restricted: never exported
    for path in marts:
        table = pq.read_table(path)
        for field in table.schema:
            assert not pa.types.is_date(field.type) and not pa.types.is_timestamp(field.type), (path.name, field)
            if not pa.types.is_string(field.type):
                continue
            for value in set(table.column(field.name).to_pylist()) - {None}:
                assert not DIGITS16_RE.search(value), (path.name, field.name, value)
                assert not HEX64_RE.search(value), (path.name, field.name, value)
                assert value not in names and value not in birth_dates, (path.name, field.name, value)


def test_personal_data_stops_at_staging_and_the_restricted_mart_is_pseudonymised(built: dict) -> None:
    personal = {"nik", "no_kk", "nama_lengkap", "tanggal_lahir"}
    for relation in ("staging.stg_disdukcapil__penduduk", "intermediate.int_penduduk_wilayah_mapped",
                     "intermediate.int_penduduk_hidup", "restricted.penduduk_pseudonim"):
        schema, name = relation.split(".")
        columns = {row[0] for row in _query(built, f"select column_name from information_schema.columns "
                                                   f"where table_schema = '{schema}' and table_name = '{name}'")}
        assert columns and not columns & personal, (relation, columns & personal)
    rows = _query(built, "select nik_pseudonim, kk_pseudonim, kunci_pseudonim_id from restricted.penduduk_pseudonim")
    niks = set(built["registry"].column("nik").to_pylist())
    assert len(rows) == len(niks)
    assert all(HEX64_RE.fullmatch(nik) and HEX64_RE.fullmatch(kk) and nik not in niks for nik, kk, _ in rows)
    assert len({key_id for _, _, key_id in rows}) == 1


def test_the_incremental_build_equals_a_full_rebuild(built: dict, catalog: Catalog, tmp_path) -> None:
    import shutil

    root = tmp_path / "data"
    shutil.copytree(built["zones"].root, root, symlinks=True)
    zones = Zones(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DATA_DIR_ENV, str(root))
        full = build_warehouse(zones, catalog, force=True)
    assert full is not None and full["mode"] == "full"
    full_dir = zones.warehouse / "builds" / full["build_id"]
    for mart in ("jumlah_penduduk_per_desa",):
        incremental_rows = pq.read_table(built["build_dir"] / "marts" / f"{mart}.parquet").to_pylist()
        assert pq.read_table(full_dir / "marts" / f"{mart}.parquet").to_pylist() == incremental_rows
    # Every column but the stamp of the build that wrote the row.
    query = "select * exclude (_dibangun_pada) from restricted.penduduk_pseudonim order by nik_pseudonim"
    with duckdb.connect(str(full_dir / "warehouse.duckdb"), read_only=True) as con:
        full_rows = con.execute(query).fetchall()
    assert _query(built, query) == full_rows


def _compiled_test(built: dict, prefix: str) -> str:
    """The SQL dbt ran for a data test in this build (target/compiled/...; a long name ends in a hash)."""
    [path] = (built["build_dir"] / "target" / "compiled").rglob(f"{prefix}*.sql")
    return path.read_text(encoding="utf-8")


def test_unique_in_build_checks_the_residents_the_incremental_build_wrote(built: dict, tmp_path) -> None:
    """The registry's key tests scale with the change: they check the keys this build wrote. On the two
    incremental models a key written now that a kept row also holds fails; on the views over them (projections),
    a key written now twice fails, and a kept copy is left to the model's test."""
    models = ["unique_in_build_stg_disdukcapil__penduduk_nik_pseudonim", "unique_in_build_int_penduduk_wilayah_mapped_nik"]
    views = ["unique_in_build_int_penduduk_h", "unique_in_build_penduduk_pseud"]  # a long name ends in a hash
    written = _query(built, "select count(*) from staging.stg_disdukcapil__penduduk "
                            "where _dibangun_pada = (select max(_dibangun_pada) from staging.stg_disdukcapil__penduduk)")
    total = _query(built, "select count(*) from staging.stg_disdukcapil__penduduk")
    # Births, deaths and moves of the second load: ~100 of ~6,200 residents written again.
    assert 90 <= written[0][0] < total[0][0] // 20
    database = tmp_path / "warehouse.duckdb"  # the same file name: compiled SQL names the catalog "warehouse"
    database.write_bytes((built["build_dir"] / "warehouse.duckdb").read_bytes())

    def copy_one_resident(con: duckdb.DuckDBPyConnection, table: str, kept: bool) -> None:
        """Insert again one living resident, kept from the first build or written by the last, stamped by the last."""
        latest = f"(select max(_dibangun_pada) from {table})"
        con.execute(f"insert into {table} by name select * replace ({latest} as _dibangun_pada) from {table} "
                    f"where _dibangun_pada {'<' if kept else '='} {latest} and is_hidup limit 1")

    def failing(con: duckdb.DuckDBPyConnection, names: list[str]) -> list[str]:
        found = {name: con.execute(_compiled_test(built, name)).fetchall() for name in names}
        assert all(len(rows) <= 1 and all(count == 2 for _, count in rows) for rows in found.values()), found
        return [name for name, rows in found.items() if rows]

    # The full build the incremental one extends wrote every row: it checked them all, as `unique` does.
    full_dir = built["build_dir"].parent / built["build"]["based_on"]
    full_sql = {name: _compiled_test({"build_dir": full_dir}, name) for name in models + views}
    assert all("written" not in sql and "group by kunci" in sql for sql in full_sql.values()), full_sql
    with duckdb.connect(str(database)) as con:
        assert failing(con, models + views) == []
        for table in ("staging.stg_disdukcapil__penduduk", "intermediate.int_penduduk_wilayah_mapped"):
            copy_one_resident(con, table, kept=True)
        assert failing(con, models + views) == models
    database.write_bytes((built["build_dir"] / "warehouse.duckdb").read_bytes())
    with duckdb.connect(str(database)) as con:
        copy_one_resident(con, "intermediate.int_penduduk_wilayah_mapped", kept=False)
        assert failing(con, models + views) == models[1:] + views
