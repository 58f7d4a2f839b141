"""Code lists that `references:` in a catalog contract checks values against.

Each list is one column of a CSV under `seeds/reference/` (the same files dbt seeds), read as text
so codes such as `64.01.01` or `160101` are compared exactly as written.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from ingestion.catalog import REPO_ROOT

REFERENCE_DIR = REPO_ROOT / "seeds" / "reference"

# list name (catalog `references:`) -> (file under seeds/reference/, column holding the code)
REFERENCE_LISTS: dict[str, tuple[str, str]] = {
    "kecamatan_kemendagri": ("paser_kecamatan_kemendagri.csv", "kode_kemendagri"),
    "kecamatan_kemdikbud": ("paser_kecamatan_crosswalk.csv", "kode_kec_kemdikbud_2019"),
    "kecamatan_bps": ("paser_kecamatan_crosswalk.csv", "kode_bps_bridging_2024"),
    "desa_kemendagri": ("paser_desa_kelurahan_kemendagri.csv", "kode_kemendagri"),
    "desa_bps": ("paser_desa_crosswalk.csv", "kode_bps_bridging_2024"),
    "desa_kpu": ("paser_desa_crosswalk.csv", "id_desa_kpu_2024"),
}


def load_reference(name: str, reference_dir: Path | None = None) -> frozenset[str]:
    """The codes of one reference list, as text (blank cells are not codes)."""
    if name not in REFERENCE_LISTS:
        raise KeyError(f"unknown reference list '{name}' (known: {', '.join(sorted(REFERENCE_LISTS))})")
    return _read_codes(Path(reference_dir) if reference_dir else REFERENCE_DIR, name)


@lru_cache(maxsize=32)
def _read_codes(folder: Path, name: str) -> frozenset[str]:
    file_name, column = REFERENCE_LISTS[name]
    path = folder / file_name
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if column not in (reader.fieldnames or []):
            raise ValueError(f"{path}: reference list '{name}' needs column '{column}', found {reader.fieldnames}")
        codes = frozenset(row[column].strip() for row in reader if row[column] and row[column].strip())
    if not codes:
        raise ValueError(f"{path}: reference list '{name}' (column '{column}') is empty")
    return codes
