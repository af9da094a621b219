"""Collections (信息收集) on a building's QR code: the routes, added to the intake's blueprint.

- ``GET  /q/<token>/collections?enterprise_id=N``   the open collections that expect the chosen enterprise, with a
                                                    tick where it answered for today's period (JSON, for the form)
- ``GET  /q/<token>/c/<id>?enterprise_id=N``        a collection's phone form for that enterprise
- ``POST /q/<token>/c/<id>``                        its answer (CSRF pair, as the reopening form); JSON to the script
                                                    (``Accept: application/json``), else a redirect to the receipt
- ``GET  /q/<token>/c/<id>/r/<submission id>``      the receipt of a stored answer
- ``GET  /api/intake/<token>/collections``          for form tools: the collections, their fields, who is expected
- ``POST /api/intake[/<token>]`` with ``collection_id``: an answer as JSON (routed here by dashboard.intake.routes)

The token decides the building; an enterprise and a collection named by the client are checked against it
(etl.collection_answers), so a crafted post for another building's enterprise is refused and stores nothing.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from flask import Blueprint, Response, jsonify, make_response, redirect, render_template, request, url_for
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from etl import config
from etl.collection_answers import (
    MAX_VALUE_CHARS, addressed_to, answered_at, deadline_text, offered_to, stored_answer, submit_answer,
)
from etl.intake import BuildingInfo, Outcome
from schemas.collections import FIELD_TYPE_LABELS

ANSWER_PREFIX = "a_"  # the form's inputs are a_<field key>, apart from csrf, submission_id, enterprise_id


def add_collection_routes(bp: Blueprint, intake: Any, not_found: Callable[..., Response],
                          answer: Callable[[int, str, bool], Response], form_page: Callable[..., Response],
                          guarded_post: Callable[..., Response], reply: Callable[..., Response],
                          ) -> Callable[[BuildingInfo, str, dict[str, Any]], Response]:
    """Add the routes to the intake's blueprint, their pages and posts made and guarded as the reopening form's
    (``form_page``, ``guarded_post``, ``reply`` of dashboard.intake.routes); returns the JSON endpoint's handler of
    collection answers."""

    def store(building: BuildingInfo, token: str, payload: Any, source: str) -> Outcome:
        return submit_answer(intake.engine, building, payload, source, token)

    def enterprise_from_query(building: BuildingInfo) -> dict[str, Any] | None:
        try:
            ident = int(request.args.get("enterprise_id", ""))
        except ValueError:
            return None
        return next((e for e in building.enterprises if e["id"] == ident), None)

    @bp.get("/q/<token>/collections")
    def collections_for(token: str) -> Response:
        building = intake.building(token)
        if building is None:
            return not_found(True, token)
        enterprise = enterprise_from_query(building)
        if enterprise is None:
            return answer(404, "所选企业不在本楼宇的名录中：请重新选择", True)
        today = config.local_now().date()
        with Session(intake.engine) as session:
            offered = offered_to(session, building, enterprise["id"], today)
        items = [{**a.listing(enterprise["id"]),
                  "url": url_for(".collection_form", token=token, collection_id=a.collection.id,
                                 enterprise_id=enterprise["id"])} for a in offered]
        return jsonify(ok=True, enterprise={"id": enterprise["id"], "name": enterprise["name"]}, collections=items)

    @bp.get("/q/<token>/c/<int:collection_id>")
    def collection_form(token: str, collection_id: int) -> Response:
        building = intake.building(token)
        if building is None:
            return not_found(False, token)
        if not request.args.get("enterprise_id"):  # e.g. the message page's way back: choose the enterprise first
            return redirect(url_for(".form", token=token), 303)
        enterprise = enterprise_from_query(building)
        if enterprise is None:
            return answer(404, "所选企业不在本楼宇的名录中：请回到本楼宇的扫码表单重新选择企业", False)
        today = config.local_now().date()
        with Session(intake.engine) as session:
            addressed = next((a for a in offered_to(session, building, enterprise["id"], today)
                              if a.collection.id == collection_id), None)
            last = (answered_at(session, addressed.collection, addressed.definition, enterprise["id"], today)
                    if addressed else None)
        if addressed is None:
            return answer(404, "这项信息收集不需要本企业填报，或已结束：请回到本楼宇的扫码表单查看", False)
        return form_page(token, "intake/collection.html", b=building, e=enterprise, c=addressed.collection,
                         d=addressed.definition, deadline=deadline_text(addressed.definition), answered_at=last,
                         prefix=ANSWER_PREFIX, type_labels=FIELD_TYPE_LABELS, max_chars=MAX_VALUE_CHARS)

    @bp.post("/q/<token>/c/<int:collection_id>")
    def collection_post(token: str, collection_id: int) -> Response:
        return guarded_post(token, partial(payload_from_form, collection_id), store, ".collection_receipt",
                            collection_id=collection_id)

    @bp.get("/q/<token>/c/<int:collection_id>/r/<submission_id>")
    def collection_receipt(token: str, collection_id: int, submission_id: str) -> Response:
        building = intake.building(token)
        if building is None:
            return not_found(False)
        with Session(intake.engine) as session:
            receipt = stored_answer(session, building, collection_id, submission_id)
        if receipt is None:
            return not_found(False)
        return make_response(render_template("intake/collection_receipt.html", b=building, token=token, r=receipt))

    @bp.get("/api/intake/<token>/collections")
    def api_collections(token: str) -> Response:
        building = intake.building(token)
        if building is None:
            return not_found(True, token)
        with Session(intake.engine) as session:
            addressed = addressed_to(session, building, config.local_now().date())
        names = {e["id"]: e for e in building.enterprises}
        return jsonify(collections=[{
            **a.listing(),
            "fields": [f.model_dump(exclude_none=True) for f in a.definition.fields],
            "enterprises": [{"id": i, "name": names[i]["name"], "uscc": names[i]["uscc"], "answered": i in a.answered}
                            for i in sorted(a.expected, key=lambda i: names[i]["name"])],
        } for a in addressed])

    def api_answer(building: BuildingInfo, token: str, payload: dict[str, Any]) -> Response:
        return reply(store(building, token, payload, "api"), True)

    return api_answer


def payload_from_form(collection_id: int, form: MultiDict[str, str]) -> dict[str, Any]:
    """The posted form as the JSON payload the API takes: a_<key> inputs become answers (several for 多选)."""
    answers: dict[str, Any] = {}
    for name in form:
        if name.startswith(ANSWER_PREFIX):
            values = [v for v in form.getlist(name) if v != ""]
            key = name[len(ANSWER_PREFIX):]
            if key.endswith("[]") or len(values) > 1:
                answers[key.removesuffix("[]")] = values
            else:
                answers[key] = values[0] if values else None
    return {"collection_id": collection_id, "submission_id": form.get("submission_id") or None,
            "enterprise_id": form.get("enterprise_id"), "answers": answers}

