"""A collection's definition (schemas.collections): what a definition file may say, and which changes are
allowed once answers exist."""
from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.collections import CollectionDef, FieldDef, changes_allowed

QTY = {"key": "qty", "label": "需求数量(只)", "type": "integer", "required": True, "min": 0, "max": 100000}
KIND = {"key": "kind", "label": "口罩类型", "type": "choice", "choices": ["医用外科", "N95"]}


def definition(**changes: Any) -> CollectionDef:
    base: dict[str, Any] = {"title": "口罩需求登记表", "department": "区经委", "scope": "310105002",
                            "start": date(2020, 2, 10), "end": date(2020, 2, 11), "fields": [QTY, KIND]}
    return CollectionDef.model_validate(base | changes)


def test_a_plain_definition_and_its_defaults() -> None:
    d = definition()
    assert (d.respondents, d.frequency, d.deadline, d.buildings) == ("enterprise", "once", None, [])
    assert d.field("qty").type == "integer" and d.field("kind").choices == ["医用外科", "N95"]
    assert FieldDef(key="note", label="备注").type == "text"


def test_a_daily_collection_gets_a_ten_oclock_deadline_unless_it_names_one() -> None:
    assert definition(frequency="daily").deadline == time(10, 0)
    assert definition(frequency="daily", deadline="09:30").deadline == time(9, 30)


@pytest.mark.parametrize("field, problem", [
    ({"key": "kind", "label": "类型", "type": "choice", "choices": ["仅一项"]}, "at least two choices"),
    ({"key": "kind", "label": "类型", "type": "choices", "choices": []}, "at least two choices"),
    ({"key": "note", "label": "备注", "choices": ["甲", "乙"]}, "only choice fields"),
    ({"key": "note", "label": "备注", "max": 5}, "bounds apply"),
    ({"key": "day", "label": "日期", "type": "date", "min": 0}, "bounds apply"),
    ({"key": "ok", "label": "是否复工", "type": "yes_no", "min": 0, "max": 1}, "bounds apply"),
    ({"key": "qty", "label": "数量", "type": "integer", "min": 10, "max": 5}, "min is above max"),
    ({"key": "Qty", "label": "数量"}, "pattern"),
    ({"key": "1qty", "label": "数量"}, "pattern"),
    ({"key": "qty", "label": ""}, "at least 1 character"),
    ({"key": "qty", "label": "数量", "type": "money"}, "Input should be"),
    ({"key": "qty", "label": "数量", "hint": "x"}, "Extra inputs"),
])
def test_a_field_that_cannot_be_asked_is_refused(field: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        FieldDef.model_validate(field)


def test_bounds_are_allowed_on_numbers_and_may_be_equal() -> None:
    assert FieldDef(key="t", label="体温", type="number", min=35.0, max=42.0).max == 42.0
    assert FieldDef(key="n", label="人数", type="integer", min=3, max=3).min == 3
    assert FieldDef(key="n", label="人数", type="integer", min=1).max is None


@pytest.mark.parametrize("changes, problem", [
    ({"fields": [QTY, QTY | {"label": "另一个"}]}, "two fields named qty"),
    ({"fields": [QTY, KIND | {"key": "other", "label": QTY["label"]}]}, "two fields named 需求数量"),
    ({"fields": []}, "at least 1 item"),
    ({"end": date(2020, 2, 9)}, "end is before start"),
    ({"scope": "31010"}, "pattern"),
    ({"scope": "3101050021"}, "pattern"),
    ({"respondents": "residents"}, "Input should be"),
    ({"frequency": "weekly"}, "Input should be"),
    ({"title": ""}, "at least 1 character"),
])
def test_a_definition_that_cannot_be_launched_is_refused(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        definition(**changes)


def test_a_collection_of_one_day_is_allowed() -> None:
    assert definition(end=date(2020, 2, 10)).end == date(2020, 2, 10)


def test_adding_an_optional_field_or_a_choice_is_allowed() -> None:
    old = definition()
    more = definition(fields=[QTY, KIND | {"choices": ["医用外科", "N95", "KN95"]},
                              {"key": "note", "label": "备注"}, {"key": "ok", "label": "是否已复工", "type": "yes_no"}])
    assert changes_allowed(old, more) == []
    relabelled = definition(title="口罩需求登记表（第二版）", fields=[QTY | {"label": "需求数量"}, KIND])
    assert changes_allowed(old, relabelled) == []
    assert changes_allowed(old, old) == []


def test_removing_or_retyping_a_field_or_adding_a_required_one_is_refused() -> None:
    old = definition()
    assert changes_allowed(old, definition(fields=[QTY])) == ["字段“口罩类型”已有回答，不能删除"]
    assert changes_allowed(old, definition(fields=[QTY | {"type": "number"}, KIND])) == [
        "字段“需求数量(只)”已有回答，不能改类型或删减选项"]
    assert changes_allowed(old, definition(fields=[QTY, KIND | {"type": "choices"}])) == [
        "字段“口罩类型”已有回答，不能改类型或删减选项"]
    assert changes_allowed(old, definition(fields=[QTY, KIND | {"choices": ["医用外科", "KN95"]}])) == [
        "字段“口罩类型”已有回答，不能改类型或删减选项"]
    assert changes_allowed(old, definition(fields=[QTY, KIND, {"key": "phone", "label": "联系电话", "type": "phone",
                                                               "required": True}])) == ["新增字段“联系电话”须为选填"]
    # Every problem is named at once, so the official fixes them in one go.
    assert len(changes_allowed(old, definition(fields=[{"key": "x", "label": "新", "required": True}]))) == 3
