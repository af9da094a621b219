"""The division tree (行政区划) in memory: codes, names, levels, parents, children, and the walks over them.

Loaded once from the ``division`` table; name resolution (etl.resolve), a user's scope (etl.scope),
the figures' roll-up (etl.figures) and the dashboard's navigation all walk this one tree.  The city is
its root even where the table holds no row for it (``config.CITY_CODE``).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from etl import config
from schemas.models import Division

LEVELS = ("city", "district", "street", "community")
SUB_LEVEL = {"city": "district", "district": "street", "street": "community"}


class UnknownDivision(ValueError):
    """A division code or name that the division table does not hold (or holds more than once)."""


@dataclass(frozen=True)
class DivisionTree:
    name: dict[str, str]
    level: dict[str, str]
    parent: dict[str, str | None]
    children: dict[str, list[str]]

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, str, str | None]]) -> DivisionTree:
        """From (code, name, level, parent_code) rows; a missing parent (None, NaN, '') is none."""
        name: dict[str, str] = {}
        level: dict[str, str] = {}
        parent: dict[str, str | None] = {}
        children: dict[str, list[str]] = {}
        for code, unit_name, unit_level, parent_code in rows:
            up = parent_code if isinstance(parent_code, str) and parent_code else None
            name[code], level[code], parent[code] = unit_name, unit_level, up
            if up is not None:
                children.setdefault(up, []).append(code)
        return cls(name, level, parent, children)

    @classmethod
    def load(cls, session: Session) -> DivisionTree:
        return cls.from_rows(session.execute(select(Division.code, Division.name, Division.level, Division.parent_code)).all())

    def __contains__(self, code: object) -> bool:
        return code in self.level

    def level_of(self, code: str | None) -> str:
        """A unit's level; the city code (and None) is the city even without a row."""
        return "city" if code is None or code == config.CITY_CODE else self.level.get(code, "")

    def display(self, code: str) -> str:
        return self.name.get(code, config.CITY_NAME if code == config.CITY_CODE else code)

    def codes_at(self, level: str) -> list[str]:
        return sorted(c for c, lvl in self.level.items() if lvl == level)

    def ancestor(self, code: str | None, wanted: str) -> str | None:
        """The unit of level ``wanted`` that holds ``code`` (itself if it is of that level), else None."""
        seen: set[str] = set()
        while code is not None and self.level.get(code) != wanted and code not in seen:
            seen.add(code)
            code = self.parent.get(code)
        return code if code is not None and self.level.get(code) == wanted else None

    def unit_of(self, code: str | None, level: str) -> str | None:
        """The unit of ``level`` (the city for "city") a code counts in."""
        return config.CITY_CODE if level == "city" else self.ancestor(code, level)

    def path(self, code: str) -> list[str]:
        """City → … → code (the breadcrumb)."""
        out: list[str] = []
        current: str | None = code
        while current is not None and current not in out:
            out.append(current)
            current = self.parent.get(current)
        if config.CITY_CODE not in out:
            out.append(config.CITY_CODE)
        return list(reversed(out))

    def sub_units(self, code: str) -> list[str]:
        """Districts of the city, streets of a district (sorted by code); nothing below a street."""
        level = self.level_of(code)
        wanted = SUB_LEVEL.get(level) if level in ("city", "district") else None
        if wanted is None:
            return []
        if level == "city" and code not in self.children:
            return self.codes_at(wanted)
        return sorted(c for c in self.children.get(code, []) if self.level.get(c) == wanted)

    def below(self, code: str) -> set[str]:
        """The unit and every division under it (all of them for the city)."""
        if self.level_of(code) == "city":
            return set(self.level) | {code}
        out, stack = {code}, [code]
        while stack:
            for child in self.children.get(stack.pop(), []):
                if child not in out:
                    out.add(child)
                    stack.append(child)
        return out

    def keys_under(self, code: str) -> set[str] | None:
        """Codes of the unit and everything below it; None for the city (no filter at all)."""
        return None if self.level_of(code) == "city" else self.below(code)

    def streets_under(self, code: str) -> set[str]:
        return {c for c in self.below(code) if self.level.get(c) == "street"}

    def districts_under(self, code: str) -> set[str]:
        return {c for c in self.below(code) if self.level.get(c) == "district"}

    def find(self, name_or_code: str, level: str) -> str:
        """A unit of ``level`` given by code, full name or the start of its name (长宁 → 长宁区), unambiguously."""
        units = [(c, self.name[c]) for c in self.codes_at(level)]
        exact = [c for c, n in units if name_or_code in (c, n)]
        found = exact or [c for c, n in units if n.startswith(name_or_code)]
        if len(found) != 1:
            what = "no" if not found else f"{len(found)}"
            raise UnknownDivision(f"{what} {level} matches {name_or_code!r}"
                                  + ("" if not found else f" ({', '.join(found[:5])}); give the code instead"))
        return found[0]
