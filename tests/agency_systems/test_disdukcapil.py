"""The generated SIAK registry: NIK/KK structure, households, pyramid, the documented messiness, and the
round trip through SQLite and the real PostgreSQL into the raw zone, incremental after births, deaths and moves."""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from collections import Counter
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from agency_systems import databases, disdukcapil
from ingestion.catalog import Catalog, DatasetEntry
from ingestion.extract import extract_load
from ingestion.ledger import batch_dir
from ingestion.reference import load_reference
from ingestion.zones import Zones

SCALE = 0.01  # ~3,100 people
SEED = 7
PG_URI = "postgres://postgres@127.0.0.1:5432/test"
REFERENCE = disdukcapil.TANGGAL_REFERENSI
KEMENDAGRI = load_reference("desa_kemendagri")
CHANGED_AT = dt.datetime(2026, 7, 1, 9, 30)  # after every generated diubah_pada (all before the reference date)


@pytest.fixture(scope="module")
def registry() -> pa.Table:
    return disdukcapil.generate_penduduk(SCALE, SEED)


@pytest.fixture(scope="module")
def people(registry: pa.Table) -> list[dict]:
    """One record per person: the latest version."""
    return disdukcapil.latest_records(registry).to_pylist()


def _age(born: dt.date, on: dt.date = REFERENCE) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def test_every_nik_has_the_dukcapil_structure(people: list[dict]) -> None:
    kecamatan_prefixes = {f"6401{n:02d}" for n in range(1, 11)}
    for person in people:
        nik, born = person["nik"], person["tanggal_lahir"]
        assert re.fullmatch(r"\d{16}", nik), nik
        assert nik[:6] in kecamatan_prefixes, nik
        day = int(nik[6:8])
        if person["jenis_kelamin"] == "P":
            assert day > 40, nik  # +40 on the day for women
            day -= 40
        else:
            assert day <= 31, nik
        assert (day, int(nik[8:10]), nik[10:12]) == (born.day, born.month, f"{born.year % 100:02d}"), (nik, born)
        assert nik[12:] != "0000", nik
    assert len({person["nik"] for person in people}) == len(people)
    # Most people carry the NIK of the kecamatan they live in; ~5% kept one from another kecamatan.
    same = sum(person["nik"][4:6] == disdukcapil.stored_code_lookup().get(person["kode_desa"], "64.01.xx")[6:8]
               for person in people)
    assert 0.90 < same / len(people) < 0.98


def test_households_are_realistic(people: list[dict]) -> None:
    by_kk: dict[str, list[dict]] = {}
    for person in people:
        assert re.fullmatch(r"6401(0[1-9]|10)\d{10}", person["no_kk"]), person["no_kk"]
        assert person["no_kk"][12:] != "0000"
        by_kk.setdefault(person["no_kk"], []).append(person)
    sizes = Counter(len(members) for members in by_kk.values())
    assert min(sizes) >= 1 and max(sizes) <= 8, sizes
    assert 2.9 < len(people) / len(by_kk) < 4.2
    assert sizes[1] > 0 and sizes[4] > 0 and sizes[6] > 0
    for members in by_kk.values():
        roles = Counter(member["hubungan_keluarga"] for member in members)
        assert roles["KEPALA KELUARGA"] == 1, members
        assert roles["ISTRI"] + roles["SUAMI"] <= 1
        head = next(member for member in members if member["hubungan_keluarga"] == "KEPALA KELUARGA")
        assert _age(head["tanggal_lahir"]) >= 17
        for child in (member for member in members if member["hubungan_keluarga"] == "ANAK"):
            assert child["tanggal_lahir"] > head["tanggal_lahir"] - dt.timedelta(days=10 * 365), (head, child)
            assert child["status_kawin"] == "BELUM KAWIN"


def test_age_and_sex_structure_is_a_young_indonesian_pyramid(people: list[dict]) -> None:
    ages = [_age(person["tanggal_lahir"]) for person in people]
    n = len(ages)
    assert 3000 < n < 3200  # ~310,000 x 0.01
    groups = Counter(min(age // 5, 15) for age in ages)
    assert 0.22 < sum(groups[g] for g in range(3)) / n < 0.32  # under 15
    assert 0.03 < sum(groups[g] for g in range(13, 16)) / n < 0.09  # 65 and over
    assert all(groups[young] > 1.8 * groups[12] for young in range(5))  # 0-24 each well above 60-64
    assert max(ages) < 105 and min(ages) >= 0
    men = sum(person["jenis_kelamin"] == "L" for person in people) / n
    assert 0.50 < men < 0.525
    statuses = Counter(person["status"] for person in people)
    assert 0.95 < statuses["HIDUP"] / n < 0.99 and statuses["MENINGGAL"] > 0 and statuses["PINDAH"] > 0


def test_people_live_in_every_desa_and_kelurahan_are_larger() -> None:
    table = disdukcapil.latest_records(disdukcapil.generate_penduduk(0.05, SEED))
    per_desa = Counter(disdukcapil.clean_desa_codes(table.column("kode_desa")).to_pylist())
    per_desa.pop(None, None)
    assert set(per_desa) == KEMENDAGRI
    kelurahan = [count for code, count in per_desa.items() if code.split(".")[3].startswith("1")]
    desa = [count for code, count in per_desa.items() if code.split(".")[3].startswith("2")]
    assert len(kelurahan) == 5 and sum(kelurahan) / 5 > 2.5 * sum(desa) / len(desa)


def test_messiness_is_there_at_the_documented_rates() -> None:
    table = disdukcapil.generate_penduduk(0.1, SEED)
    latest = disdukcapil.latest_records(table)
    n = latest.num_rows  # people; the rates are of people
    stored = Counter(table.column("kode_desa").to_pylist())
    lookup = disdukcapil.stored_code_lookup()
    kinds: Counter = Counter()
    for value, count in stored.items():
        if value in KEMENDAGRI:
            kinds["kemendagri"] += count
        elif value in disdukcapil.UNRESOLVABLE_CODES:
            assert value not in lookup
            kinds["unresolvable"] += count
        elif re.fullmatch(r"6401\d{6}", value):
            assert value in lookup, value
            kinds["code_10_digits"] += count
        else:
            assert re.fullmatch(r"[A-Z][A-Z ]+", value) and value in lookup, value
            kinds["name"] += count
    duplicates = table.num_rows - n
    # Counts follow the rates (a copy of a duplicated record repeats its desa, hence the slack).
    assert 0.93 * round(disdukcapil.RATE_ALT_CODE * n) <= kinds["code_10_digits"] <= 1.02 * round(disdukcapil.RATE_ALT_CODE * n)
    assert round(disdukcapil.RATE_NAME * n) <= kinds["name"] <= round(disdukcapil.RATE_NAME * n) + 2
    assert round(disdukcapil.RATE_UNRESOLVABLE * n) <= kinds["unresolvable"] <= round(disdukcapil.RATE_UNRESOLVABLE * n) + 2
    assert duplicates == round(disdukcapil.RATE_DUPLICATE * n)
    # Names are other spellings than Kemendagri's (BPS MFD 2018 / KPU), e.g. TUNES KELADEN for Keladen.
    assert any(lookup[value] == "64.01.02.2004" for value in ("TUNES KELADEN",)) and "TUNES KELADEN" in lookup


def test_duplicates_are_late_corrections_that_keep_what_counts(registry: pa.Table) -> None:
    rows = registry.to_pylist()
    by_nik: dict[str, list[dict]] = {}
    for row in rows:
        by_nik.setdefault(row["nik"], []).append(row)
    pairs = [versions for versions in by_nik.values() if len(versions) > 1]
    assert pairs and all(len(versions) == 2 for versions in pairs)
    for newer, older in pairs:
        assert newer["diubah_pada"] > older["diubah_pada"]  # the corrected record is listed first
        assert newer != older
        for column in ("jenis_kelamin", "tanggal_lahir", "kode_desa", "status", "no_kk"):
            assert newer[column] == older[column]


def test_same_seed_same_registry_other_seed_other_registry(registry: pa.Table) -> None:
    assert disdukcapil.generate_penduduk(SCALE, SEED).equals(registry)
    assert not disdukcapil.generate_penduduk(SCALE, SEED + 1).equals(registry)


def test_children_under_five_are_living_resolved_and_young(registry: pa.Table, people: list[dict]) -> None:
    children = disdukcapil.children_under_five(registry).to_pylist()
    assert len(children) > 150
    assert len({child["nik"] for child in children}) == len(children)
    living = {person["nik"] for person in people if person["status"] == "HIDUP"}
    for child in children:
        assert child["nik"] in living
        assert _age(child["tanggal_lahir"]) < 5
        assert child["kode_desa"] in KEMENDAGRI
    expected = sum(1 for person in people if person["status"] == "HIDUP" and _age(person["tanggal_lahir"]) < 5
                   and disdukcapil.stored_code_lookup().get(person["kode_desa"]))
    assert len(children) == expected


# --- through real databases into the raw zone ---------------------------------------------------------


def _entry(catalog: Catalog, table: str) -> DatasetEntry:
    """The catalog entry, reading another table name (tests on a shared server use their own table)."""
    entry = catalog.dataset("disdukcapil__penduduk")
    source = entry.spec.source.model_copy(update={"table": table})
    return DatasetEntry(entry.agency, entry.name, entry.spec.model_copy(update={"source": source}), entry.path)


def _batch_rows(zones: Zones, entry: DatasetEntry, manifest: dict) -> list[dict]:
    return pq.read_table(batch_dir(zones, entry, manifest["batch_id"]) / "data.parquet").to_pylist()


def _changed(before: pa.Table, after: pa.Table) -> set[str]:
    """NIKs whose record is new or differs (compared as whole rows)."""
    old = Counter(tuple(row.values()) for row in before.to_pylist())
    new = Counter(tuple(row.values()) for row in after.to_pylist())
    return {row[0] for row in (new - old)}


def _round_trip(zones: Zones, entry: DatasetEntry, uri: str, table_name: str, registry: pa.Table) -> None:
    """First load, changes, second load of only the changed rows, third load of nothing."""
    [first] = extract_load(entry, zones)
    people = disdukcapil.latest_records(registry)
    assert first["rows_loaded"] == people.num_rows
    assert first["rows_quarantined"] == registry.num_rows - people.num_rows  # the stale copies of corrected records
    assert first["columns"]["nik"] == "text" and first["columns"]["tanggal_lahir"] == "date"
    loaded = {row["nik"]: row for row in _batch_rows(zones, entry, first)}
    assert {row["nik"]: row["nama_lengkap"] for row in people.to_pylist()} == {
        nik: row["nama_lengkap"] for nik, row in loaded.items()}  # the corrected record won

    before = disdukcapil.read_registry(uri, table_name=table_name)
    counts = disdukcapil.apply_changes(uri, births=12, deaths=7, moves=9, seed=3, at=CHANGED_AT, table_name=table_name)
    assert counts == {"births": 12, "deaths": 7, "moves": 9}
    after = disdukcapil.read_registry(uri, table_name=table_name)
    assert after.num_rows == before.num_rows + 12
    changed = _changed(before, after)
    assert len(changed) == 28

    [second] = extract_load(entry, zones)
    assert second["rows_loaded"] == 28 and second["rows_quarantined"] == 0
    rows = _batch_rows(zones, entry, second)
    assert {row["nik"] for row in rows} == changed
    assert {row["diubah_pada"].astimezone(disdukcapil.WITA).replace(tzinfo=None) for row in rows} == {CHANGED_AT}
    statuses = Counter(row["status"] for row in rows)
    assert statuses["MENINGGAL"] == 7 and statuses["HIDUP"] + statuses["PINDAH"] == 21
    births = [row for row in rows if row["nik"] not in loaded]
    assert len(births) == 12 and all(row["hubungan_keluarga"] == "ANAK" for row in births)
    assert all(row["no_kk"] in {old["no_kk"] for old in loaded.values()} for row in births)
    assert extract_load(entry, zones) == []  # nothing changed since


def test_sqlite_demo_round_trip_is_incremental(zones: Zones, catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    env = disdukcapil.write_demo(zones, scale=SCALE, seed=SEED)
    path = disdukcapil.siak_path(zones)
    assert env == {disdukcapil.CONNECTION_ENV: f"sqlite:///{path}"} and path.is_file()
    stamp = os.stat(path).st_mtime_ns
    assert disdukcapil.write_demo(zones, scale=SCALE, seed=SEED) == env  # no-op for the same (scale, seed)
    assert os.stat(path).st_mtime_ns == stamp
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    registry = disdukcapil.generate_penduduk(SCALE, SEED)
    _round_trip(zones, _entry(catalog, disdukcapil.TABLE), env[disdukcapil.CONNECTION_ENV], disdukcapil.TABLE, registry)


@pytest.fixture
def pg_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh table name on the real PostgreSQL (dropped afterwards); the connection points at it."""
    monkeypatch.setenv(disdukcapil.CONNECTION_ENV, PG_URI)
    name = f"penduduk_{uuid.uuid4().hex[:10]}"
    yield name
    databases.execute(PG_URI, [f"DROP TABLE IF EXISTS target.{name}"])


def test_postgres_round_trip_is_incremental(zones: Zones, catalog: Catalog, pg_table: str) -> None:
    registry = disdukcapil.generate_penduduk(SCALE, SEED)
    disdukcapil.write_registry(PG_URI, registry, table_name=pg_table)
    _round_trip(zones, _entry(catalog, pg_table), PG_URI, pg_table, registry)
