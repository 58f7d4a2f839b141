"""Dinkes Paser's health information system as the agency serves it: a small REST API returning JSON.

Real part: the 19 puskesmas of `data/paser_puskesmas_titik_dinkes_seed.csv` (names as typed, including
"Pusekesmas Suatang Baru", and the service notes as typed: "Rawat Inap", "rawat inap", "cek"). Each
puskesmas is given the Kemendagri kecamatan its point falls in (`PUSKESMAS_KECAMATAN`: point-in-polygon
on the cahyadsn kecamatan boundaries of /work/shared/reference, checked once by hand; it agrees with the
puskesmas' name for all 19). Each desa is served by one puskesmas of its kecamatan (its wilayah kerja:
the puskesmas in turn, by desa code; synthetic, there is no public list).

Generated part, from the children under five of the population register (`children`: nik,
tanggal_lahir, jenis_kelamin, kode_desa; Disdukcapil's `children_under_five(generate_penduduk(...))`):

- `balita`: the register of children under five per puskesmas (~97% of the children are registered),
  with NIK, a generated name, birth date, sex and the child's desa *as the puskesmas types it*.
- `imunisasi`: basic immunisation doses (HB0, BCG, Polio 1-4, DPT-HB-Hib 1-3, IPV, Campak-Rubela) on the
  Kemenkes schedule with delays; a desa's share of children with every dose (by 12 months) is 85-95%.
- `pengukuran`: e-PPGBM style growth measurements in the bulan penimbangan rounds (August 2025, February
  2026): umur_bulan, berat_badan, tinggi_badan and the system's own status_tb_u (height-for-age:
  'sangat pendek' z < -3, 'pendek' -3..-2, 'normal', 'tinggi' z > 3); stunting is 15-25% per kecamatan.
- `kunjungan`: visits to puskesmas (date, poli, sex, age, the patient's desa as typed by the clerk).

Messiness on purpose (what the platform must cope with):
- The desa is written three ways, by puskesmas (`DESA_STYLE`): Kemendagri code (64.01.04.2016), BPS
  10-digit code (6401040016: Kuaro, Lolo, Long Kali, Mendik), or a name in another spelling (Batu Kajang,
  Tanjung Aru, Kerang, Muara Komam, Muser: "SENAKEN", "Desa Senaken", BPS edition "SAMURANGGAU").
- ~0.5% of balita and ~1% of kunjungan rows have a desa nobody can resolve ("-", "LUAR DAERAH",
  "RT 03 Sungai Baru").
- Late corrections: ~1% of measurements were first entered with the decimal point slipped (tinggi 8.6 for
  86.0, hence 'sangat pendek') and re-sent with the corrected values and a newer `updated_at`; ~1% of
  balita records were re-sent with a corrected desa. The API is a change feed: both versions are served.
- Duplicates: ~0.5% of immunisation records are served twice, identical; ~0.5% of measurements were
  entered twice by the clerk (a new id, the same child and day, updated a few minutes later).

The API (`serve`): `GET /api/v1/<dataset>` for puskesmas, balita, imunisasi, pengukuran, kunjungan, with
`Authorization: Bearer <token>` (401 without), `limit` (default 500, at most 5000), cursor pagination
(`next_cursor` in the answer, sent back as `cursor`; null on the last page) and `updated_since`
(ISO 8601; records with `updated_at >= updated_since`). Records come in (updated_at, feed order).
Timestamps are ISO 8601 in WITA (+08:00), one format, so they also sort as text.

`write_demo` writes the API's store (SQLite, `<data>/agency_systems/dinkes/dinkes.db`) once per
(scale, seed); the token lives beside it (`api_token`, mode 0600) and is what `serve` hands out in
`AIRFLOW_CONN_DINKES_API`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import csv
import datetime as dt
import hashlib
import json
import logging
import os
import random
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa

from ingestion.catalog import REPO_ROOT
from ingestion.zones import Zones

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
PUSKESMAS_CSV = DATA_DIR / "paser_puskesmas_titik_dinkes_seed.csv"
DESA_CROSSWALK_CSV = REPO_ROOT / "seeds" / "reference" / "paser_desa_crosswalk.csv"

AGENCY = "dinkes"
CONNECTION_ENV = "AIRFLOW_CONN_DINKES_API"
STORE_FILE = "dinkes.db"
TOKEN_FILE = "api_token"
API_PREFIX = "/api/v1"
DATASETS = ("puskesmas", "balita", "imunisasi", "pengukuran", "kunjungan")
DEFAULT_LIMIT = 500
MAX_LIMIT = 5000
STORE_VERSION = 2  # bump when the generator changes, so write_demo rewrites an older store
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

TANGGAL_REFERENSI = dt.date(2026, 6, 30)  # the date the demo data describes (dbt var tanggal_referensi)
WITA = dt.timezone(dt.timedelta(hours=8))
# Puskesmas first entered into the system; their records never changed since.
PUSKESMAS_UPDATED_AT = dt.datetime(2024, 1, 15, 9, 0, tzinfo=WITA)

# id_seed -> Kemendagri kecamatan: the kecamatan polygon each point falls in (see the module docstring).
PUSKESMAS_KECAMATAN: dict[str, str] = {
    "1": "64.01.04", "2": "64.01.04", "3": "64.01.04",  # Tanah Grogot, Senaken, Padang Pangrapat
    "4": "64.01.05", "10": "64.01.05",  # Kuaro, Lolo
    "5": "64.01.03", "6": "64.01.03", "7": "64.01.03",  # Pasir Belengkong, Suliliran Baru, Suatang Baru
    "8": "64.01.09",  # Kerang (Batu Engau)
    "9": "64.01.02",  # Tanjung Aru (Tanjung Harapan)
    "11": "64.01.01",  # Batu Kajang (Batu Sopang)
    "12": "64.01.07",  # Muara Komam
    "13": "64.01.06", "14": "64.01.06", "15": "64.01.06",  # Long Ikis, Kayungo, Krayan
    "16": "64.01.08", "17": "64.01.08", "18": "64.01.08",  # Long Kali, Mendik, Sebakung Taka
    "19": "64.01.10",  # Muser (Muara Samu)
}
# How each puskesmas' clerks write a desa (id_seed -> style); the rest write the Kemendagri code.
DESA_STYLE: dict[str, str] = {
    "4": "bps", "10": "bps", "16": "bps", "17": "bps",
    "8": "nama", "9": "nama", "11": "nama", "12": "nama", "19": "nama",
}
UNRESOLVABLE_DESA = ("-", "LUAR DAERAH", "RT 03 Sungai Baru", "Km 5")

# The basic immunisation schedule (Kemenkes): antigen -> age in days when due.
JADWAL_IMUNISASI: dict[str, int] = {
    "HB0": 0, "BCG": 14, "Polio 1": 30,
    "DPT-HB-Hib 1": 60, "Polio 2": 60,
    "DPT-HB-Hib 2": 90, "Polio 3": 90,
    "DPT-HB-Hib 3": 120, "Polio 4": 120, "IPV": 120,
    "Campak-Rubela": 270,
}
IMUNISASI_DASAR = tuple(JADWAL_IMUNISASI)
STATUS_TB_U = ("sangat pendek", "pendek", "normal", "tinggi")
# Bulan penimbangan: (round, first day of measuring).
PUTARAN_PENGUKURAN = (("2025-08", dt.date(2025, 8, 1)), ("2026-02", dt.date(2026, 2, 1)))
POLI = (("Umum", 40), ("KIA", 15), ("MTBS", 12), ("Gigi", 10), ("Lansia", 10), ("Imunisasi", 8), ("KB", 5))

# WHO child growth standards, medians at 0, 6, 12, 24, 36, 48, 60 months (length/height cm, weight kg).
_MONTHS = (0, 6, 12, 24, 36, 48, 60)
_MEDIAN_TB = {"L": (49.9, 67.6, 75.7, 87.1, 96.1, 103.3, 110.0), "P": (49.1, 65.7, 74.0, 85.7, 95.1, 102.7, 109.4)}
_MEDIAN_BB = {"L": (3.3, 7.9, 9.6, 12.2, 14.3, 16.3, 18.3), "P": (3.2, 7.3, 8.9, 11.5, 13.9, 16.1, 18.2)}
_NAMA_DEPAN = ("Ahmad", "Muhammad", "Rizky", "Aditya", "Fajar", "Dimas", "Bima", "Arya", "Raka", "Galih",
               "Siti", "Nur", "Aisyah", "Putri", "Dewi", "Nabila", "Zahra", "Aulia", "Salsabila", "Kirana",
               "Andi", "Yusuf", "Intan", "Rahma", "Ayu", "Bagas", "Dinda", "Fitri", "Hana", "Ilham")
_NAMA_BELAKANG = ("Pratama", "Saputra", "Hidayat", "Ramadhan", "Maulana", "Lestari", "Safitri", "Rahmawati",
                  "Nugroho", "Wijaya", "Kurniawan", "Anggraini", "Setiawan", "Syahputra", "Utami", "Paser")

# The API's columns per dataset, in answer order (the store's tables add `seq`, the feed order).
COLUMNS: dict[str, tuple[str, ...]] = {
    "puskesmas": ("kode_puskesmas", "nama_puskesmas", "kode_kecamatan", "lintang", "bujur", "keterangan", "updated_at"),
    "balita": ("nik", "nama_balita", "tanggal_lahir", "jenis_kelamin", "kode_puskesmas", "desa", "updated_at"),
    "imunisasi": ("id_imunisasi", "nik", "kode_puskesmas", "jenis_imunisasi", "tanggal_imunisasi", "updated_at"),
    "pengukuran": ("id_pengukuran", "nik", "kode_puskesmas", "bulan_pengukuran", "tanggal_ukur", "umur_bulan",
                   "berat_badan", "tinggi_badan", "status_tb_u", "updated_at"),
    "kunjungan": ("id_kunjungan", "kode_puskesmas", "tanggal_kunjungan", "poli", "desa", "jenis_kelamin",
                  "umur_tahun", "updated_at"),
}
_REAL_COLUMNS = {"lintang", "bujur", "berat_badan", "tinggi_badan"}
_INTEGER_COLUMNS = {"umur_bulan", "umur_tahun"}


class DinkesDemoError(RuntimeError):
    """The demo store is missing or the API was asked for something it cannot do."""


# --- reference data ---------------------------------------------------------------------------

def load_puskesmas() -> list[dict]:
    """The 19 puskesmas as API records: names and notes as typed, Kemendagri kecamatan, Dinkes code."""
    with PUSKESMAS_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    per_kecamatan: dict[str, int] = {}
    records = []
    for row in rows:
        kecamatan = PUSKESMAS_KECAMATAN.get(row["id_seed"])
        if kecamatan is None:
            raise DinkesDemoError(f"{PUSKESMAS_CSV.name}: row id_seed {row['id_seed']} ({row['nama']}) has no kecamatan "
                                  "in PUSKESMAS_KECAMATAN")
        per_kecamatan[kecamatan] = per_kecamatan.get(kecamatan, 0) + 1
        records.append({
            # Dinkes' own code, Kemenkes-like: P + kecamatan digits + number within the kecamatan.
            "kode_puskesmas": f"P{kecamatan.replace('.', '')}{per_kecamatan[kecamatan]:02d}",
            "nama_puskesmas": row["nama"],
            "kode_kecamatan": kecamatan,
            # The system stores coordinates as DECIMAL(10,7) (about 1 cm): the seed's 16 decimals do not survive.
            "lintang": round(float(row["latitude"]), 7),
            "bujur": round(float(row["longitude"]), 7),
            "keterangan": row["deskripsi"],
            "updated_at": _iso(PUSKESMAS_UPDATED_AT),
            "_style": DESA_STYLE.get(row["id_seed"], "kemendagri"),
        })
    return records


def load_desa() -> dict[str, dict]:
    """Kemendagri desa code -> {nama, kode_bps, nama_bps}: the codes and spellings clerks use."""
    with DESA_CROSSWALK_CSV.open(encoding="utf-8", newline="") as handle:
        return {row["kode_kemendagri"]: {"nama": row["nama_kemendagri_2025"], "kode_bps": row["kode_bps_bridging_2024"],
                                         "nama_bps": row["nama_dagri_bps_bridging_2024"]}
                for row in csv.DictReader(handle)}


def wilayah_kerja(puskesmas: list[dict], desa: dict[str, dict]) -> dict[str, dict]:
    """Kemendagri desa code -> the puskesmas serving it: the puskesmas of its kecamatan in turn, by desa code."""
    by_kecamatan: dict[str, list[dict]] = {}
    for record in puskesmas:
        by_kecamatan.setdefault(record["kode_kecamatan"], []).append(record)
    served: dict[str, dict] = {}
    turn: dict[str, int] = {}
    for kode in sorted(desa):
        kecamatan = kode[:8]
        candidates = by_kecamatan.get(kecamatan)
        if not candidates:
            raise DinkesDemoError(f"no puskesmas in kecamatan {kecamatan} for desa {kode}")
        served[kode] = candidates[turn.get(kecamatan, 0) % len(candidates)]
        turn[kecamatan] = turn.get(kecamatan, 0) + 1
    return served


# --- generation ---------------------------------------------------------------------------------

def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(WITA).strftime("%Y-%m-%dT%H:%M:%S+08:00")


def _entered(rng: random.Random, day: dt.date, *, max_lag_days: int = 14) -> dt.datetime:
    """When a clerk entered an event of `day`: a working hour some days later, never after the reference date."""
    lag = min(rng.randint(0, max_lag_days), max((TANGGAL_REFERENSI - day).days, 0))
    when = dt.datetime.combine(day + dt.timedelta(days=lag), dt.time(rng.randint(8, 15), rng.randint(0, 59),
                                                                     rng.randint(0, 59)), WITA)
    return when


def _unit_share(seed: int, key: str) -> float:
    """A stable number in [0, 1) for (seed, key): per-desa and per-kecamatan rates that vary but repeat."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def cakupan_desa(seed: int, kode_desa: str) -> float:
    """The share of a desa's children who get every basic immunisation by 12 months (0.85-0.95)."""
    return 0.85 + 0.10 * _unit_share(seed, f"imunisasi:{kode_desa}")


def prevalensi_kecamatan(seed: int, kode_kecamatan: str) -> float:
    """The share of a kecamatan's children under five who are stunted for good (0.13-0.22); with the 3% whose
    status flips in one round, measured stunting comes out at about 15-25% per kecamatan."""
    return 0.13 + 0.09 * _unit_share(seed, f"stunting:{kode_kecamatan}")


def _desa_as_typed(rng: random.Random, style: str, kode: str, desa: dict[str, dict]) -> str:
    info = desa[kode]
    if style == "bps":
        return info["kode_bps"]
    if style == "nama":
        jenis = "Kelurahan" if kode[9] == "1" else "Desa"
        return rng.choice((info["nama"], info["nama"].upper(), f"{jenis} {info['nama']}", info["nama_bps"]))
    return kode


def _median(table: Mapping[str, tuple[float, ...]], sex: str, months: float) -> float:
    values = table[sex]
    for index in range(len(_MONTHS) - 1):
        low, high = _MONTHS[index], _MONTHS[index + 1]
        if months <= high:
            share = (months - low) / (high - low)
            return values[index] + share * (values[index + 1] - values[index])
    return values[-1]


def _status_from_z(z_score: float) -> str:
    if z_score < -3:
        return "sangat pendek"
    if z_score < -2:
        return "pendek"
    if z_score > 3:
        return "tinggi"
    return "normal"


def _z_for(rng: random.Random, stunted: bool) -> float:
    if stunted:
        return rng.uniform(-3.9, -3.05) if rng.random() < 0.3 else rng.uniform(-2.95, -2.05)
    if rng.random() < 0.03:
        return rng.uniform(3.05, 3.6)
    return max(-1.95, min(1.95, rng.gauss(-0.6, 0.8)))


def _months_between(born: dt.date, day: dt.date) -> int:
    return (day.year - born.year) * 12 + day.month - born.month - (1 if day.day < born.day else 0)


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def generate(children: pa.Table, *, seed: int = 20261128) -> dict[str, list[dict]]:
    """The API's records per dataset (the change feed, in feed order) for the children of the register.

    `children` has nik, tanggal_lahir, jenis_kelamin ('L'/'P') and kode_desa (Kemendagri); children
    born after the reference date or whose desa is not a Paser desa are an error naming the row.
    """
    rng = random.Random(seed)
    puskesmas = load_puskesmas()
    desa = load_desa()
    served = wilayah_kerja(puskesmas, desa)
    missing = {"nik", "tanggal_lahir", "jenis_kelamin", "kode_desa"} - set(children.column_names)
    if missing:
        raise DinkesDemoError(f"children table: missing column(s) {sorted(missing)}")

    balita, imunisasi, pengukuran, kunjungan = [], [], [], []
    for index, child in enumerate(children.select(["nik", "tanggal_lahir", "jenis_kelamin", "kode_desa"]).to_pylist(),
                                  start=1):
        kode_desa, nik, sex = child["kode_desa"], str(child["nik"]), child["jenis_kelamin"]
        if kode_desa not in desa:
            raise DinkesDemoError(f"children table, row {index} (kode_desa): '{kode_desa}' is not a Paser desa")
        born = _as_date(child["tanggal_lahir"])
        if born > TANGGAL_REFERENSI:
            raise DinkesDemoError(f"children table, row {index} (tanggal_lahir): {born} is after {TANGGAL_REFERENSI}")
        if rng.random() >= 0.97:  # not registered at any posyandu/puskesmas
            continue
        home = served[kode_desa]
        style = home["_style"]
        typed = rng.choice(UNRESOLVABLE_DESA) if rng.random() < 0.005 else _desa_as_typed(rng, style, kode_desa, desa)
        registered = _entered(rng, max(born, dt.date(2021, 7, 1)), max_lag_days=30)
        record = {"nik": nik, "nama_balita": f"{rng.choice(_NAMA_DEPAN)} {rng.choice(_NAMA_BELAKANG)}",
                  "tanggal_lahir": born.isoformat(), "jenis_kelamin": sex, "kode_puskesmas": home["kode_puskesmas"],
                  "desa": typed, "updated_at": _iso(registered)}
        balita.append(record)
        if rng.random() < 0.01:  # re-sent later with the desa corrected
            later = registered + dt.timedelta(days=rng.randint(20, 90), minutes=rng.randint(1, 600))
            if later.date() <= TANGGAL_REFERENSI:
                balita.append({**record, "desa": _desa_as_typed(rng, style, kode_desa, desa), "updated_at": _iso(later)})
        imunisasi += _immunisations(rng, seed, nik, kode_desa, born, home["kode_puskesmas"])
        pengukuran += _measurements(rng, seed, nik, sex, kode_desa, born, home["kode_puskesmas"])

    kunjungan = _visits(rng, children, puskesmas, served, desa)
    imunisasi = _with_ids(imunisasi, "id_imunisasi", "IMN")
    for record in [r for r in imunisasi if rng.random() < 0.005]:  # served twice, identical
        imunisasi.append(dict(record))
    pengukuran = _with_ids(pengukuran, "id_pengukuran", "PGK")
    pengukuran = _pengukuran_mess(rng, pengukuran)
    records = {
        "puskesmas": [{key: value for key, value in record.items() if not key.startswith("_")} for record in puskesmas],
        "balita": balita, "imunisasi": imunisasi, "pengukuran": pengukuran, "kunjungan": kunjungan,
    }
    # Feed order: by updated_at (stable, so a duplicate follows its original).
    return {name: sorted(rows, key=lambda record: record["updated_at"]) for name, rows in records.items()}


def _with_ids(records: list[dict], column: str, prefix: str) -> list[dict]:
    ordered = sorted(records, key=lambda record: (record["updated_at"], record["nik"]))
    return [{column: f"{prefix}{number:08d}", **record} for number, record in enumerate(ordered, start=1)]


def _immunisations(rng: random.Random, seed: int, nik: str, kode_desa: str, born: dt.date, puskesmas: str) -> list[dict]:
    complete = rng.random() < cakupan_desa(seed, kode_desa)
    skipped: set[str] = set()
    if not complete:  # 1-3 doses never given, more often the later ones
        later = ["Campak-Rubela", "IPV", "Polio 4", "DPT-HB-Hib 3", "Polio 3", "DPT-HB-Hib 2", "HB0", "BCG"]
        skipped = set(rng.sample(later[:5], rng.randint(1, 3)))
    records = []
    delay = 0
    for antigen, due_day in JADWAL_IMUNISASI.items():
        if antigen in skipped:
            continue
        # Delays accumulate a little along the schedule, but a complete child is done before 12 months.
        delay = min(delay + rng.choice((0, 0, 0, 1, 3, 7, 14)), 60)
        given = born + dt.timedelta(days=due_day + (rng.randint(0, 2) if antigen == "HB0" else delay))
        if given > TANGGAL_REFERENSI:
            break
        records.append({"nik": nik, "kode_puskesmas": puskesmas, "jenis_imunisasi": antigen,
                        "tanggal_imunisasi": given.isoformat(), "updated_at": _iso(_entered(rng, given))})
    return records


def _measurements(rng: random.Random, seed: int, nik: str, sex: str, kode_desa: str, born: dt.date,
                  puskesmas: str) -> list[dict]:
    stunted = rng.random() < prevalensi_kecamatan(seed, kode_desa[:8])
    records = []
    for putaran, first_day in PUTARAN_PENGUKURAN:
        day = first_day + dt.timedelta(days=rng.randint(0, 27) if rng.random() < 0.9 else rng.randint(28, 40))
        if day <= born or day > TANGGAL_REFERENSI or rng.random() >= 0.85:
            continue
        months = _months_between(born, day)
        if months >= 60:
            continue
        age = (day - born).days / 30.4375
        z_tb = _z_for(rng, stunted if rng.random() < 0.97 else not stunted)
        median_tb = _median(_MEDIAN_TB, sex, age)
        tinggi = round(median_tb * (1 + 0.037 * z_tb), 1)
        berat = round(_median(_MEDIAN_BB, sex, age) * (1 + 0.11 * (0.6 * z_tb + rng.gauss(0, 0.7))), 1)
        records.append({"nik": nik, "kode_puskesmas": puskesmas, "bulan_pengukuran": putaran,
                        "tanggal_ukur": day.isoformat(), "umur_bulan": months, "berat_badan": max(berat, 1.5),
                        "tinggi_badan": tinggi, "status_tb_u": _status_from_z(z_tb),
                        "updated_at": _iso(_entered(rng, day))})
    return records


def _pengukuran_mess(rng: random.Random, records: list[dict]) -> list[dict]:
    """Slipped decimal points corrected later (two versions) and measurements entered twice."""
    messy = []
    for record in records:
        entered = dt.datetime.fromisoformat(record["updated_at"])
        if rng.random() < 0.01:
            # First entered with the decimal point slipped (8.6 for 86.0): the system says 'sangat pendek'.
            correction = entered + dt.timedelta(days=rng.randint(3, 20), minutes=rng.randint(1, 300))
            messy.append({**record, "tinggi_badan": round(record["tinggi_badan"] / 10, 1), "status_tb_u": "sangat pendek"})
            messy.append({**record, "updated_at": _iso(correction)})
        else:
            messy.append(record)
        if rng.random() < 0.005:  # entered twice: a new id, the same child and day, minutes later
            again = entered + dt.timedelta(minutes=rng.randint(2, 30))
            messy.append({**record, "id_pengukuran": record["id_pengukuran"].replace("PGK", "PGD"),
                          "berat_badan": round(record["berat_badan"] + 0.1, 1), "updated_at": _iso(again)})
    return messy


def _visits(rng: random.Random, children: pa.Table, puskesmas: list[dict], served: dict[str, dict],
            desa: dict[str, dict]) -> list[dict]:
    """About two visits per child under five (as a measure of the population), January-June 2026."""
    kode_desa = children.column("kode_desa").to_pylist()
    if not kode_desa:
        return []
    by_kecamatan: dict[str, list[dict]] = {}
    for record in puskesmas:
        by_kecamatan.setdefault(record["kode_kecamatan"], []).append(record)
    start = dt.date(2026, 1, 2)
    visits = []
    for number in range(1, 2 * len(kode_desa) + 1):
        home_desa = rng.choice(kode_desa)
        home = served[home_desa]
        where = home if rng.random() < 0.9 else rng.choice(by_kecamatan[home["kode_kecamatan"]])
        poli = rng.choices([name for name, _ in POLI], weights=[weight for _, weight in POLI])[0]
        umur = {"KIA": rng.randint(17, 40), "MTBS": rng.randint(0, 4), "Imunisasi": rng.randint(0, 2),
                "Lansia": rng.randint(60, 85), "KB": rng.randint(18, 45)}.get(poli, rng.randint(0, 80))
        sex = "P" if poli in ("KIA", "KB") else rng.choice("LP")
        day = start + dt.timedelta(days=rng.randint(0, (TANGGAL_REFERENSI - start).days))
        typed = (rng.choice(UNRESOLVABLE_DESA) if rng.random() < 0.01
                 else _desa_as_typed(rng, where["_style"], home_desa, desa))
        visits.append({"id_kunjungan": f"KJG{number:08d}", "kode_puskesmas": where["kode_puskesmas"],
                       "tanggal_kunjungan": day.isoformat(), "poli": poli, "desa": typed, "jenis_kelamin": sex,
                       "umur_tahun": umur, "updated_at": _iso(_entered(rng, day, max_lag_days=2))})
    return visits


# --- the store ------------------------------------------------------------------------------------

def store_dir(zones: Zones) -> Path:
    return zones.agency_systems / AGENCY


def store_path(zones: Zones) -> Path:
    return store_dir(zones) / STORE_FILE


def _sql_type(column: str) -> str:
    if column in _REAL_COLUMNS:
        return "REAL"
    if column in _INTEGER_COLUMNS:
        return "INTEGER"
    return "TEXT"


def write_store(path: Path, records: dict[str, list[dict]], *, meta: dict[str, str]) -> Path:
    """Write the API's store (one SQLite file) atomically: a temporary file, then one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    try:
        for name, columns in COLUMNS.items():
            ddl = ", ".join(f"{column} {_sql_type(column)}" for column in columns)
            con.execute(f"CREATE TABLE {name} (seq INTEGER PRIMARY KEY, {ddl})")
            con.execute(f"CREATE INDEX {name}_feed ON {name} (updated_at, seq)")
            placeholders = ", ".join("?" for _ in columns)
            con.executemany(f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({placeholders})",
                            ([record.get(column) for column in columns] for record in records.get(name, [])))
        con.execute("CREATE TABLE _demo (key TEXT PRIMARY KEY, value TEXT)")
        con.executemany("INSERT INTO _demo VALUES (?, ?)", sorted(meta.items()))
        con.commit()
    finally:
        con.close()
    os.replace(tmp, path)
    return path


def _store_meta(path: Path) -> dict[str, str]:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return {}
    try:
        return dict(con.execute("SELECT key, value FROM _demo").fetchall())
    except sqlite3.Error:
        return {}
    finally:
        con.close()


def api_token(zones: Zones) -> str:
    """The API's bearer token: made once per data root (mode 0600), then read."""
    path = store_dir(zones) / TOKEN_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    tmp = path.with_name(f".{TOKEN_FILE}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    os.replace(tmp, path)
    return token


def default_children(scale: float, seed: int) -> pa.Table:
    """Children under five from Disdukcapil's demo population register (imported here: a heavy generator)."""
    from agency_systems.disdukcapil import children_under_five, generate_penduduk  # noqa: PLC0415

    return children_under_five(generate_penduduk(scale, seed))


def write_demo(zones: Zones, *, scale: float = 1.0, seed: int = 20261128, children: pa.Table | None = None) -> dict[str, str]:
    """Write the API's data store for (scale, seed) under `<data>/agency_systems/dinkes/`; returns {}.

    A no-op when the store already holds this (scale, seed). The connection (with the token) comes
    from `serve`, since the API exists only while it runs. `children` replaces the register's children
    (tests); then the store is always rewritten.
    """
    path = store_path(zones)
    meta = {"scale": repr(float(scale)), "seed": str(seed), "version": str(STORE_VERSION)}
    if children is None and _store_meta(path) == meta:
        log.info("dinkes: store %s already holds scale %s, seed %s; unchanged", path, scale, seed)
        return {}
    if children is None:
        children = default_children(scale, seed)
    else:
        meta["children"] = "given"
    records = generate(children, seed=seed)
    write_store(path, records, meta=meta)
    api_token(zones)
    log.info("dinkes: wrote %s (%s)", path, ", ".join(f"{name} {len(rows)}" for name, rows in records.items()))
    return {}


def append_records(zones: Zones, dataset: str, records: list[dict]) -> None:
    """Add records (new ones, or new versions of old ones with a newer updated_at) to the feed of `dataset`."""
    if dataset not in COLUMNS:
        raise DinkesDemoError(f"unknown dataset '{dataset}' (known: {', '.join(DATASETS)})")
    columns = COLUMNS[dataset]
    con = sqlite3.connect(store_path(zones))
    try:
        con.executemany(f"INSERT INTO {dataset} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                        ([record.get(column) for column in columns] for record in records))
        con.commit()
    finally:
        con.close()


def late_corrections(zones: Zones, *, count: int, at: dt.datetime, seed: int = 1) -> list[dict]:
    """Re-send `count` measurements with a corrected weight and `updated_at = at`; returns the new versions."""
    con = sqlite3.connect(f"file:{store_path(zones)}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        rows = [dict(row) for row in con.execute(f"SELECT {', '.join(COLUMNS['pengukuran'])} FROM pengukuran ORDER BY seq")]
    finally:
        con.close()
    rng = random.Random(seed)
    chosen = rng.sample(rows, min(count, len(rows)))
    corrected = [{**row, "berat_badan": round(row["berat_badan"] + 0.2, 1), "updated_at": _iso(at)} for row in chosen]
    append_records(zones, "pengukuran", corrected)
    return corrected


# --- the API ----------------------------------------------------------------------------------------

def _encode_cursor(updated_at: str, seq: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([updated_at, seq]).encode()).decode().rstrip("=")


def _decode_cursor(token: str) -> tuple[str, int]:
    try:
        padded = token + "=" * (-len(token) % 4)
        updated_at, seq = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return str(updated_at), int(seq)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise DinkesDemoError(f"invalid cursor '{token[:40]}'") from exc


def _normalise_since(value: str) -> str:
    """An ISO 8601 `updated_since` in the store's own format (WITA), so text comparison is time order."""
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError as exc:
        raise DinkesDemoError(f"updated_since '{value}' is not an ISO 8601 timestamp") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=WITA)  # the agency's local time
    return _iso(moment)


def query_page(path: Path, dataset: str, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None,
               updated_since: str | None = None) -> dict:
    """One page of the feed of `dataset`: {"data": [...], "next_cursor": token | None, "count": n}."""
    if dataset not in COLUMNS:
        raise KeyError(dataset)
    if not 1 <= limit <= MAX_LIMIT:
        raise DinkesDemoError(f"limit must be 1..{MAX_LIMIT}, got {limit}")
    columns = COLUMNS[dataset]
    where: list[str] = []
    params: list[str | int] = []
    if updated_since:
        where.append("updated_at >= ?")
        params.append(_normalise_since(updated_since))
    if cursor:
        after_updated, after_seq = _decode_cursor(cursor)
        where.append("(updated_at > ? OR (updated_at = ? AND seq > ?))")
        params += [after_updated, after_updated, after_seq]
    sql = (f"SELECT seq, {', '.join(columns)} FROM {dataset}" + (f" WHERE {' AND '.join(where)}" if where else "")
           + " ORDER BY updated_at, seq LIMIT ?")
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = con.execute(sql, [*params, limit + 1]).fetchall()
    finally:
        con.close()
    more = len(rows) > limit
    rows = rows[:limit]
    data = [dict(zip(columns, row[1:], strict=True)) for row in rows]
    next_cursor = _encode_cursor(rows[-1][-1], rows[-1][0]) if more else None
    return {"data": data, "next_cursor": next_cursor, "count": len(data)}


def read_feed(zones: Zones, dataset: str, *, updated_since: str | None = None) -> list[dict]:
    """Every record the API serves for `dataset` (all pages), in feed order: what a client sees."""
    path, records, cursor = store_path(zones), [], None
    while True:
        page = query_page(path, dataset, limit=MAX_LIMIT, cursor=cursor, updated_since=updated_since)
        records += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return records


def make_handler(path: Path, token: str) -> type[BaseHTTPRequestHandler]:
    """A request handler class serving the store at `path` to callers holding `token`."""

    class DinkesApiHandler(BaseHTTPRequestHandler):
        server_version = "DinkesPaserAPI/1.0"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the stdlib's name)
            log.debug("dinkes api: " + format, *args)

        def _reply(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
            payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            parts = urlsplit(self.path)
            given = self.headers.get("Authorization", "")
            if not secrets.compare_digest(given.encode(), f"Bearer {token}".encode()):
                self._reply(401, {"error": "unauthorized: send Authorization: Bearer <token>"},
                            {"WWW-Authenticate": 'Bearer realm="dinkes"'})
                return
            prefix = API_PREFIX + "/"
            dataset = parts.path[len(prefix):].strip("/") if parts.path.startswith(prefix) else ""
            if dataset not in COLUMNS:
                self._reply(404, {"error": f"unknown endpoint {parts.path}", "endpoints": [prefix + name for name in DATASETS]})
                return
            query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
            try:
                limit = int(query.get("limit") or DEFAULT_LIMIT)
                page = query_page(path, dataset, limit=limit, cursor=query.get("cursor") or None,
                                  updated_since=query.get("updated_since") or None)
            except (DinkesDemoError, ValueError) as exc:
                self._reply(400, {"error": str(exc)})
                return
            self._reply(200, page)

    return DinkesApiHandler


@contextlib.contextmanager
def serve(zones: Zones, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[tuple[str, dict[str, str]]]:
    """Serve the store written by `write_demo` on loopback; yields (base_url, {AIRFLOW_CONN_DINKES_API: uri})."""
    if host not in LOOPBACK:
        raise DinkesDemoError(f"the demo API listens on loopback only (127.0.0.1), not on '{host}'")
    path = store_path(zones)
    if not path.exists():
        raise DinkesDemoError(f"{path}: no Dinkes store; run agency_systems.dinkes.write_demo first")
    token = api_token(zones)
    server = ThreadingHTTPServer((host, port), make_handler(path, token))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="dinkes-api", daemon=True)
    thread.start()
    bound_host, bound_port = server.server_address[:2]
    assert isinstance(bound_host, str)  # the bound address (getsockname) is text; typeshed's type also allows bytes
    shown_host = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    base_url = f"http://{shown_host}:{bound_port}{API_PREFIX}"
    env = {CONNECTION_ENV: f"http://:{token}@{shown_host}:{bound_port}{API_PREFIX}"}
    log.info("dinkes: API serving %s at %s", path, base_url)
    try:
        yield base_url, env
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
