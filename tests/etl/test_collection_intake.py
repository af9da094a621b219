"""A collection's answers loaded from spreadsheets, on SQLite and PostgreSQL: a messy filled template counted
by hand, rejects with their reasons, loading again, refusals."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from etl import cli
from etl.collection_figures import field_summaries, status
from etl.collection_intake import batch_kind, load_answers
from etl.collections import CollectionError, create, set_status
from etl.database import make_engine
from etl.export import reject_rows
from schemas.collection_tables import Collection, CollectionAnswer
from schemas.collections import CollectionDef
from schemas.models import ImportBatch, Reject
from tests.fixtures.messy import fullwidth, make_id, make_uscc
from tests.fixtures.sheets import (
    CHANGNING,
    CITY_BUILDINGS,
    ENTERPRISE_HEADER,
    JSL,
    XHL,
    load_inbox,
    write_inbox,
    write_xlsx,
)

U1, U2, U3 = make_uscc("91310105MA1FL0001"), make_uscc("91310105MA1FL0002"), make_uscc("91310115MA1HK0003")
U4, U9 = make_uscc("91310105MA1FL0004"), make_uscc("91310105MA1FL0009")
MASKS = {"title": "口罩需求登记表", "department": "区经委", "scope": CHANGNING, "respondents": "enterprise",
         "frequency": "once", "start": "2020-02-10", "end": "2020-02-14",
         "fields": [{"key": "qty", "label": "需求数量(只)", "type": "integer", "required": True, "min": 0},
                    {"key": "mask_type", "label": "口罩类型", "type": "choice", "choices": ["医用外科", "KN95", "N95"]},
                    {"key": "contact", "label": "联系人"},
                    {"key": "phone", "label": "联系电话", "type": "phone"},
                    {"key": "reopened", "label": "是否已复工", "type": "yes_no"}]}


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> str:
    """Two streets of 长宁 and one of 浦东; four enterprises and a shop in 长宁, one enterprise in 浦东."""
    inbox = write_inbox(tmp_path / "inbox", {"楼宇": CITY_BUILDINGS, "名录": [
        ENTERPRISE_HEADER,
        ["上海甲有限公司", U1, "华鑫大厦", "江苏路", "长宁", "企业"],
        ["上海乙有限公司", U2, "华鑫大厦", "江苏路", "长宁", "企业"],
        ["上海丁有限公司", None, "华鑫大厦", "江苏路", "长宁", "企业"],
        ["上海戊有限公司", U4, "新华大楼", "新华路", "长宁", "企业"],
        ["江苏路小吃店", None, None, "江苏路", "长宁", "沿街商铺"],
        ["上海丙有限公司", U3, "陆家嘴中心", "陆家嘴", "浦东", "企业"]]})
    load_inbox(db_url, inbox)
    return db_url


def new_collection(url: str, definition: dict[str, object] = MASKS, open_it: bool = True) -> int:
    with Session(make_engine(url)) as session, session.begin():
        collection = create(session, CollectionDef.model_validate(definition), created_by="区经委")
        if open_it:
            set_status(collection, "open")
        return collection.id


def messy_sheet(path: Path) -> Path:
    """A filled copy of the template as a district office sends it back: a merged title and a note above a
    two-row merged header, a 合计 row, full-width digits, a blank row, a notes sheet; rows 8 to 17 hand-counted."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "口罩需求"
    ws.append(["长宁区口罩需求登记表"])
    ws.merge_cells("A1:I1")
    ws.append(["填报单位：各街道　　截止日期：2020年2月14日"])
    ws.append([])
    ws.append(["序号", "企业名称", "统一社会信用代码", "需求情况", None, "联系人", "联系电话", "是否已复工", "填报时间"])
    ws.append([None, None, None, "需求数量（只）", "口罩类型"])
    for column in "ABCFGHI":
        ws.merge_cells(f"{column}4:{column}5")
    ws.merge_cells("D4:E4")
    ws.append([])
    ws.append(["（请勿删除本表头）"])
    rows = [
        [1, "上海甲有限公司", U1, fullwidth("120"), "医用外科", "张三", "13800138000", "是", "2020-02-11 09:00"],  # 8: ok
        [2, "上海乙有限公司", U2, "一百", "KN95", "李四", "13800138001", "是", "2020-02-11 10:00"],  # 9: not a number
        [3, "上海丁有限公司", None, 50, "KN95", "王五", "021-12345678", "否", "2020-02-12 10:00"],  # 10: by name
        [4, "上海未知有限公司", U9, 10, "N95", "赵六", "13800138002", "是", "2020-02-12 11:00"],  # 11: unknown
        [5, "上海丙有限公司", U3, 30, "N95", "孙七", "13800138003", "是", "2020-02-12 12:00"],  # 12: 浦东
        [6, "上海甲有限公司", U1, 200, "N95", "张三", "13800138000", "否", "2020-02-13 15:00"],  # 13: later, wins
        [7, "上海戊有限公司", U4, 80, "口罩", "周八", "13800138004", "是", "2020-02-16 08:00"],  # 14: bad choice
        [8, "上海戊有限公司", fullwidth(U4), 80, "KN95", "周八", "13800138004", "是", "2020-02-16 08:30"],  # 15: late
        [9, "江苏路小吃店", None, 5, "医用外科", "吴九", "13800138005", "是", "2020-02-12 09:00"],  # 16: a shop
        [10, "上海乙有限公司", U2, None, None, None, None, None, None],  # 17: listed, not answered
        [None, None, None, None, None, None, None, None, None],
        ["合计", None, None, 490, None, None, None, None, None],
    ]
    for row in rows:
        ws.append(row)
    notes = wb.create_sheet("填报说明")
    notes.append(["1. 需求数量填整数"])
    notes.sheet_state = "hidden"
    wb.save(path)
    return path


def counts(url: str) -> tuple[int, int, int]:
    with Session(make_engine(url)) as session:
        return (session.scalar(select(func.count()).select_from(CollectionAnswer)) or 0,
                session.scalar(select(func.count()).select_from(Reject)) or 0,
                session.scalar(select(func.count()).select_from(ImportBatch)) or 0)


def test_a_messy_filled_template_loads_with_exact_figures_and_reasons(world: str, tmp_path: Path) -> None:
    collection_id = new_collection(world)
    engine = make_engine(world)
    result = load_answers(engine, collection_id, messy_sheet(tmp_path / "口罩需求（已填）.xlsx"))
    assert result.error is None and result.status == "loaded"
    assert (result.rows, result.inserted, result.updated, result.unchanged, result.rejected) == (10, 4, 0, 0, 6)
    assert result.kind == batch_kind(collection_id)

    with Session(engine) as session:
        collection = session.get(Collection, collection_id)
        assert collection is not None
        after = date(2020, 2, 20)
        assert status(session, collection, after, "district") == [
            {"level": "district", "code": CHANGNING, "name": "长宁区", "expected": 4, "answered": 3, "on_time": 2,
             "completion_rate": 0.75}]
        streets = {r["code"]: (r["expected"], r["answered"], r["on_time"]) for r in status(session, collection, after)}
        assert streets == {JSL: (3, 2, 2), XHL: (1, 1, 0)}
        assert status(session, collection, date(2020, 2, 12), "city")[0]["answered"] == 2  # 戊 answered on the 16th
        summary = field_summaries(session, collection, after, "district")[CHANGNING]
        assert summary["qty"] == 200 + 50 + 80  # 甲's later answer (200) replaces its first (120)
        assert summary["mask_type"] == {"N95": 1, "KN95": 2}
        assert summary["reopened"] == {"否": 2, "是": 1}
        first = json.loads(session.scalar(select(CollectionAnswer.answers).where(CollectionAnswer.row_number == 8)))
        assert first == {"qty": 120, "mask_type": "医用外科", "contact": "张三", "phone": "13800138000", "reopened": True}
        rejects = {(row, field, code): reason for _, sheet, row, level, field, code, reason, _ in reject_rows(session)
                   if sheet == "口罩需求" and level == "退回"}
    assert set(rejects) == {(9, "qty", "int_invalid"), (11, "enterprise_name", "enterprise_unknown"),
                            (12, "enterprise_name", "enterprise_out_of_scope"), (14, "mask_type", "choice_invalid"),
                            (16, "enterprise_name", "enterprise_out_of_scope"), (17, None, "answer_empty")}
    assert rejects[(9, "qty", "int_invalid")] == "应为不小于 0 的整数（需求数量(只)：一百）"
    assert rejects[(11, "enterprise_name", "enterprise_unknown")].startswith("企业未在名录中登记")
    assert f"（企业名称：上海未知有限公司；统一社会信用代码：{U9}）" in rejects[(11, "enterprise_name", "enterprise_unknown")]
    assert "该企业属于浦东新区陆家嘴街道" in rejects[(12, "enterprise_name", "enterprise_out_of_scope")]
    assert "本次信息收集的范围是长宁区" in rejects[(12, "enterprise_name", "enterprise_out_of_scope")]
    assert "医用外科 / KN95 / N95" in rejects[(14, "mask_type", "choice_invalid")]
    assert "本次只收集企业，该企业登记为沿街商铺" in rejects[(16, "enterprise_name", "enterprise_out_of_scope")]
    assert rejects[(17, None, "answer_empty")] == "本行没有填写任何回答：未计为已填报"


def test_loading_the_same_file_again_changes_nothing(world: str, tmp_path: Path) -> None:
    collection_id = new_collection(world)
    engine = make_engine(world)
    path = messy_sheet(tmp_path / "answers.xlsx")
    load_answers(engine, collection_id, path)
    before = counts(world)

    again = load_answers(engine, collection_id, path)
    assert (again.status, again.rows, again.inserted) == ("unchanged", 10, 0)
    copy = tmp_path / "答复副本.xlsx"
    copy.write_bytes(path.read_bytes())
    assert load_answers(engine, collection_id, copy).status == "unchanged"
    assert counts(world) == before

    reloaded = load_answers(engine, collection_id, path, reload=True)
    assert (reloaded.status, reloaded.inserted, reloaded.unchanged, reloaded.rejected) == ("loaded", 0, 4, 6)
    answers, rejects, batches = counts(world)
    assert (answers, rejects) == before[:2] and batches == before[2] + 1  # the old rejects gave way to the new


def test_an_answer_file_is_loaded_for_each_collection_it_is_given_to(world: str, tmp_path: Path) -> None:
    first, second = new_collection(world), new_collection(world, {**MASKS, "title": "口罩需求登记表（第二轮）"})
    path = messy_sheet(tmp_path / "answers.xlsx")
    engine = make_engine(world)
    assert load_answers(engine, first, path).inserted == 4
    assert load_answers(engine, second, path).inserted == 4


def test_a_draft_or_closed_collection_refuses_answers(world: str, tmp_path: Path) -> None:
    draft = new_collection(world, open_it=False)
    path = messy_sheet(tmp_path / "answers.xlsx")
    engine = make_engine(world)
    before = counts(world)
    with pytest.raises(CollectionError, match="草稿.*不接受回答"):
        load_answers(engine, draft, path)
    with pytest.raises(CollectionError, match="没有编号为 999"):
        load_answers(engine, 999, path)
    closed = new_collection(world)
    with Session(engine) as session, session.begin():
        set_status(session.get(Collection, closed), "closed")
    with pytest.raises(CollectionError, match="已结束"):
        load_answers(engine, closed, path)
    assert counts(world) == before


def test_a_file_that_cannot_be_read_changes_nothing_but_the_ledger(world: str, tmp_path: Path) -> None:
    collection_id = new_collection(world)
    engine = make_engine(world)
    before = counts(world)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    other = write_xlsx(tmp_path / "other.xlsx", [["姓名", "身份证号"], ["张三", "x"]])
    no_qty = write_xlsx(tmp_path / "no_qty.xlsx", [["企业名称", "联系人"], ["上海甲有限公司", "张三"]])
    results = [load_answers(engine, collection_id, p) for p in (broken, other, no_qty)]
    assert [r.status for r in results] == ["failed"] * 3
    header_only = write_xlsx(tmp_path / "header_only.xlsx", [["企业名称", "需求数量（只）"]])
    assert (load_answers(engine, collection_id, header_only).status, counts(world)[:2]) == ("loaded", before[:2])
    assert "找不到与信息收集“口罩需求登记表”相符的表头" in (results[1].error or "")
    assert "缺少必填列：需求数量(只)" in (results[2].error or "")
    answers, rejects, batches = counts(world)
    assert (answers, rejects, batches) == (before[0], before[1], before[2] + 4)


def test_a_csv_in_gbk_with_resident_ids_masks_them_in_rejects(world: str, tmp_path: Path) -> None:
    definition = {**MASKS, "title": "返岗登记", "respondents": "both", "scope": JSL,
                  "fields": [{"key": "person_id", "label": "身份证号", "type": "resident_id", "required": True},
                             {"key": "temperature", "label": "体温", "type": "number", "min": 34, "max": 43}]}
    collection_id = new_collection(world, definition)
    good = make_id("310105", "19850312", "123")
    bad = good[:-1] + ("1" if good[-1] != "1" else "2")
    path = tmp_path / "返岗.csv"
    path.write_bytes(("企业名称,身份证号,体温,提交时间\n"
                      f"上海甲有限公司,{good},36.5,2020-02-11 08:00\n"
                      f"上海乙有限公司,{bad},36.6,2020-02-11 08:00\n"
                      f"江苏路小吃店,{good},50,2020-02-11 08:00\n"
                      f"上海戊有限公司,{good},36.6,2020-02-11 08:00\n"
                      f"上海甲有限公司,{good},36.5,2020年2月31日\n").encode("gbk"))
    result = load_answers(make_engine(world), collection_id, path)
    assert (result.rows, result.inserted, result.rejected, result.warnings) == (5, 2, 3, 1)
    with Session(make_engine(world)) as session:
        stored = [json.loads(a) for a in session.scalars(select(CollectionAnswer.answers).order_by(CollectionAnswer.id))]
        rows = list(reject_rows(session))
        raw = " ".join(session.scalars(select(Reject.raw)))
    assert stored[0]["person_id"]["masked"] == "310105********" + good[-4:]
    assert good not in json.dumps(stored) and bad not in " ".join(str(r) for r in rows) + raw
    reasons = {(row, code): reason for _, _, row, _, _, code, reason, _ in rows}
    assert "310105********" + bad[-4:] in reasons[(3, "id_checksum")]
    assert "应在 34–43 之间" in reasons[(4, "out_of_range")]
    assert "该企业属于长宁区新华路街道，本次信息收集的范围是江苏路街道" in reasons[(5, "enterprise_out_of_scope")]
    assert reasons[(6, "datetime_invalid")].endswith("按导入时间计；本行其余内容已导入（提交时间：2020年2月31日）")


def test_onenet_ingest_collection_prints_the_summary_and_refuses_a_draft(world: str, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    collection_id = new_collection(world)
    path = messy_sheet(tmp_path / "answers.xlsx")
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"")
    assert cli.main(["--db", world, "ingest", "--collection", str(collection_id), str(path), str(broken)]) == 1
    out = capsys.readouterr().out
    assert "answers.xlsx" in out and "口罩需求登记表" in out and "已导入" in out and "失败" in out
    assert "6 rows rejected" in out
    assert cli.main(["--db", world, "ingest", "--collection", str(collection_id), "--json", str(path)]) == 0
    files = json.loads(capsys.readouterr().out)["files"]
    assert [(f["status"], f["rows"]) for f in files] == [("unchanged", 10)]
    draft = new_collection(world, open_it=False)
    with pytest.raises(SystemExit, match="草稿"):
        cli.main(["--db", world, "ingest", "--collection", str(draft), str(path)])


def test_an_ordinary_ingest_sends_a_sheet_answering_one_open_collection_to_it(world: str, tmp_path: Path,
                                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The 口罩 sheet names 企业名称, 联系电话 and 是否已复工 as a reopening report would, and 需求数量, which only the
    collection knows: it goes to the collection. A real reopening report beside it loads as one."""
    answers = messy_sheet(tmp_path / "口罩需求.xlsx")
    report = write_xlsx(tmp_path / "复工申报.xlsx", [["企业名称", "统一社会信用代码", "是否复工", "计划复工日期", "填报时间"],
                                                  ["上海乙有限公司", U2, "否", "2020-02-20", "2020-02-11 09:00"]])
    assert cli.main(["--db", world, "ingest", str(answers), str(report)]) == 0  # no open collection yet: both read
    capsys.readouterr()
    with Session(make_engine(world)) as session:
        assert session.scalar(select(func.count()).select_from(CollectionAnswer)) == 0
    collection_id = new_collection(world)
    assert cli.main(["--db", world, "ingest", "--reload", str(answers), str(report)]) == 0
    out = capsys.readouterr().out
    assert f"信息收集 #{collection_id}" in out and "企业复工申报" in out
    with Session(make_engine(world)) as session:
        assert session.scalar(select(func.count()).select_from(CollectionAnswer)) == 4
        kinds = set(session.scalars(select(ImportBatch.kind)))
    assert f"collection:{collection_id}" in kinds and "reopening_report" in kinds
    new_collection(world)  # two open collections answered by the same sheet: neither is guessed
    capsys.readouterr()
    assert cli.main(["--db", world, "ingest", "--reload", str(answers)]) in (0, 1)
    assert "信息收集 #" not in capsys.readouterr().out
