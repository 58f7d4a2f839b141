"""Disdukcapil Paser's population registry (SIAK-like), generated: residents, households, later changes.

`generate_penduduk(scale, seed)` builds the `penduduk` table of a SIAK-like database: about 310,000
records at scale 1 (Paser today), spread over the 144 real desa/kelurahan of
`seeds/reference/paser_desa_kelurahan_kemendagri.csv` (the 5 kelurahan, the kecamatan towns, are
several times more populous than a desa). Everything is vectorised (numpy): scale 1 takes a few
seconds, scale 10 is feasible. The same (scale, seed) always gives the same table.

How the people are made:
  * Households (KK) first: one-person households (mostly young men: Paser's mines and plantations
    draw workers), couples with children, single parents, and sometimes an elderly parent; 1 to 8
    members. Children are born to the mother from ~19 years of age at realistic spacing, and leave
    home between 17 and 30, which gives a young, Indonesian-shaped pyramid (~26% under 15, ~5% 65+)
    and ~51% men.
  * NIK (16 digits) = `6401KK` (kecamatan of registration: the household's, or for ~5% of people
    another kecamatan of Paser: they moved and kept their NIK) + DDMMYY of birth (+40 on the day for
    women) + a 4-digit serial from 0001, unique per (region, date). KK numbers: the household's
    `6401KK` + DDMMYY of issue + serial.
  * Names are built from common Indonesian given names (Javanese, Banjar, Bugis, Paser, Muslim and
    Christian usage; lists below, no real people), upper case as SIAK stores them.
  * agama, pendidikan, pekerjaan, status_kawin and hubungan_keluarga use SIAK's code lists and
    depend on age, sex and the household; status is HIDUP, or MENINGGAL/PINDAH for records kept
    after a death or a move out of Paser; `diubah_pada` (WITA, no zone) is the incremental cursor.

Messiness, on purpose (rates of all records; counts are exact for a given size):
  * `kode_desa` is stored as the Kemendagri code `64.01.KK.TNNN`, except
    - 1% (RATE_ALT_CODE): half as the BPS 10-digit code (`6401010009`), half as the Kemendagri code
      without dots (`6401012009`, which is also the KPU id). Beware: a BPS code can equal another
      desa's Kemendagri code without dots (BPS `6401022004` is Selengot, Kemendagri `6401022004` is
      Keladen); the generator only writes codes that are unambiguous across the schemes;
    - 0.1% (RATE_NAME): a desa name instead of a code, in the BPS MFD 2018 or KPU 2024 spelling
      (`LABUANGKALO`, `TUNES KELADEN`, ...), only names that identify one desa;
    - 0.05% (RATE_UNRESOLVABLE): a code that exists in no scheme (`64.01.11.2003`: Paser has 10 kecamatan).
  * 0.3% of residents appear twice (RATE_DUPLICATE): the same NIK with an older `diubah_pada` and an
    older spelling of the name, education or occupation: a late correction the export still carries.
    Sex, birth date, desa and status are the same in both, so a count does not depend on which copy wins.
    The export lists the corrected record first, the stale copy right after it.

`apply_changes(uri, births=, deaths=, moves=, seed=, at=)` applies births, deaths and moves (within
Paser: a new desa; out of Paser: status PINDAH) to a written registry, bumping `diubah_pada` to `at`.
`write_demo(zones, scale=, seed=)` writes the embedded default's SQLite file.
`children_under_five(table)` lists living children under five with a clean desa code (the Dinkes
generator records a child's NIK in its visits).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import logging
import os
import sqlite3
import time
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from agency_systems import databases
from ingestion.catalog import REPO_ROOT
from ingestion.zones import Zones

log = logging.getLogger(__name__)

REFERENCE_DIR = REPO_ROOT / "seeds" / "reference"
DESA_CSV = REFERENCE_DIR / "paser_desa_kelurahan_kemendagri.csv"
DESA_CROSSWALK_CSV = REFERENCE_DIR / "paser_desa_crosswalk.csv"

TABLE = "penduduk"
CONNECTION_ENV = "AIRFLOW_CONN_DISDUKCAPIL_SIAK"
DEFAULT_SEED = 20261128
POPULATION_AT_SCALE_1 = 310_000
# The date the registry describes (Dukcapil's semester I 2026 consolidation); dbt's var('tanggal_referensi').
TANGGAL_REFERENSI = dt.date(2026, 6, 30)
WITA = ZoneInfo("Asia/Makassar")

RATE_ALT_CODE = 0.01
RATE_NAME = 0.001
RATE_UNRESOLVABLE = 0.0005
RATE_DUPLICATE = 0.003
SHARE_NIK_OTHER_KECAMATAN = 0.05

# Codes no scheme knows: kecamatan 11 and 12 do not exist, TNNN numbers beyond the last desa.
UNRESOLVABLE_CODES = ("64.01.11.2003", "64.01.12.2001", "6401112005", "64.01.05.2099", "6401990001", "64.01.08.3001")

# The SQL types of the SIAK table as the agency declares them.
PENDUDUK_DDL: dict[str, str] = {
    "nik": "VARCHAR(16)",
    "no_kk": "VARCHAR(16)",
    "nama_lengkap": "VARCHAR(100)",
    "tanggal_lahir": "DATE",
    "jenis_kelamin": "VARCHAR(1)",
    "agama": "VARCHAR(20)",
    "pendidikan": "VARCHAR(40)",
    "pekerjaan": "VARCHAR(60)",
    "status_kawin": "VARCHAR(20)",
    "hubungan_keluarga": "VARCHAR(20)",
    "kode_desa": "VARCHAR(40)",
    "status": "VARCHAR(10)",
    "diubah_pada": "TIMESTAMP",
}

# --- SIAK code lists -------------------------------------------------------------------------------

AGAMA = ("ISLAM", "KRISTEN", "KATHOLIK", "HINDU", "BUDHA", "KONGHUCU", "KEPERCAYAAN")
# Kabupaten Paser is ~88% Muslim; Christian minorities among Dayak Paser, Toraja and NTT migrants.
AGAMA_WEIGHTS = (0.885, 0.075, 0.03, 0.006, 0.003, 0.0005, 0.0005)
PENDIDIKAN = (
    "TIDAK/BELUM SEKOLAH", "BELUM TAMAT SD/SEDERAJAT", "TAMAT SD/SEDERAJAT", "SLTP/SEDERAJAT", "SLTA/SEDERAJAT",
    "DIPLOMA I/II", "AKADEMI/DIPLOMA III/S. MUDA", "DIPLOMA IV/STRATA I", "STRATA II", "STRATA III",
)
STATUS_KAWIN = ("BELUM KAWIN", "KAWIN", "CERAI HIDUP", "CERAI MATI")
HUBUNGAN_KELUARGA = ("KEPALA KELUARGA", "ISTRI", "SUAMI", "ANAK", "ORANG TUA", "FAMILI LAIN")
STATUS = ("HIDUP", "MENINGGAL", "PINDAH")
PEKERJAAN_KHUSUS = ("BELUM/TIDAK BEKERJA", "PELAJAR/MAHASISWA", "MENGURUS RUMAH TANGGA", "PENSIUNAN")
PEKERJAAN_DEWASA = (
    "PETANI/PEKEBUN", "KARYAWAN SWASTA", "WIRASWASTA", "BURUH HARIAN LEPAS", "PEDAGANG", "NELAYAN/PERIKANAN",
    "PEGAWAI NEGERI SIPIL (PNS)", "GURU", "SOPIR", "TUKANG BATU", "KARYAWAN BUMN", "TENTARA NASIONAL INDONESIA (TNI)",
    "KEPOLISIAN RI (POLRI)", "PERANGKAT DESA", "BIDAN", "PERAWAT",
)
PEKERJAAN = PEKERJAAN_KHUSUS + PEKERJAAN_DEWASA
PEKERJAAN_LAKI = (0.30, 0.20, 0.14, 0.12, 0.04, 0.05, 0.035, 0.015, 0.03, 0.025, 0.01, 0.008, 0.007, 0.01, 0.0, 0.005)
PEKERJAAN_PEREMPUAN = (0.18, 0.10, 0.16, 0.05, 0.15, 0.01, 0.06, 0.11, 0.0, 0.0, 0.01, 0.0, 0.002, 0.008, 0.06, 0.09)

# Common Indonesian given names (no real people): Javanese, Banjar, Bugis and Paser usage, Muslim and Christian.
NAMA_LAKI = (
    "MUHAMMAD", "AHMAD", "ABDUL", "ANDI", "BUDI", "AGUS", "SUPRIADI", "HENDRA", "RUDI", "SYAMSUL", "ARIF", "RAHMAT",
    "HASAN", "HUSAIN", "YUSUF", "IBRAHIM", "ISMAIL", "JUMADI", "SAMSUDIN", "SUGIANTO", "SLAMET", "BAMBANG", "JOKO",
    "WAHYU", "DEDI", "HERI", "IWAN", "ANTON", "YOHANES", "PAULUS", "MARKUS", "FIRMAN", "IRWAN", "ASRUL", "MUSLIMIN",
    "SYAHRUL", "RIDWAN", "FAJAR", "RIZKY", "DIMAS", "ILHAM", "AKBAR", "FARHAN", "RAFI", "ALIF", "GILANG", "BAYU",
    "DANI", "EKO", "TAUFIK", "ZAINAL", "NURDIN", "BAHRUN", "JAMALUDDIN", "SAPRUDIN", "ARSYAD", "IDRUS", "LA ODE",
    "ADITYA", "KEVIN", "RAIHAN", "NAUFAL", "ARKAN", "AZKA", "HAFIZ", "DAFFA", "GALIH", "HERMAN", "SUDIRMAN", "SUKARDI",
)
NAMA_PEREMPUAN = (
    "SITI", "NUR", "SRI", "DEWI", "RATNA", "YULIANTI", "RAHMAWATI", "HASNAH", "HALIMAH", "FATIMAH", "AMINAH", "MASITAH",
    "NORMA", "NURHAYATI", "SUMIATI", "SUPARTI", "WARTINI", "LESTARI", "PUJI", "ENDANG", "MARIA", "MARTHA", "YOHANA",
    "RINA", "RIKA", "FITRI", "NURUL", "AISYAH", "ZAHRA", "NAYLA", "AULIA", "PUTRI", "SALSABILA", "ANISA", "INDAH",
    "WULAN", "AYU", "HARTATI", "MULYANI", "JUMIATI", "SAHRIAH", "MASNAH", "NORHAYATI", "RUSMINI", "ROSMAWATI",
    "KARTINI", "ELIS", "NOVITA", "MEGA", "DIAN", "KHAIRUNNISA", "ALYA", "KEISHA", "AZZAHRA", "QUEENSHA", "ADINDA",
    "ANDI", "HJ", "SURIANI", "ST", "MARLINA", "HERLINA", "YUNITA", "SELVI", "TRI", "WIDYA",
)
NAMA_KEDUA = (
    "SAPUTRA", "SAPUTRI", "HIDAYAT", "RAHMAN", "SYAFRUDDIN", "WIJAYA", "SETIAWAN", "KURNIAWAN", "PRATAMA", "LESTARI",
    "HANDAYANI", "ANGGRAINI", "WATI", "YANTI", "SUSANTO", "NUGROHO", "HARYANTO", "MAULANA", "RAMADHAN", "FIRDAUS",
    "HAMZAH", "SALEH", "JUNAIDI", "ARIFIN", "ANSYARI", "BASRI", "MAKMUR", "BAHTIAR", "RASYID", "SAID", "NOOR",
    "RIZKI", "ABIDIN", "AMIR", "SYAMSUDDIN", "MUSTAFA", "RUSDI", "TAMBUNAN", "SIMANJUNTAK", "PAKPAHAN", "PATANDUNG",
    "TANDIARRANG", "LATUCONSINA", "BUGIS", "SANJAYA", "PERMANA", "NINGSIH", "SARI", "UTAMI", "AGUSTINA",
)
# A late correction fixes a spelling: the older record of a duplicate carries one of these.
SPELLING_VARIANTS = (("MUHAMMAD", "MUHAMAD"), ("SITI", "SITTI"), ("NUR", "NOOR"), ("AHMAD", "ACHMAD"),
                     ("YUSUF", "YUSUP"), ("FATIMAH", "FATIMA"), ("RAHMAN", "RACHMAN"), ("SAPUTRA", "SAPUTERA"))


# --- Reference regions -----------------------------------------------------------------------------

def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [dict(row) for row in csv.DictReader(handle)]


@cache
def desa_reference() -> dict[str, np.ndarray]:
    """The 144 desa/kelurahan: Kemendagri code, kecamatan number (1..10), kelurahan flag, alternative spellings.

    `alt_code` holds the stored alternative code per desa (BPS code for even positions, Kemendagri
    without dots for odd ones) or '' where that code is ambiguous across schemes; `alt_name` a BPS
    MFD 2018 / KPU spelling that identifies one desa, or ''.
    """
    desa = _read_csv(DESA_CSV)
    crosswalk = {row["kode_kemendagri"]: row for row in _read_csv(DESA_CROSSWALK_CSV)}
    codes = [row["kode_kemendagri"] for row in desa]
    missing = [code for code in codes if code not in crosswalk]
    if missing:
        raise ValueError(f"{DESA_CROSSWALK_CSV.name}: no row for desa {', '.join(missing)}")
    no_dots = {code: code.replace(".", "") for code in codes}
    bps = {code: crosswalk[code]["kode_bps_bridging_2024"].strip() for code in codes}
    kpu = {code: crosswalk[code]["id_desa_kpu_2024"].strip() for code in codes}
    # Every code string a scheme gives any desa: a stored code is usable only if it names one desa.
    owners: dict[str, set[str]] = {}
    for code in codes:
        for text in (code, no_dots[code], bps[code], kpu[code]):
            if text:
                owners.setdefault(text, set()).add(code)
    names: dict[str, set[str]] = {}
    for code in codes:
        row = crosswalk[code]
        for column in ("nama_kemendagri_2025", "nama_bps_mfd2018", "nama_dagri_bps_bridging_2024", "nama_kpu_2024"):
            text = " ".join(row[column].split()).upper()
            if text:
                names.setdefault(text, set()).add(code)
    alt_code, alt_name = [], []
    for position, code in enumerate(codes):
        wanted = bps[code] if position % 2 == 0 else no_dots[code]
        alt_code.append(wanted if wanted and owners.get(wanted) == {code} else "")
        row = crosswalk[code]
        official = " ".join(row["nama_kemendagri_2025"].split()).upper()
        spellings = [" ".join(row[c].split()).upper() for c in ("nama_bps_mfd2018", "nama_kpu_2024")]
        usable = [s for s in spellings if s and names.get(s) == {code}]
        # Prefer a spelling that really differs from Kemendagri's; else the upper-case official name.
        different = [s for s in usable if s != official]
        alt_name.append((different or usable or [""])[0])
    for text in UNRESOLVABLE_CODES:
        if text in owners:
            raise ValueError(f"UNRESOLVABLE_CODES: {text} is a real code of {owners[text]}")
    return {
        "kode": np.array(codes, dtype=object),
        "kecamatan": np.array([int(code.split(".")[2]) for code in codes], dtype=np.int64),
        "kelurahan": np.array([row["jenis_by_code"] == "kelurahan" for row in desa]),
        "alt_code": np.array(alt_code, dtype=object),
        "alt_name": np.array(alt_name, dtype=object),
    }


@cache
def stored_code_lookup() -> dict[str, str]:
    """Every way the generator stores a desa (code, code without dots, BPS code, name) -> Kemendagri code."""
    ref = desa_reference()
    lookup: dict[str, str] = {}
    for code, alt_code, alt_name in zip(ref["kode"], ref["alt_code"], ref["alt_name"], strict=True):
        lookup[code] = code
        lookup[code.replace(".", "")] = code
        if alt_code:
            lookup[alt_code] = code
        if alt_name:
            lookup[alt_name] = code
    return lookup


# --- Generation --------------------------------------------------------------------------------------

def _days(date: dt.date) -> int:
    return (date - dt.date(1970, 1, 1)).days


def _choose(rng: np.random.Generator, count: int, weights: tuple[float, ...] | None, size: int) -> np.ndarray:
    """Indices into a code list of `count` values (weighted when `weights` is given)."""
    p = None if weights is None else np.asarray(weights, dtype=float) / np.sum(weights)
    return rng.choice(count, size=size, p=p)


def _text(indices: np.ndarray, values: tuple[str, ...] | np.ndarray) -> pa.Array:
    """Text values from indices into a code list, built in Arrow (no Python string per row)."""
    dictionary = pa.array(list(values), pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), dictionary).cast(pa.string())


def _head_ages(rng: np.random.Generator, size: int) -> np.ndarray:
    """Ages of household heads: few under 25, most 30-55, thinning after 60."""
    edges = np.array([19, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 90])
    weights = np.array([0.45, 0.95, 1.1, 1.1, 1.05, 0.95, 0.85, 0.7, 0.5, 0.33, 0.2, 0.11, 0.06])
    band = rng.choice(len(weights), size=size, p=weights / weights.sum())
    return edges[band] + rng.random(size) * (edges[band + 1] - edges[band])


def _serials(keys: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """1-based rank of each row within its key group (random order inside a group): NIK/KK serials."""
    order = np.lexsort((rng.random(keys.size), keys))
    sorted_keys = keys[order]
    starts = np.r_[0, np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, keys.size]))
    ranks = np.empty(keys.size, dtype=np.int64)
    ranks[order] = np.arange(keys.size) - group_start + 1
    if ranks.max(initial=0) > 9999:
        raise ValueError("more than 9999 people share a region and date: serials would overflow 4 digits")
    return ranks


def _ddmmyy(days: np.ndarray, female: np.ndarray) -> np.ndarray:
    """DDMMYY of a date (days since 1970) as an integer, +40 on the day for women (the NIK rule)."""
    dates = days.astype("datetime64[D]")
    years = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    months = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    return (day + 40 * female) * 10_000 + months * 100 + years % 100


def _digits16(prefix: np.ndarray, ddmmyy: np.ndarray, serial: np.ndarray) -> pa.Array:
    """16-digit NIK/KK numbers as text: 6401KK + DDMMYY + serial (no leading zero: always starts with 64)."""
    numbers = prefix.astype(np.int64) * 10**10 + ddmmyy.astype(np.int64) * 10**4 + serial.astype(np.int64)
    return pa.array(numbers).cast(pa.string())


def _names(rng: np.random.Generator, female: np.ndarray) -> pa.Array:
    size = female.size
    first = np.where(female, len(NAMA_LAKI) + rng.integers(0, len(NAMA_PEREMPUAN), size),
                     rng.integers(0, len(NAMA_LAKI), size))
    first_text = _text(first, NAMA_LAKI + NAMA_PEREMPUAN)
    second = _text(rng.integers(0, len(NAMA_KEDUA), size), NAMA_KEDUA)
    third = _text(rng.integers(0, len(NAMA_KEDUA), size), NAMA_KEDUA)
    shape = rng.random(size)
    # ~15% one name, ~70% two, ~15% three: SIAK keeps what the birth certificate says.
    two = pc.binary_join_element_wise(first_text, second, " ")
    full = pc.if_else(pa.array(shape < 0.15), first_text, two)
    return pc.if_else(pa.array(shape > 0.85), pc.binary_join_element_wise(full, third, " "), full)


def _households(rng: np.random.Generator, n_target: int) -> dict[str, np.ndarray]:
    """People grouped into households: per person its household, role, sex and age in years (float)."""
    # More households than needed are drawn, then cut at the one that reaches the target size.
    n_households = int(n_target / 2.5) + 10
    kind = rng.choice(3, size=n_households, p=[0.13, 0.80, 0.07])  # 0 alone, 1 couple, 2 single parent
    head_age = _head_ages(rng, n_households)
    alone, couple, single_parent = kind == 0, kind == 1, kind == 2
    # One-person households: mostly young working men (mines, plantations), some old widows.
    head_female = np.where(alone, rng.random(n_households) < 0.2,
                           np.where(single_parent, rng.random(n_households) < 0.75, rng.random(n_households) < 0.02))
    head_age = np.where(alone & ~head_female, 19 + rng.gamma(2.0, 6.0, n_households), head_age)
    spouse_age = np.clip(head_age - rng.normal(4.0, 3.5, n_households), 17, 95)
    mother_age = np.where(couple, np.where(head_female, head_age, spouse_age),
                          np.where(head_female, head_age, head_age - 4))

    # Children: first birth at ~22, then every 2-4 years; each child leaves home between 17 and 30.
    max_children = 6
    wanted = np.where(alone, 0, np.minimum(rng.poisson(2.6, n_households), max_children))
    first_birth = np.clip(rng.normal(22.5, 3.5, n_households), 16, 36)
    gaps = 1.5 + rng.gamma(2.0, 0.9, (n_households, max_children))
    gaps[:, 0] = 0
    birth_age = first_birth[:, None] + np.cumsum(gaps, axis=1)
    child_age = mother_age[:, None] - birth_age
    leave_age = 17 + rng.random((n_households, max_children)) * 13
    present = (np.arange(max_children)[None, :] < wanted[:, None]) & (child_age >= 0) & (child_age < leave_age) & (birth_age < 45)
    n_children = present.sum(axis=1)

    has_spouse = couple
    # An elderly parent lives with some younger families (never past 8 members).
    has_parent = (~alone) & (head_age < 55) & (rng.random(n_households) < 0.09)
    size = 1 + has_spouse + n_children + has_parent
    has_parent &= size <= 8
    size = 1 + has_spouse + n_children + has_parent
    n_households = int(np.searchsorted(np.cumsum(size), n_target) + 1)
    keep = slice(0, n_households)
    kind, head_age, head_female, spouse_age, has_spouse, has_parent = (
        kind[keep], head_age[keep], head_female[keep], spouse_age[keep], has_spouse[keep], has_parent[keep])
    n_children, present, child_age = n_children[keep], present[keep], child_age[keep]
    parent_age = head_age + 22 + rng.random(n_households) * 14
    parent_age = np.maximum(parent_age, 58)

    hh_index = np.arange(n_households)
    pieces = {
        "household": [hh_index, hh_index[has_spouse], np.repeat(hh_index, n_children), hh_index[has_parent]],
        "role": [np.full(n_households, 0), np.full(has_spouse.sum(), 1), np.full(n_children.sum(), 3),
                 np.full(has_parent.sum(), 4)],
        "female": [head_female, ~head_female[has_spouse], rng.random(n_children.sum()) < 0.487,
                   rng.random(has_parent.sum()) < 0.65],
        "age": [head_age, spouse_age[has_spouse], child_age[present], parent_age[has_parent]],
    }
    people = {key: np.concatenate(parts) for key, parts in pieces.items()}
    order = np.lexsort((people["role"], people["household"]))
    people = {key: value[order] for key, value in people.items()}
    # ISTRI or SUAMI by the spouse's sex; the household's kind rides along for marital status.
    people["role"] = np.where((people["role"] == 1) & ~people["female"], 2, people["role"])
    people["kind"] = kind[people["household"]]
    people["n_households"] = np.array(n_households)
    return people


def generate_penduduk(scale: float = 1.0, seed: int = DEFAULT_SEED) -> pa.Table:
    """The SIAK `penduduk` table: ~310,000 x `scale` records, messy on purpose (see the module docstring)."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    started = time.monotonic()
    rng = np.random.default_rng(seed)
    ref = desa_reference()
    people = _households(rng, max(int(round(POPULATION_AT_SCALE_1 * scale)), 10))
    household, role, female, age = people["household"], people["role"], people["female"], people["age"]
    n_households, n = int(people["n_households"]), household.size

    # Desa per household: kelurahan (the kecamatan towns) ~4x a desa, and every desa its own size.
    weights = rng.lognormal(0.0, 0.45, ref["kode"].size) * np.where(ref["kelurahan"], 4.0, 1.0)
    hh_desa = rng.choice(ref["kode"].size, size=n_households, p=weights / weights.sum())
    desa = hh_desa[household]
    kecamatan = ref["kecamatan"][desa]

    # Birth dates: age in years before the reference date, to the day.
    ref_day = _days(TANGGAL_REFERENSI)
    born = ref_day - np.floor(age * 365.2425).astype(np.int64) - 1
    born = np.minimum(born, ref_day)

    # NIK: region of registration (mostly where the household lives), birth date (+40 women), serial.
    reg_kecamatan = np.where(rng.random(n) < SHARE_NIK_OTHER_KECAMATAN, rng.integers(1, 11, n), kecamatan)
    nik_prefix = 640100 + reg_kecamatan
    nik_date = _ddmmyy(born, female)
    nik_serial = _serials(nik_prefix * 1_000_000 + nik_date, rng)
    nik = _digits16(nik_prefix, nik_date, nik_serial)

    # KK: issued in the household's kecamatan on a date after the head turned 17, since 2005.
    head_born = born[role == 0]  # one head per household, households in order
    first_issue = np.maximum(head_born + int(17 * 365.25), _days(dt.date(2005, 1, 1)))
    issued = first_issue + (rng.random(n_households) * (ref_day - 30 - first_issue)).astype(np.int64)
    kk_prefix = 640100 + ref["kecamatan"][hh_desa]
    kk_date = _ddmmyy(issued, np.zeros(n_households, dtype=bool))
    kk = _digits16(kk_prefix, kk_date, _serials(kk_prefix * 1_000_000 + kk_date, rng))  # per household

    whole_age = np.floor(age).astype(np.int64)
    agama = _choose(rng, len(AGAMA), AGAMA_WEIGHTS, n_households)[household]
    agama = np.where(rng.random(n) < 0.01, _choose(rng, len(AGAMA), AGAMA_WEIGHTS, n), agama)  # mixed households exist

    # Education by age: school levels for the young, an adult mix that is better for the young.
    adult_mix = rng.choice(10, size=n, p=[0.06, 0.13, 0.25, 0.19, 0.25, 0.015, 0.025, 0.07, 0.008, 0.002])
    older = whole_age >= 50
    adult_mix = np.where(older & (adult_mix >= 4) & (rng.random(n) < 0.5), rng.choice([1, 2, 3], size=n), adult_mix)
    level = np.select(
        [whole_age < 5, whole_age < 13, whole_age < 16, whole_age < 19, whole_age < 23],
        [0, 1, 2, 3, np.maximum(4 * (adult_mix >= 4), np.minimum(adult_mix, 4))],
        adult_mix,
    )
    level = np.where((whole_age >= 5) & (whole_age < 7) & (rng.random(n) < 0.4), 0, level)

    # Occupation: index into PEKERJAAN (the special cases first, then the adult jobs).
    jobs = len(PEKERJAAN_KHUSUS) + np.where(female, _choose(rng, len(PEKERJAAN_DEWASA), PEKERJAAN_PEREMPUAN, n),
                                             _choose(rng, len(PEKERJAAN_DEWASA), PEKERJAAN_LAKI, n))
    homemaker = female & (role != 3) & (rng.random(n) < 0.55)
    job = np.select(
        [whole_age < 5, whole_age < 19, (whole_age < 23) & (rng.random(n) < 0.4), homemaker,
         (whole_age >= 58) & (rng.random(n) < 0.5), rng.random(n) < 0.06],
        [0, 1, 1, 2, 3, 0],
        jobs,
    )

    kind = people["kind"]
    widowed = (whole_age >= 55) & (rng.random(n) < 0.6)
    kawin = np.select(  # index into STATUS_KAWIN
        [role == 3, (role == 1) | (role == 2), (role == 0) & (kind == 1), role == 4,
         (role == 0) & (kind == 2) & widowed, (role == 0) & (kind == 2), (role == 0) & widowed,
         (role == 0) & (rng.random(n) < 0.15)],
        [0, 1, 1, 3, 3, 2, 3, 2],
        0,
    )

    # Records kept after a death (mostly the old) or a move out of Paser (mostly young adults).
    death_p = np.where(whole_age >= 65, 0.07, np.where(whole_age >= 45, 0.012, 0.002))
    move_p = np.where((whole_age >= 18) & (whole_age < 40), 0.035, 0.01)
    roll = rng.random(n)
    status = np.where(roll < death_p, 1, np.where(roll < death_p + move_p, 2, 0))

    # Last change: skewed to recent years, never before birth; working hours WITA.
    start = _days(dt.date(2012, 1, 1))
    changed_day = start + (rng.beta(2.2, 1.0, n) * (ref_day - 1 - start)).astype(np.int64)
    changed_day = np.clip(np.maximum(changed_day, born + rng.integers(1, 60, n)), None, ref_day - 1)
    seconds = changed_day * 86_400 + 8 * 3600 + rng.integers(0, 8 * 3600, n)

    # Messy desa codes, exact counts of records (see the module docstring). The stored value is an
    # index into `spellings`: the Kemendagri codes, then the alternative codes, the names, the bad codes.
    n_desa = ref["kode"].size
    spellings = np.concatenate([ref["kode"], ref["alt_code"], ref["alt_name"], np.asarray(UNRESOLVABLE_CODES, dtype=object)])
    stored = desa.copy()
    spare = rng.permutation(n)
    n_alt, n_name, n_bad = (int(round(rate * n)) for rate in (RATE_ALT_CODE, RATE_NAME, RATE_UNRESOLVABLE))
    alt_rows = spare[:n_alt]
    alt_rows = alt_rows[ref["alt_code"][desa[alt_rows]] != ""]
    stored[alt_rows] = n_desa + desa[alt_rows]
    name_rows = spare[n_alt:n_alt + n_name]
    name_rows = name_rows[ref["alt_name"][desa[name_rows]] != ""]
    stored[name_rows] = 2 * n_desa + desa[name_rows]
    bad_rows = spare[n_alt + n_name:n_alt + n_name + n_bad]
    stored[bad_rows] = 3 * n_desa + rng.integers(0, len(UNRESOLVABLE_CODES), bad_rows.size)

    # Late corrections: an older copy of the record with the spelling, education or job before the fix.
    n_dup = int(round(RATE_DUPLICATE * n))
    dup = np.sort(rng.choice(n, size=n_dup, replace=False))
    fix = rng.integers(0, 3, n_dup)
    older_seconds = seconds[dup] - rng.integers(30, 700, n_dup) * 86_400
    # The correction itself came later: the newer copy is at least a month newer than the older one.
    seconds[dup] = np.minimum(np.maximum(seconds[dup], older_seconds + 30 * 86_400), ref_day * 86_400 - 1)
    older_level = np.where(fix == 1, np.maximum(level[dup] - 1, 0), level[dup])
    older_job = np.where(fix == 2, np.where(job[dup] == 0, len(PEKERJAAN_KHUSUS) + 2, 0), job[dup])

    def columns(rows: np.ndarray | slice, *, levels: np.ndarray, jobs_: np.ndarray, stamps: np.ndarray) -> dict[str, pa.Array]:
        return {
            "nik": nik.take(pa.array(np.arange(n)[rows])),
            "no_kk": kk.take(pa.array(household[rows])),
            "nama_lengkap": nama.take(pa.array(np.arange(n)[rows])),
            "tanggal_lahir": pa.array(born[rows].astype(np.int32), pa.date32()),
            "jenis_kelamin": _text(female[rows].astype(np.int64), ("L", "P")),
            "agama": _text(agama[rows], AGAMA),
            "pendidikan": _text(levels, PENDIDIKAN),
            "pekerjaan": _text(jobs_, PEKERJAAN),
            "status_kawin": _text(kawin[rows], STATUS_KAWIN),
            "hubungan_keluarga": _text(role[rows], HUBUNGAN_KELUARGA),
            "kode_desa": _text(stored[rows], spellings),
            "status": _text(status[rows], STATUS),
            "diubah_pada": pa.array(stamps * 1_000_000, pa.timestamp("us")),
        }

    nama = _names(rng, female)
    current = pa.table(columns(slice(None), levels=level, jobs_=job, stamps=seconds))
    older = columns(dup, levels=older_level, jobs_=older_job, stamps=older_seconds)
    misspelt = older["nama_lengkap"]
    for right, wrong in SPELLING_VARIANTS:
        misspelt = pc.replace_substring(misspelt, right, wrong)
    misspelt = pc.if_else(pc.equal(misspelt, older["nama_lengkap"]), pc.binary_join_element_wise(misspelt, "H", ""), misspelt)
    older["nama_lengkap"] = pc.if_else(pa.array(fix == 0), misspelt, older["nama_lengkap"])
    # The export lists a person's rows together, the corrected record first and the stale copy after it
    # (the ingestion core keeps the first row of a repeated key and quarantines the other).
    order = np.argsort(np.r_[np.arange(n), dup + 0.5], kind="stable")
    table = pa.concat_tables([current, pa.table(older)]).take(pa.array(order))
    log.info("generated %d penduduk records (%d people, %d households) at scale %s in %.1f s",
             table.num_rows, n, n_households, scale, time.monotonic() - started)
    return table


# --- Helpers for other generators ------------------------------------------------------------------

def latest_records(table: pa.Table) -> pa.Table:
    """One row per NIK: the one with the latest `diubah_pada` (what the registry says today)."""
    order = pc.sort_indices(table, sort_keys=[("nik", "ascending"), ("diubah_pada", "descending")])
    ordered = table.take(order)
    nik = ordered.column("nik").to_numpy(zero_copy_only=False)
    first = np.r_[True, nik[1:] != nik[:-1]]
    return ordered.filter(pa.array(first))


def clean_desa_codes(stored: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The Kemendagri code of each stored `kode_desa` (null where it cannot be resolved)."""
    lookup = stored_code_lookup()
    values = [lookup.get(value) for value in stored.to_pylist()]
    return pa.array(values, pa.string())


def children_under_five(table: pa.Table, *, reference_date: dt.date = TANGGAL_REFERENSI) -> pa.Table:
    """Living children under five on the reference date: nik, tanggal_lahir, jenis_kelamin, kode_desa (Kemendagri).

    One row per NIK (its latest record); children whose stored desa cannot be resolved are left out.
    """
    latest = latest_records(table)
    five_years_before = dt.date(reference_date.year - 5, reference_date.month, reference_date.day)
    keep = pc.and_(
        pc.equal(latest.column("status"), "HIDUP"),
        pc.and_(pc.greater(latest.column("tanggal_lahir"), pa.scalar(five_years_before, pa.date32())),
                pc.less_equal(latest.column("tanggal_lahir"), pa.scalar(reference_date, pa.date32()))),
    )
    children = latest.filter(keep)
    result = pa.table({
        "nik": children.column("nik"),
        "tanggal_lahir": children.column("tanggal_lahir"),
        "jenis_kelamin": children.column("jenis_kelamin"),
        "kode_desa": clean_desa_codes(children.column("kode_desa")),
    })
    return result.filter(pc.is_valid(result.column("kode_desa"))).sort_by("nik")


# --- Writing and changing the registry -------------------------------------------------------------

def write_registry(uri: str, table: pa.Table, *, table_name: str = TABLE) -> None:
    """Create (or replace) the `penduduk` table with SIAK's column types at `uri` and load `table` into it."""
    parts = urlsplit(uri)
    if parts.scheme != "sqlite":
        databases.write_tables(uri, {table_name: table}, ddl={table_name: PENDUDUK_DDL})
        return
    # DuckDB creates SQLite tables with bare affinities (VARCHAR for DATE and TIMESTAMP), and the sqlite
    # kind reads the declared type: so the table is created here first (in a scratch file renamed into
    # place when full), and write_tables only inserts.
    final = Path(unquote(parts.path))
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = final.with_name(f".{final.name}.new-{os.getpid()}")
    scratch.unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(scratch)) as db, db:
        db.execute(f"CREATE TABLE {_ident(table_name)} ({', '.join(f'{_ident(c)} {t}' for c, t in PENDUDUK_DDL.items())})")
    databases.write_tables(f"sqlite:///{scratch}", {table_name: table}, ddl={table_name: PENDUDUK_DDL}, replace=False)
    os.replace(scratch, final)


def read_registry(uri: str, *, table_name: str = TABLE) -> pa.Table:
    """The whole registry table as Arrow (what `apply_changes` works from)."""
    return databases.read_table(uri, f"SELECT * FROM target.{_ident(table_name)}")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _wita_naive(at: dt.datetime) -> dt.datetime:
    return at.astimezone(WITA).replace(tzinfo=None) if at.tzinfo else at


def apply_changes(
    uri: str,
    *,
    births: int,
    deaths: int,
    moves: int,
    seed: int,
    at: dt.datetime,
    table_name: str = TABLE,
) -> dict[str, int]:
    """Apply births, deaths and moves to the written registry at `uri`; every changed row gets `diubah_pada = at`.

    Deaths (older people more likely) set status MENINGGAL; a move is within Paser (60%: a new desa,
    stored as a clean Kemendagri code) or out of Paser (status PINDAH); a birth is a new record in a
    married mother's household. Only living people whose NIK appears once are changed. Returns the
    number of records changed per kind (`{"births": .., "deaths": .., "moves": ..}`).
    """
    rng = np.random.default_rng(seed)
    stamp = _wita_naive(at)
    registry = read_registry(uri, table_name=table_name)
    nik = registry.column("nik").to_numpy(zero_copy_only=False)
    _, inverse, counts = np.unique(nik, return_inverse=True, return_counts=True)
    once = counts[inverse] == 1  # (np.isin on text is quadratic)
    alive = np.asarray(registry.column("status").to_numpy(zero_copy_only=False) == "HIDUP") & once
    born = registry.column("tanggal_lahir").cast(pa.int32()).to_numpy()
    stamp_day = _days(stamp.date())
    age = (stamp_day - born) / 365.2425
    candidates = np.flatnonzero(alive)
    if deaths + moves > candidates.size:
        raise ValueError(f"{table_name}: {deaths} deaths + {moves} moves but only {candidates.size} changeable residents")

    death_weight = np.where(age[candidates] >= 65, 30.0, np.where(age[candidates] >= 45, 5.0, 1.0))
    dead = rng.choice(candidates, size=deaths, replace=False, p=death_weight / death_weight.sum())
    remaining = np.setdiff1d(candidates, dead)
    movers = rng.choice(remaining, size=moves, replace=False)
    within = rng.random(moves) < 0.6
    ref = desa_reference()
    new_desa = ref["kode"][rng.integers(0, ref["kode"].size, moves)]

    female = registry.column("jenis_kelamin").to_numpy(zero_copy_only=False) == "P"
    married = registry.column("status_kawin").to_numpy(zero_copy_only=False) == "KAWIN"
    mothers_pool = np.setdiff1d(np.flatnonzero(alive & female & married & (age >= 18) & (age < 45)), np.r_[dead, movers])
    if births and mothers_pool.size == 0:
        raise ValueError(f"{table_name}: no married women 18-44 to give birth")
    mothers = rng.choice(mothers_pool, size=births, replace=True)
    baby_female = rng.random(births) < 0.488
    baby_born = stamp_day - rng.integers(1, 60, births)
    prefix = np.array([int(value[:6]) for value in nik[mothers]], dtype=np.int64)
    date_part = _ddmmyy(baby_born, baby_female)
    # Serials continue after the highest one the registry already has for that region and date.
    baby_keys = prefix * 1_000_000 + date_part
    registry_keys = pc.utf8_slice_codeunits(registry.column("nik"), 0, 12)
    same_group = pc.filter(registry.column("nik"), pc.is_in(registry_keys, pa.array(baby_keys.astype(str))))
    taken: dict[int, int] = {}
    for value in same_group.to_pylist():
        key = int(value[:12])
        taken[key] = max(taken.get(key, 0), int(value[12:]))
    serials = np.empty(births, dtype=np.int64)
    for index, key in enumerate(baby_keys):
        taken[int(key)] = taken.get(int(key), 0) + 1
        serials[index] = taken[int(key)]
    take = registry.take(pa.array(mothers, pa.int64())) if births else registry.slice(0, 0)
    newborns = pa.table({
        "nik": _digits16(prefix, date_part, serials),
        "no_kk": take.column("no_kk"),
        "nama_lengkap": _names(rng, baby_female),
        "tanggal_lahir": pa.array(baby_born.astype(np.int32), pa.date32()),
        "jenis_kelamin": pa.array(np.where(baby_female, "P", "L"), pa.string()),
        "agama": take.column("agama"),
        "pendidikan": pa.array(np.full(births, PENDIDIKAN[0], dtype=object), pa.string()),
        "pekerjaan": pa.array(np.full(births, "BELUM/TIDAK BEKERJA", dtype=object), pa.string()),
        "status_kawin": pa.array(np.full(births, "BELUM KAWIN", dtype=object), pa.string()),
        "hubungan_keluarga": pa.array(np.full(births, "ANAK", dtype=object), pa.string()),
        "kode_desa": take.column("kode_desa"),
        "status": pa.array(np.full(births, "HIDUP", dtype=object), pa.string()),
        "diubah_pada": pa.array([stamp] * births, pa.timestamp("us")),
    })
    # A changed record is deleted and inserted again with its new values: the SQLite scanner cannot
    # bind a timestamp in an UPDATE, and delete + insert works the same on every server.
    changed_rows = np.r_[dead, movers]
    changed = registry.take(pa.array(changed_rows, pa.int64()))
    n_changed = changed_rows.size
    is_dead = np.r_[np.ones(deaths, dtype=bool), np.zeros(moves, dtype=bool)]
    moved_out = np.r_[np.zeros(deaths, dtype=bool), ~within]
    moved_within = np.r_[np.zeros(deaths, dtype=bool), within]
    new_status = np.where(is_dead, "MENINGGAL", np.where(moved_out, "PINDAH", "HIDUP"))
    changed = changed.set_column(changed.schema.get_field_index("status"), "status",
                                 pc.if_else(pa.array(is_dead | moved_out), pa.array(new_status, pa.string()),
                                            changed.column("status")))
    changed = changed.set_column(changed.schema.get_field_index("kode_desa"), "kode_desa",
                                 pc.if_else(pa.array(moved_within), pa.array(np.r_[np.full(deaths, ""), new_desa].astype(object),
                                                                              pa.string()), changed.column("kode_desa")))
    changed = changed.set_column(changed.schema.get_field_index("diubah_pada"), "diubah_pada",
                                 pa.array([stamp] * n_changed, pa.timestamp("us")))
    columns = list(PENDUDUK_DDL)
    changed = changed.select(columns).cast(newborns.schema)
    target = f"target.{_ident(table_name)}"
    column_list = ", ".join(_ident(name) for name in columns)
    databases.execute(uri, [
        f"DELETE FROM {target} WHERE nik IN (SELECT nik FROM changed)",
        f"INSERT INTO {target} ({column_list}) SELECT {column_list} FROM changed",
        f"INSERT INTO {target} ({column_list}) SELECT {column_list} FROM newborns",
    ], tables={"changed": changed, "newborns": newborns})
    log.info("%s: %d births, %d deaths, %d moves at %s", table_name, births, deaths, moves, stamp)
    return {"births": births, "deaths": deaths, "moves": moves}


def siak_path(zones: Zones) -> Path:
    return zones.agency_systems / "disdukcapil" / "siak.db"


def write_demo(zones: Zones, *, scale: float = 1.0, seed: int = DEFAULT_SEED) -> dict[str, str]:
    """Write the embedded demo registry (SQLite) and return the connection the catalog entry needs.

    A no-op when the file was already written for the same (scale, seed): changes applied since
    (births, deaths, moves) are kept, and a second `make run` sees no new data.
    """
    path = siak_path(zones)
    marker = path.with_name("siak.json")
    uri = f"sqlite:///{path}"
    wanted = {"scale": scale, "seed": seed}
    env = {CONNECTION_ENV: uri}
    if path.exists() and marker.exists():
        try:
            if json.loads(marker.read_text(encoding="utf-8")) == wanted:
                return env
        except json.JSONDecodeError:
            log.warning("%s is unreadable: writing the demo registry again", marker)
    write_registry(uri, generate_penduduk(scale, seed))
    tmp = marker.with_name(f".{marker.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(wanted), encoding="utf-8")
    os.replace(tmp, marker)
    return env


def registry_summary(table: pa.Table) -> Mapping[str, int]:
    """Counts a reconciliation needs: records, distinct NIKs, living residents, living with an unresolvable desa."""
    latest = latest_records(table)
    living = latest.filter(pc.equal(latest.column("status"), "HIDUP"))
    unresolved = pc.sum(pc.is_null(clean_desa_codes(living.column("kode_desa")))).as_py() or 0
    return {"records": table.num_rows, "residents": latest.num_rows, "living": living.num_rows,
            "living_unresolvable": int(unresolved)}
