"""Map geometry: unit polygons (loaded boundaries, else the shipped district polygons) and points."""
from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import shapely.geometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schemas.models import Boundary, Building


@lru_cache(maxsize=1)
def _shipped_districts() -> dict[str, Any]:
    from etl.boundaries import SHANGHAI_DISTRICTS_PATH  # noqa: PLC0415

    data = json.loads(SHANGHAI_DISTRICTS_PATH.read_text(encoding="utf-8"))
    feats = []
    for f in data.get("features", []):
        props = f.get("properties") or {}
        code = str(props.get("code") or props.get("adcode") or "")
        if code:
            feats.append({"type": "Feature", "id": code, "properties": {"code": code}, "geometry": f["geometry"]})
    return {"type": "FeatureCollection", "features": feats}


def boundaries(session: Session, codes: Iterable[str]) -> dict[str, Any]:
    """GeoJSON of the units that have polygons (Boundary table; shipped district polygons otherwise)."""
    wanted = set(codes)
    feats = []
    found: set[str] = set()
    rows = session.execute(select(Boundary.code, Boundary.geometry).where(Boundary.code.in_(sorted(wanted)))).all()
    for code, geometry in rows:
        feats.append({"type": "Feature", "id": code, "properties": {"code": code}, "geometry": json.loads(geometry)})
        found.add(code)
    for f in _shipped_districts()["features"]:
        if f["id"] in wanted and f["id"] not in found:
            feats.append(f)
    return {"type": "FeatureCollection", "features": feats}


def surroundings(session: Session, district: str | None, reach: float = 0.25) -> dict[str, Any]:
    """A district's polygon (``properties.focus``) and its neighbours': the background of a district's or a street's map.

    Neighbours are the districts whose bounding box meets the district's, widened by ``reach`` times its size;
    loaded district boundaries win over the shipped ones.  Empty when the district has no polygon.
    """
    if not district:
        return {"type": "FeatureCollection", "features": []}
    loaded = {code: json.loads(geometry) for code, geometry in
              session.execute(select(Boundary.code, Boundary.geometry).where(Boundary.level == "district"))}
    geometries = {f["id"]: f["geometry"] for f in _shipped_districts()["features"]} | loaded
    if district not in geometries:
        return {"type": "FeatureCollection", "features": []}
    x0, y0, x1, y1 = shapely.geometry.shape(geometries[district]).bounds
    pad = reach * max(x1 - x0, y1 - y0)
    feats = []
    for code, geometry in geometries.items():
        a0, b0, a1, b1 = shapely.geometry.shape(geometry).bounds
        if a0 <= x1 + pad and a1 >= x0 - pad and b0 <= y1 + pad and b1 >= y0 - pad:
            feats.append({"type": "Feature", "id": code, "properties": {"code": code, "focus": code == district},
                          "geometry": geometry})
    feats.sort(key=lambda f: f["properties"]["focus"])  # the district itself drawn last, over its neighbours
    return {"type": "FeatureCollection", "features": feats}


def unit_points(session: Session, codes: Iterable[str]) -> dict[str, tuple[float, float]]:
    """A point per unit (for units without a polygon): its boundary centroid, else the mean of its buildings."""
    wanted = sorted(set(codes))
    out: dict[str, tuple[float, float]] = {}
    for code, lng, lat in session.execute(select(Boundary.code, Boundary.centroid_lng, Boundary.centroid_lat)
                                          .where(Boundary.code.in_(wanted))):
        if lng is not None and lat is not None:
            out[code] = (lng, lat)
    rest = [c for c in wanted if c not in out]
    if rest:
        for code, lng, lat in session.execute(
                select(Building.street_code, func.avg(Building.lng), func.avg(Building.lat))
                .where(Building.street_code.in_(rest), Building.lng.is_not(None), Building.lat.is_not(None))
                .group_by(Building.street_code)):
            out[code] = (float(lng), float(lat))
    return out

