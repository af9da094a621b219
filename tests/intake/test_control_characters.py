"""A NUL or another control character in a posted name: stored whole without it, or refused with a
message — never a server error, on either engine."""
from __future__ import annotations

import flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.models import Enterprise, ReturningStaff
from tests.intake.conftest import P3, World


def test_json_intake_with_nul_in_names_answers_201_or_4xx_never_500(world: World, app: flask.Flask) -> None:
    client, token = app.test_client(), world.tokens["江苏路商务楼"]
    ent_id = client.get(f"/api/intake/{token}").get_json()["enterprises"][0]["id"]
    payload = {"submission_id": "nul-0001", "enterprise_id": ent_id, "是否复工": "已复工", "员工总数": "12\u0000",
               "返岗人员": [{"姓名": "周\u0000七\u0007", "身份证号": P3, "返沪日期": "2020/2/9"}]}
    resp = client.post(f"/api/intake/{token}", json=payload)
    assert resp.status_code == 201 or (400 <= resp.status_code < 500 and resp.get_json()), (resp.status_code, resp.data[:500])
    if resp.status_code == 201:
        with Session(world.engine) as s:
            assert s.scalars(select(ReturningStaff.name)).all() == ["周七"]

    named = {"submission_id": "nul-0002", "enterprise_name": "上海新\u0000来科技有限公司", "是否复工": "是"}
    resp = client.post(f"/api/intake/{token}", json=named)
    assert resp.status_code == 201 or (400 <= resp.status_code < 500 and resp.get_json()), (resp.status_code, resp.data[:500])
    if resp.status_code == 201:
        with Session(world.engine) as s:
            names = s.scalars(select(Enterprise.name)).all()
            assert "上海新来科技有限公司" in names and not any("\x00" in n for n in names), names
