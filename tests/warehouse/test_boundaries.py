"""Region areas: the committed seed is what the boundaries give, and the figures are sane."""

from __future__ import annotations

import csv
import io

from warehouse.boundaries import AREA_SEED, render_area_seed, ring_area_km2


def test_area_seed_is_current() -> None:
    assert AREA_SEED.read_text(encoding="utf-8") == render_area_seed(), "run: python -m warehouse boundaries"


def test_a_one_degree_square_at_the_equator() -> None:
    # 1 deg x 1 deg at the equator is about 12,364 km2 on the authalic sphere.
    area = ring_area_km2([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]])
    assert 12_300 < area < 12_420


def test_kabupaten_area_within_official_range_and_parts_add_up() -> None:
    rows = list(csv.DictReader(io.StringIO(render_area_seed())))
    by_level: dict[str, float] = {}
    for row in rows:
        by_level[row["level"]] = by_level.get(row["level"], 0.0) + float(row["luas_km2"])
    assert len([r for r in rows if r["level"] == "desa_kelurahan"]) == 144
    # Official figures for Paser range from 10,716 to 11,604 km2 by source.
    assert 10_500 < by_level["kabupaten"] < 11_700
    # Kecamatan and desa tile the kabupaten (simplified boundaries: within 1 %).
    for level in ("kecamatan", "desa_kelurahan"):
        assert abs(by_level[level] - by_level["kabupaten"]) / by_level["kabupaten"] < 0.01
