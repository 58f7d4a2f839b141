"""Areas of Paser's regions from their boundaries: seeds/reference/paser_wilayah_luas.csv.

DuckDB's spatial extension cannot be installed offline here, so the area (luas) is computed once
in Python from the cahyadsn boundaries (GeoJSON, lon/lat) and committed as a seed; a test fails when
the seed differs from what the boundaries give. The area is geodesic on the WGS84 authalic sphere
(R = 6371.0072 km), by the spherical-excess line integral over each ring (holes subtract). The
boundaries are simplified, so areas are approximate (they are stated as such in dim_wilayah), and
official figures differ by source anyway (10,716 to 11,604 km2 for the kabupaten).

    python -m warehouse boundaries      # rewrite the seed after the boundaries change
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from ingestion.catalog import REPO_ROOT

BOUNDARIES_DIR = REPO_ROOT / "seeds" / "reference" / "boundaries"
AREA_SEED = REPO_ROOT / "seeds" / "reference" / "paser_wilayah_luas.csv"
EARTH_RADIUS_KM = 6371.0072  # authalic radius of WGS84: a sphere with the ellipsoid's surface area
FILES = {
    "kabupaten": "paser_kabupaten_boundary_cahyadsn.geojson",
    "kecamatan": "paser_kecamatan_boundaries_cahyadsn.geojson",
    "desa_kelurahan": "paser_desa_boundaries_cahyadsn.geojson",
}


def ring_area_km2(ring: list[list[float]]) -> float:
    """Unsigned geodesic area of one closed ring of [lon, lat] points, in km2."""
    total = 0.0
    for (lon1, lat1), (lon2, lat2) in zip(ring, ring[1:] + ring[:1], strict=True):
        total += math.radians(lon2 - lon1) * (2 + math.sin(math.radians(lat1)) + math.sin(math.radians(lat2)))
    return abs(total) * EARTH_RADIUS_KM**2 / 2


def geometry_area_km2(geometry: dict) -> float:
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    area = 0.0
    for polygon in polygons:
        outer, *holes = polygon
        area += ring_area_km2(outer) - sum(ring_area_km2(hole) for hole in holes)
    return area


def render_area_seed(boundaries_dir: Path = BOUNDARIES_DIR) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["level", "kode_kemendagri", "luas_km2", "sumber"])
    for level, name in FILES.items():
        features = json.loads((boundaries_dir / name).read_text(encoding="utf-8"))["features"]
        for feature in sorted(features, key=lambda f: f["properties"]["kode"]):
            area = geometry_area_km2(feature["geometry"])
            writer.writerow([level, feature["properties"]["kode"], f"{area:.2f}", f"dihitung dari {name}"])
    return out.getvalue()


def write_area_seed() -> Path:
    AREA_SEED.write_text(render_area_seed(), encoding="utf-8")
    return AREA_SEED
