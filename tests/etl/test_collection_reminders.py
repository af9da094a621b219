"""A collection's reminders: the printed 催报清单 and the push to a street's group robot, sent to a real HTTP
receiver on this machine (the world and its answers are those of tests/etl/test_collection_figures.py)."""
from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date

import openpyxl
import pytest
from sqlalchemy.orm import Session

from etl.collection_reminders import (
    ReminderError,
    push,
    push_reminder,
    reminder_message,
    set_webhook,
    street_missing,
    webhook_url,
    write_collection_reminders,
)
from schemas.collection_tables import Collection
from tests.etl.test_collection_figures import World, built  # noqa: F401  (the shared world fixture)
from tests.fixtures.robot import Receiver
from tests.fixtures.sheets import JSL, LJZ

D11 = date(2020, 2, 11)


@pytest.fixture
def world(built: World) -> World:
    return built


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def once(s: Session, world: World) -> Collection:
    return s.get(Collection, world.collections["once"])


def test_the_pushed_message_names_buildings_and_mentions_the_owners(world: World, receiver: Receiver) -> None:
    with Session(world.engine) as s:
        set_webhook(s, LJZ, receiver.url, "tester")
        result = push_reminder(s, once(s, world), LJZ, D11)
        s.rollback()
    assert result.ok and result.message == "已推送到群" and result.mentioned == 1
    assert len(receiver.bodies) == 1
    body = receiver.bodies[0]
    assert body["msgtype"] == "text" and set(body["text"]) == {"content", "mentioned_mobile_list"}
    assert body["text"]["mentioned_mobile_list"] == ["13900000002"]
    content = body["text"]["content"]
    assert content.startswith("【口罩需求登记表】陆家嘴街道截至 2020-02-11 还有 2 家未填报")
    assert "陆家嘴中心（陆家嘴物业，赵**）：上海庚有限公司、上海辛有限公司" in content or \
        "陆家嘴中心（陆家嘴物业，赵**）：上海辛有限公司、上海庚有限公司" in content
    assert "赵经理" not in content  # the chat sees the masked name; the mention reaches the owner


def test_a_refused_or_unreachable_push_is_reported_once_and_not_retried(world: World) -> None:
    refusing = Receiver(200, {"errcode": 93000, "errmsg": "invalid webhook url"})
    failing = Receiver(500, {"errcode": -1})
    try:
        refused = push(refusing.url, "x", [])
        failed = push(failing.url, "x", [])
    finally:
        refusing.close()
        failing.close()
    assert (refused.ok, refused.message) == (False, "群机器人未接受消息：invalid webhook url")
    assert (failed.ok, failed.status) == (False, 500) and "HTTP 500" in failed.message
    assert len(refusing.bodies) == len(failing.bodies) == 1
    gone = push(refusing.url, "x", [], timeout=2)
    assert not gone.ok and gone.status is None and gone.message.startswith("无法连接群机器人")


def test_a_street_without_a_robot_is_told_how_to_set_one(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONENET_WEBHOOK_URL", raising=False)
    with Session(world.engine) as s:
        assert webhook_url(s, JSL) is None
        with pytest.raises(ReminderError, match="onenet collections webhook"):
            push_reminder(s, once(s, world), JSL, D11)
        monkeypatch.setenv("ONENET_WEBHOOK_URL", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k")
        assert webhook_url(s, JSL).startswith("https://qyapi")
        with pytest.raises(ReminderError, match="https://"):
            set_webhook(s, JSL, "ftp://example.org/x", "tester")
        with pytest.raises(ReminderError, match="不是街道"):
            set_webhook(s, "310105", "https://example.org/x", "tester")


def test_a_street_outside_the_collection_gets_no_list(world: World) -> None:
    with Session(world.engine) as s:
        daily = s.get(Collection, world.collections["daily"])  # 长宁区 only
        with pytest.raises(ReminderError, match="不在"):
            street_missing(s, daily, LJZ, D11)


def test_the_printed_list_names_the_silent_respondents(world: World) -> None:
    with Session(world.engine) as s:
        out = io.BytesIO()
        named = write_collection_reminders(s, out, once(s, world), street_code=LJZ, day=D11, user_name="街道甲")
        content, mobiles = reminder_message(once(s, world), "陆家嘴街道", D11, street_missing(s, once(s, world), LJZ, D11))
    assert named == 2 and mobiles == ["13900000002"] and "2 家未填报" in content
    sheet = openpyxl.load_workbook(out).active
    cells = [c for row in sheet.iter_rows(values_only=True) for c in row if c]
    assert "陆家嘴街道 未填报企业催报清单（“口罩需求登记表”，2020-02-11）" in cells
    assert {"上海庚有限公司", "上海辛有限公司", "陆家嘴中心", "已承诺填报"} <= set(cells)


def test_the_command_sets_a_robot_pushes_once_and_prints_the_list(world: World, receiver: Receiver, tmp_path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from etl.cli import main

    url = world.engine.url.render_as_string(hide_password=False)
    ident = str(world.collections["once"])
    try:
        assert main(["--db", url, "collections", "webhook", "--street", LJZ, "--url", receiver.url]) == 0
        out = tmp_path / "催报.xlsx"
        assert main(["--db", url, "collections", "remind", ident, "--street", LJZ, "--date", "2020-02-11",
                     "--out", str(out), "--push"]) == 0
        printed = capsys.readouterr().out
        assert "催报清单：2 家未填报“口罩需求登记表”" in printed and "已推送到群" in printed
        assert out.exists() and len(receiver.bodies) == 1
    finally:
        assert main(["--db", url, "collections", "webhook", "--street", LJZ, "--clear"]) == 0
