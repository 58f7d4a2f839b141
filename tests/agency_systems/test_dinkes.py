"""Dinkes' REST API: the generator, the server (auth, cursor pages, updated_since) and every dataset through
the real http_json kind, first load and incremental second run."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from agency_systems import dinkes
from ingestion.catalog import Catalog
from ingestion.extract import extract_load
from ingestion.ledger import batch_dir, committed_batches
from ingestion.zones import Zones
from publication.raw_quality import validate_new_batches


def synthetic_children(count: int = 400, seed: int = 7) -> pa.Table:
    """Children under five as Disdukcapil's `children_under_five` gives them: nik, tanggal_lahir, jenis_kelamin,
    kode_desa. NIKs follow Dukcapil's layout (region, birth date +40 on the day for girls, serial)."""
    rng = random.Random(seed)
    desa = sorted(dinkes.load_desa())[::4]  # 36 desa in every kecamatan: counts per desa are not all tiny
    rows = []
    for serial in range(1, count + 1):
        kode_desa = rng.choice(desa)
        born = dinkes.TANGGAL_REFERENSI - dt.timedelta(days=rng.randint(0, 5 * 365 - 1))
        sex = rng.choice("LP")
        day = born.day + (40 if sex == "P" else 0)
        nik = f"{kode_desa[:8].replace('.', '')}{day:02d}{born:%m%y}{serial:04d}"
        rows.append({"nik": nik, "tanggal_lahir": born, "jenis_kelamin": sex, "kode_desa": kode_desa})
    return pa.Table.from_pylist(rows, schema=pa.schema([("nik", pa.string()), ("tanggal_lahir", pa.date32()),
                                                        ("jenis_kelamin", pa.string()), ("kode_desa", pa.string())]))


@pytest.fixture
def store(zones: Zones) -> Zones:
    dinkes.write_demo(zones, seed=11, children=synthetic_children())
    return zones


def _get(base_url: str, path: str, token: str | None, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{base_url}/{path}", params=params, headers=headers, timeout=10)


# --- the generator -----------------------------------------------------------------------------

def test_puskesmas_are_the_real_list_with_their_kecamatan() -> None:
    records = dinkes.load_puskesmas()
    assert len(records) == 19
    names = [record["nama_puskesmas"] for record in records]
    assert "Pusekesmas Suatang Baru" in names  # as typed, never "fixed"
    assert len({record["kode_puskesmas"] for record in records}) == 19
    by_name = {record["nama_puskesmas"]: record["kode_kecamatan"] for record in records}
    assert by_name["Puskesmas Muser"] == "64.01.10"  # Muara Samu: BPS numbers it 6401011, Kemendagri 64.01.10
    assert by_name["Puskesmas Kerang"] == "64.01.09"
    assert len(set(by_name.values())) == 10  # every kecamatan has a puskesmas


def test_generator_shape_rates_and_messiness() -> None:
    children = synthetic_children(1500, seed=3)
    records = dinkes.generate(children, seed=5)
    niks = set(children.column("nik").to_pylist())
    balita = records["balita"]
    assert {record["nik"] for record in balita} <= niks
    assert 0.94 * len(niks) <= len({record["nik"] for record in balita}) <= len(niks)
    # Desa as typed: Kemendagri codes, BPS 10-digit codes and names all occur, and a few unresolvable ones.
    typed = [record["desa"] for record in balita + records["kunjungan"]]
    assert any(value.startswith("64.01.") for value in typed)
    assert any(value.isdigit() and len(value) == 10 for value in typed)
    assert any(not value[:1].isdigit() and value not in dinkes.UNRESOLVABLE_DESA for value in typed)
    assert any(value in dinkes.UNRESOLVABLE_DESA for value in typed)
    # Complete basic immunisation among children aged 12-23 months: 85-95% per desa, so ~90% overall.
    doses: dict[str, set[str]] = {}
    for record in records["imunisasi"]:
        doses.setdefault(record["nik"], set()).add(record["jenis_imunisasi"])
    born = dict(zip(children.column("nik").to_pylist(), children.column("tanggal_lahir").to_pylist(), strict=True))
    target = [record["nik"] for record in balita
              if 12 <= dinkes._months_between(born[record["nik"]], dinkes.TANGGAL_REFERENSI) <= 23]
    complete = sum(1 for nik in set(target) if doses.get(nik, set()) >= set(dinkes.IMUNISASI_DASAR))
    assert 0.78 <= complete / len(set(target)) <= 0.98
    # Identical duplicates and late corrections are in the feed.
    ids = Counter(record["id_imunisasi"] for record in records["imunisasi"])
    assert any(count > 1 for count in ids.values())
    versions = Counter(record["id_pengukuran"] for record in records["pengukuran"])
    assert any(count == 2 for count in versions.values())
    statuses = Counter(record["status_tb_u"] for record in records["pengukuran"])
    stunted = (statuses["pendek"] + statuses["sangat pendek"]) / sum(statuses.values())
    assert 0.12 <= stunted <= 0.30
    assert set(statuses) <= set(dinkes.STATUS_TB_U)
    # The feed is in updated_at order, one timestamp format.
    for rows in records.values():
        stamps = [record["updated_at"] for record in rows]
        assert stamps == sorted(stamps)
        assert all(len(stamp) == 25 and stamp.endswith("+08:00") for stamp in stamps)


def test_generator_refuses_a_child_outside_paser() -> None:
    children = synthetic_children(3).to_pylist()
    children[1]["kode_desa"] = "64.02.01.2001"
    with pytest.raises(dinkes.DinkesDemoError, match="row 2 \\(kode_desa\\)"):
        dinkes.generate(pa.Table.from_pylist(children), seed=1)


def test_write_demo_is_deterministic_and_a_no_op_the_second_time(zones: Zones, tmp_path) -> None:
    children = synthetic_children(200)
    first = dinkes.generate(children, seed=9)
    assert dinkes.generate(children, seed=9) == first
    assert dinkes.generate(children, seed=10) != first
    # The no-op: same (scale, seed) leaves the file alone (children=None takes the register's children, so
    # the store written here is tagged with the same meta as a register-based one, then read back).
    path = dinkes.store_path(zones)
    dinkes.write_store(path, first, meta={"scale": repr(0.01), "seed": "9", "version": str(dinkes.STORE_VERSION)})
    before = path.stat().st_mtime_ns
    assert dinkes.write_demo(zones, scale=0.01, seed=9) == {}
    assert path.stat().st_mtime_ns == before


# --- the server ------------------------------------------------------------------------------------

def test_server_requires_the_token(store: Zones) -> None:
    with dinkes.serve(store) as (base_url, env):
        assert _get(base_url, "puskesmas", None).status_code == 401
        wrong = _get(base_url, "puskesmas", "not-the-token")
        assert wrong.status_code == 401
        assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
        token = env[dinkes.CONNECTION_ENV].split("@")[0].rsplit(":", 1)[1]
        assert token == dinkes.api_token(store)
        ok = _get(base_url, "puskesmas", token)
        assert ok.status_code == 200
        assert len(ok.json()["data"]) == 19
        assert _get(base_url, "obat", token).status_code == 404
        assert _get(base_url, "balita", token, limit="0").status_code == 400
        assert _get(base_url, "balita", token, cursor="%%%").status_code == 400
        assert _get(base_url, "balita", token, updated_since="yesterday").status_code == 400


def test_server_listens_on_loopback_only(store: Zones) -> None:
    with pytest.raises(dinkes.DinkesDemoError, match="loopback"), dinkes.serve(store, host="0.0.0.0"):  # noqa: S104
        pass


def test_cursor_pages_cover_the_feed_once_in_order(store: Zones) -> None:
    token = dinkes.api_token(store)
    with dinkes.serve(store) as (base_url, _env):
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": "37", **({"cursor": cursor} if cursor else {})}
            page = _get(base_url, "pengukuran", token, **params).json()
            pages += 1
            seen += page["data"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
            assert len(page["data"]) == 37
    everything = dinkes.read_feed(store, "pengukuran")
    assert seen == everything  # duplicates and both versions of a correction included, none twice
    assert pages == -(-len(everything) // 37)
    assert [record["updated_at"] for record in seen] == sorted(record["updated_at"] for record in seen)


def test_updated_since_filters_and_accepts_other_spellings(store: Zones) -> None:
    everything = dinkes.read_feed(store, "imunisasi")
    middle = everything[len(everything) // 2]["updated_at"]
    since = dinkes.read_feed(store, "imunisasi", updated_since=middle)
    assert 0 < len(since) < len(everything)
    assert since == [record for record in everything if record["updated_at"] >= middle]
    # The same moment in UTC selects the same records; so does the API over HTTP.
    in_utc = dt.datetime.fromisoformat(middle).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert dinkes.read_feed(store, "imunisasi", updated_since=in_utc) == since
    with dinkes.serve(store) as (base_url, _env):
        page = _get(base_url, "imunisasi", dinkes.api_token(store), updated_since=middle, limit="50").json()
    assert page["data"] == since[:50]


# --- through the real http_json kind -------------------------------------------------------------

def _loaded(zones: Zones, entry) -> list[dict]:
    rows = []
    for manifest in committed_batches(zones, entry):
        rows += pq.read_table(batch_dir(zones, entry, manifest["batch_id"]) / "data.parquet").to_pylist()
    return rows


def test_every_dataset_lands_then_only_changes_land(store: Zones, catalog: Catalog, monkeypatch) -> None:
    with dinkes.serve(store) as (_base_url, env):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        for name in dinkes.DATASETS:
            entry = catalog.dataset(f"dinkes__{name}")
            manifests = extract_load(entry, store)
            assert manifests, name
            served = dinkes.read_feed(store, name)
            distinct = {json.dumps(record, sort_keys=True) for record in served}
            rows = _loaded(store, entry)
            assert len(rows) == len(distinct), name  # identical duplicates are loaded once
            assert sum(m["rows_deduplicated"] for m in manifests) == len(served) - len(distinct)
            assert sum(m["rows_quarantined"] for m in manifests) == 0, name
            if "nik" in served[0]:
                assert all(isinstance(row["nik"], str) and len(row["nik"]) == 16 for row in rows)
            # The raw suite (expectations/raw/dinkes__<dataset>.yml) passes on what the agency really sends.
            verdicts = validate_new_batches(store, entry)
            assert verdicts and all(verdict.success and verdict.report is not None for verdict in verdicts), name

        # Nothing changed: no new batch anywhere.
        for name in dinkes.DATASETS:
            assert extract_load(catalog.dataset(f"dinkes__{name}"), store) == []

        # Three measurements corrected later: the next run lands exactly those three versions.
        entry = catalog.dataset("dinkes__pengukuran")
        corrected = dinkes.late_corrections(store, count=3, at=dt.datetime(2026, 7, 2, 10, 0, tzinfo=dinkes.WITA))
        manifests = extract_load(entry, store)
        assert [m["rows_loaded"] for m in manifests] == [3]
        landed = pq.read_table(batch_dir(store, entry, manifests[0]["batch_id"]) / "data.parquet").to_pylist()
        assert sorted(row["id_pengukuran"] for row in landed) == sorted(row["id_pengukuran"] for row in corrected)
        assert {float(row["berat_badan"]) for row in landed} == {row["berat_badan"] for row in corrected}
        assert manifests[0]["source"]["since"] is not None
        assert all(verdict.success for verdict in validate_new_batches(store, entry))  # a 3-row batch passes too
