"""Where things are: street areas inside the real district polygons, and building coordinates.

Street polygons are not public, so the demo city cuts each district into one Voronoi cell per
street (seeds relaxed a few Lloyd steps so cells are even), clipped to the district.  Buildings
are drawn inside their street's cell and therefore strictly inside their district's polygon —
coordinates are rounded to 6 decimals *before* the inside test, so what is written is inside.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Point, mapping, shape
from shapely.geometry.base import BaseGeometry

from etl import config

BOUNDARY_FILE = config.SHIPPED_DATA_DIR / "boundaries" / "shanghai_districts.geojson"
INWARD = 0.0006  # degrees (~60 m): keep buildings off the very edge of the district
DIGITS = 6


def load_districts(path: Path = BOUNDARY_FILE, wait_seconds: float = 0.0) -> dict[str, BaseGeometry]:
    """District code → polygon (WGS 84) from the shipped GeoJSON (waits for it if asked)."""
    deadline = time.monotonic() + wait_seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(2.0)
    if not path.exists():
        raise FileNotFoundError(f"district boundaries not found: {path}")
    data = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, BaseGeometry] = {}
    for feat in data["features"]:
        props = feat.get("properties") or {}
        code = str(props.get("code") or props.get("adcode") or "")
        if code:
            geom = shape(feat["geometry"])
            out[code] = geom if geom.is_valid else geom.buffer(0)
    return out


def sample_in(geom: BaseGeometry, n: int, rng: np.random.Generator, digits: int = DIGITS) -> np.ndarray:
    """n points (lng, lat), rounded to ``digits``, each strictly inside ``geom`` (rejection sampling)."""
    out = np.empty((0, 2))
    if n <= 0:
        return out
    shapely.prepare(geom)
    minx, miny, maxx, maxy = geom.bounds
    ratio = max(geom.area / max((maxx - minx) * (maxy - miny), 1e-12), 0.01)
    tries = 0
    while len(out) < n:
        m = int((n - len(out)) / ratio * 1.3) + 16
        xs = np.round(rng.uniform(minx, maxx, m), digits)
        ys = np.round(rng.uniform(miny, maxy, m), digits)
        inside = shapely.contains_xy(geom, xs, ys)
        out = np.vstack([out, np.column_stack([xs[inside], ys[inside]])])
        tries += 1
        if tries > 200:
            raise RuntimeError("cannot sample points inside polygon")
    return out[:n]


def sample_near(geom: BaseGeometry, centre: tuple[float, float], spread: float, n: int,
                rng: np.random.Generator, digits: int = DIGITS) -> np.ndarray:
    """n points around ``centre`` (Gaussian, ``spread`` degrees), kept only where inside ``geom``."""
    out = np.empty((0, 2))
    if n <= 0:
        return out
    shapely.prepare(geom)
    for _ in range(30):
        m = (n - len(out)) * 2 + 16
        xs = np.round(rng.normal(centre[0], spread, m), digits)
        ys = np.round(rng.normal(centre[1], spread, m), digits)
        inside = shapely.contains_xy(geom, xs, ys)
        out = np.vstack([out, np.column_stack([xs[inside], ys[inside]])])
        if len(out) >= n:
            return out[:n]
    return np.vstack([out, sample_in(geom, n - len(out), rng, digits)])[:n]


def street_cells(district: BaseGeometry, street_codes: list[str], rng: np.random.Generator,
                 weights: np.ndarray | None = None) -> dict[str, BaseGeometry]:
    """One clipped Voronoi cell per street, covering the district (inward-buffered)."""
    inner = district.buffer(-INWARD)
    if inner.is_empty or inner.area < district.area * 0.3:
        inner = district
    n = len(street_codes)
    if n == 1:
        return {street_codes[0]: inner}
    seeds = sample_in(inner, n, rng)
    envelope = inner.envelope.buffer(0.05)
    for _ in range(4):  # Lloyd relaxation: move each seed to its cell's centre
        cells = _voronoi(seeds, envelope, inner)
        new = []
        for cell, seed in zip(cells, seeds):
            if cell.is_empty:
                new.append(seed)
                continue
            c = cell.centroid
            if not cell.contains(c):
                c = cell.point_on_surface()
            new.append((round(c.x, DIGITS), round(c.y, DIGITS)))
        seeds = np.array(new)
    cells = _voronoi(seeds, envelope, inner)
    out = {}
    for code, cell, seed in zip(street_codes, cells, seeds):
        if cell.is_empty or cell.area < inner.area * 1e-4:
            cell = Point(seed).buffer(0.003).intersection(inner)
        out[code] = cell
    return out


def _voronoi(seeds: np.ndarray, envelope: BaseGeometry, clip: BaseGeometry) -> list[BaseGeometry]:
    regions = shapely.voronoi_polygons(MultiPoint([tuple(s) for s in seeds]), extend_to=envelope, ordered=True)
    return [g.intersection(clip) for g in regions.geoms]


def cells_geojson(cells: dict[str, BaseGeometry], names: dict[str, str], parents: dict[str, str]) -> dict:
    """The synthetic street cells as a GeoJSON FeatureCollection (code, name, level, parent)."""
    feats = []
    for code, geom in cells.items():
        geom = shapely.set_precision(geom.simplify(0.0005), 1e-6)
        feats.append({
            "type": "Feature",
            "properties": {"code": code, "name": names[code], "level": "street", "parent": parents[code],
                           "synthetic": True},
            "geometry": mapping(geom),
        })
    return {"type": "FeatureCollection", "features": feats}
