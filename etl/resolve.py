"""Resolve: place names and identities → the keys of the database.

Districts and streets resolve against the hierarchy (short names such as 长宁 or 江苏路 are
accepted when they name exactly one unit); anything that cannot be resolved is an error with its
reason, never a guess.  Enterprises resolve by USCC, else by normalised name within their street.
All functions here are pure: the division tree and the registry arrive as in-memory lookups.
"""
from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from etl.divisions import DivisionTree

STREET_SUFFIXES = ("街道办事处", "街道", "地区办事处", "镇", "乡", "地区")
DISTRICT_SUFFIXES = ("新区", "区", "县")


def _core(name: str, suffixes: tuple[str, ...]) -> str:
    name = name.replace(" ", "")
    for prefix in ("上海市", "上海"):
        if name.startswith(prefix) and len(name) > len(prefix) + 1:
            name = name[len(prefix):]
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


COMMUNITY_SUFFIXES = ("居民委员会", "村民委员会", "居委会", "村委会", "居委", "村委", "社区")


@dataclass
class Hierarchy:
    """Name → code lookups over the division tree (etl.divisions), which it keeps as ``tree``."""

    tree: DivisionTree
    district_by_key: dict[str, str] = field(default_factory=dict)
    streets_by_key: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    community_by_key: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def from_frame(cls, divisions: pd.DataFrame) -> "Hierarchy":
        return cls.from_tree(DivisionTree.from_rows(
            divisions[["code", "name", "level", "parent_code"]].itertuples(index=False)))

    @classmethod
    def load(cls, session: Session) -> "Hierarchy":
        return cls.from_tree(DivisionTree.load(session))

    @classmethod
    def from_tree(cls, tree: DivisionTree) -> "Hierarchy":
        h = cls(tree)
        for code, name in tree.name.items():
            level, parent = tree.level[code], tree.parent[code]
            if level == "district":
                for key in {name, _core(name, DISTRICT_SUFFIXES), code}:
                    h.district_by_key[key] = code
            elif level == "street":
                for key in {name, _core(name, STREET_SUFFIXES), code}:
                    h.streets_by_key[key].append(code)
            elif level == "community" and parent:
                for key in {name, _core(name, COMMUNITY_SUFFIXES), code}:
                    h.community_by_key[(parent, key)] = code
        return h

    @property
    def names(self) -> dict[str, str]:
        return self.tree.name

    @property
    def levels(self) -> dict[str, str]:
        return self.tree.level

    @property
    def parents(self) -> dict[str, str | None]:
        return self.tree.parent

    def district_of(self, code: str | None) -> str | None:
        return self.tree.ancestor(code, "district")

    def resolve_district(self, text: str | None) -> tuple[str | None, str | None]:
        if not isinstance(text, str):
            return None, None
        compact = re.sub(r"\s", "", text)
        for key in (compact, _core(compact, DISTRICT_SUFFIXES)):
            if key in self.district_by_key:
                return self.district_by_key[key], None
        return None, "district_unknown"

    def resolve_street(self, text: str | None, district: str | None) -> tuple[str | None, str | None]:
        if not isinstance(text, str):
            return None, None
        compact = re.sub(r"\s", "", text)
        candidates: list[str] = []
        for key in (compact, _core(compact, STREET_SUFFIXES)):
            candidates = list(dict.fromkeys(self.streets_by_key.get(key, [])))
            if candidates:
                break
        if not candidates:
            return None, "street_unknown"
        if district is not None:
            inside = [c for c in candidates if self.parents.get(c) == district]
            if not inside:
                return None, "street_not_in_district"
            candidates = inside
        if len(candidates) > 1:
            return None, "street_ambiguous"
        return candidates[0], None

    def resolve_community(self, text: str | None, street: str | None) -> str | None:
        if not isinstance(text, str) or not isinstance(street, str):
            return None
        compact = re.sub(r"\s", "", text)
        return self.community_by_key.get((street, compact)) or self.community_by_key.get(
            (street, _core(compact, COMMUNITY_SUFFIXES))
        )


def _errors(index: pd.Index, codes: np.ndarray, field_name: str, raw: pd.Series) -> pd.DataFrame:
    bad = pd.notna(codes)
    return pd.DataFrame({"idx": index[bad], "field": field_name, "code": codes[bad], "value": raw[bad].to_numpy()})


def resolve_divisions(frame: pd.DataFrame, hierarchy: Hierarchy) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Adds district_code and street_code; errors for names that do not resolve."""
    out = frame.copy(deep=False)  # copy-on-write: the caller's frame keeps its columns
    empty = pd.Series(None, index=frame.index, dtype=object)
    district_text = frame["district"] if "district" in frame else empty
    street_text = frame["street"] if "street" in frame else empty

    d_codes, d_uniques = pd.factorize(district_text, use_na_sentinel=True)
    s_codes, s_uniques = pd.factorize(street_text, use_na_sentinel=True)
    pair_codes = (d_codes.astype(np.int64) + 1) * (len(s_uniques) + 1) + (s_codes.astype(np.int64) + 1)
    codes, pairs = pd.factorize(pair_codes)
    table = []
    for pair in pairs:
        d_i, s_i = divmod(int(pair), len(s_uniques) + 1)
        d_text = d_uniques[d_i - 1] if d_i else None
        s_text = s_uniques[s_i - 1] if s_i else None
        d_code, d_err = hierarchy.resolve_district(d_text)
        s_code, s_err = hierarchy.resolve_street(s_text, d_code)
        if s_code is not None:
            d_code = hierarchy.parents.get(s_code)
        table.append((d_code, s_code, d_err, s_err))
    lookup = np.array(table, dtype=object).reshape(-1, 4)
    out["district_code"] = lookup[codes, 0]
    out["street_code"] = lookup[codes, 1]
    errors = pd.concat([_errors(frame.index, lookup[codes, 2], "district", district_text),
                        _errors(frame.index, lookup[codes, 3], "street", street_text)], ignore_index=True)
    return out, errors


class EnterpriseRegistry:
    """Enterprises of the registry (those a file's rows can match: etl.store.enterprise_registry) and the
    lookups rows are matched by, each built when first used."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame  # id, uscc, street_code, name_key, building_id, from_registry, registered_at

    @property
    def empty(self) -> bool:
        return self.frame.empty

    @functools.cached_property
    def by_uscc(self) -> pd.Series:
        return self.frame.dropna(subset=["uscc"]).set_index("uscc")["id"]

    @functools.cached_property
    def by_street_name(self) -> pd.Series:
        """(street_code, name_key) → id, for the pairs held by one enterprise only."""
        return self.frame.drop_duplicates(["street_code", "name_key"], keep=False).set_index(["street_code", "name_key"])["id"]

    @functools.cached_property
    def by_unique_name(self) -> pd.Series:
        """name_key → id, for the names held by one enterprise of the city only."""
        return self.frame.drop_duplicates("name_key", keep=False).set_index("name_key")["id"]

    @functools.cached_property
    def uscc_of(self) -> pd.Series:
        return self.frame.set_index("id")["uscc"]

    @functools.cached_property
    def street_of(self) -> pd.Series:
        return self.frame.set_index("id")["street_code"]


def match_enterprises(frame: pd.DataFrame, registry: EnterpriseRegistry, name_anywhere: bool = False) -> pd.Series:
    """Registry enterprise id for each row: by USCC, else name within street, else a city-unique name.

    A row with a credit code found by name only matches an enterprise registered without a code (one with
    another code is another enterprise).

    The city-unique name applies to rows without a street, and with ``name_anywhere`` to rows whose
    street holds no such name (a person registered by the street they live in, not where they work).
    """
    result = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    if registry.empty:
        return result
    if "uscc" in frame:
        result = frame["uscc"].map(registry.by_uscc).astype("Int64")
    if "name_key" not in frame:
        return result
    need = result.isna() & frame["name_key"].notna()
    if not need.any():
        return result
    keys = pd.MultiIndex.from_arrays([frame.loc[need, "street_code"], frame.loc[need, "name_key"]])
    found = pd.Series(registry.by_street_name.reindex(keys).to_numpy(), index=frame.index[need])
    result[need] = found.astype("Int64")
    need = result.isna() & frame["name_key"].notna()
    if not name_anywhere:
        need &= frame["street_code"].isna()
    if need.any():
        result[need] = frame.loc[need, "name_key"].map(registry.by_unique_name).astype("Int64")
    if "uscc" in frame:
        # A row that gives a credit code is that enterprise: its name may only find one registered without a code.
        coded = frame["uscc"].notna() & result.notna()
        if coded.any():
            theirs = result[coded].map(registry.uscc_of)
            conflict = theirs.notna() & (theirs != frame.loc[coded, "uscc"])
            result[conflict[conflict].index] = pd.NA
    return result
