"""`onenet boundaries`: load polygons of any level (GeoJSON, Shapefile, GeoPackage) for the dashboard's map."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.orm import Session


def cmd_boundaries(args: argparse.Namespace) -> int:
    from etl.boundaries import import_boundaries, read_boundaries  # noqa: PLC0415
    from etl.cli import engine_from_args  # noqa: PLC0415

    path = Path(args.path)
    print(f"reading {path} …", file=sys.stderr, flush=True)
    try:
        gdf = read_boundaries(path, args.level, args.code_field, args.name_field, args.parent_field, layer=args.layer)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    errors: list[str] = []
    with Session(engine_from_args(args)) as session, session.begin():
        count = import_boundaries(session, gdf, source=path.name, errors=errors)
    for message in errors:
        print(f"skipped: {message}", file=sys.stderr)
    print(f"{count} boundaries loaded from {path.name}" + (f", {len(errors)} skipped" if errors else ""))
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("boundaries", help="load unit polygons (GeoJSON, Shapefile, GeoPackage) for the map")
    p.add_argument("path")
    p.add_argument("--level", choices=("district", "street", "community"), help="level of every feature (default: from a level column or the code length)")
    p.add_argument("--code-field", help="attribute holding the division code (default: found by name)")
    p.add_argument("--name-field", help="attribute holding the unit name")
    p.add_argument("--parent-field", help="attribute holding the parent's code")
    p.add_argument("--layer", help="layer of a GeoPackage")
    p.set_defaults(func=cmd_boundaries)
