"""新建信息收集: what the form builder offers (the units of the user's scope, their buildings), the form read as a
collection's definition, and each change to a collection (create, amend, open, close) checked against the user's
scope and recorded in the audit trail in the same transaction (etl.audit)."""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dashboard.access import NotAllowed, Person, client_address
from etl import config
from etl.aggregate import refresh_if_stale
from etl.audit import record
from etl.collection_template import explain
from etl.collections import (
    CHOICE_SEPARATORS,
    CollectionError,
    amend,
    create,
    definition_of,
    set_status,
)
from etl.divisions import DivisionTree
from etl.scope import Scope
from schemas.collection_tables import Collection
from schemas.collections import CLOSED, OPEN, CollectionDef
from schemas.models import Building

log = logging.getLogger(__name__)

BUILDINGS_LISTED = 5000
"""Building names a scope offers at most (a city-wide collection limited to buildings names them from a street)."""
KEY = re.compile(r"^f([0-9]+)$")
_SPLIT = re.compile("[" + re.escape(CHOICE_SEPARATORS.replace(" ", "")) + r"\n]+")
_WHERE = re.compile(r"(^|；)[A-Za-z_][A-Za-z0-9_\[\].]*（(.*?)）：")


# --------------------------------------------------------------------------- what the form offers


def unit_label(tree: DivisionTree, code: str) -> str:
    """长宁区 · 江苏路街道: a unit with the units above it, below the city."""
    return " · ".join(tree.display(c) for c in tree.path(code)[1:]) or tree.display(code)


def scope_choices(tree: DivisionTree, scope_code: str) -> list[dict[str, str]]:
    """The units a collection of this user may be addressed to: their own scope and every district and street in
    it, each district followed by its streets; never a unit outside."""
    codes = [scope_code]
    for district in tree.sub_units(scope_code) if tree.level_of(scope_code) == "city" else []:
        codes += [district, *tree.sub_units(district)]
    if tree.level_of(scope_code) == "district":
        codes += tree.sub_units(scope_code)
    return [{"label": unit_label(tree, c), "value": c} for c in dict.fromkeys(codes)]


def covers(tree: DivisionTree, actor: Person, code: str | None) -> bool:
    return bool(code) and (code == config.CITY_CODE or code in tree) and Scope.of(tree, actor.scope_code).covers(code)


def building_choices(session: Session, tree: DivisionTree, actor: Person, code: str | None) -> list[dict[str, str]]:
    """The building names of unit ``code`` (nothing outside the actor's scope), with their street where one name
    stands for buildings of several."""
    if not covers(tree, actor, code):
        return []
    stmt = select(Building.name, Building.street_code).order_by(Building.street_code, Building.name)
    if tree.level_of(code) != "city":
        stmt = stmt.where(Building.street_code.in_(sorted(tree.streets_under(code or "")) or [""]))
    streets: dict[str, list[str]] = {}
    for name, street in session.execute(stmt.limit(BUILDINGS_LISTED)):
        streets.setdefault(name, []).append(tree.display(street))
    several = tree.level_of(code) != "street"
    return [{"label": f"{name}（{'、'.join(dict.fromkeys(where))}）" if several else name, "value": name}
            for name, where in sorted(streets.items(), key=lambda item: (item[1][0], item[0]))]


# --------------------------------------------------------------------------- the form as a definition


def next_key(keys: Iterable[str | None]) -> str:
    """f1, f2, …: one above the highest generated key in use."""
    numbers = [int(m.group(1)) for k in keys if k and (m := KEY.match(k))]
    return f"f{max(numbers, default=0) + 1}"


def split_choices(text: str | None) -> list[str]:
    return list(dict.fromkeys(c.strip() for c in _SPLIT.split(text or "") if c.strip()))


def as_number(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def field_data(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The editor's rows as fields: a key where none was typed, choices for choice fields only, bounds for number
    fields only (what a row hides for its type is not asked)."""
    used = [str(r.get("key") or "").strip() for r in rows]
    fields = []
    for row, key in zip(rows, used):
        kind = row.get("type") or "text"
        if not key:
            key = next_key(used)
            used.append(key)
        field: dict[str, Any] = {"key": key, "label": str(row.get("label") or "").strip(), "type": kind,
                                 "required": bool(row.get("required"))}
        if kind in ("choice", "choices"):
            field["choices"] = split_choices(row.get("choices"))
        if kind in ("integer", "number"):
            field["min"], field["max"] = as_number(row.get("min")), as_number(row.get("max"))
        fields.append(field)
    return fields


def definition_data(settings: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The form's settings (title, department, scope, respondents, buildings, frequency, start, end, deadline) and
    field rows as the items of a definition."""
    daily = settings.get("frequency") == "daily"
    return {
        "title": str(settings.get("title") or "").strip(),
        "department": str(settings.get("department") or "").strip() or None,
        "scope": settings.get("scope") or "",
        "respondents": settings.get("respondents") or "enterprise",
        "buildings": list(settings.get("buildings") or []),
        "frequency": "daily" if daily else "once",
        "start": (settings.get("start") or "")[:10] or None,
        "end": (settings.get("end") or "")[:10] or None,
        "deadline": (settings.get("deadline") or "10:00") if daily else None,
        "fields": field_data(rows),
    }


def form_error(exc: ValidationError, data: Any) -> str:
    """A definition's pydantic error in the form's words: 第 2 个字段“联系电话”的标签：不能为空."""
    text = _WHERE.sub(r"\1\2：", explain(exc, data))
    return text.replace("定义：", "").replace("fields（字段）：至少要有 1 项", "请至少添加一个字段")


def definition_of_form(settings: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> CollectionDef:
    """The definition the form states; CollectionError with what to correct, in Chinese, when it states none."""
    data = definition_data(settings, rows)
    if not data["scope"]:
        raise CollectionError("请选择范围")
    if not data["fields"]:
        raise CollectionError("请至少添加一个字段")
    try:
        return CollectionDef.model_validate(data)
    except ValidationError as exc:
        raise CollectionError(form_error(exc, data)) from None


def form_of(definition: CollectionDef) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(settings, rows) of the form that states ``definition``: the inverse of definition_of_form."""
    settings = {"title": definition.title, "department": definition.department, "scope": definition.scope,
                "respondents": definition.respondents, "buildings": list(definition.buildings),
                "frequency": definition.frequency, "start": definition.start.isoformat(),
                "end": definition.end.isoformat(),
                "deadline": definition.deadline.strftime("%H:%M") if definition.deadline else "10:00"}
    rows = [{"key": f.key, "label": f.label, "type": f.type, "required": f.required, "choices": "、".join(f.choices),
             "min": f.min, "max": f.max} for f in definition.fields]
    return settings, rows


# --------------------------------------------------------------------------- changes, checked and audited


def collection_in_reach(session: Session, tree: DivisionTree, actor: Person, ident: Any) -> Collection:
    """The collection of id ``ident`` if it lies in the actor's scope (NotAllowed otherwise, the same words whether
    it exists or not)."""
    text = str(ident or "").strip()
    found = session.get(Collection, int(text)) if text.isdigit() and len(text) < 10 else None
    if found is None or not covers(tree, actor, found.scope_code):
        raise NotAllowed(f"没有编号为 {text or '–'} 的信息收集，或不在您的范围内")
    return found


def save(session: Session, tree: DivisionTree, actor: Person, definition: CollectionDef, ident: Any = None, *,
         template: bytes | None = None, template_name: str | None = None) -> tuple[Collection, str]:
    """A new draft (no ``ident``) or a new version of collection ``ident``: (the collection, what was done)."""
    if ident:
        collection = collection_in_reach(session, tree, actor, ident)
        before = definition_of(collection)
        if before == definition:
            return collection, "unchanged"
        amend(session, collection, definition, by=actor.username, allowed_scope=actor.scope_code)
        record(session, actor.username, "collection", scope_code=definition.scope, address=client_address(),
               op="amend", id=collection.id, title=definition.title, version=collection.version,
               fields=len(definition.fields))
        return collection, "amend"
    collection = create(session, definition, created_by=actor.username, allowed_scope=actor.scope_code,
                        template=template, template_name=template_name)
    record(session, actor.username, "collection", scope_code=definition.scope, address=client_address(), op="add",
           id=collection.id, title=definition.title, fields=len(definition.fields), template=template_name)
    return collection, "add"


def change_status(session: Session, tree: DivisionTree, actor: Person, ident: Any, status: str) -> Collection:
    """Open (发布) or close (结束) collection ``ident``, as etl.collections.set_status allows."""
    collection = collection_in_reach(session, tree, actor, ident)
    before = collection.status
    set_status(collection, status)
    session.flush()
    record(session, actor.username, "collection", scope_code=collection.scope_code, address=client_address(),
           op={OPEN: "open", CLOSED: "close"}.get(status, status), id=collection.id, title=collection.title,
           before=before)
    return collection


def refresh_figures(engine: Engine) -> None:
    """Build the figures a change just marked stale (a collection opened or amended), after its transaction."""
    refresh_if_stale(engine, log.warning)
