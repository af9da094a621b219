"""The one division tree: walks used by name resolution, scopes, roll-ups and the dashboard agree."""
from __future__ import annotations

import pandas as pd
import pytest

from etl.divisions import DivisionTree, UnknownDivision
from etl.resolve import Hierarchy
from etl.scope import Scope

ROWS = [
    ("310000", "上海市", "city", None),
    ("310105", "长宁区", "district", "310000"),
    ("310115", "浦东新区", "district", "310000"),
    ("310105002", "江苏路街道", "street", "310105"),
    ("310105003", "新华路街道", "street", "310105"),
    ("310115004", "陆家嘴街道", "street", "310115"),
    ("310105002001", "华山居委", "community", "310105002"),
]


@pytest.fixture()
def tree() -> DivisionTree:
    return DivisionTree.from_rows(ROWS)


def test_levels_parents_children_and_names(tree: DivisionTree) -> None:
    assert tree.level["310105002"] == "street" and tree.parent["310105002"] == "310105"
    assert sorted(tree.children["310105"]) == ["310105002", "310105003"]
    assert tree.display("310105") == "长宁区" and tree.display("999") == "999"
    assert tree.codes_at("district") == ["310105", "310115"]


def test_ancestors_paths_and_sub_units(tree: DivisionTree) -> None:
    assert tree.ancestor("310105002001", "district") == "310105"
    assert tree.ancestor("310105002", "street") == "310105002"
    assert tree.ancestor("310105", "street") is None and tree.ancestor(None, "district") is None
    assert tree.unit_of("310105002", "city") == "310000"
    assert tree.path("310105002001") == ["310000", "310105", "310105002", "310105002001"]
    assert tree.sub_units("310000") == ["310105", "310115"]
    assert tree.sub_units("310105") == ["310105002", "310105003"] and tree.sub_units("310105002") == []


def test_what_lies_below_a_unit(tree: DivisionTree) -> None:
    assert tree.streets_under("310105") == {"310105002", "310105003"}
    assert tree.streets_under("310000") == {"310105002", "310105003", "310115004"}
    assert tree.keys_under("310000") is None
    assert tree.keys_under("310105002") == {"310105002", "310105002001"}


def test_finding_a_unit_by_name_is_unambiguous_or_an_error(tree: DivisionTree) -> None:
    assert tree.find("长宁", "district") == "310105" and tree.find("310115004", "street") == "310115004"
    with pytest.raises(UnknownDivision, match="no street matches"):
        tree.find("南京西路", "street")
    assert issubclass(UnknownDivision, ValueError)


def test_scope_and_name_resolution_stand_on_the_same_tree(tree: DivisionTree) -> None:
    scope = Scope.of(tree, "310105")
    assert scope.streets == frozenset(tree.streets_under("310105")) and scope.districts == {"310105"}
    assert scope.covers("310105003") and not scope.covers("310115004")
    with pytest.raises(UnknownDivision):
        Scope.of(tree, "123")
    hierarchy = Hierarchy.from_frame(pd.DataFrame(ROWS, columns=["code", "name", "level", "parent_code"]))
    assert hierarchy.tree == tree
    assert hierarchy.parents == tree.parent and hierarchy.district_of("310105002001") == "310105"
    assert hierarchy.resolve_street("江苏路", None) == ("310105002", None)
    assert hierarchy.resolve_community("华山", "310105002") == "310105002001"
