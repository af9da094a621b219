"""Identity and merging (docs/rules.md#identity, docs/rules.md#merging), checked in the database after real files went through the pipeline.

- re-loading a file already loaded (same content hash) changes nothing and says so;
- later information wins field by field (by submitted_at, else load order); an empty cell never erases;
- every stored fact keeps its provenance (batch, sheet, row);
- an enterprise first seen in a report joins the registry, flagged, and counts from then on;
- enterprises without USCC are matched by normalised name within their street;
- the same person in two files is one person; raw ID numbers are never stored.
"""
from __future__ import annotations

import hashlib
import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, func, select
from sqlalchemy.orm import Session

from etl import config, pipeline
from etl.figures import summary
from etl.pipeline import FileResult, Ingestor
from etl.database import make_engine
from schemas.models import (
    Building,
    Enterprise,
    ImportBatch,
    Reject,
    ReopeningReport,
    ReturningStaff,
)
from tests.fixtures import messy
from tests.fixtures.messy import (
    JSL,
    LJZ,
    XHL,
    Sheet,
    fullwidth,
    id15_to_18,
    make_id,
    make_uscc,
    write_csv,
    write_xlsx,
    wrong_check,
)

DIVISIONS = [["区划代码", "区划名称", "级别", "上级代码"],
             [JSL, "江苏路街道", "街道", "310105"], [XHL, "新华路街道", "街道", "310105"],
             [LJZ, "陆家嘴街道", "街道", "310115"]]


def load(db_url: str, *paths: Path) -> dict[str, FileResult]:
    results = Ingestor(make_engine(db_url), log=lambda m: None).ingest(list(paths))
    return {Path(r.file).name: r for r in results}


def loaded(db_url: str, *paths: Path) -> dict[str, FileResult]:
    results = load(db_url, *paths)
    bad = {n: (r.status, r.error) for n, r in results.items() if r.status != "loaded"}
    assert not bad, bad
    for name, r in results.items():
        assert r.inserted + r.updated + r.unchanged + r.rejected == r.rows, (name, r)
    return results


def session(db_url: str) -> Session:
    return Session(make_engine(db_url))


def street(db_url: str, day: date, code: str) -> dict[str, Any]:
    with session(db_url) as s:
        return {u["code"]: u for u in summary(s, day, "street")}[code]


def dump(db_url: str, skip: tuple[str, ...] = ("import_batch",)) -> dict[str, list[str]]:
    engine = make_engine(db_url)
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        out = {t.name: sorted(repr(tuple(r)) for r in conn.execute(select(t)))
               for t in meta.sorted_tables if t.name not in skip}
    engine.dispose()
    return out


# --------------------------------------------------------------------------- re-loading


def test_files_loaded_before_their_division_registry_load_with_reload(db_url: str, tmp_path: Path) -> None:
    """One file per command, the registry last: the rows wait for it, and --reload then loads them.

    Without --reload the same content is only reported unchanged (docs/rules.md#loading-a-file-again), with a hint; with it, rows
    stored already come out unchanged, the rows rejected for want of a street load, and the rejects of
    the earlier loads give way to the new load's.
    """
    p = messy.build_world1(tmp_path / "inbox")
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    loaded(reference, tmp_path / "inbox")
    for name in ("report_0210", "staff_csv", "enterprises", "buildings"):
        assert load(db_url, p[name])[p[name].name].status == "loaded"
    loaded(db_url, p["divisions"])
    with session(db_url) as s:
        assert s.scalar(select(func.count()).select_from(ImportBatch).where(ImportBatch.rejected > 0)) == 4

    messages: list[str] = []
    Ingestor(make_engine(db_url), log=messages.append).ingest([p["staff_csv"]])
    assert any("--reload" in m for m in messages), messages

    again = {Path(r.file).name: r for r in
             Ingestor(make_engine(db_url), log=lambda m: None, reload=True).ingest([tmp_path / "inbox"])}
    assert {r.status for r in again.values()} == {"loaded"}
    assert sum(r.inserted for r in again.values()) > 0

    def rejects(url: str) -> list[tuple[Any, ...]]:
        with session(url) as s:
            return sorted(s.execute(select(ImportBatch.file_name, Reject.sheet, Reject.row_number, Reject.field, Reject.code)
                                    .join(ImportBatch, ImportBatch.id == Reject.batch_id)).all())

    assert rejects(db_url) == rejects(reference)
    for day in (date(2020, 2, 10), date(2020, 2, 12)):
        with session(db_url) as s, session(reference) as r:
            assert summary(s, day, "street") == summary(r, day, "street"), day

    def facts(url: str) -> dict[str, list[str]]:  # not the ledger, the rejects it owns, the recomputed aggregates
        return {t: rows for t, rows in dump(url, skip=("import_batch", "reject")).items() if not t.startswith("agg_")}

    before = facts(db_url)
    twice = Ingestor(make_engine(db_url), log=lambda m: None, reload=True).ingest([tmp_path / "inbox"])
    assert all(r.inserted == r.updated == 0 for r in twice), [(r.file, r.inserted, r.updated) for r in twice]
    assert facts(db_url) == before
    assert rejects(db_url) == rejects(reference)


def test_reloading_the_same_files_changes_nothing_and_says_so(db_url: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    p = messy.build_world1(tmp_path / "inbox")
    loaded(db_url, tmp_path / "inbox")
    before = dump(db_url)
    with session(db_url) as s:
        ledger_before = s.scalar(select(func.count()).select_from(ImportBatch).where(ImportBatch.status == "loaded"))
    opened: list[Path] = []  # files loaded before are recognised by their hash, without being read again
    for reader in ("read_tables", "sniff_kinds"):
        real = getattr(pipeline, reader)
        monkeypatch.setattr(pipeline, reader, lambda path, real=real: opened.append(path) or real(path))
    again = load(db_url, tmp_path / "inbox")
    assert opened == []
    assert {n: r.status for n, r in again.items()} == {path.name: "unchanged" for path in p.values()}
    assert all(r.inserted == r.updated == 0 for r in again.values())
    # a copy under another name, in another folder, is the same file
    copy = tmp_path / "elsewhere" / "复工申报（副本）.xlsx"
    copy.parent.mkdir()
    copy.write_bytes(p["report_0211"].read_bytes())
    assert load(db_url, copy)[copy.name].status == "unchanged"
    assert dump(db_url) == before
    with session(db_url) as s:
        assert s.scalar(select(func.count()).select_from(ImportBatch).where(ImportBatch.status == "loaded")) == ledger_before


def test_a_cumulative_export_only_adds_what_is_new(db_url: str, tmp_path: Path) -> None:
    """Offices often send the whole list again each day: yesterday's rows are unchanged, not doubled."""
    u1, u2 = make_uscc("91310105MA1CU0001"), make_uscc("91310105MA1CU0002")
    ids = [make_id("310105", "19800101", f"{i:03d}") for i in range(3)]
    write_csv(tmp_path / "d" / "区划.csv", DIVISIONS)
    write_csv(tmp_path / "d" / "名录.csv", [["企业名称", "统一社会信用代码", "所属街道", "类型"],
                                            ["上海累一有限公司", u1, "江苏路", "企业"], ["上海累二有限公司", u2, "江苏路", "企业"]])
    report_header = ["企业名称", "统一社会信用代码", "街道", "是否复工", "员工总数", "已返岗人数", "填报时间"]
    staff_header = ["姓名", "身份证号", "所属街道", "返沪日期", "隔离状态"]
    day1 = [["上海累一有限公司", u1, "江苏路", "是", "10", "5", "2020-02-10 09:00"]]
    staff1 = [["甲", ids[0], "江苏路", "2020-02-05", "无需隔离"], ["乙", ids[1], "江苏路", "2020-02-06", "无需隔离"]]
    write_csv(tmp_path / "d1" / "申报.csv", [report_header, *day1])
    write_csv(tmp_path / "d1" / "返岗.csv", [staff_header, *staff1])
    loaded(db_url, tmp_path / "d", tmp_path / "d1")
    write_csv(tmp_path / "d2" / "申报.csv", [report_header, *day1,
                                             ["上海累二有限公司", u2, "江苏路", "否", "8", "1", "2020-02-11 09:00"]])
    write_csv(tmp_path / "d2" / "返岗.csv", [staff_header, *staff1, ["丙", ids[2], "江苏路", "2020-02-07", "无需隔离"]])
    second = loaded(db_url, tmp_path / "d2")
    for name in ("申报.csv", "返岗.csv"):
        r = second[name]
        assert (r.inserted, r.updated, r.unchanged) == (1, 0, r.rows - 1), (name, r)
    with session(db_url) as s:
        assert s.scalar(select(func.count()).select_from(ReopeningReport)) == 2
        assert s.scalar(select(func.count(func.distinct(ReturningStaff.person_key)))) == 3
        assert s.scalar(select(func.count()).select_from(ReturningStaff).where(ReturningStaff.is_current.is_(True))) == 3
    u = street(db_url, date(2020, 2, 11), JSL)
    assert (u["reported"], u["reopened"], u["staff_total"], u["staff_returned"], u["returning_staff"]) == (2, 1, 18, 6, 3)


# --------------------------------------------------------------------------- registries: later wins, empty never erases


def test_a_new_registry_version_merges_field_by_field(db_url: str, tmp_path: Path) -> None:
    a, b, c, d = (make_uscc(f"91310105MA1RG000{i}") for i in range(1, 5))
    header = ["企业名称", "统一社会信用代码", "经营地址", "所属街道", "行业", "员工总数", "类型"]
    write_csv(tmp_path / "v0" / "区划.csv", DIVISIONS)
    v1 = write_xlsx(tmp_path / "v1" / "企业名录.xlsx", [Sheet("名录", rows=[
        ["企业名录（第一版）"],
        header,
        ["上海甲有限公司", a, "江苏路1号", "江苏路", "软件", 10, "企业"],      # row 3
        ["上海乙有限公司", b, "江苏路2号", "江苏路", "贸易", 20, "企业"],      # row 4
        ["上海丙有限公司", c, "江苏路3号", "江苏路", "咨询", 30, "企业"],      # row 5
    ])])
    v2 = write_csv(tmp_path / "v2" / "企业名录_更新.csv", [
        header,
        ["上海甲有限公司", a, "", "江苏路", "信息技术", "", "企业"],          # line 2: industry changes, empty never erases
        ["上海乙有限公司", b, "江苏路2号", "江苏路", "贸易", "20", "企业"],    # line 3: identical
        ["上海丙有限公司", c, "", "", "", "", ""],                            # line 4: only empty cells
        ["上海丁有限公司", d, "江苏路4号", "江苏路", "餐饮", "5", "企业"],     # line 5: new
    ])
    first = loaded(db_url, tmp_path / "v0", tmp_path / "v1")[v1.name]
    second = loaded(db_url, tmp_path / "v2")[v2.name]
    assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)
    assert (second.rows, second.inserted, second.updated, second.unchanged, second.rejected) == (4, 1, 1, 2, 0), second
    with session(db_url) as s:
        rows = {e.uscc: e for e in s.scalars(select(Enterprise))}
        batches = {b.file_name: b.id for b in s.scalars(select(ImportBatch))}
    assert (rows[a].industry, rows[a].address, rows[a].staff_total, rows[a].street_code) == ("信息技术", "江苏路1号", 10, JSL)
    assert (rows[c].industry, rows[c].address, rows[c].staff_total, rows[c].street_code, rows[c].kind) == (
        "咨询", "江苏路3号", 30, JSL, "企业")
    assert rows[d].industry == "餐饮" and rows[d].from_registry
    # provenance, field by field: industry from the update (line 2), address still from the first file (row 3)
    sources = json.loads(rows[a].sources)
    assert _where(sources["industry"]) == (batches[v2.name], 2), sources
    assert _where(sources["address"]) == (batches[v1.name], 3), sources
    assert _sheet(sources["address"]) == "名录", sources


def _where(source: Any) -> tuple[int, int]:
    """(batch id, row) out of a stored provenance entry."""
    if isinstance(source, dict):
        return int(source.get("batch") or source.get("batch_id")), int(source.get("row") or source.get("row_number"))
    return int(source[0]), int(source[-1])


def _sheet(source: Any) -> str | None:
    return source.get("sheet") if isinstance(source, dict) else source[1]


def test_a_new_building_registry_version_keeps_what_it_leaves_empty(db_url: str, tmp_path: Path) -> None:
    write_csv(tmp_path / "v0" / "区划.csv", DIVISIONS)
    write_csv(tmp_path / "v1" / "楼宇.csv", [
        ["楼宇名称", "地址", "所属街道", "业主单位", "联系人", "联系电话"],
        ["华鑫大厦", "江苏路100号", "江苏路", "华鑫物业", "王伟民", "13800138000"],
    ])
    write_csv(tmp_path / "v2" / "楼宇_更新.csv", [
        ["楼宇名称", "地址", "所属街道", "业主单位", "联系人", "联系电话"],
        ["华 鑫 大 厦", "", "江苏路街道", "", "赵新", ""],      # same building by normalised name within its street
    ])
    loaded(db_url, tmp_path / "v0", tmp_path / "v1")
    r = loaded(db_url, tmp_path / "v2")["楼宇_更新.csv"]
    assert (r.inserted, r.updated) == (0, 1), r
    with session(db_url) as s:
        buildings = s.scalars(select(Building)).all()
    assert len(buildings) == 1
    b = buildings[0]
    assert (b.address, b.owner, b.owner_contact, b.owner_phone) == ("江苏路100号", "华鑫物业", "赵新", "13800138000")


# --------------------------------------------------------------------------- reports: later wins by submitted_at


def _report_world(tmp_path: Path) -> tuple[str, Path]:
    u = make_uscc("91310105MA1RP0001")
    write_csv(tmp_path / "reg" / "区划.csv", DIVISIONS)
    write_csv(tmp_path / "reg" / "名录.csv", [["企业名称", "统一社会信用代码", "所属街道", "类型"],
                                              ["上海报告有限公司", u, "江苏路", "企业"]])
    return u, tmp_path / "reg"


def test_reports_merge_by_submission_time_not_load_order(db_url: str, tmp_path: Path) -> None:
    u, reg = _report_world(tmp_path)
    header = ["企业名称", "统一社会信用代码", "街道", "是否复工", "实际复工日期", "员工总数", "已返岗人数", "联系人", "填报时间"]
    later = write_csv(tmp_path / "a" / "申报_0211.csv", [header,
                      ["上海报告有限公司", u, "江苏路", "否", "", "", "15", "", "2020-02-11 09:00"]])
    write_csv(tmp_path / "b" / "申报_0210.csv", [header,
                        ["上海报告有限公司", u, "江苏路", "是", "2020-02-10", "20", "10", "张三", "2020-02-10 09:00"]])
    loaded(db_url, reg, tmp_path / "a")
    loaded(db_url, tmp_path / "b")           # loaded last, submitted first: must not win
    d10, d11 = street(db_url, date(2020, 2, 10), JSL), street(db_url, date(2020, 2, 11), JSL)
    assert (d10["reopened"], d10["staff_total"], d10["staff_returned"]) == (1, 20, 10)
    assert (d11["reopened"], d11["staff_total"], d11["staff_returned"]) == (0, 20, 15)
    with session(db_url) as s:
        latest = s.scalars(select(ReopeningReport).order_by(ReopeningReport.effective_at.desc())).first()
        batch = s.get(ImportBatch, latest.batch_id)
    assert latest.submitted_at == datetime(2020, 2, 11, 9, 0)
    assert (latest.reopened, latest.staff_total, latest.staff_returned, latest.contact_name) == (False, 20, 15, "张三")
    assert (batch.file_name, latest.row_number) == (later.name, 2), "provenance of the 02-11 report"


def test_reports_without_submission_time_merge_in_load_order(db_url: str, tmp_path: Path) -> None:
    u, reg = _report_world(tmp_path)
    header = ["企业名称", "统一社会信用代码", "街道", "是否复工", "员工总数", "已返岗人数"]
    write_csv(tmp_path / "a" / "申报一.csv", [header, ["上海报告有限公司", u, "江苏路", "否", "20", "5"]])
    write_csv(tmp_path / "b" / "申报二.csv", [header, ["上海报告有限公司", u, "江苏路", "是", "", "12"]])
    write_csv(tmp_path / "c" / "申报三.csv", [header, ["上海报告有限公司", u, "江苏路", "", "", ""]])
    loaded(db_url, reg, tmp_path / "a")
    loaded(db_url, tmp_path / "b")
    loaded(db_url, tmp_path / "c")
    today = config.local_now().date()
    u_today = street(db_url, today, JSL)
    assert (u_today["reported"], u_today["reopened"], u_today["staff_total"], u_today["staff_returned"]) == (1, 1, 20, 12)


def test_an_empty_cell_in_a_later_report_never_erases(db_url: str, tmp_path: Path) -> None:
    u, reg = _report_world(tmp_path)
    write_xlsx(tmp_path / "r" / "申报.xlsx", [Sheet("申报", rows=[
        ["企业名称", "统一社会信用代码", "街道", "是否复工", "实际复工日期", "员工总数", "已返岗人数", "填报时间"],
        ["上海报告有限公司", u, "江苏路", "是", date(2020, 2, 10), 50, 10, datetime(2020, 2, 10, 9, 0)],
        ["上海报告有限公司", u, "江苏路", None, None, None, 45, datetime(2020, 2, 11, 9, 0)],
    ])])
    loaded(db_url, reg, tmp_path / "r")
    d = street(db_url, date(2020, 2, 11), JSL)
    assert (d["reopened"], d["staff_total"], d["staff_returned"]) == (1, 50, 45)


# --------------------------------------------------------------------------- enterprises first seen in a report


def test_an_enterprise_first_seen_in_a_report_joins_flagged_and_counts_from_then(db_url: str, tmp_path: Path) -> None:
    u, reg = _report_world(tmp_path)
    new_code = make_uscc("91310105MA1NW0001")
    report = write_csv(tmp_path / "r" / "申报.csv", [
        ["企业名称", "统一社会信用代码", "街道", "是否复工", "实际复工日期", "员工总数", "已返岗人数", "填报时间"],
        ["上海报告有限公司", u, "江苏路", "是", "2020-02-10", "10", "5", "2020-02-10 09:00"],
        ["上海新来有限公司", new_code, "江苏路", "是", "2020-02-11", "8", "4", "2020-02-11 14:00"],        # line 3
        ["新来 小店", "", "江苏路", "是", "2020-02-11", "", "", "2020-02-11 15:00"],                      # line 4, no USCC
        ["新来小店", "", "江苏路街道", "否", "", "3", "1", "2020-02-12 09:00"],                           # same one
        ["上海无处有限公司", make_uscc("91310105MA1NW0002"), "", "是", "", "", "", "2020-02-11 10:00"],  # no street
    ])
    r = loaded(db_url, reg, tmp_path / "r")[report.name]
    assert (r.rows, r.rejected) == (5, 1), r
    with session(db_url) as s:
        ents = {e.name: e for e in s.scalars(select(Enterprise))}
        reject = s.scalars(select(Reject)).one()
    assert set(ents) == {"上海报告有限公司", "上海新来有限公司", "新来 小店"} or set(ents) == {
        "上海报告有限公司", "上海新来有限公司", "新来小店"}, set(ents)
    assert ents["上海报告有限公司"].from_registry
    new = ents["上海新来有限公司"]
    assert not new.from_registry and new.registered_at == datetime(2020, 2, 11, 14, 0) and new.street_code == JSL
    assert json.loads(new.sources), "a first-seen enterprise keeps where it was first seen"
    assert reject.row_number == 6 and reject.reason
    d10, d11, d12 = (street(db_url, date(2020, 2, d), JSL) for d in (10, 11, 12))
    assert (d10["enterprises"], d10["reopened"], d10["reported"]) == (1, 1, 1)
    assert (d11["enterprises"], d11["reopened"], d11["reported"]) == (3, 3, 3)
    assert (d12["enterprises"], d12["reopened"], d12["reported"]) == (3, 2, 3)


# --------------------------------------------------------------------------- enterprises without USCC


def test_enterprises_without_credit_code_match_by_normalised_name_within_their_street(db_url: str, tmp_path: Path) -> None:
    write_csv(tmp_path / "reg" / "区划.csv", DIVISIONS)
    write_csv(tmp_path / "reg" / "名录.csv", [
        ["企业名称", "统一社会信用代码", "所属街道", "类型"],
        ["上海戊（餐饮）管理有限公司", "", "江苏路", "企业"],
        ["上海戊（餐饮）管理有限公司", "", "新华路", "企业"],     # same name, another street: another enterprise
        ["ＡＢＣ咨询工作室", "", "江苏路", "个体工商户"],
    ])
    report = write_csv(tmp_path / "r" / "申报.csv", [
        ["企业名称", "统一社会信用代码", "街道", "是否复工", "实际复工日期", "填报时间"],
        ["上海戊(餐饮)管理有限公司\xa0", "", "\xa0江苏路街道", "是", "2020-02-10", "2020-02-10 09:00"],
        ["abc 咨询工作室", "", "江苏路", "是", "2020-02-10", "2020-02-10 09:30"],
    ])
    results = loaded(db_url, tmp_path / "reg", tmp_path / "r")
    assert (results[report.name].inserted, results[report.name].rejected) == (2, 0)
    with session(db_url) as s:
        assert s.scalar(select(func.count()).select_from(Enterprise)) == 3, "no enterprise was added"
        assert all(e.uscc is None and e.from_registry for e in s.scalars(select(Enterprise)))
    jsl, xhl = street(db_url, date(2020, 2, 10), JSL), street(db_url, date(2020, 2, 10), XHL)
    assert (jsl["enterprises"], jsl["reported"], jsl["reopened"]) == (2, 2, 2)
    assert (xhl["enterprises"], xhl["reported"], xhl["reopened"]) == (1, 0, 0)


# --------------------------------------------------------------------------- people


P_NEW = make_id("310105", "19850312", "123")
P_OLD15 = "310105850312123"
assert id15_to_18(P_OLD15) == P_NEW


def test_the_same_person_in_two_files_is_one_person_merged_by_submission_time(db_url: str, tmp_path: Path) -> None:
    write_csv(tmp_path / "reg" / "区划.csv", DIVISIONS)
    header = ["姓名", "身份证号", "手机号", "所属街道", "来源地", "返沪日期", "隔离状态", "填报时间"]
    a = write_csv(tmp_path / "a" / "返岗A.csv", [header,
                  ["张伟", P_NEW, "13800138001", "江苏路", "", "2020-02-10", "居家隔离", "2020-02-08 10:00"]], encoding="gbk")
    b = write_xlsx(tmp_path / "b" / "返岗B.xlsx", [Sheet("补录", rows=[
        ["补录名单"],
        ["员工姓名", "证件号码", "联系电话", "街镇", "出发地", "抵沪日期", "隔离情况", "提交时间"],
        ["张伟", P_OLD15, None, "江苏路", "湖北武汉", date(2020, 2, 8), "居家隔离", datetime(2020, 2, 5, 9, 0)],
    ])])
    loaded(db_url, tmp_path / "reg", tmp_path / "a")
    rb = loaded(db_url, tmp_path / "b")[b.name]
    assert rb.inserted == 0 and rb.rows == 1, rb
    with session(db_url) as s:
        assert s.scalar(select(func.count(func.distinct(ReturningStaff.person_key)))) == 1
        current = s.scalars(select(ReturningStaff).where(ReturningStaff.is_current.is_(True))).all()
        batches = {x.id: x.file_name for x in s.scalars(select(ImportBatch))}
    assert len(current) == 1
    p = current[0]
    # the 02-08 submission (file A) wins where it has values; file B fills what A left empty
    assert (p.return_date, p.quarantine_end, p.phone, p.origin) == (
        date(2020, 2, 10), date(2020, 2, 24), "13800138001", "湖北武汉")
    assert p.id_masked.startswith(P_NEW[:6]) and p.id_masked.endswith(P_NEW[-4:]) and P_NEW not in p.id_masked
    assert batches[p.batch_id] in {a.name, b.name} and p.row_number in {2, 3}
    u = street(db_url, date(2020, 2, 9), JSL)
    assert u["returning_staff"] == 0, "returns 02-10 by the latest submission"
    u = street(db_url, date(2020, 2, 10), JSL)
    assert (u["returning_staff"], u["in_quarantine"]) == (1, 1)


def test_a_late_file_of_earlier_submissions_folds_each_person_in_time(db_url: str, tmp_path: Path) -> None:
    """Older information never overwrites newer: it only fills what the newer left empty, person by person."""
    write_csv(tmp_path / "reg" / "区划.csv", DIVISIONS)
    same, fills, twice = (make_id("310105", f"1990010{i}", "123") for i in (1, 2, 3))
    header = ["姓名", "身份证号", "手机号", "所属街道", "来源地", "返沪日期", "提交时间"]
    write_csv(tmp_path / "new" / "新.csv", [header,
              ["甲", same, "13800138001", "江苏路", "湖北武汉", "2020-02-10", "2020-02-20 10:00"],
              ["乙", fills, "13800138002", "江苏路", "", "2020-02-11", "2020-02-20 10:00"],
              ["丙", twice, "13800138003", "江苏路", "安徽阜阳", "2020-02-12", "2020-02-20 10:00"]])
    late = write_csv(tmp_path / "old" / "旧.csv", [header,
                     ["甲", same, "13800138001", "江苏路", "湖北武汉", "2020-02-10", "2020-02-01 10:00"],
                     ["乙", fills, "13900000000", "江苏路", "河南信阳", "2020-02-01", "2020-02-01 10:00"],
                     ["丙", twice, "", "江苏路", "浙江温州", "2020-02-02", "2020-02-01 10:00"],
                     ["丙", twice, "13700000000", "江苏路", "", "", "2020-02-03 10:00"]])
    loaded(db_url, tmp_path / "reg", tmp_path / "new")
    r = loaded(db_url, tmp_path / "old")[late.name]
    assert (r.inserted, r.updated, r.unchanged) == (0, 1, 3), r
    with session(db_url) as s:
        current = {p.name: p for p in s.scalars(select(ReturningStaff).where(ReturningStaff.is_current.is_(True)))}
        records = s.scalar(select(func.count()).select_from(ReturningStaff))
    assert records == 4, "one new record, for the one person whose state changed"
    assert (current["甲"].phone, current["甲"].origin, current["甲"].filled_fields) == ("13800138001", "湖北武汉", None)
    assert (current["乙"].phone, current["乙"].origin, current["乙"].return_date) == ("13800138002", "河南信阳", date(2020, 2, 11))
    assert (current["丙"].phone, current["丙"].origin, current["丙"].return_date) == ("13800138003", "安徽阜阳", date(2020, 2, 12))


def test_origins_are_stored_as_written_beside_their_division_code(db_url: str, tmp_path: Path) -> None:
    """湖北武汉 and 湖北省武汉市 are one place (420100), 重庆市万州区 is 重庆市 (500000); an unknown place loads
    with no code and no reject; a later record that leaves the origin empty carries its text and code."""
    write_csv(tmp_path / "reg" / "区划.csv", DIVISIONS)
    a, b, c, d, e = (make_id("420106", f"1990020{i}", "123") for i in range(1, 6))
    header = ["姓名", "身份证号", "所属街道", "来源地", "返沪日期", "提交时间"]
    write_csv(tmp_path / "s1" / "返岗1.csv", [header,
              ["甲", a, "江苏路", "湖北武汉", "2020-02-03", "2020-02-01 10:00"],
              ["乙", b, "江苏路", "湖北省武汉市", "2020-02-03", "2020-02-01 10:00"],
              ["丙", c, "江苏路", "重庆市万州区", "2020-02-03", "2020-02-01 10:00"],
              ["丁", d, "江苏路", "　不详　", "2020-02-03", "2020-02-01 10:00"],
              ["戊", e, "江苏路", "", "2020-02-03", "2020-02-01 10:00"]])
    write_csv(tmp_path / "s2" / "返岗2.csv", [header,
              ["甲", a, "江苏路", "", "2020-02-05", "2020-02-02 10:00"],
              ["戊", e, "江苏路", "安徽阜阳", "2020-02-03", "2020-02-02 10:00"]])
    loaded(db_url, tmp_path / "reg", tmp_path / "s1")
    loaded(db_url, tmp_path / "s2")
    with session(db_url) as s:
        current = {p.name: (p.origin, p.origin_code) for p in s.scalars(select(ReturningStaff).where(ReturningStaff.is_current.is_(True)))}
        assert s.scalar(select(func.count()).select_from(Reject)) == 0
    assert current == {"甲": ("湖北武汉", "420100"), "乙": ("湖北省武汉市", "420100"), "丙": ("重庆市万州区", "500000"),
                       "丁": ("不详", None), "戊": ("安徽阜阳", "341200")}


def test_people_without_submission_time_merge_in_load_order(db_url: str, tmp_path: Path) -> None:
    write_csv(tmp_path / "reg" / "区划.csv", DIVISIONS)
    header = ["姓名", "身份证号", "所属街道", "返沪日期", "隔离状态"]
    write_csv(tmp_path / "a" / "一.csv", [header, ["张伟", P_NEW, "江苏路", "2020-02-01", "居家隔离"]])
    write_csv(tmp_path / "b" / "二.csv", [header, ["张伟", P_OLD15, "江苏路", "2020-02-03", ""]])
    loaded(db_url, tmp_path / "reg", tmp_path / "a")
    loaded(db_url, tmp_path / "b")
    with session(db_url) as s:
        current = s.scalars(select(ReturningStaff).where(ReturningStaff.is_current.is_(True))).all()
    assert len(current) == 1
    assert (current[0].return_date, current[0].quarantine_status) == (date(2020, 2, 3), "居家隔离")


def test_the_same_person_twice_in_one_file(db_url: str, tmp_path: Path) -> None:
    write_csv(tmp_path / "reg" / "区划.csv", DIVISIONS)
    staff = write_csv(tmp_path / "s" / "返岗.csv", [
        ["姓名", "身份证号", "手机号", "所属街道", "返沪日期", "隔离状态"],
        ["张伟", P_NEW, "", "江苏路", "2020-02-01", "居家隔离"],
        ["张伟", fullwidth(P_OLD15), "13800138001", "江苏路", "", ""],
    ])
    r = loaded(db_url, tmp_path / "reg", tmp_path / "s")[staff.name]
    assert r.rows == 2 and r.rejected == 0
    with session(db_url) as s:
        current = s.scalars(select(ReturningStaff).where(ReturningStaff.is_current.is_(True))).all()
    assert len(current) == 1
    assert (current[0].return_date, current[0].quarantine_status, current[0].phone) == (
        date(2020, 2, 1), "居家隔离", "13800138001")
    assert street(db_url, date(2020, 2, 2), JSL)["returning_staff"] == 1


# --------------------------------------------------------------------------- provenance


def test_every_stored_fact_keeps_file_sheet_and_row(db_url: str, tmp_path: Path) -> None:
    p = messy.build_world1(tmp_path / "inbox")
    loaded(db_url, tmp_path / "inbox")
    with session(db_url) as s:
        files = {b.id: b.file_name for b in s.scalars(select(ImportBatch))}
        reports = s.scalars(select(ReopeningReport)).all()
        staff = s.scalars(select(ReturningStaff)).all()
        rejects = s.scalars(select(Reject)).all()
        enterprises = s.scalars(select(Enterprise)).all()
        buildings = s.scalars(select(Building)).all()
    for r in reports:
        assert files.get(r.batch_id) in {p["report_0210"].name, p["report_0211"].name} and r.sheet in {"长宁区", "浦东新区"}
        assert r.row_number and r.row_number >= 2
    where = {(files[r.batch_id], r.sheet, r.row_number) for r in reports}
    # 上海甲科技 in the 02-10 file, sheet 长宁区, Excel row 3; 上海辛金融 in the 02-10 file, 浦东新区 row 2;
    # 子星 (first seen) in the 02-11 file, 浦东新区 row 4
    assert {(p["report_0210"].name, "长宁区", 3), (p["report_0210"].name, "浦东新区", 2),
            (p["report_0211"].name, "浦东新区", 4)} <= where, where
    for person in staff:
        assert files.get(person.batch_id) in {p["staff_csv"].name, p["staff_xlsx"].name} and person.row_number
    staff_where = {(files[x.batch_id], x.row_number) for x in staff}
    assert (p["staff_csv"].name, 2) in staff_where and (p["staff_xlsx"].name, 5) in staff_where, staff_where
    assert {(files[r.batch_id], r.row_number, r.field) for r in rejects} == {
        (p["staff_csv"].name, 4, "id_number"), (p["staff_csv"].name, 5, "id_number"),
        (p["staff_xlsx"].name, 4, "id_number")}
    assert {r.sheet for r in rejects if files[r.batch_id] == p["staff_xlsx"].name} == {"补报"}
    for e in enterprises:
        assert e.sources and json.loads(e.sources), e.name
    for b in buildings:
        assert b.sources and json.loads(b.sources), b.name
    e1 = next(e for e in enterprises if e.uscc == messy.U1)
    sources = json.loads(e1.sources)
    assert files[_where(sources["name"])[0]] == p["enterprises"].name and _where(sources["name"])[1] == 2


# --------------------------------------------------------------------------- raw IDs


def _all_ids() -> list[str]:
    return [messy.P1_ID, messy.P1_OLD15, messy.P2_ID, messy.P4_BAD, messy.P5_ID, messy.P6_ID, messy.P8_ID, messy.P9_ID,
            str(messy.P7_NUMERIC), messy.W4_GOOD, messy.W4_BADCHECK, messy.W4_GOOD2, "310101198404040000",
            P_NEW, P_OLD15]


def test_raw_id_numbers_are_never_stored_anywhere(db_url: str, tmp_path: Path) -> None:
    messy.build_world1(tmp_path / "w1")
    messy.build_world4(tmp_path / "w4")
    write_csv(tmp_path / "w" / "区划.csv", DIVISIONS)
    write_csv(tmp_path / "w" / "返岗.csv", [
        ["姓名", "身份证号", "所属街道", "返沪日期", "备注"],
        ["张伟", P_NEW, "江苏路", "2020-02-01", ""],
        ["张伟", P_OLD15, "江苏路", "不详", "不详"],                     # rejected row (bad date) of a valid ID
        ["李四", wrong_check(P_NEW), "江苏路", "2020-02-01", ""],        # rejected ID
    ])
    load(db_url, tmp_path / "w1", tmp_path / "w4", tmp_path / "w")
    needles: set[str] = set()
    for raw in _all_ids():
        for form in {raw, raw.lower(), raw.upper()}:
            needles.update({form, fullwidth(form), hashlib.sha256(form.encode()).hexdigest(),
                            hashlib.md5(form.encode()).hexdigest(), hashlib.sha1(form.encode()).hexdigest()})
        if len(raw) == 18 and raw[:17].isdigit():
            needles.add(raw[:17])  # the ID without its check character
    byte_needles = {n.encode() for n in needles} | {hashlib.sha256(r.encode()).digest() for r in _all_ids()}
    engine = make_engine(db_url)
    meta = MetaData()
    meta.reflect(engine)
    found = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                for col, value in zip(table.columns.keys(), row):
                    if value is None:
                        continue
                    if isinstance(value, (bytes, bytearray, memoryview)):
                        blob = bytes(value)
                        found += [(table.name, col, n[:12]) for n in byte_needles if n in blob]
                    else:
                        text = str(value)
                        found += [(table.name, col, n) for n in needles if n in text]
    engine.dispose()
    assert not found, f"raw (or plainly hashed) resident IDs stored: {sorted(set(found))[:20]}"


def test_id_hashes_are_keyed_by_the_installation_secret(db_url: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    write_csv(tmp_path / "w" / "区划.csv", DIVISIONS)
    write_csv(tmp_path / "w" / "返岗.csv", [["姓名", "身份证号", "所属街道", "返沪日期"], ["张伟", P_NEW, "江苏路", "2020-02-01"]])
    loaded(db_url, tmp_path / "w")
    with session(db_url) as s:
        first = bytes(s.scalars(select(ReturningStaff.id_hash)).one())
    other = f"sqlite:///{tmp_path / 'other.db'}"
    monkeypatch.setenv("ONENET_SECRET", "another-installation-of-32-bytes-or-more")
    loaded(other, tmp_path / "w")
    with session(other) as s:
        second = bytes(s.scalars(select(ReturningStaff.id_hash)).one())
    assert first != second, "the hash must depend on the per-installation secret (HMAC), not on the ID alone"
    assert first not in {hashlib.sha256(P_NEW.encode()).digest(), hashlib.sha256(P_NEW.encode()).hexdigest().encode()}
    assert os.environ["ONENET_SECRET"] == "another-installation-of-32-bytes-or-more"


def test_a_corrected_report_in_a_later_file_updates_it(db_url: str, tmp_path: Path) -> None:
    """The same submission (enterprise and submission time) sent again with a corrected figure."""
    u, reg = _report_world(tmp_path)
    header = ["企业名称", "统一社会信用代码", "街道", "是否复工", "员工总数", "已返岗人数", "填报时间"]
    write_csv(tmp_path / "a" / "申报.csv", [header, ["上海报告有限公司", u, "江苏路", "是", "20", "5", "2020-02-10 09:00"]])
    fixed = write_csv(tmp_path / "b" / "申报_更正.csv", [header,
                      ["上海报告有限公司", u, "江苏路", "是", "20", "8", "2020-02-10 09:00"]])
    loaded(db_url, reg, tmp_path / "a")
    r = loaded(db_url, tmp_path / "b")[fixed.name]
    assert (r.inserted, r.updated, r.unchanged) == (0, 1, 0), r
    with session(db_url) as s:
        assert s.scalar(select(func.count()).select_from(ReopeningReport)) == 1
    d = street(db_url, date(2020, 2, 10), JSL)
    assert (d["reported"], d["staff_total"], d["staff_returned"]) == (1, 20, 8)


def test_a_person_who_changes_enterprise_counts_once_in_the_new_street(db_url: str, tmp_path: Path) -> None:
    ua, ub = make_uscc("91310105MA1MW0001"), make_uscc("91310115MA1MW0002")
    write_csv(tmp_path / "reg" / "区划.csv", DIVISIONS)
    write_csv(tmp_path / "reg" / "名录.csv", [["企业名称", "统一社会信用代码", "所属街道", "类型"],
                                              ["上海江苏有限公司", ua, "江苏路", "企业"],
                                              ["上海陆家嘴有限公司", ub, "陆家嘴", "企业"]])
    header = ["姓名", "身份证号", "工作单位", "返沪日期", "填报时间"]
    write_csv(tmp_path / "a" / "返岗.csv", [header, ["张伟", P_NEW, "上海江苏有限公司", "2020-02-01", "2020-02-01 09:00"]])
    write_csv(tmp_path / "b" / "返岗.csv", [header, ["张伟", P_NEW, "上海陆家嘴有限公司", "", "2020-02-05 09:00"]])
    loaded(db_url, tmp_path / "reg", tmp_path / "a")
    assert street(db_url, date(2020, 2, 6), JSL)["returning_staff"] == 1
    loaded(db_url, tmp_path / "b")
    assert street(db_url, date(2020, 2, 6), JSL)["returning_staff"] == 0
    assert street(db_url, date(2020, 2, 6), LJZ)["returning_staff"] == 1


@pytest.mark.parametrize("first_with_code", [True, False], ids=["code_then_name", "name_then_code"])
def test_a_new_enterprise_reporting_once_with_and_once_without_its_code(db_url: str, tmp_path: Path,
                                                                        first_with_code: bool) -> None:
    """Not in the registry; one report gives the credit code, another (same name, same street) forgets it:
    one enterprise, first seen at its first report."""
    write_csv(tmp_path / "reg" / "区划.csv", DIVISIONS)
    code = make_uscc("91310105MA1TW0001")
    rows = [["上海新一有限公司", code, "江苏路", "否", "2020-02-10 09:00"],
            ["上海新一有限公司", "", "江苏路", "是", "2020-02-11 09:00"]]
    if not first_with_code:
        rows = [[r[0], code if r[1] == "" else "", *r[2:]] for r in rows]
    report = write_csv(tmp_path / "r" / "申报.csv", [["企业名称", "统一社会信用代码", "街道", "是否复工", "填报时间"], *rows])
    r = loaded(db_url, tmp_path / "reg", tmp_path / "r")[report.name]
    assert (r.inserted, r.rejected) == (2, 0), r
    with session(db_url) as s:
        ents = s.scalars(select(Enterprise)).all()
    assert len(ents) == 1 and ents[0].uscc == code and not ents[0].from_registry, [(e.name, e.uscc) for e in ents]
    assert ents[0].registered_at == datetime(2020, 2, 10, 9, 0)
    d10, d11 = street(db_url, date(2020, 2, 10), JSL), street(db_url, date(2020, 2, 11), JSL)
    assert (d10["enterprises"], d10["reopened"], d11["enterprises"], d11["reopened"]) == (1, 0, 1, 1)


def test_a_name_without_code_shared_by_two_new_enterprises_is_rejected_not_guessed(db_url: str, tmp_path: Path) -> None:
    """Two enterprises of one name in one street, told apart by their credit codes, both first seen in a report;
    a third row gives only the name: it could be either, so it is rejected with the reason (docs/rules.md#enterprises: nothing is guessed)."""
    write_csv(tmp_path / "reg" / "区划.csv", DIVISIONS)
    a, b = make_uscc("91310105MA1TW0002"), make_uscc("91310105MA1TW0003")
    report = write_csv(tmp_path / "r" / "申报.csv", [
        ["企业名称", "统一社会信用代码", "街道", "是否复工", "填报时间"],
        ["上海同名有限公司", a, "江苏路", "是", "2020-02-10 09:00"],
        ["上海同名有限公司", b, "江苏路", "否", "2020-02-10 10:00"],
        ["上海同名有限公司", "", "江苏路", "是", "2020-02-11 09:00"],     # line 4
    ])
    r = loaded(db_url, tmp_path / "reg", tmp_path / "r")[report.name]
    assert (r.inserted, r.rejected) == (2, 1), r
    with session(db_url) as s:
        assert sorted(s.scalars(select(Enterprise.uscc))) == sorted([a, b])
        rejects = s.execute(select(Reject.row_number, Reject.field, Reject.reason)).all()
    assert [(row, field) for row, field, _ in rejects] == [(4, "enterprise_name")], rejects
    assert "统一社会信用代码" in rejects[0][2]


def test_long_free_text_and_special_characters_load_the_same_on_both_engines(db_url: str, tmp_path: Path) -> None:
    """Free text is free: a long 健康状况 or 来源地 must not make PostgreSQL refuse the file while SQLite takes it.
    Quotes, commas, backslashes, PostgreSQL's \\N and characters beyond the BMP survive the bulk-load path."""
    write_csv(tmp_path / "reg" / "区划.csv", DIVISIONS)
    long_origin = "湖北省武汉市江汉区" * 8            # 72 characters
    long_health = "体温正常无咳嗽、乏力等症状、" * 7   # 91 characters
    long_industry = "软件和信息技术服务业、" * 8       # 88 characters
    tricky_note = 'He said "复工", ok; a,b \\N \\x 𠀀🙂'
    code = make_uscc("91310105MA1LT0001")
    registry = write_csv(tmp_path / "reg" / "名录.csv", [
        ["企业名称", "统一社会信用代码", "所属街道", "行业", "类型"],
        ['上海"引号",逗号\\有限公司', code, "江苏路", long_industry, "企业"],
    ])
    staff = write_csv(tmp_path / "s" / "返岗.csv", [
        ["姓名", "身份证号", "所属街道", "返沪日期", "来源地", "健康状况", "备注"],
        ["𠀀伟", P_NEW, "江苏路", "2020-02-01", long_origin, long_health, tricky_note],
    ])
    results = load(db_url, tmp_path / "reg", tmp_path / "s")
    problems = {n: r.error for n, r in results.items() if r.status != "loaded"}
    assert not problems, problems
    assert results[registry.name].inserted == 1 and results[staff.name].inserted == 1, results
    with session(db_url) as s:
        e = s.scalars(select(Enterprise)).one()
        p = s.scalars(select(ReturningStaff)).one()
    assert (e.name, e.industry) == ('上海"引号",逗号\\有限公司', long_industry)
    assert (p.name, p.origin, p.health, p.note) == ("𠀀伟", long_origin, long_health, tricky_note)
