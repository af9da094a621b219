"""A user's scope is a division code; they see that unit and everything below it, nothing else.

Every view and export filters on the server with these helpers, never in the browser.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from etl import config
from etl.divisions import DivisionTree, UnknownDivision


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

    @classmethod
    def of(cls, tree: DivisionTree, code: str | None) -> Scope:
        """The scope of a division code (None or the city code: the whole city)."""
        code = code or config.CITY_CODE
        if code not in tree:
            raise UnknownDivision(f"unknown division code {code}")
        return cls(code=code, level=tree.level[code], name=tree.name[code],
                   streets=frozenset(tree.streets_under(code)), districts=frozenset(tree.districts_under(code)))


def load_scope(session: Session, code: str | None) -> Scope:
    """The scope of a division code (None or the city code: the whole city)."""
    return Scope.of(DivisionTree.load(session), code)
