"""What a collection (信息收集) is, as data: its definition file's shape, validated by pydantic (docs/collections.md).

A collection asks every respondent in a scope (the enterprises, the shops, or both, of the registries;
optionally only those in given buildings) the same fields, once between two days or every day before a
deadline. The definition is stored as JSON, one version per change (CollectionVersion).
"""
from __future__ import annotations

from datetime import date, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas import sources as S

FieldType = Literal["text", "integer", "number", "date", "datetime", "yes_no", "choice", "choices", "phone",
                    "resident_id", "uscc"]
FIELD_TYPE_LABELS: dict[str, str] = {
    "text": "文本", "integer": "整数", "number": "数值", "date": "日期", "datetime": "日期时间", "yes_no": "是/否",
    "choice": "单选", "choices": "多选", "phone": "电话", "resident_id": "身份证号", "uscc": "统一社会信用代码",
}
PARSERS: dict[str, str] = {
    "text": S.TEXT, "integer": S.INT, "number": S.FLOAT, "date": S.DATE, "datetime": S.DATETIME, "yes_no": S.BOOL,
    "phone": S.PHONE, "resident_id": S.ID_NUMBER, "uscc": S.USCC,
}
"""The parser of etl.normalise each field type shares with the spreadsheets (choices are matched to their list)."""
NUMERIC = ("integer", "number")
COUNTED = ("yes_no", "choice", "choices")
RESPONDENTS = {"enterprise": "企业", "shop": "沿街商铺", "both": "企业和沿街商铺"}
FREQUENCIES = {"once": "一次性", "daily": "每日"}
STATUSES = {"draft": "草稿", "open": "收集中", "closed": "已结束"}
DRAFT, OPEN, CLOSED = "draft", "open", "closed"
NEXT_STATUS = {DRAFT: (OPEN,), OPEN: (CLOSED,), CLOSED: ()}


class FieldDef(BaseModel):
    """One question: a key (letters, digits, _), the label respondents see, a type, and its bounds."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label: str = Field(min_length=1, max_length=60)
    type: FieldType = "text"
    required: bool = False
    choices: list[str] = Field(default_factory=list)
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _consistent(self) -> FieldDef:
        if self.type in ("choice", "choices") and len(self.choices) < 2:
            raise ValueError(f"{self.label}: a {self.type} field lists at least two choices")
        if self.type not in ("choice", "choices") and self.choices:
            raise ValueError(f"{self.label}: only choice fields list choices")
        if (self.min is not None or self.max is not None) and self.type not in NUMERIC:
            raise ValueError(f"{self.label}: bounds apply to integer and number fields")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"{self.label}: min is above max")
        return self


class CollectionDef(BaseModel):
    """A collection's definition, as a definition file (YAML or JSON) states it."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=100)
    department: str | None = Field(default=None, max_length=60)
    scope: str = Field(pattern=r"^[0-9]{6}([0-9]{3})?$", description="division code: the city, a district, a street")
    respondents: Literal["enterprise", "shop", "both"] = "enterprise"
    buildings: list[str] = Field(default_factory=list, description="only the enterprises of these buildings (names)")
    frequency: Literal["once", "daily"] = "once"
    start: date
    end: date
    deadline: time | None = Field(default=None, description="daily: answers by this time of each day are on time")
    fields: list[FieldDef] = Field(min_length=1)

    @field_validator("fields")
    @classmethod
    def _unique_keys(cls, fields: list[FieldDef]) -> list[FieldDef]:
        seen: set[str] = set()
        for f in fields:
            if f.key in seen or f.label in seen:
                raise ValueError(f"two fields named {f.key if f.key in seen else f.label}")
            seen |= {f.key, f.label}
        return fields

    @model_validator(mode="after")
    def _days(self) -> CollectionDef:
        if self.end < self.start:
            raise ValueError("end is before start")
        if self.frequency == "daily" and self.deadline is None:
            self.deadline = time(10, 0)
        return self

    def field(self, key: str) -> FieldDef:
        return next(f for f in self.fields if f.key == key)


def changes_allowed(old: CollectionDef, new: CollectionDef) -> list[str]:
    """What stops ``new`` from replacing ``old`` once answers exist: fields removed or retyped, a new field
    required (the answers already given lack it). Empty when the change is allowed."""
    problems = []
    now = {f.key: f for f in new.fields}
    for f in old.fields:
        if f.key not in now:
            problems.append(f"字段“{f.label}”已有回答，不能删除")
        elif (now[f.key].type, now[f.key].choices) != (f.type, f.choices) and not (
                f.type in ("choice", "choices") and now[f.key].type == f.type and set(f.choices) <= set(now[f.key].choices)):
            problems.append(f"字段“{f.label}”已有回答，不能改类型或删减选项")
    before = {f.key for f in old.fields}
    problems += [f"新增字段“{f.label}”须为选填" for f in new.fields if f.key not in before and f.required]
    return problems
