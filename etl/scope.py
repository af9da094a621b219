"""A user's scope is a division code; they see that unit and everything below it, nothing else.

Every view and export filters on the server with these helpers (SPEC §7), never in the browser.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from etl import config
from schemas.models import Division


@dataclass(frozen=True)
class Scope:
    code: str
    level: str
    name: str
    streets: frozenset[str]
    districts: frozenset[str]

    def covers(self, code: str | None) -> bool:
        """Is a district or street (or the city) code inside this scope?"""
        if code is None:
            return self.level == "city"
        return self.level == "city" or code in self.streets or code in self.districts or code == self.code


def load_scope(session: Session, code: str | None) -> Scope:
    """The scope of a division code (None or the city code: the whole city)."""
    rows = session.execute(select(Division.code, Division.name, Division.level, Division.parent_code)).all()
    by_code = {r.code: r for r in rows}
    code = code or config.CITY_CODE
    if code not in by_code:
        raise ValueError(f"unknown division code {code}")
    children: dict[str | None, list[str]] = {}
    for r in rows:
        children.setdefault(r.parent_code, []).append(r.code)
    below, stack = set(), [code]
    while stack:
        current = stack.pop()
        below.add(current)
        stack.extend(children.get(current, []))
    unit = by_code[code]
    streets = frozenset(c for c in below if by_code[c].level == "street")
    districts = frozenset(c for c in below if by_code[c].level == "district")
    return Scope(code=code, level=unit.level, name=unit.name, streets=streets, districts=districts)
