"""DPMD Paser's Dana Desa ledger as its village-finance application (SIPADES-like, MariaDB) keeps it.

Table `dana_desa`: one row per report of a desa's Dana Desa for a budget year (2024-2026): the
allocation (`pagu_dana_desa`), the realisation of the three disbursement stages (tahap I 40 %,
II 40 %, III 20 % of the pagu) and their total, all DECIMAL(16,2) rupiah; the report date and
`updated_at` (the incremental cursor). Only the 139 desa get Dana Desa; the 5 kelurahan do not.
The reference date of the demo is 2026-06-30: 2024 and 2025 are closed, 2026 has tahap I for
most desa, tahap II for a few and tahap III for none (stages not yet reported are NULL).

Built from the real region lists (`seeds/reference/`), with the messiness a district office's
data has, on purpose:
- desa are written four ways: Kemendagri code and name; no code and the name as BPS MFD 2018 or
  KPU 2024 spell it (upper case, "TUNES KELADEN" for Keladen); the BPS 2024 bridging code
  (10 digits, another numbering) with the BPS-held name; no code and "Desa <name>" in odd case;
- a late correction: a few 2025 realisations re-reported later as a new report row with a newer
  `updated_at` (the warehouse keeps the latest report per desa and year);
- a duplicate: one report exported twice, identical (the ingestion core counts it once);
- a few rows whose desa cannot be resolved (a "desa persiapan" not yet in any code list, a
  misspelt name without a code): kept and reported as unmapped, never placed in a desa.
`scale` changes nothing: the desa are the real 139.

`write_demo` writes an SQLite stand-in of the MariaDB database; `write_tables` writes the same
table into a real MariaDB (tests). Deterministic for the same seed.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import random
import sqlite3
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pyarrow as pa

from agency_systems.databases import write_tables
from ingestion.catalog import REPO_ROOT
from ingestion.zones import Zones

REFERENCE_DIR = REPO_ROOT / "seeds" / "reference"
TABLE = "dana_desa"
CONNECTION_ENV = "AIRFLOW_CONN_DPMD_SIPADES"
TAHUN_ANGGARAN = (2024, 2025, 2026)
REFERENCE_DATE = dt.date(2026, 6, 30)
TAHAP_SHARES = (Decimal("0.40"), Decimal("0.40"), Decimal("0.20"))
CENT = Decimal("0.01")

# The schema as the application declares it: money is DECIMAL(16,2), never a float.
DDL: dict[str, str] = {
    "id": "INTEGER",
    "kode_desa": "VARCHAR(20)",
    "nama_desa": "VARCHAR(100)",
    "nama_kecamatan": "VARCHAR(60)",
    "tahun_anggaran": "INTEGER",
    "pagu_dana_desa": "DECIMAL(16,2)",
    "realisasi_tahap_1": "DECIMAL(16,2)",
    "realisasi_tahap_2": "DECIMAL(16,2)",
    "realisasi_tahap_3": "DECIMAL(16,2)",
    "total_realisasi": "DECIMAL(16,2)",
    "tanggal_laporan": "DATE",
    "updated_at": "TIMESTAMP",
}
# SQLite has no decimal type: it keeps money as REAL, which the sqlite kind turns back into the declared
# DECIMAL(p,2) exactly only for p <= 15 (a double's exact digits). 15 digits still hold 9.9 trillion rupiah.
SQLITE_DDL: dict[str, str] = {name: ("DECIMAL(15,2)" if kind.startswith("DECIMAL") else kind) for name, kind in DDL.items()}
MONEY = pa.decimal128(16, 2)
SCHEMA = pa.schema([
    ("id", pa.int32()),
    ("kode_desa", pa.string()),
    ("nama_desa", pa.string()),
    ("nama_kecamatan", pa.string()),
    ("tahun_anggaran", pa.int32()),
    ("pagu_dana_desa", MONEY),
    ("realisasi_tahap_1", MONEY),
    ("realisasi_tahap_2", MONEY),
    ("realisasi_tahap_3", MONEY),
    ("total_realisasi", MONEY),
    ("tanggal_laporan", pa.date32()),
    ("updated_at", pa.timestamp("us")),
])

# Reports no code list can place: a desa persiapan (not yet a desa in any list) and a misspelt name.
UNRESOLVABLE: list[tuple[str | None, str, str]] = [
    (None, "DESA PERSIAPAN SUNGAI LUNUK", "Long Kali"),
    (None, "Tanjung Batu Raya", "Tanah Grogot"),
    ("64.01.99.2001", "Muara Lempesu Ulu", "Pasir Belengkong"),
]
# Which 2025 reports are corrected later, and how many duplicate exports there are.
CORRECTIONS = 4


def load_desa() -> list[dict[str, str]]:
    """The 139 desa (not kelurahan) with every spelling and code the crosswalk knows, Kemendagri order."""
    with (REFERENCE_DIR / "paser_desa_kelurahan_kemendagri.csv").open(encoding="utf-8", newline="") as handle:
        regions = {row["kode_kemendagri"]: row for row in csv.DictReader(handle)}
    with (REFERENCE_DIR / "paser_desa_crosswalk.csv").open(encoding="utf-8", newline="") as handle:
        crosswalk = {row["kode_kemendagri"]: row for row in csv.DictReader(handle)}
    desa = []
    for code, region in sorted(regions.items()):
        if region["jenis_by_code"] != "desa":
            continue
        desa.append({**crosswalk[code], "nama_kecamatan": region["nama_kecamatan"]})
    return desa


def _spelling(desa: dict[str, str], style: int) -> tuple[str | None, str]:
    """(kode_desa, nama_desa) as one clerk or another writes them."""
    if style == 0:
        return desa["kode_kemendagri"], desa["nama_kemendagri_2025"]
    if style == 1:
        # BPS MFD 2018 lacks five villages; the clerk then copied the KPU list.
        return None, desa["nama_bps_mfd2018"] or desa["nama_kpu_2024"]
    if style == 2:
        return desa["kode_bps_bridging_2024"], desa["nama_dagri_bps_bridging_2024"]
    return None, f"desa  {desa['nama_kemendagri_2025'].lower()}"


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT)


def _realised(rng: random.Random, planned: Decimal, low: float, high: float) -> Decimal:
    """What a desa spent of a stage: a share of it, to the cent (expenditure is never round)."""
    return _money(planned * Decimal(str(round(rng.uniform(low, high), 4))))


def generate_dana_desa(*, seed: int = 20261128) -> list[dict]:
    """Every report row, in insertion order. `_kode_kemendagri` (not written) is the desa a row is about,
    for tests; None for the unresolvable rows."""
    rng = random.Random(seed)
    rows: list[dict] = []
    desa_list = load_desa()
    # A desa's allocation formula moves little between years: draw its level once.
    level = {desa["kode_kemendagri"]: rng.uniform(0.9e9, 1.45e9) for desa in desa_list}
    desa: dict | None  # a desa of the list; None for the unresolvable rows
    for tahun in TAHUN_ANGGARAN:
        subjects: list[tuple[dict | None, tuple[str | None, str, str]]] = []
        for desa in desa_list:
            style = rng.choices((0, 1, 2, 3), weights=(55, 18, 17, 10))[0]
            kode, nama = _spelling(desa, style)
            subjects.append((desa, (kode, nama, desa["nama_kecamatan"])))
        subjects += [(None, spelt) for spelt in UNRESOLVABLE]
        for desa, (kode, nama, kecamatan) in subjects:
            base = level[desa["kode_kemendagri"]] if desa else rng.uniform(0.9e9, 1.1e9)
            pagu = _money(Decimal(round(base * (1 + 0.03 * (tahun - 2024)) / 1000) * 1000))
            rows.append({
                "_kode_kemendagri": desa["kode_kemendagri"] if desa else None,
                "kode_desa": kode, "nama_desa": nama, "nama_kecamatan": kecamatan,
                "tahun_anggaran": tahun, "pagu_dana_desa": pagu,
                **_stages(rng, pagu, tahun),
            })
    for index, row in enumerate(rows, start=1):
        row["id"] = index
    # Late corrections: a few 2025 reports re-sent in 2026 with the audited realisation.
    closed_2025 = [row for row in rows if row["tahun_anggaran"] == 2025 and row["_kode_kemendagri"]]
    for number, original in enumerate(rng.sample(closed_2025, CORRECTIONS)):
        corrected = dict(original, id=len(rows) + 1)
        stage3 = _realised(rng, original["pagu_dana_desa"] * TAHAP_SHARES[2], 0.6, 0.95)
        corrected["realisasi_tahap_3"] = stage3
        corrected["total_realisasi"] = _total(corrected)
        corrected["tanggal_laporan"] = dt.date(2026, 2, 10 + number)
        corrected["updated_at"] = dt.datetime(2026, 2, 10 + number, 9, 15, 0)
        rows.append(corrected)
    # One report exported twice, byte for byte.
    rows.append(dict(rows[17]))
    return rows


def _stages(rng: random.Random, pagu: Decimal, tahun: int) -> dict:
    """The realisation of the three stages, as known on REFERENCE_DATE, with the report date."""
    planned = [pagu * share for share in TAHAP_SHARES]
    if tahun < REFERENCE_DATE.year:
        stages: list[Decimal | None] = [_realised(rng, planned[0], 0.97, 1.0), _realised(rng, planned[1], 0.93, 1.0),
                                        _realised(rng, planned[2], 0.85, 1.0)]
        reported = dt.date(tahun, 12, 1) + dt.timedelta(days=rng.randint(0, 40))
    else:
        # Mid-year: tahap I in most desa, tahap II in a few, tahap III nowhere yet.
        roll = rng.random()
        stages = [None, None, None]
        if roll < 0.85:
            stages[0] = _realised(rng, planned[0], 0.9, 1.0)
        if roll < 0.15:
            stages[1] = _realised(rng, planned[1], 0.5, 1.0)
        reported = dt.date(tahun, 3, 1) + dt.timedelta(days=rng.randint(0, 110))
    values: dict[str, object] = {f"realisasi_tahap_{n}": stage for n, stage in enumerate(stages, start=1)}
    values["total_realisasi"] = _total(values)
    values["tanggal_laporan"] = reported
    values["updated_at"] = dt.datetime.combine(reported, dt.time(rng.randint(8, 16), rng.randint(0, 59), rng.randint(0, 59)))
    return values


def _total(row: dict) -> Decimal:
    return _money(sum((row[f"realisasi_tahap_{n}"] or Decimal(0) for n in (1, 2, 3)), Decimal(0)))


def dana_desa_table(rows: list[dict] | None = None, *, seed: int = 20261128) -> pa.Table:
    """The rows as the application's table (ground-truth keys starting with '_' left out)."""
    rows = generate_dana_desa(seed=seed) if rows is None else rows
    return pa.Table.from_pylist([{name: row[name] for name in SCHEMA.names} for row in rows], schema=SCHEMA)


def write_dana_desa(uri: str, rows: list[dict] | None = None, *, seed: int = 20261128, table: str = TABLE) -> None:
    """Create (or replace) the Dana Desa table in `uri` (sqlite:////x.db, mysql://root@127.0.0.1:3306/test)."""
    data = dana_desa_table(rows, seed=seed)
    parts = urlsplit(uri)
    if parts.scheme != "sqlite":
        write_tables(uri, {table: data}, ddl={table: DDL})
        return
    # DuckDB creates SQLite tables with bare affinities (VARCHAR, BIGINT), losing DECIMAL/DATE/TIMESTAMP,
    # which the sqlite kind needs to bring the money back exactly. So the table is created here with the
    # declared types (in a scratch file, renamed into place when full) and write_tables only inserts.
    final = Path(unquote(parts.path))
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = final.with_name(f".{final.name}.new")
    scratch.unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(scratch)) as db, db:
        db.execute(f"CREATE TABLE {table} ({', '.join(f'{name} {kind}' for name, kind in SQLITE_DDL.items())})")
    write_tables(f"sqlite:///{scratch}", {table: data}, ddl={table: SQLITE_DDL}, replace=False)
    os.replace(scratch, final)


def write_demo(zones: Zones, *, scale: float = 1.0, seed: int = 20261128) -> dict[str, str]:
    """Write the SQLite stand-in at agency_systems/dpmd/sipades.db; return the connection variable.

    A no-op when the database was already written for this seed (`demo.json` beside it), so a
    second run sees no change. `scale` is recorded but multiplies nothing: the desa are real.
    """
    folder = zones.agency_systems / "dpmd"
    database = folder / "sipades.db"
    marker = folder / "demo.json"
    stamp = {"seed": seed, "scale": scale, "table": TABLE}
    uri = f"sqlite:///{database.absolute()}"  # sqlite:////abs/path.db
    if not (database.exists() and marker.exists() and json.loads(marker.read_text(encoding="utf-8")) == stamp):
        folder.mkdir(parents=True, exist_ok=True)
        write_dana_desa(uri, seed=seed)
        marker.write_text(json.dumps(stamp), encoding="utf-8")
    return {CONNECTION_ENV: uri}


def realisation_summary(rows: list[dict]) -> dict[str, object]:
    """Figures the warehouse must reproduce, computed the plain way from the generator's rows:
    the latest report per (desa, year), summed per year, with the unresolvable rows apart."""
    latest: dict[tuple[str, int], dict] = {}
    unmapped = []
    for row in rows:
        if row["_kode_kemendagri"] is None:
            unmapped.append(row)
            continue
        key = (row["_kode_kemendagri"], row["tahun_anggaran"])
        if key not in latest or (row["updated_at"], row["id"]) > (latest[key]["updated_at"], latest[key]["id"]):
            latest[key] = row
    per_year: dict[int, dict[str, Decimal]] = {}
    for (_, tahun), row in latest.items():
        totals = per_year.setdefault(tahun, {"pagu": Decimal(0), "realisasi": Decimal(0), "desa": Decimal(0)})
        totals["pagu"] += row["pagu_dana_desa"]
        totals["realisasi"] += row["total_realisasi"]
        totals["desa"] += 1
    return {"per_year": per_year, "latest": latest, "unmapped_ids": sorted({row["id"] for row in unmapped})}
