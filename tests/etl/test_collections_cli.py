"""`onenet collections` on a tiny world loaded from real spreadsheets, on SQLite and PostgreSQL: adding from a
template and from a definition file, the list, the lifecycle, completion per unit counted by hand, and the export
of a template-born collection opened with openpyxl as the department would open it."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from etl.audit import entries
from etl.cli import main
from etl.collections import NewAnswer, amend, check_answers, definition_of, store_answers
from etl.database import make_engine
from schemas.collection_tables import Collection
from schemas.collections import FieldDef
from schemas.models import Enterprise
from tests.etl.test_collection_template import HEADER_FILL, MASK_HEADER, mask_template
from tests.fixtures.messy import make_id
from tests.fixtures.sheets import CHANGNING, CITY_BUILDINGS, CITY_ENTERPRISES, JSL, U, load_inbox, write_inbox

DEFINITION = """title: 每日消毒登记
department: 区卫健委
respondents: both
frequency: daily
deadline: "10:00"
start: 2020-02-10
end: 2020-02-20
fields:
  - {key: times, label: 消毒次数, type: integer, required: true, min: 0}
  - {key: person, label: 消毒人员姓名, type: text}
  - {key: idno, label: 消毒人员身份证号, type: resident_id}
"""


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> str:
    """The registries of the small city of tests/fixtures/sheets.py, without 行业 and 经营地址: 长宁 (江苏路: 华鑫大厦
    with 甲 and 乙, a shop; 新华路: 新华大楼 with 丁 and 戊) and 浦东 (陆家嘴: 丙, a shop)."""
    inbox = write_inbox(tmp_path / "inbox", {"楼宇": CITY_BUILDINGS, "名录": [row[:6] for row in CITY_ENTERPRISES]})
    load_inbox(db_url, inbox)
    return db_url


def run(url: str, *args: str) -> int:
    return main(["--db", url, "collections", *args])


def refused(url: str, *args: str) -> str:
    """The one line a refused command exits with (status 1: SystemExit with a message)."""
    with pytest.raises(SystemExit) as caught:
        run(url, *args)
    message = caught.value.code
    assert isinstance(message, str) and "\n" not in message, message
    return message


def add(url: str, path: Path, capsys: pytest.CaptureFixture[str], *options: str) -> int:
    assert run(url, "add", str(path), *options) == 0
    out = capsys.readouterr().out
    assert out.strip().isdigit(), out
    return int(out)


def answer(url: str, collection_id: int, uscc: str, at: str, values: dict[str, Any]) -> None:
    engine = make_engine(url)
    with Session(engine) as session:
        collection = session.get(Collection, collection_id)
        enterprise = session.scalars(select(Enterprise).where(Enterprise.uscc == uscc)).one()
        store_answers(session, collection, [NewAnswer(enterprise.id, values, datetime.fromisoformat(at), "form")])
        session.commit()
    engine.dispose()


def as_json(url: str, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    capsys.readouterr()
    assert run(url, *args) == 0
    return json.loads(capsys.readouterr().out)


def test_add_from_a_template_and_a_definition_file_then_list(world: str, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    template = mask_template(tmp_path / "口罩需求登记表.xlsx")
    masks = add(world, template, capsys, "--scope", CHANGNING, "--start", "2020-02-10", "--end", "2020-02-14",
                "--department", "区经委")
    definition = tmp_path / "消毒.yaml"
    definition.write_text(DEFINITION, encoding="utf-8")
    assert run(world, "add", str(definition), "--scope", JSL) == 0
    captured = capsys.readouterr()
    disinfection = int(captured.out)
    assert "草稿" in captured.err and f"onenet collections open {disinfection}" in captured.err

    assert as_json(world, capsys, "list", "--json") == [
        {"id": disinfection, "title": "每日消毒登记", "scope": JSL, "status": "draft"},
        {"id": masks, "title": "口罩需求登记表", "scope": CHANGNING, "status": "draft"},
    ]
    assert run(world, "list") == 0
    table = capsys.readouterr().out
    assert "口罩需求登记表" in table and "长宁区" in table and "草稿" in table and "每日" in table

    with Session(make_engine(world)) as session:
        stored = session.get(Collection, masks)
        assert stored.template == template.read_bytes() and stored.template_name == template.name
        assert (stored.department, stored.created_by[:4]) == ("区经委", "cli:")
        done = [e for e in entries(session, action="collection")]
    assert [json.loads(e.detail)["op"] for e in done] == ["add", "add"]


def test_bad_files_and_scopes_are_refused_in_one_line(world: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: x\nscope: '310105'\nfields:\n  - {key: a, label: 电话, type: tel}\n", encoding="utf-8")
    assert "fields[0].type（第 1 个字段“电话”的类型）" in refused(world, "add", str(bad))
    assert "不是已登记的区划代码" in refused(world, "add", str(mask_template(tmp_path / "t.xlsx")), "--scope", "310199")
    assert "须为 Excel 模板" in refused(world, "add", str(tmp_path / "notes.txt"))
    assert "文件不存在" in refused(world, "add", str(tmp_path / "missing.xlsx"))
    assert "没有编号为 99 的信息收集" in refused(world, "open", "99")
    assert "没有编号为 99999999999 的信息收集" in refused(world, "status", "99999999999")


def test_lifecycle_draft_open_closed_and_nothing_else(world: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    ident = add(world, mask_template(tmp_path / "t.xlsx"), capsys, "--scope", CHANGNING)
    assert "草稿，不能改为已结束" in refused(world, "close", str(ident))
    assert run(world, "open", str(ident)) == 0
    assert "草稿 → 收集中" in capsys.readouterr().out
    assert "收集中，不能改为收集中" in refused(world, "open", str(ident))
    assert run(world, "close", str(ident)) == 0
    assert "收集中 → 已结束" in capsys.readouterr().out
    assert "已结束，不能改为收集中" in refused(world, "open", str(ident))
    assert "已结束，不能改为已结束" in refused(world, "close", str(ident))
    assert as_json(world, capsys, "list", "--json")[0]["status"] == "closed"
    with Session(make_engine(world)) as session:
        ops = [json.loads(e.detail)["op"] for e in entries(session, action="collection")]
    assert ops == ["close", "open", "add"], "refusals leave no entry"


def mask_answers(url: str, ident: int) -> None:
    """By hand: 甲 on time, then again with other values (the latest counts); 乙 silent; 丁 after the end (late);
    戊 on time; 丙 answers though it is outside 长宁; the shop is not asked."""
    answer(url, ident, U[0], "2020-02-11 09:00", {"f1": 500, "f2": "张三", "f3": "13811112222", "f4": False})
    answer(url, ident, U[0], "2020-02-12 09:00", {"f1": 800, "f2": "=SUM(1)", "f3": "13811112222", "f4": True})
    answer(url, ident, U[2], "2020-02-15 10:00", {"f1": 100, "f3": "13811113333", "f4": True})
    answer(url, ident, U[3], "2020-02-13 16:00", {"f1": 300, "f2": "王五", "f4": False})
    answer(url, ident, U[4], "2020-02-12 10:00", {"f1": 999, "f4": True})
    answer(url, ident, U[5], "2020-02-12 10:00", {"f1": 7})


def test_status_counted_by_hand_at_every_level(world: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ident = add(world, mask_template(tmp_path / "t.xlsx"), capsys, "--scope", CHANGNING, "--start", "2020-02-10",
                "--end", "2020-02-14")
    assert run(world, "open", str(ident)) == 0
    mask_answers(world, ident)

    def rates(*options: str) -> list[tuple[str, str, int, int, int, float | None]]:
        rows = as_json(world, capsys, "status", str(ident), "--json", *options)
        assert all(set(r) == {"level", "code", "name", "expected", "answered", "on_time", "completion_rate"}
                   for r in rows)
        return [(r["level"], r["name"], r["expected"], r["answered"], r["on_time"], r["completion_rate"]) for r in rows]

    assert rates("--date", "2020-02-14") == [("street", "江苏路街道", 2, 1, 1, 0.5), ("street", "新华路街道", 2, 1, 1, 0.5)]
    assert rates("--date", "2020-02-16") == [("street", "江苏路街道", 2, 1, 1, 0.5), ("street", "新华路街道", 2, 2, 1, 1.0)]
    assert rates("--date", "2020-02-16", "--level", "district") == [("district", "长宁区", 4, 3, 2, 0.75)]
    assert rates("--date", "2020-02-16", "--level", "city") == [("city", "上海市", 4, 3, 2, 0.75)]
    assert rates("--date", "2020-02-10", "--level", "district") == [("district", "长宁区", 4, 0, 0, 0.0)]

    assert run(world, "status", str(ident), "--date", "2020-02-16") == 0
    table = capsys.readouterr().out
    assert "新华路街道" in table and "100.0%" in table and "50.0%" in table


def test_export_of_a_template_born_collection_fills_the_template(world: str, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    template = mask_template(tmp_path / "口罩需求登记表.xlsx", ["序号", "所属街道", *MASK_HEADER], drop_down="是,否")
    ident = add(world, template, capsys, "--scope", CHANGNING, "--start", "2020-02-10", "--end", "2020-02-14")
    assert run(world, "open", str(ident)) == 0
    mask_answers(world, ident)
    capsys.readouterr()

    out = tmp_path / "filled.xlsx"
    assert run(world, "export", str(ident), "--out", str(out), "--date", "2020-02-16") == 0
    assert "3 家已填报（应填报 4）" in capsys.readouterr().out
    before, after = openpyxl.load_workbook(template), openpyxl.load_workbook(out)
    assert after.sheetnames == ["登记表", "说明"]
    old, ws = before["登记表"], after["登记表"]
    assert [ws.cell(r, 1).value for r in (1, 2, 3)] == ["附件1", "口罩需求登记表", old["A3"].value]
    assert ws["A2"].font.b and ws["A2"].font.sz == 16 and "A2:H2" in {str(m) for m in ws.merged_cells.ranges}
    assert [c.value for c in ws[4]] == [c.value for c in old[4]]
    assert {c.fill.fgColor.rgb for c in ws[4]} == {HEADER_FILL} and all(c.font.b for c in ws[4])
    assert (ws.column_dimensions["A"].width, ws.column_dimensions["B"].width) == (32, 22)

    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=5, max_row=7)]
    assert rows == [
        [1, "江苏路街道", "上海甲有限公司", U[0], 800, "=******", "138****2222", "是"],
        [2, "新华路街道", "上海丁有限公司", U[2], 100, None, "138****3333", "是"],
        [3, "新华路街道", "上海戊有限公司", U[3], 300, "王*", None, "否"],
    ], "the latest answer of each, masked, under the header; 乙 silent, 丙 outside, the shop not asked"
    assert ws["F5"].data_type == "s" and ws["F5"].quotePrefix, "text that looks like a formula stays text"
    assert ws["A8"].value.startswith("填表人"), "the sign-off row moved under the rows"
    assert "H5:H7" in str(ws.data_validations.dataValidation[0].sqref) or \
           "H5:H200" in str(ws.data_validations.dataValidation[0].sqref)
    notes = "\n".join(str(c.value) for row in after["说明"].iter_rows() for c in row if c.value is not None)
    assert "2020-02-16" in notes and "应填报 4" in notes and "已脱敏" in notes

    street = tmp_path / "jsl.xlsx"
    assert run(world, "export", str(ident), "--out", str(street), "--street", "江苏路", "--date", "2020-02-16") == 0
    cut = openpyxl.load_workbook(street)["登记表"]
    assert [cut.cell(5, c).value for c in (1, 3)] == [1, "上海甲有限公司"] and cut["A6"].value.startswith("填表人")

    personal = tmp_path / "personal.xlsx"
    assert run(world, "export", str(ident), "--out", str(personal), "--date", "2020-02-16", "--personal") == 0
    unmasked = openpyxl.load_workbook(personal)["登记表"]
    assert [unmasked[ref].value for ref in ("G6", "F7")] == ["13811113333", "王五"], "--personal: names and phones"

    assert "不在“口罩需求登记表”的范围" in refused(world, "export", str(ident), "--out", str(street), "--street", "陆家嘴")
    with Session(make_engine(world)) as session:
        exported = [e for e in entries(session, action="collection") if json.loads(e.detail)["op"] == "export"]
    assert [(e.scope_code, e.rows, e.day, e.personal) for e in exported] == [
        (CHANGNING, 3, "2020-02-16", True), (JSL, 1, "2020-02-16", False), (CHANGNING, 3, "2020-02-16", False)]


def test_export_of_a_definition_file_collection_is_a_plain_workbook(world: str, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    definition = tmp_path / "消毒.yaml"
    definition.write_text(DEFINITION, encoding="utf-8")
    ident = add(world, definition, capsys, "--scope", JSL)
    assert run(world, "open", str(ident)) == 0
    raw_id = make_id("310105", "19850312", "123")
    with Session(make_engine(world)) as session:
        parsed, errors = check_answers(definition_of(session.get(Collection, ident)),
                                       pd.DataFrame([{"times": "3", "person": "周一", "idno": raw_id}]))
    assert not errors
    answer(world, ident, U[5], "2020-02-12 09:30", parsed[0])
    answer(world, ident, U[0], "2020-02-12 11:00", {"times": 1, "person": "@cmd"})

    out = tmp_path / "plain.xlsx"
    assert run(world, "export", str(ident), "--out", str(out), "--date", "2020-02-12") == 0
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["每日消毒登记", "说明"]
    ws = wb["每日消毒登记"]
    assert [c.value for c in ws[1]] == ["区", "街道", "楼宇", "企业名称", "统一社会信用代码", "消毒次数", "消毒人员姓名",
                                        "消毒人员身份证号", "填报时间"]
    rows = sorted([[c.value for c in row] for row in ws.iter_rows(min_row=2)], key=lambda r: r[3])
    assert rows == [
        ["长宁区", "江苏路街道", "华鑫大厦", "上海甲有限公司", U[0], 1, "@***", None, datetime(2020, 2, 12, 11, 0)],
        ["长宁区", "江苏路街道", None, "甲记面馆", U[5], 3, "周*", f"310105********{raw_id[-4:]}",
         datetime(2020, 2, 12, 9, 30)],
    ]
    assert ws["G2"].value == "@***" and ws["G2"].quotePrefix, "text that looks like a formula stays text"
    text = "\n".join(str(c.value) for s in wb for row in s.iter_rows() for c in row if c.value is not None)
    assert raw_id not in text and "周一" not in text

    status = as_json(world, capsys, "status", str(ident), "--json", "--date", "2020-02-12")
    assert status == [{"level": "street", "code": JSL, "name": "江苏路街道", "expected": 3, "answered": 2, "on_time": 1,
                       "completion_rate": pytest.approx(2 / 3)}], "a daily collection: 甲 after 10:00 is late"


def test_a_street_official_creates_for_their_street_only(world: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from dashboard.auth import create_user  # noqa: PLC0415

    with Session(make_engine(world)) as session:
        create_user(session, "jsl_official", "Street-Pass-2020!", "street", JSL)
        session.commit()
    template = mask_template(tmp_path / "t.xlsx")
    message = refused(world, "add", str(template), "--user", "jsl_official", "--scope", CHANGNING)
    assert "超出了您的范围" in message
    ident = add(world, template, capsys, "--user", "jsl_official")
    assert as_json(world, capsys, "list", "--json")[0] == {"id": ident, "title": "口罩需求登记表", "scope": JSL,
                                                           "status": "draft"}
    assert "no active user 'nobody'" in refused(world, "add", str(template), "--user", "nobody")


def test_a_field_added_after_the_template_gets_a_column_and_a_renamed_one_stays_empty(
        world: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ident = add(world, mask_template(tmp_path / "t.xlsx"), capsys, "--scope", CHANGNING, "--start", "2020-02-10",
                "--end", "2020-02-14")
    engine = make_engine(world)
    with Session(engine) as session:
        collection = session.get(Collection, ident)
        old = definition_of(collection)
        fields = [f.model_copy(update={"label": "联系人姓名"}) if f.key == "f2" else f for f in old.fields]
        fields.append(FieldDef(key="note", label="备注", type="text"))
        amend(session, collection, old.model_copy(update={"fields": fields}), by="test")
        session.commit()
    engine.dispose()
    answer(world, ident, U[0], "2020-02-11 09:00", {"f1": 10, "f2": "张三", "note": "第二批"})
    out = tmp_path / "out.xlsx"
    assert run(world, "export", str(ident), "--out", str(out), "--date", "2020-02-14") == 0
    err = capsys.readouterr().err
    assert "模板中没有“联系人姓名”一列" in err and "模板中没有“备注”一列" in err and "D 联系人：没有对应的字段" in err
    ws = openpyxl.load_workbook(out)["登记表"]
    assert [c.value for c in ws[4]] == [*MASK_HEADER, "联系人姓名", "备注"]
    assert ws["H4"].fill.fgColor.rgb == HEADER_FILL and ws["H4"].font.b
    assert [c.value for c in ws[5]] == ["上海甲有限公司", U[0], 10, None, None, None, "张*", "第二批"]
