"""`python -m warehouse sources|boundaries|build|docs`: the warehouse room's own command line.

sources     regenerate models/staging/<agency>/_<agency>__sources.yml from the catalog
boundaries  recompute seeds/reference/paser_wilayah_luas.csv (areas) from the boundary files
build       run a staged dbt build over the committed raw batches (--force: even if unchanged)
docs        write the dbt docs of the current build as one static HTML file
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from ingestion.catalog import load_catalog
from ingestion.zones import Zones


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m warehouse", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("sources", help="regenerate the dbt sources files from the catalog")
    commands.add_parser("boundaries", help="recompute the region areas seed from the boundary files")
    build = commands.add_parser("build", help="build the warehouse from the committed raw batches")
    build.add_argument("--force", action="store_true", help="build even if the inputs did not change")
    docs = commands.add_parser("docs", help="generate static dbt docs of the current build")
    docs.add_argument("out_dir", type=Path, help="folder to write index.html into (created if missing)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if args.command == "boundaries":
        from warehouse.boundaries import write_area_seed

        print(f"wrote {write_area_seed()}")  # noqa: T201
        return 0
    catalog = load_catalog()
    if args.command == "sources":
        from warehouse.sources import write_sources

        changed = write_sources(catalog)
        print(f"{len(changed)} sources file(s) changed")  # noqa: T201
        return 0

    from warehouse.build import BuildFailed, build_warehouse, generate_docs

    zones = Zones.from_env()
    if args.command == "build":
        try:
            result = build_warehouse(zones, catalog, force=args.force)
        except BuildFailed as exc:
            print(f"build failed: {exc}", file=sys.stderr)  # noqa: T201
            return 1
        print("nothing to do: inputs unchanged" if result is None else json.dumps(result, indent=2))  # noqa: T201
        return 0
    print(generate_docs(zones, args.out_dir))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
